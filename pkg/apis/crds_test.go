package apis_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsinstall "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/install"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/pkg/apis"
)

const crdDir = "../../manifests/crds"

// crdWant is what each generated CRD must declare.
type crdWant struct {
	group, plural string
	shortNames    []string
	revisionPath  string
}

var wantCRDs = map[string]crdWant{
	"GitRepository":  {"source.tether.dev", "gitrepositories", []string{"gitrepo"}, ".status.artifact.revision"},
	"HelmRepository": {"source.tether.dev", "helmrepositories", []string{"helmrepo"}, ".status.artifact.revision"},
	"HelmChart":      {"source.tether.dev", "helmcharts", []string{"hc"}, ".status.artifact.revision"},
	"Bucket":         {"source.tether.dev", "buckets", nil, ".status.artifact.revision"},
	"OCIRepository":  {"source.tether.dev", "ocirepositories", []string{"ocirepo"}, ".status.artifact.revision"},
	"Kustomization":  {"kustomize.tether.dev", "kustomizations", []string{"ks"}, ".status.lastAppliedRevision"},
	"HelmRelease":    {"helm.tether.dev", "helmreleases", []string{"hr"}, ".status.history[0].chartVersion"},
}

// loadCRDs reads every CRD file of manifests/crds, keyed by kind.
func loadCRDs(t *testing.T) (map[string]*apiextensionsv1.CustomResourceDefinition, []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	crds := map[string]*apiextensionsv1.CustomResourceDefinition{}
	var names []string
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		names = append(names, filepath.Base(f))
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if crd.Kind != "CustomResourceDefinition" || crd.APIVersion != "apiextensions.k8s.io/v1" {
			t.Fatalf("%s: not a CustomResourceDefinition: %s %s", f, crd.APIVersion, crd.Kind)
		}
		if _, dup := crds[crd.Spec.Names.Kind]; dup {
			t.Fatalf("%s: second CRD for kind %s", f, crd.Spec.Names.Kind)
		}
		crds[crd.Spec.Names.Kind] = crd
	}
	return crds, names
}

func TestCRDsDeclareNamesAndColumns(t *testing.T) {
	crds, _ := loadCRDs(t)
	if len(crds) != len(wantCRDs) {
		t.Errorf("found CRDs for %d kinds, want %d", len(crds), len(wantCRDs))
	}
	for kind, want := range wantCRDs {
		crd, ok := crds[kind]
		if !ok {
			t.Errorf("no CRD for %s", kind)
			continue
		}
		n := crd.Spec.Names
		if crd.Spec.Group != want.group || n.Plural != want.plural || crd.Name != want.plural+"."+want.group {
			t.Errorf("%s: group %q plural %q name %q", kind, crd.Spec.Group, n.Plural, crd.Name)
		}
		if !slices.Equal(n.ShortNames, want.shortNames) {
			t.Errorf("%s: short names %v, want %v", kind, n.ShortNames, want.shortNames)
		}
		if !slices.Equal(n.Categories, []string{"tether"}) {
			t.Errorf("%s: categories %v", kind, n.Categories)
		}
		if crd.Spec.Scope != apiextensionsv1.NamespaceScoped {
			t.Errorf("%s: scope %s", kind, crd.Spec.Scope)
		}
		if len(crd.Spec.Versions) != 1 {
			t.Errorf("%s: %d versions", kind, len(crd.Spec.Versions))
			continue
		}
		v := crd.Spec.Versions[0]
		if v.Name != "v1" || !v.Served || !v.Storage {
			t.Errorf("%s: version %s served=%v storage=%v", kind, v.Name, v.Served, v.Storage)
		}
		if v.Subresources == nil || v.Subresources.Status == nil {
			t.Errorf("%s: no status subresource", kind)
		}

		var cols []string
		paths := map[string]string{}
		for _, c := range v.AdditionalPrinterColumns {
			if c.Priority == 0 {
				cols = append(cols, c.Name)
			}
			paths[c.Name] = c.JSONPath
		}
		if !slices.Equal(cols, []string{"Ready", "Status", "Revision", "Age"}) {
			t.Errorf("%s: default columns %v", kind, cols)
		}
		if paths["Ready"] != `.status.conditions[?(@.type=="Ready")].status` ||
			paths["Status"] != `.status.conditions[?(@.type=="Ready")].message` ||
			paths["Revision"] != want.revisionPath || paths["Age"] != ".metadata.creationTimestamp" {
			t.Errorf("%s: column paths %v", kind, paths)
		}

		props := v.Schema.OpenAPIV3Schema.Properties
		interval := props["spec"].Properties["interval"]
		if string(interval.Default.Raw) != `"1m"` || interval.Pattern != `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$` {
			t.Errorf("%s: spec.interval default %s pattern %q", kind, interval.Default.Raw, interval.Pattern)
		}
		if slices.Contains(props["spec"].Required, "interval") {
			t.Errorf("%s: spec.interval must be optional", kind)
		}
		if timeout := props["spec"].Properties["timeout"]; timeout.Default != nil || timeout.Pattern != interval.Pattern {
			t.Errorf("%s: spec.timeout must have no default (it falls back to the interval) and the duration pattern", kind)
		}
		status := props["status"]
		if string(status.Default.Raw) != `{"observedGeneration":-1}` {
			t.Errorf("%s: status default %s", kind, status.Default.Raw)
		}
		conds := status.Properties["conditions"]
		if conds.XListType == nil || *conds.XListType != "map" || !slices.Equal(conds.XListMapKeys, []string{"type"}) {
			t.Errorf("%s: status.conditions must be a map list keyed by type", kind)
		}
		if _, ok := status.Properties["lastHandledReconcileAt"]; !ok {
			t.Errorf("%s: no status.lastHandledReconcileAt", kind)
		}
	}
}

func TestCRDKustomizationListsAllCRDs(t *testing.T) {
	_, files := loadCRDs(t)
	data, err := os.ReadFile(filepath.Join(crdDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if k.Kind != "Kustomization" || !slices.Equal(k.Resources, files) {
		t.Fatalf("kustomization.yaml lists %v, want %v", k.Resources, files)
	}
}

func TestSchemeMatchesCRDs(t *testing.T) {
	s := runtime.NewScheme()
	if err := apis.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	crds, _ := loadCRDs(t)
	var registered []string
	for gvk := range s.AllKnownTypes() {
		if gvk.Group == "" {
			// metav1.AddToGroupVersion registers Status, APIGroup... in the
			// legacy group.
			continue
		}
		if !strings.HasSuffix(gvk.Group, ".tether.dev") {
			t.Errorf("AddToScheme registered the foreign %s", gvk)
			continue
		}
		if strings.HasSuffix(gvk.Kind, "List") {
			continue
		}
		switch gvk.Kind { // registered by metav1.AddToGroupVersion for every group
		case "WatchEvent", "CreateOptions", "DeleteOptions", "GetOptions", "ListOptions", "PatchOptions", "UpdateOptions":
			continue
		}
		registered = append(registered, gvk.Kind)
		crd, ok := crds[gvk.Kind]
		if !ok || crd.Spec.Group != gvk.Group || crd.Spec.Versions[0].Name != gvk.Version {
			t.Errorf("%s is registered but has no matching CRD", gvk)
		}
		if !s.Recognizes(gvk.GroupVersion().WithKind(gvk.Kind + "List")) {
			t.Errorf("%s has no List type", gvk)
		}
	}
	if len(registered) != len(wantCRDs) {
		t.Errorf("scheme registers %v, want the %d Tether kinds", registered, len(wantCRDs))
	}
}

// internalCRDs converts the CRDs to the internal API the API server validates.
func internalCRDs(t *testing.T) map[string]*apiextensions.CustomResourceDefinition {
	t.Helper()
	s := runtime.NewScheme()
	apiextensionsinstall.Install(s)
	crds, _ := loadCRDs(t)
	out := map[string]*apiextensions.CustomResourceDefinition{}
	for kind, crd := range crds {
		crd = crd.DeepCopy()
		s.Default(crd)
		internal := &apiextensions.CustomResourceDefinition{}
		if err := s.Convert(crd, internal, nil); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		out[kind] = internal
	}
	return out
}

// TestCRDsPassAPIServerValidation runs the validation the API server runs on
// create, including the compilation and cost estimation of CEL rules.
func TestCRDsPassAPIServerValidation(t *testing.T) {
	for kind, crd := range internalCRDs(t) {
		if errs := apiextensionsvalidation.ValidateCustomResourceDefinition(context.Background(), crd); len(errs) > 0 {
			t.Errorf("%s: %v", kind, errs.ToAggregate())
		}
	}
}

// validator validates custom objects the way the API server does: pruning,
// defaulting, OpenAPI schema and CEL rules.
type validator struct {
	structural *structuralschema.Structural
	schema     apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

func newValidators(t *testing.T) map[schema.GroupVersionKind]*validator {
	t.Helper()
	out := map[schema.GroupVersionKind]*validator{}
	for kind, crd := range internalCRDs(t) {
		v := crd.Spec.Versions[0]
		// With a single version, the conversion moves the schema to
		// spec.validation.
		var props *apiextensions.JSONSchemaProps
		if v.Schema != nil {
			props = v.Schema.OpenAPIV3Schema
		} else if crd.Spec.Validation != nil {
			props = crd.Spec.Validation.OpenAPIV3Schema
		}
		if props == nil {
			t.Fatalf("%s: no schema", kind)
		}
		s, err := structuralschema.NewStructural(props)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		sv, _, err := apiservervalidation.NewSchemaValidator(props)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: kind}
		out[gvk] = &validator{structural: s, schema: sv, cel: cel.NewValidator(s, true, celconfig.PerCallLimit)}
	}
	return out
}

// admit prunes, defaults and validates obj, and returns the pruned field
// paths and the validation errors.
func (v *validator) admit(obj map[string]any) (pruned []string, errs field.ErrorList) {
	pruned = structuralpruning.PruneWithOptions(obj, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	structuraldefaulting.Default(obj, v.structural)
	errs = apiservervalidation.ValidateCustomResource(nil, obj, v.schema)
	celErrs, _ := v.cel.Validate(context.Background(), nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return pruned, append(errs, celErrs...)
}

func decodeManifests(t *testing.T, data string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, doc := range strings.Split(data, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		out = append(out, obj)
	}
	return out
}

func gvkOf(obj map[string]any) schema.GroupVersionKind {
	gv, _ := schema.ParseGroupVersion(obj["apiVersion"].(string))
	return gv.WithKind(obj["kind"].(string))
}

func describe(obj map[string]any) string {
	m, _ := obj["metadata"].(map[string]any)
	return obj["kind"].(string) + "/" + m["name"].(string)
}

// TestFluxManifestsAreValid admits Flux manifests whose API groups were
// renamed: no field may be pruned (every Flux field name exists), none may
// be rejected, and each must decode strictly into the Go types.
func TestFluxManifestsAreValid(t *testing.T) {
	data, err := os.ReadFile("testdata/flux-renamed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	validators := newValidators(t)
	s := runtime.NewScheme()
	if err := apis.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, obj := range decodeManifests(t, string(data)) {
		gvk := gvkOf(obj)
		v := validators[gvk]
		if v == nil {
			t.Fatalf("%s: no CRD for %s", describe(obj), gvk)
		}
		seen[gvk.Kind] = true
		raw, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		pruned, errs := v.admit(obj)
		if len(pruned) > 0 {
			t.Errorf("%s: unknown fields %v", describe(obj), pruned)
		}
		if len(errs) > 0 {
			t.Errorf("%s: rejected: %v", describe(obj), errs.ToAggregate())
		}
		typed, err := s.New(gvk)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(raw, typed); err != nil {
			t.Errorf("%s: does not decode strictly into %T: %v", describe(obj), typed, err)
		}
	}
	for kind := range wantCRDs {
		if !seen[kind] {
			t.Errorf("testdata/flux-renamed.yaml has no %s", kind)
		}
	}
}

// TestDefaults checks the defaults the CRDs apply to a minimal object.
func TestDefaults(t *testing.T) {
	validators := newValidators(t)
	objs := decodeManifests(t, `
apiVersion: kustomize.tether.dev/v1
kind: Kustomization
metadata: {name: min}
spec:
  prune: true
  sourceRef: {kind: GitRepository, name: repo}
---
apiVersion: helm.tether.dev/v1
kind: HelmRelease
metadata: {name: min}
spec:
  chart:
    spec:
      chart: podinfo
      sourceRef: {kind: HelmRepository, name: repo}
  driftDetection: {}
  uninstall: {}
`)
	for _, obj := range objs {
		if _, errs := validators[gvkOf(obj)].admit(obj); len(errs) > 0 {
			t.Fatalf("%s: %v", describe(obj), errs.ToAggregate())
		}
	}
	get := func(obj map[string]any, path ...string) any {
		var cur any = obj
		for _, p := range path {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[p]
		}
		return cur
	}
	for _, c := range []struct {
		obj  map[string]any
		path []string
		want any
	}{
		{objs[0], []string{"spec", "interval"}, "1m"},
		{objs[0], []string{"spec", "force"}, false},
		{objs[0], []string{"status", "observedGeneration"}, int64(-1)},
		{objs[1], []string{"spec", "interval"}, "1m"},
		{objs[1], []string{"spec", "chart", "spec", "version"}, "*"},
		{objs[1], []string{"spec", "chart", "spec", "reconcileStrategy"}, "ChartVersion"},
		{objs[1], []string{"spec", "driftDetection", "mode"}, "enabled"},
		{objs[1], []string{"spec", "uninstall", "deletionPropagation"}, "background"},
	} {
		got := get(c.obj, c.path...)
		if f, ok := got.(float64); ok {
			got = int64(f)
		}
		if got != c.want {
			t.Errorf("%s: %s = %#v, want %#v", describe(c.obj), strings.Join(c.path, "."), got, c.want)
		}
	}
	if get(objs[0], "spec", "timeout") != nil {
		t.Error("spec.timeout must not be defaulted")
	}
}

// TestValidationRejectsMistakes checks that the schema and CEL rules reject
// the mistakes they are meant to catch, with a helpful message.
func TestValidationRejectsMistakes(t *testing.T) {
	validators := newValidators(t)
	cases := []struct {
		name, manifest, wantErr string
	}{
		{"git ref tag and semver", `
apiVersion: source.tether.dev/v1
kind: GitRepository
metadata: {name: x}
spec:
  url: https://example.com/repo
  ref: {tag: v1, semver: ">=1.0.0"}`, "at most one of tag, semver and name may be set"},
		{"git ref commit and tag", `
apiVersion: source.tether.dev/v1
kind: GitRepository
metadata: {name: x}
spec:
  url: https://example.com/repo
  ref: {tag: v1, commit: abc}`, "commit can only be combined with branch"},
		{"git url scheme", `
apiVersion: source.tether.dev/v1
kind: GitRepository
metadata: {name: x}
spec:
  url: git@example.com:repo`, "spec.url"},
		{"bad interval", `
apiVersion: source.tether.dev/v1
kind: GitRepository
metadata: {name: x}
spec:
  url: https://example.com/repo
  interval: 5 minutes`, "spec.interval"},
		{"oci ref digest and tag", `
apiVersion: source.tether.dev/v1
kind: OCIRepository
metadata: {name: x}
spec:
  url: oci://ghcr.io/org/app
  ref: {tag: latest, digest: "sha256:abc"}`, "at most one of digest, semver and tag may be set"},
		{"oci semverFilter without semver", `
apiVersion: source.tether.dev/v1
kind: OCIRepository
metadata: {name: x}
spec:
  url: oci://ghcr.io/org/app
  ref: {tag: latest, semverFilter: ".*"}`, "semverFilter requires semver"},
		{"oci url scheme", `
apiVersion: source.tether.dev/v1
kind: OCIRepository
metadata: {name: x}
spec:
  url: https://ghcr.io/org/app`, "spec.url"},
		{"helm repo oci url without type", `
apiVersion: source.tether.dev/v1
kind: HelmRepository
metadata: {name: x}
spec:
  url: oci://ghcr.io/org/charts`, "url must start with oci:// when, and only when, type is oci"},
		{"helm repo type oci with https url", `
apiVersion: source.tether.dev/v1
kind: HelmRepository
metadata: {name: x}
spec:
  type: oci
  url: https://charts.example.com`, "url must start with oci:// when, and only when, type is oci"},
		{"bucket generic without endpoint", `
apiVersion: source.tether.dev/v1
kind: Bucket
metadata: {name: x}
spec:
  bucketName: b`, "endpoint is required for the generic provider"},
		{"bucket aws sts with generic provider", `
apiVersion: source.tether.dev/v1
kind: Bucket
metadata: {name: x}
spec:
  bucketName: b
  endpoint: minio.example.com
  sts: {provider: aws, endpoint: "https://sts.amazonaws.com"}`, "the aws STS provider requires the aws bucket provider"},
		{"bucket sts with gcp", `
apiVersion: source.tether.dev/v1
kind: Bucket
metadata: {name: x}
spec:
  provider: gcp
  bucketName: b
  sts: {provider: ldap, endpoint: "https://sts.example.com"}`, "sts is only supported by the aws and generic providers"},
		{"helm chart from oci repository", `
apiVersion: source.tether.dev/v1
kind: HelmChart
metadata: {name: x}
spec:
  chart: podinfo
  sourceRef: {kind: OCIRepository, name: r}`, "spec.sourceRef.kind"},
		{"kustomization from helm repository", `
apiVersion: kustomize.tether.dev/v1
kind: Kustomization
metadata: {name: x}
spec:
  prune: true
  sourceRef: {kind: HelmRepository, name: r}`, "sourceRef.kind must be GitRepository, OCIRepository or Bucket"},
		{"kustomization without prune", `
apiVersion: kustomize.tether.dev/v1
kind: Kustomization
metadata: {name: x}
spec:
  sourceRef: {kind: GitRepository, name: r}`, "spec.prune"},
		{"kustomization decryption provider", `
apiVersion: kustomize.tether.dev/v1
kind: Kustomization
metadata: {name: x}
spec:
  prune: true
  sourceRef: {kind: GitRepository, name: r}
  decryption: {provider: vault}`, "spec.decryption.provider"},
		{"dependsOn a GitRepository", `
apiVersion: kustomize.tether.dev/v1
kind: Kustomization
metadata: {name: x}
spec:
  prune: true
  sourceRef: {kind: GitRepository, name: r}
  dependsOn: [{kind: GitRepository, name: r}]`, "spec.dependsOn[0].kind"},
		{"helm release with chart and chartRef", `
apiVersion: helm.tether.dev/v1
kind: HelmRelease
metadata: {name: x}
spec:
  chart: {spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: r}}}
  chartRef: {kind: OCIRepository, name: r}`, "exactly one of chart and chartRef must be set"},
		{"helm release without chart", `
apiVersion: helm.tether.dev/v1
kind: HelmRelease
metadata: {name: x}
spec: {}`, "exactly one of chart and chartRef must be set"},
		{"helm release chartRef to git", `
apiVersion: helm.tether.dev/v1
kind: HelmRelease
metadata: {name: x}
spec:
  chartRef: {kind: GitRepository, name: r}`, "chartRef.kind must be OCIRepository or HelmChart"},
		{"helm release chart from oci repository", `
apiVersion: helm.tether.dev/v1
kind: HelmRelease
metadata: {name: x}
spec:
  chart: {spec: {chart: podinfo, sourceRef: {kind: OCIRepository, name: r}}}`, "sourceRef.kind must be HelmRepository, GitRepository or Bucket"},
		{"retryInterval without RetryOnFailure", `
apiVersion: helm.tether.dev/v1
kind: HelmRelease
metadata: {name: x}
spec:
  chartRef: {kind: OCIRepository, name: r}
  install: {strategy: {name: RemediateOnFailure, retryInterval: 1m}}`, "retryInterval can only be set with the RetryOnFailure strategy"},
		{"remediation with RetryOnFailure", `
apiVersion: helm.tether.dev/v1
kind: HelmRelease
metadata: {name: x}
spec:
  chartRef: {kind: OCIRepository, name: r}
  upgrade:
    strategy: {name: RetryOnFailure}
    remediation: {retries: 3}`, "remediation can only be set with the RemediateOnFailure strategy"},
		{"release name too long", `
apiVersion: helm.tether.dev/v1
kind: HelmRelease
metadata: {name: x}
spec:
  chartRef: {kind: OCIRepository, name: r}
  releaseName: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`, "spec.releaseName"},
		{"drift detection mode", `
apiVersion: helm.tether.dev/v1
kind: HelmRelease
metadata: {name: x}
spec:
  chartRef: {kind: OCIRepository, name: r}
  driftDetection: {mode: always}`, "spec.driftDetection.mode"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs := decodeManifests(t, c.manifest)
			_, errs := validators[gvkOf(objs[0])].admit(objs[0])
			if len(errs) == 0 {
				t.Fatalf("accepted, want an error containing %q", c.wantErr)
			}
			if msg := errs.ToAggregate().Error(); !strings.Contains(msg, c.wantErr) {
				t.Fatalf("error %q does not contain %q", msg, c.wantErr)
			}
		})
	}
}

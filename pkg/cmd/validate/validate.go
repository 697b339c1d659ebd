// Package validate implements `tether validate [DIR]`: a check of a GitOps
// repository for CI, with no cluster. It parses every YAML file, builds every
// kustomization with the reconciler's kustomize package, validates Tether
// objects against the CRD schemas built into the binary, objects of CRDs
// found under the directory against theirs, and built-in kinds against the
// OpenAPI schemas of a chosen Kubernetes version (pkg/kubeschema: embedded,
// or read from --schema-dir), so that an API the version does not serve is an
// error. It templates each HelmRelease whose chart it can reach (a chart
// directory in the repository, or a chart repository it can fetch from) with
// pkg/helm, as the reconciler renders it, and validates the rendered objects
// the same way. Last it checks that sourceRef and dependsOn resolve.
package validate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/kubeschema"
	"github.com/tether-gitops/tether/pkg/kustomize"
)

// Severity of a problem: errors fail the validation, warnings do not.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Problem is one finding, at a line of a file.
type Problem struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc += ":" + fmt.Sprint(p.Line)
	}
	if p.Severity == SeverityWarning {
		return loc + ": warning: " + p.Message
	}
	return loc + ": " + p.Message
}

// Result is what a validation found.
type Result struct {
	Problems []Problem `json:"problems"`
	Files    int       `json:"files"`
	Objects  int       `json:"objects"`
	// Kustomizations is the number of kustomization directories built.
	Kustomizations int `json:"kustomizations"`
	// HelmReleases is the number of HelmReleases under the directory;
	// HelmReleasesTemplated of them had their chart rendered, into
	// RenderedObjects objects.
	HelmReleases          int `json:"helmReleases"`
	HelmReleasesTemplated int `json:"helmReleasesTemplated"`
	RenderedObjects       int `json:"renderedObjects"`
	// KubernetesVersion is the version whose schemas checked built-in
	// kinds ("v1.37.2"); empty when --schema-dir did not say.
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// Unchecked counts, by kind, the objects without a schema to check them.
	Unchecked map[string]int `json:"unchecked,omitempty"`
	Errors    int            `json:"errors"`
	Warnings  int            `json:"warnings"`
}

// Config says how to validate.
type Config struct {
	// StrictRefs makes a sourceRef or dependsOn that names no object in the
	// directory an error rather than a warning.
	StrictRefs bool
	// Kubernetes has the schemas of built-in kinds; nil means the newest
	// version built into the binary.
	Kubernetes *kubeschema.Set
	// Charts says how HelmRelease charts are reached.
	Charts ChartOptions
}

// Options are the flags of `tether validate`.
type Options struct {
	IO  *iostreams.IOStreams
	Dir string
	// StrictRefs makes a sourceRef or dependsOn that names no object in Dir
	// an error rather than a warning.
	StrictRefs bool
	// Output is "" for file:line lines, or "json".
	Output string
	// KubernetesVersion picks the embedded schemas ("1.35"); with SchemaDir
	// it is only the version charts see.
	KubernetesVersion string
	// SchemaDir holds OpenAPI v3 documents to use instead of the embedded
	// schemas.
	SchemaDir string
	// StrictCharts makes a chart that cannot be fetched an error.
	StrictCharts bool
	// Offline fetches no chart: only charts under Dir are templated.
	Offline bool
	// SourceDirs are KIND/NAME=DIR (or KIND/NAMESPACE/NAME=DIR): where the
	// charts of a GitRepository or Bucket are.
	SourceDirs []string
	// ChartTimeout bounds the fetching of each chart.
	ChartTimeout time.Duration
}

// NewCmdValidate returns `tether validate`.
func NewCmdValidate(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	versions := kubeschema.EmbeddedVersions()
	var minors []string
	for _, v := range versions {
		if major, minor, ok := kubeschema.MajorMinor(v); ok {
			minors = append(minors, fmt.Sprintf("%d.%d", major, minor))
		}
	}
	newest := ""
	if len(minors) > 0 {
		newest = minors[0]
	}
	cmd := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check a repository's manifests without a cluster, for CI",
		Long: fmt.Sprintf(`Validate checks the manifests under DIR (default: the current directory)
without a cluster, and prints each problem as file:line: message:

  - every .yaml/.yml file parses (syntax errors with their line);
  - every directory with a kustomization.yaml builds, with the kustomize
    code the reconciler runs;
  - Tether objects (GitRepository, Kustomization, HelmRelease, ...) match the
    schemas of the CRDs built into this binary: types, required fields,
    enums, patterns, unknown fields and CEL rules, as the API server checks;
    so do objects of CustomResourceDefinitions found under DIR (or rendered
    from a chart);
  - built-in Kubernetes objects match the OpenAPI schemas of the Kubernetes
    version of --kubernetes-version (built in: %s):
    an apiVersion and kind that version does not serve (batch/v1beta1
    CronJob, policy/v1beta1 PodSecurityPolicy) is an error that names the
    version to use, and so are unknown fields, wrong types, missing required
    fields, malformed quantities, dates and base64, and duplicate fields.
    For another version, --schema-dir reads its OpenAPI v3 documents: the
    files of api/openapi-spec/v3 in the Kubernetes source, or a cluster's:
      kubectl get --raw /openapi/v3/apis/apps/v1 > schemas/apps-v1.json
    (one file per group/version; those of a cluster include its CRDs);
  - every HelmRelease whose chart can be reached is templated as the
    reconciler would (values, valuesFrom ConfigMaps and Secrets defined
    under DIR, releaseName and targetNamespace, post-renderers; the chart
    sees the chosen Kubernetes version and API versions), and the rendered
    objects are checked as above, reported at the HelmRelease's line with
    the template they came from. A chart is reached when it is a directory
    in a GitRepository or Bucket (spec.chart.spec.chart is a path, taken
    under DIR, then under the top of DIR's Git work tree; --source-dir
    KIND/NAME=PATH maps a source to another checkout), or a chart in a
    HelmRepository (HTTP index or OCI) or an OCIRepository defined under DIR,
    which is fetched as the reconciler fetches it (unless --offline). A
    repository whose Secrets (spec.secretRef, spec.certSecretRef) are not
    under DIR unencrypted, or that does not answer within --chart-timeout,
    is a warning (an error with --strict-charts);
  - the sourceRef, chartRef and dependsOn of Kustomizations and HelmReleases
    name objects under DIR; one that may live only in the cluster is a
    warning, or an error with --strict-refs.

Objects of other kinds are counted but not checked. Hidden directories and
Helm charts (directories with a Chart.yaml) are skipped, and so are files
that kustomizations use as patches and SOPS-encrypted documents. With
-o json the output is the problems (file, line, severity, message) and the
counts: files, objects, kustomizations, helmReleases, helmReleasesTemplated,
renderedObjects, unchecked (by kind), errors, warnings, and the
kubernetesVersion checked against. The exit status is 1 when there is an
error.`, strings.Join(minors, ", ")),
		Example: `  # In CI, at the root of the repository
  tether validate

  # Against the Kubernetes version of the cluster, references must resolve
  # in the directory, JSON for tooling
  tether validate clusters/prod --kubernetes-version 1.35 --strict-refs -o json

  # Against the API of a running cluster, CRDs included
  mkdir schemas
  for gv in api/v1 apis/apps/v1 apis/batch/v1; do
    kubectl get --raw /openapi/v3/$gv > schemas/$(echo $gv | tr / _).json
  done
  tether validate --schema-dir schemas

  # No network: template only the charts in the repository
  tether validate --offline

  # Charts of the GitRepository "platform" are in another checkout
  tether validate --source-dir GitRepository/platform=../platform`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = "."
			if len(args) == 1 {
				opts.Dir = args[0]
			}
			if opts.Output != "" && opts.Output != "json" {
				return cmdutil.UsageErrorf("invalid --output %q: use json, or leave it out for file:line lines", opts.Output)
			}
			if _, err := parseSourceDirs(opts.SourceDirs); err != nil {
				return cmdutil.UsageErrorf("%v", err)
			}
			if opts.ChartTimeout <= 0 {
				return cmdutil.UsageErrorf("--chart-timeout must be positive")
			}
			if opts.SchemaDir == "" || cmd.Flags().Changed("kubernetes-version") {
				if _, _, ok := kubeschema.MajorMinor(opts.KubernetesVersion); !ok {
					return cmdutil.UsageErrorf("invalid --kubernetes-version %q: use MAJOR.MINOR, such as %s", opts.KubernetesVersion, newest)
				}
			}
			if opts.SchemaDir != "" && !cmd.Flags().Changed("kubernetes-version") {
				opts.KubernetesVersion = "" // the documents say, if anything
			}
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&opts.StrictRefs, "strict-refs", false, "fail when a sourceRef or dependsOn names no object under DIR")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "output format: json (default: file:line: problem lines)")
	cmd.Flags().StringVar(&opts.KubernetesVersion, "kubernetes-version", newest, "Kubernetes version (MAJOR.MINOR) to check built-in kinds against, and that charts see; built in: "+strings.Join(minors, ", "))
	cmd.Flags().StringVar(&opts.SchemaDir, "schema-dir", "", "directory of OpenAPI v3 documents (kubectl get --raw /openapi/v3/...) to check built-in kinds against instead")
	cmd.Flags().BoolVar(&opts.StrictCharts, "strict-charts", false, "fail when a HelmRelease's chart cannot be fetched, instead of warning")
	cmd.Flags().BoolVar(&opts.Offline, "offline", false, "fetch no chart from the network: template only the charts under DIR")
	cmd.Flags().StringArrayVar(&opts.SourceDirs, "source-dir", nil, "KIND/NAME=PATH: the charts of that GitRepository or Bucket are under PATH (default: DIR, then the top of its Git work tree); repeatable")
	cmd.Flags().DurationVar(&opts.ChartTimeout, "chart-timeout", defaultChartTimeout, "time limit to fetch each chart")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("kubernetes-version", cobra.FixedCompletions(minors, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagDirname("schema-dir")
	return cmd
}

// Run validates Dir and prints the result; it fails when there are errors.
func (o *Options) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	set, err := o.schemas()
	if err != nil {
		return err
	}
	sourceDirs, err := parseSourceDirs(o.SourceDirs)
	if err != nil {
		return err
	}
	res, err := Validate(ctx, o.Dir, Config{StrictRefs: o.StrictRefs, Kubernetes: set,
		Charts: ChartOptions{Offline: o.Offline, Strict: o.StrictCharts, Timeout: o.ChartTimeout, SourceDirs: sourceDirs}})
	if err != nil {
		return err
	}
	if o.Output == "json" {
		enc := json.NewEncoder(o.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		for _, p := range res.Problems {
			fmt.Fprintln(o.IO.Out, p.String())
		}
		if res.Errors > 0 {
			o.IO.Failure("%s", res.Summary())
		} else {
			o.IO.Success("%s", res.Summary())
		}
	}
	if res.Errors > 0 {
		return &cmdutil.ExitError{Code: 1, Err: fmt.Errorf("%d errors", res.Errors), Silent: true}
	}
	return nil
}

// schemas returns the schemas of built-in kinds the flags ask for.
func (o *Options) schemas() (*kubeschema.Set, error) {
	if o.SchemaDir == "" {
		return kubeschema.Embedded(o.KubernetesVersion)
	}
	set, err := kubeschema.LoadDir(o.SchemaDir)
	if err != nil {
		return nil, err
	}
	if o.KubernetesVersion != "" {
		v := o.KubernetesVersion
		if !strings.HasPrefix(v, "v") {
			v = "v" + v
		}
		set.Version = v
	}
	return set, nil
}

// Summary is the last line of the output: what was checked, and the counts.
func (r *Result) Summary() string {
	s := fmt.Sprintf("%d files, %d objects, %d kustomizations", r.Files, r.Objects, r.Kustomizations)
	if r.HelmReleases > 0 {
		s += fmt.Sprintf(", %d of %d HelmReleases templated (%d objects)", r.HelmReleasesTemplated, r.HelmReleases, r.RenderedObjects)
	}
	if r.KubernetesVersion != "" {
		s += ", Kubernetes " + strings.TrimPrefix(r.KubernetesVersion, "v")
	}
	s += fmt.Sprintf(": %d errors, %d warnings", r.Errors, r.Warnings)
	if len(r.Unchecked) > 0 {
		var ks []string
		for _, k := range sortedKeys(r.Unchecked) {
			ks = append(ks, fmt.Sprintf("%s (%d)", k, r.Unchecked[k]))
		}
		s += "; not checked, no schema: " + strings.Join(ks, ", ")
	}
	return s
}

// validator holds the state of one validation.
type validator struct {
	root string
	cfg  Config
	res  *Result
	docs []*document
	// patches are the files that kustomizations use as patches: partial
	// objects, not validated as whole ones.
	patches map[string]bool
	// schemas are those of Tether's CRDs and of the CRDs found.
	schemas map[schema.GroupVersionKind]*crdSchema
	// kube has the schemas of built-in kinds; builtIns caches their
	// validators.
	kube     *kubeschema.Set
	builtIns map[schema.GroupVersionKind]*crdSchema
	// rendered are the objects templated from HelmReleases' charts.
	rendered []renderedObject
}

// Validate checks the directory dir; see NewCmdValidate for what it checks.
func Validate(ctx context.Context, dir string, cfg Config) (*Result, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory: pass the directory to validate", dir)
	}
	tether, err := tetherSchemas()
	if err != nil {
		return nil, err
	}
	if cfg.Kubernetes == nil {
		if cfg.Kubernetes, err = kubeschema.Embedded(""); err != nil {
			return nil, err
		}
	}
	v := &validator{root: dir, cfg: cfg, res: &Result{Unchecked: map[string]int{}, KubernetesVersion: cfg.Kubernetes.Version},
		patches: map[string]bool{}, schemas: map[schema.GroupVersionKind]*crdSchema{},
		kube: cfg.Kubernetes, builtIns: map[schema.GroupVersionKind]*crdSchema{}}
	for k, s := range tether {
		v.schemas[k] = s
	}
	files, kdirs, err := walk(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	v.res.Files = len(files)
	for _, f := range files {
		docs, line, err := parseFile(dir, f)
		if err != nil {
			v.add(f, line, SeverityError, err.Error())
		}
		for _, d := range docs {
			for _, dup := range d.duplicates() {
				v.add(f, dup.line, SeverityError, fmt.Sprintf("duplicate field %q (first at line %d)", dup.path, dup.first))
			}
		}
		v.docs = append(v.docs, docs...)
	}
	v.collectPatches(kdirs)
	v.collectCRDs()
	// Templating first: the CRDs that charts install check objects under
	// the directory too.
	v.templateReleases(ctx)
	for _, d := range v.docs {
		v.checkObject(d)
	}
	v.checkRendered()
	v.build(kdirs)
	v.checkRefs()
	sort.SliceStable(v.res.Problems, func(i, j int) bool {
		a, b := v.res.Problems[i], v.res.Problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	if len(v.res.Unchecked) == 0 {
		v.res.Unchecked = nil
	}
	return v.res, nil
}

func (v *validator) add(rel string, line int, severity, msg string) {
	v.res.Problems = append(v.res.Problems, Problem{File: v.display(rel), Line: line, Severity: severity, Message: msg})
	if severity == SeverityError {
		v.res.Errors++
	} else {
		v.res.Warnings++
	}
}

// display is the path printed: under the directory as it was given.
func (v *validator) display(rel string) string {
	return filepath.ToSlash(filepath.Join(v.root, filepath.FromSlash(rel)))
}

// gvk returns the document's apiVersion and kind.
func (d *document) gvk() (schema.GroupVersionKind, bool) { return gvkOf(d.Obj) }

// gvkOf returns an object's apiVersion and kind.
func gvkOf(obj map[string]any) (schema.GroupVersionKind, bool) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil || apiVersion == "" || kind == "" {
		return schema.GroupVersionKind{}, false
	}
	return gv.WithKind(kind), true
}

func (d *document) isKustomizeConfig() bool {
	gvk, _ := d.gvk()
	return gvk.Group == "kustomize.config.k8s.io" || slices.Contains(kustomizationFiles, path.Base(d.File))
}

// collectPatches records the files listed as patches by the kustomizations.
func (v *validator) collectPatches(kdirs []string) {
	for _, d := range v.docs {
		if !slices.Contains(kustomizationFiles, path.Base(d.File)) || d.Obj == nil {
			continue
		}
		dir := path.Dir(d.File)
		var names []string
		if ps, ok := d.Obj["patches"].([]any); ok {
			for _, p := range ps {
				if m, ok := p.(map[string]any); ok {
					if s, ok := m["path"].(string); ok {
						names = append(names, s)
					}
				}
			}
		}
		for _, key := range []string{"patchesStrategicMerge", "patchesJson6902"} {
			if ps, ok := d.Obj[key].([]any); ok {
				for _, p := range ps {
					switch p := p.(type) {
					case string:
						names = append(names, p)
					case map[string]any:
						if s, ok := p["path"].(string); ok {
							names = append(names, s)
						}
					}
				}
			}
		}
		for _, n := range names {
			v.patches[path.Clean(path.Join(dir, n))] = true
		}
	}
}

// collectCRDs adds the schemas of the CustomResourceDefinitions under the
// directory, so that their objects are checked too.
func (v *validator) collectCRDs() {
	for _, d := range v.docs {
		if gvk, ok := d.gvk(); ok && isCRD(gvk) {
			v.addCRD(d.YAML, func(msg string) { v.add(d.File, d.Line, SeverityError, msg) })
		}
	}
}

func isCRD(gvk schema.GroupVersionKind) bool {
	return gvk.Group == "apiextensions.k8s.io" && gvk.Kind == "CustomResourceDefinition"
}

// addCRD adds the schemas of a CustomResourceDefinition (YAML or JSON);
// report says what is wrong with one. A kind that has a schema already
// (Tether's, or one defined earlier) keeps it.
func (v *validator) addCRD(data []byte, report func(string)) {
	var crd apiextensionsv1.CustomResourceDefinition
	if err := sigsyaml.Unmarshal(data, &crd); err != nil {
		return // reported by the validation of the CRD itself
	}
	for _, ver := range crd.Spec.Versions {
		key := schema.GroupVersionKind{Group: crd.Spec.Group, Version: ver.Name, Kind: crd.Spec.Names.Kind}
		if _, known := v.schemas[key]; known || ver.Schema == nil || ver.Schema.OpenAPIV3Schema == nil {
			continue
		}
		s, err := newCRDSchema(ver.Schema.OpenAPIV3Schema)
		if err != nil {
			report(fmt.Sprintf("CustomResourceDefinition %s version %s: invalid schema: %v", crd.Name, ver.Name, err))
			continue
		}
		v.schemas[key] = s
	}
}

// checkObject validates one document as a Kubernetes object.
func (v *validator) checkObject(d *document) {
	if d.Obj == nil {
		if d.Node.Kind != 0 && !slices.Contains(kustomizationFiles, path.Base(d.File)) {
			v.res.Unchecked["(not a YAML map)"]++
		}
		return
	}
	if d.isKustomizeConfig() || v.patches[d.File] {
		return
	}
	if _, encrypted := d.Obj["sops"]; encrypted {
		v.res.Unchecked["(SOPS-encrypted)"]++
		return
	}
	c := v.check(d.Obj)
	if c.object {
		v.res.Objects++
	}
	if c.unchecked != "" {
		v.res.Unchecked[c.unchecked]++
	}
	for _, p := range c.problems {
		v.add(d.File, d.lineOf(p.Path), SeverityError, p.Message)
	}
}

// objectCheck is what checking one object found.
type objectCheck struct {
	// object is true for a Kubernetes object (one with a valid apiVersion
	// and kind, not a List), which is counted.
	object bool
	// unchecked names what was not checked, for lack of a schema.
	unchecked string
	// problems hold the whole message; Path gives the line.
	problems []fieldProblem
}

// check validates obj (a decoded YAML document) as a Kubernetes object: with
// the schema of a Tether CRD or of a CRD under the directory when it is one
// of theirs, else with the OpenAPI schema of the chosen Kubernetes version.
func (v *validator) check(obj map[string]any) objectCheck {
	var c objectCheck
	problem := func(path, format string, a ...any) objectCheck {
		c.problems = append(c.problems, fieldProblem{Path: path, Message: fmt.Sprintf(format, a...)})
		return c
	}
	apiVersion, hasAPIVersion := obj["apiVersion"]
	kind, hasKind := obj["kind"]
	switch {
	case !hasAPIVersion && !hasKind:
		return c // not a Kubernetes object: values, configuration
	case !hasKind:
		return problem("apiVersion", "object has an apiVersion but no kind")
	case !hasAPIVersion:
		return problem("kind", "%v object has no apiVersion", kind)
	}
	gvk, ok := gvkOf(obj)
	if !ok {
		return problem("apiVersion", "invalid apiVersion %v or kind %v", apiVersion, kind)
	}
	if gvk.Kind == "List" && gvk.Group == "" {
		c.unchecked = "List"
		return c
	}
	c.object = true
	md, _ := obj["metadata"].(map[string]any)
	if name, _ := md["name"].(string); name == "" {
		if gen, _ := md["generateName"].(string); gen == "" {
			problem("metadata", "%s has no metadata.name", gvk.Kind)
		}
	}
	s, ok := v.schemas[gvk]
	switch {
	case ok:
	case isTetherGroup(gvk.Group):
		return problem("apiVersion", "%s is not served by Tether: %s has no version %s", gvk.Kind, gvk.Group, gvk.Version)
	default:
		var err error
		if s, ok, err = v.builtIn(gvk); err != nil {
			return problem("", "%s: %v", strings.TrimSpace(gvk.Kind+" "+objectName(obj)), err)
		}
		if !ok && v.kube.KnowsGroup(gvk.Group) {
			return problem("apiVersion", "%s", notServed(v.kube, gvk))
		}
		if !ok {
			c.unchecked = gvk.GroupKind().String()
			return c
		}
	}
	label := strings.TrimSpace(gvk.Kind + " " + objectName(obj)) // no name: reported above
	for _, p := range s.validate(obj) {
		problem(p.Path, "%s: %s", label, p.Message)
	}
	return c
}

func objectName(obj map[string]any) string {
	md, _ := obj["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	if ns, _ := md["namespace"].(string); ns != "" {
		return ns + "/" + name
	}
	return name
}

// build runs kustomize on every kustomization directory, as the reconciler
// would; errors are reported on the kustomization file.
func (v *validator) build(kdirs []string) {
	if len(kdirs) == 0 {
		return
	}
	fsys, err := kustomize.LoadDir(v.root)
	if err != nil {
		v.add(".", 0, SeverityError, fmt.Sprintf("loading the directory for kustomize: %v", err))
		return
	}
	for _, dir := range kdirs {
		file := kustomizationFileIn(v.root, dir)
		if v.parseFailed(file) {
			continue // its syntax error is reported already
		}
		v.res.Kustomizations++
		if _, err := kustomize.Build(fsys, kustomize.Options{Path: dir}); err != nil {
			v.add(file, 1, SeverityError, "kustomize build: "+oneLine(err.Error()))
		}
	}
}

func (v *validator) parseFailed(rel string) bool {
	disp := v.display(rel)
	return slices.ContainsFunc(v.res.Problems, func(p Problem) bool { return p.File == disp && p.Severity == SeverityError })
}

func kustomizationFileIn(root, dir string) string {
	for _, k := range kustomizationFiles {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(dir), k)); err == nil {
			return path.Join(dir, k)
		}
	}
	return path.Join(dir, "kustomization.yaml")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/manifestgen"
)

const systemNS = manifestgen.DefaultNamespace

// The install tests change cluster-scoped state, so they run in sequence in
// this one test; each step is a subtest named for the behaviour it checks.
func TestInstallLifecycle(t *testing.T) {
	ctx := context.Background()
	foreign := createForeignCRD(t)
	// Its status settles (NamesAccepted, Established) just after creation.
	var foreignBefore *apiextensionsv1.CustomResourceDefinition
	testcluster.Eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		foreignBefore = getCRD(t, foreign.Name)
		for _, c := range foreignBefore.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return nil
			}
		}
		return errorf("CRD %s not established", foreign.Name)
	})

	t.Run("check before install fails and says to install", func(t *testing.T) {
		res := harness.Tether(t, cluster, "check")
		if res.ExitCode != 1 {
			t.Fatalf("exit %d, want 1", res.ExitCode)
		}
		if !strings.Contains(res.Stderr, "run `tether install`") {
			t.Errorf("stderr does not say what to do:\n%s", res.Stderr)
		}
	})

	t.Run("check --pre passes for an admin", func(t *testing.T) {
		res := harness.Tether(t, cluster, "check", "--pre")
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
		}
		if !strings.Contains(res.Stderr, "can create customresourcedefinitions") {
			t.Errorf("missing permission line:\n%s", res.Stderr)
		}
	})

	t.Run("install applies everything and waits for the reconciler", func(t *testing.T) {
		res := harness.Tether(t, cluster, "install", "--timeout", "3m")
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
		}
		crds := fmt.Sprintf("%d CRDs established", len(tetherCRDNames(t)))
		for _, want := range []string{"applying", "created", crds, "reconciler available", "install finished"} {
			if !strings.Contains(res.Stderr, want) {
				t.Errorf("progress output lacks %q", want)
			}
		}
		var d appsv1.Deployment
		if err := cluster.Client.Get(ctx, client.ObjectKey{Namespace: systemNS, Name: manifestgen.DeploymentName}, &d); err != nil {
			t.Fatal(err)
		}
		if d.Status.AvailableReplicas < 1 {
			t.Errorf("reconciler deployment not available: %+v", d.Status)
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "ghcr.io/tether-gitops/tether-reconciler:"+harness.Version {
			t.Errorf("image = %s", img)
		}
		for _, name := range tetherCRDNames(t) {
			crd := getCRD(t, name)
			if crd.Labels[manifestgen.VersionLabel] != harness.Version {
				t.Errorf("CRD %s version label = %q", name, crd.Labels[manifestgen.VersionLabel])
			}
			if !hasManager(crd.ManagedFields, "tether") {
				t.Errorf("CRD %s not applied by field manager tether", name)
			}
		}
	})

	t.Run("check passes after install", func(t *testing.T) {
		res := harness.Tether(t, cluster, "check")
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
		}
		for _, want := range []string{"CRDs established at " + harness.Version, "reconciler available", "all checks passed"} {
			if !strings.Contains(res.Stderr, want) {
				t.Errorf("check output lacks %q", want)
			}
		}
	})

	t.Run("version reports client, cluster and reconciler", func(t *testing.T) {
		res := harness.Tether(t, cluster, "version", "-o", "json")
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
		}
		var v struct {
			Client     struct{ Version string }
			Kubernetes string
			Reconciler string
		}
		if err := json.Unmarshal([]byte(res.Stdout), &v); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, res.Stdout)
		}
		want, _ := testcluster.KubernetesVersion()
		if v.Client.Version != harness.Version || v.Reconciler != harness.Version || v.Kubernetes != want {
			t.Errorf("versions = %+v, want client and reconciler %s, kubernetes %s", v, harness.Version, want)
		}
	})

	t.Run("re-install is a no-op", func(t *testing.T) {
		before := resourceVersions(t)
		res := harness.Tether(t, cluster, "install")
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
		}
		if strings.Contains(res.Stderr, " created") || strings.Contains(res.Stderr, " configured") {
			t.Errorf("re-install changed objects:\n%s", res.Stderr)
		}
		if !strings.Contains(res.Stderr, "objects unchanged") {
			t.Errorf("re-install does not report unchanged objects:\n%s", res.Stderr)
		}
		after := resourceVersions(t)
		for k, v := range before {
			if after[k] != v {
				t.Errorf("%s resourceVersion %s -> %s", k, v, after[k])
			}
		}
	})

	t.Run("a changed flag reconfigures only what it touches", func(t *testing.T) {
		before := resourceVersions(t)
		res := harness.Tether(t, cluster, "install", "--registry", "registry.local:5000/tether", "--wait=false")
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
		}
		after := resourceVersions(t)
		changed := []string{}
		for k, v := range before {
			if after[k] != v {
				changed = append(changed, k)
			}
		}
		if len(changed) != 1 || !strings.HasPrefix(changed[0], "Deployment/") {
			t.Errorf("changed %v, want only the reconciler Deployment", changed)
		}
		// Back to the default image for the steps that follow.
		if res := harness.Tether(t, cluster, "install"); res.ExitCode != 0 {
			t.Fatalf("restore: %s", res.Stderr)
		}
	})

	t.Run("check fails for a CRD at another version, and install mends it", func(t *testing.T) {
		crd := getCRD(t, "kustomizations.kustomize.tether.dev")
		patch := []byte(`{"metadata":{"labels":{"` + manifestgen.VersionLabel + `":"v0.0.1-old"}}}`)
		if err := cluster.Client.Patch(ctx, crd, client.RawPatch(types.MergePatchType, patch)); err != nil {
			t.Fatal(err)
		}
		res := harness.Tether(t, cluster, "check")
		want := `CRD kustomizations.kustomize.tether.dev is at version "v0.0.1-old", this CLI expects ` + harness.Version
		if res.ExitCode != 1 || !strings.Contains(res.Stderr, want) || !strings.Contains(res.Stderr, "run `tether install` to upgrade") {
			t.Fatalf("exit %d, want 1 and %q:\n%s", res.ExitCode, want, res.Stderr)
		}
		if res := harness.Tether(t, cluster, "install"); res.ExitCode != 0 {
			t.Fatalf("install: %s", res.Stderr)
		}
		if res := harness.Tether(t, cluster, "check"); res.ExitCode != 0 {
			t.Fatalf("check after install: exit %d: %s", res.ExitCode, res.Stderr)
		}
	})

	t.Run("check fails while the reconciler Deployment is not available", func(t *testing.T) {
		key := client.ObjectKey{Namespace: systemNS, Name: manifestgen.DeploymentName}
		var d appsv1.Deployment
		if err := cluster.Client.Get(ctx, key, &d); err != nil {
			t.Fatal(err)
		}
		// No node matches, and Recreate removes the running pod first: the
		// Deployment has no available replica.
		broken := []byte(`{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null},"template":{"spec":{"nodeSelector":{"tether.dev/e2e":"no-such-node"}}}}}`)
		if err := cluster.Client.Patch(ctx, &d, client.RawPatch(types.StrategicMergePatchType, broken)); err != nil {
			t.Fatal(err)
		}
		var res harness.Result
		testcluster.Eventually(t, time.Minute, 500*time.Millisecond, func() error {
			res = harness.Tether(t, cluster, "check")
			if res.ExitCode != 1 || !strings.Contains(res.Stderr, "deployment "+key.Namespace+"/"+key.Name+" is not available") {
				return errorf("exit %d: %s", res.ExitCode, res.Stderr)
			}
			return nil
		})
		if !strings.Contains(res.Stderr, "kubectl -n "+key.Namespace+" describe deployment "+key.Name) || !strings.Contains(res.Stderr, "1 check(s) failed") {
			t.Errorf("check does not say what to look at, or counts wrong:\n%s", res.Stderr)
		}

		fixed := []byte(`{"spec":{"strategy":{"type":"RollingUpdate"},"template":{"spec":{"nodeSelector":null}}}}`)
		if err := cluster.Client.Patch(ctx, &d, client.RawPatch(types.StrategicMergePatchType, fixed)); err != nil {
			t.Fatal(err)
		}
		testcluster.Eventually(t, time.Minute, 500*time.Millisecond, func() error {
			if res := harness.Tether(t, cluster, "check"); res.ExitCode != 0 {
				return errorf("exit %d: %s", res.ExitCode, res.Stderr)
			}
			return nil
		})
	})

	t.Run("uninstall without --yes and without a terminal refuses", func(t *testing.T) {
		res := harness.Tether(t, cluster, "uninstall")
		if res.ExitCode != 1 || !strings.Contains(res.Stderr, "--yes") {
			t.Fatalf("exit %d, stderr %q", res.ExitCode, res.Stderr)
		}
		getCRD(t, "gitrepositories.source.tether.dev") // still there
	})

	t.Run("uninstall removes Tether objects with finalizers, CRDs and RBAC, keeps user namespaces", func(t *testing.T) {
		userNS := testcluster.NewNamespace(t, cluster)
		repo := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "source.tether.dev/v1", "kind": "GitRepository",
			"metadata": map[string]any{"name": "app", "namespace": userNS, "finalizers": []any{meta.Finalizer}},
			"spec":     map[string]any{"url": "https://example.com/app.git", "interval": "5m"},
		}}
		if err := cluster.Client.Create(ctx, repo); err != nil {
			t.Fatal(err)
		}
		res := harness.Tether(t, cluster, "uninstall", "--yes", "--timeout", "2m")
		if res.ExitCode != 0 {
			t.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
		}
		for _, name := range tetherCRDNames(t) {
			t.Errorf("CRD %s left behind", name)
		}
		var crb rbacv1.ClusterRoleBinding
		if err := cluster.Client.Get(ctx, client.ObjectKey{Name: "tether-reconciler"}, &crb); !apierrors.IsNotFound(err) {
			t.Errorf("cluster role binding left behind: %v", err)
		}
		var ns corev1.Namespace
		if err := cluster.Client.Get(ctx, client.ObjectKey{Name: userNS}, &ns); err != nil || ns.DeletionTimestamp != nil {
			t.Errorf("user namespace %s touched: %v %v", userNS, err, ns.DeletionTimestamp)
		}
		testcluster.Eventually(t, 90*time.Second, 250*time.Millisecond, func() error {
			var sys corev1.Namespace
			if err := cluster.Client.Get(ctx, client.ObjectKey{Name: systemNS}, &sys); !apierrors.IsNotFound(err) {
				return errorf("namespace %s still present (err %v)", systemNS, err)
			}
			return nil
		})
	})

	t.Run("install and uninstall leave other CRDs alone", func(t *testing.T) {
		after := getCRD(t, foreign.Name)
		if after.ResourceVersion != foreignBefore.ResourceVersion || hasManager(after.ManagedFields, "tether") {
			t.Errorf("foreign CRD changed: resourceVersion %s -> %s", foreignBefore.ResourceVersion, after.ResourceVersion)
		}
	})
}

func TestInstall_BadVersionFailsBeforeTouchingTheCluster(t *testing.T) {
	res := harness.Tether(t, cluster, "install", "--version", "nosuch")
	if res.ExitCode != 1 {
		t.Fatalf("exit %d, want 1", res.ExitCode)
	}
	lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `invalid version "nosuch"`) {
		t.Errorf("want a one-line error naming the version, got:\n%s", res.Stderr)
	}
	if len(tetherCRDNames(t)) != 0 {
		t.Error("a failed install left CRDs behind")
	}
}

func TestInstall_UnreachableClusterIsOneLine(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	data := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`
	if err := os.WriteFile(kubeconfig, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"install"}, {"check"}, {"uninstall", "--yes"}} {
		res := harness.Tether(t, nil, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		if res.ExitCode != 1 {
			t.Errorf("%v: exit %d, want 1", args, res.ExitCode)
		}
		errLines := grep(res.Stderr, "error:")
		if len(errLines) != 1 || !strings.Contains(errLines[0], "cannot reach the Kubernetes API at https://127.0.0.1:1") {
			t.Errorf("%v: want one error line saying the cluster cannot be reached, got:\n%s", args, res.Stderr)
		}
	}
}

func TestInstall_ExportPrintsManifestsWithoutACluster(t *testing.T) {
	res := harness.Tether(t, nil, "--kubeconfig", "/nonexistent", "install", "--export", "--image", "my.registry/reconciler:dev")
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
	}
	objs, err := manifestgen.Decode([]byte(res.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, u := range objs {
		kinds[u.GetKind()]++
		if u.GetKind() == "Deployment" && !strings.Contains(res.Stdout, "image: my.registry/reconciler:dev") {
			t.Error("--image not applied to the exported Deployment")
		}
	}
	if kinds["CustomResourceDefinition"] != 7 || kinds["Deployment"] != 1 || kinds["Namespace"] != 1 {
		t.Errorf("exported kinds = %v", kinds)
	}
}

// helpers

func createForeignCRD(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptrTrue()}},
			}},
		},
	}
	if err := cluster.Client.Create(context.Background(), crd); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Client.Delete(context.Background(), crd) })
	return crd
}

func getCRD(t *testing.T, name string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	var crd apiextensionsv1.CustomResourceDefinition
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Name: name}, &crd); err != nil {
		t.Fatalf("CRD %s: %v", name, err)
	}
	return &crd
}

func tetherCRDNames(t *testing.T) []string {
	t.Helper()
	var list apiextensionsv1.CustomResourceDefinitionList
	if err := cluster.Client.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, crd := range list.Items {
		if strings.HasSuffix(crd.Spec.Group, ".tether.dev") {
			names = append(names, crd.Name)
		}
	}
	return names
}

// resourceVersions of every object install manages, keyed by Kind/name.
func resourceVersions(t *testing.T) map[string]string {
	t.Helper()
	objs, err := manifestgen.Generate(manifestgen.Options{Version: harness.Version})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, want := range objs {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(want.GroupVersionKind())
		if err := cluster.Client.Get(context.Background(), client.ObjectKeyFromObject(want), u); err != nil {
			t.Fatalf("%s/%s: %v", want.GetKind(), want.GetName(), err)
		}
		out[want.GetKind()+"/"+want.GetName()] = u.GetResourceVersion()
	}
	return out
}

func hasManager(fields []metav1.ManagedFieldsEntry, manager string) bool {
	for _, f := range fields {
		if f.Manager == manager {
			return true
		}
	}
	return false
}

func grep(s, substr string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

func ptrTrue() *bool { b := true; return &b }

package helmrelease

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
)

// newCRDGroup returns an API group of its own for the CRDs of a test (they
// are cluster-scoped), and deletes its CRDs when the test ends.
func newCRDGroup(t *testing.T, f *fixture) string {
	t.Helper()
	group := f.ns + ".e2e.tether.dev"
	t.Cleanup(func() {
		var list apiextensionsv1.CustomResourceDefinitionList
		if err := cluster.Client.List(context.Background(), &list); err != nil {
			t.Errorf("listing CRDs: %v", err)
			return
		}
		for i := range list.Items {
			if list.Items[i].Spec.Group == group {
				if err := cluster.Client.Delete(context.Background(), &list.Items[i]); err != nil && !apierrors.IsNotFound(err) {
					t.Errorf("deleting CRD %s: %v", list.Items[i].Name, err)
				}
			}
		}
	})
	return group
}

// createCRD creates the CRD of kind in group as chart version chartVersion
// has it, as someone who installed it before the release would.
func createCRD(t *testing.T, group, kind, chartVersion string) {
	t.Helper()
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal([]byte(crdYAML(group, kind, chartVersion)), &crd); err != nil {
		t.Fatal(err)
	}
	harness.Create(t, cluster, &crd)
}

// crdChartVersion returns the chart-version label of the CRD of kind in
// group, "<absent>" when there is no such CRD.
func crdChartVersion(t *testing.T, group, kind string) string {
	t.Helper()
	var crd apiextensionsv1.CustomResourceDefinition
	err := cluster.Client.Get(context.Background(), client.ObjectKey{Name: strings.ToLower(kind) + "s." + group}, &crd)
	if apierrors.IsNotFound(err) {
		return "<absent>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return crd.Labels["chart-version"]
}

// assertCustomResource checks that the release's object of kind in group
// exists.
func assertCustomResource(t *testing.T, ns, group, kind, name string) {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: group, Version: "v1", Kind: kind})
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		t.Errorf("the release's %s: %v", kind, err)
	}
}

// install.crds: Create (the default) creates the chart's CRDs before its
// templates, which may use them, and leaves a CRD that already exists as it
// is; Skip creates none; CreateReplace replaces an existing one.
func TestHelmRelease_InstallCRDsPolicies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	group := newCRDGroup(t, f)
	crds := func(kinds ...string) chartOpts {
		return chartOpts{crdGroup: group, crds: kinds, customResources: kinds}
	}
	publish(t, f.srv, "fresh", "1.0.0", crds("Widget"))
	publish(t, f.srv, "existing", "1.0.0", crds("Gadget"))
	publish(t, f.srv, "skipped", "1.0.0", chartOpts{crdGroup: group, crds: []string{"Gizmo"}})
	publish(t, f.srv, "replaced", "1.0.0", crds("Doohickey"))
	// Installed earlier, as by hand or by another tool.
	createCRD(t, group, "Gadget", "0.1.0")
	createCRD(t, group, "Doohickey", "0.1.0")

	chart := func(name string) func(*helmv1.HelmReleaseSpec) {
		return func(s *helmv1.HelmReleaseSpec) { s.Chart.Spec.Chart = name }
	}
	policy := func(p helmv1.CRDsPolicy) func(*helmv1.HelmReleaseSpec) {
		return func(s *helmv1.HelmReleaseSpec) { s.Install = &helmv1.Install{CRDs: p} }
	}
	fresh := f.release("fresh", "*", nil, chart("fresh"))
	existing := f.release("existing", "*", nil, chart("existing"))
	skipped := f.release("skipped", "*", nil, chart("skipped"), policy(helmv1.CRDsSkip))
	replaced := f.release("replaced", "*", nil, chart("replaced"), policy(helmv1.CRDsCreateReplace))
	for _, hr := range []*helmv1.HelmRelease{fresh, existing, skipped, replaced} {
		harness.Create(t, cluster, hr)
	}
	for _, hr := range []*helmv1.HelmRelease{fresh, existing, skipped, replaced} {
		waitRelease(t, hr, 1)
	}

	if v := crdChartVersion(t, group, "Widget"); v != "1.0.0" {
		t.Errorf("Create: the new CRD's chart-version %s, want 1.0.0", v)
	}
	assertCustomResource(t, f.ns, group, "Widget", "fresh")
	if v := crdChartVersion(t, group, "Gadget"); v != "0.1.0" {
		t.Errorf("Create: the existing CRD's chart-version %s, want it left at 0.1.0", v)
	}
	assertCustomResource(t, f.ns, group, "Gadget", "existing")
	if v := crdChartVersion(t, group, "Gizmo"); v != "<absent>" {
		t.Errorf("Skip: the chart's CRD was created (chart-version %s)", v)
	}
	if v := crdChartVersion(t, group, "Doohickey"); v != "1.0.0" {
		t.Errorf("CreateReplace: the existing CRD's chart-version %s, want 1.0.0", v)
	}
	assertCustomResource(t, f.ns, group, "Doohickey", "replaced")
}

// upgrade.crds: Skip (the default) leaves the CRDs as the install made
// them, Create adds the new ones only, CreateReplace updates them too, before
// the templates that use them.
func TestHelmRelease_UpgradeCRDsPolicies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	group := newCRDGroup(t, f)
	publish(t, f.srv, "app", "1.0.0", chartOpts{crdGroup: group, crds: []string{"Widget"}, customResources: []string{"Widget"}})
	hr := f.release("crds", "*", nil)
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)
	assertCustomResource(t, f.ns, group, "Widget", "crds")

	publish(t, f.srv, "app", "1.1.0", chartOpts{crdGroup: group, crds: []string{"Widget", "Gadget"}, customResources: []string{"Widget"}})
	waitRelease(t, hr, 2)
	if w, g := crdChartVersion(t, group, "Widget"), crdChartVersion(t, group, "Gadget"); w != "1.0.0" || g != "<absent>" {
		t.Errorf("Skip: Widget CRD of chart %s, Gadget CRD %s; want 1.0.0 and <absent>", w, g)
	}

	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Upgrade = &helmv1.Upgrade{CRDs: helmv1.CRDsCreate} })
	waitRelease(t, hr, 3)
	if w, g := crdChartVersion(t, group, "Widget"), crdChartVersion(t, group, "Gadget"); w != "1.0.0" || g != "1.1.0" {
		t.Errorf("Create: Widget CRD of chart %s, Gadget CRD of chart %s; want 1.0.0 (left) and 1.1.0 (created)", w, g)
	}

	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Upgrade = &helmv1.Upgrade{CRDs: helmv1.CRDsCreateReplace} })
	waitRelease(t, hr, 4)
	if w := crdChartVersion(t, group, "Widget"); w != "1.1.0" {
		t.Errorf("CreateReplace: Widget CRD of chart %s, want 1.1.0", w)
	}

	// A new CRD and an object of it in the same upgrade.
	publish(t, f.srv, "app", "1.2.0", chartOpts{crdGroup: group, crds: []string{"Widget", "Gadget", "Gizmo"}, customResources: []string{"Widget", "Gizmo"}})
	got := waitRelease(t, hr, 5)
	if s := got.Status.History.Latest(); s.ChartVersion != "1.2.0" {
		t.Errorf("history[0] %+v", s)
	}
	assertCustomResource(t, f.ns, group, "Gizmo", "crds")
	if v := crdChartVersion(t, group, "Gadget"); v != "1.2.0" {
		t.Errorf("CreateReplace: Gadget CRD of chart %s, want 1.2.0", v)
	}
}

// A CRD created after the reconciler has cached the cluster's kinds (by
// hand, another release, a Kustomization) is found when a release uses it,
// not only after a restart.
func TestHelmRelease_UsesAKindWhoseCRDWasCreatedLater(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	group := newCRDGroup(t, f)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	publish(t, f.srv, "user", "1.0.0", chartOpts{crdGroup: group, customResources: []string{"Sprocket"}})
	first := f.release("first", "*", nil)
	harness.Create(t, cluster, first)
	waitRelease(t, first, 1) // the reconciler has discovered the cluster's kinds

	createCRD(t, group, "Sprocket", "0.1.0")
	testcluster.Eventually(t, harness.WaitTimeout, 100*time.Millisecond, func() error {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := cluster.Client.Get(context.Background(), client.ObjectKey{Name: "sprockets." + group}, &crd); err != nil {
			return err
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("CRD sprockets.%s not established", group)
	})
	user := f.release("user", "*", nil, func(s *helmv1.HelmReleaseSpec) { s.Chart.Spec.Chart = "user" })
	harness.Create(t, cluster, user)
	waitRelease(t, user, 1)
	assertCustomResource(t, f.ns, group, "Sprocket", "user")
}

// A release whose CRD was deleted (and every object of its kind with it)
// still uninstalls: the HelmRelease's finalizer does not fail for ever on
// objects Helm can no longer map, and the release's other objects go.
func TestHelmRelease_UninstallsAfterItsCRDWasDeleted(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	group := newCRDGroup(t, f)
	publish(t, f.srv, "app", "1.0.0", chartOpts{crdGroup: group, crds: []string{"Gear"}, customResources: []string{"Gear"}})
	hr := f.release("geared", "*", nil)
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)
	assertCustomResource(t, f.ns, group, "Gear", "geared")

	crd := &apiextensionsv1.CustomResourceDefinition{}
	crd.Name = "gears." + group
	if err := cluster.Client.Delete(context.Background(), crd); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, harness.WaitTimeout, 100*time.Millisecond, func() error {
		err := cluster.Client.Get(context.Background(), client.ObjectKeyFromObject(crd), crd)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("CRD %s still there: %v", crd.Name, err)
	})
	if err := cluster.Client.Delete(context.Background(), hr); err != nil {
		t.Fatal(err)
	}
	testcluster.Eventually(t, harness.WaitTimeout, 200*time.Millisecond, func() error {
		err := cluster.Client.Get(context.Background(), client.ObjectKeyFromObject(hr), &helmv1.HelmRelease{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("HelmRelease still there (finalizer): %v; events: %v", err, events(t, hr))
	})
	var cm corev1.ConfigMap
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "geared-config"}, &cm); !apierrors.IsNotFound(err) {
		t.Errorf("the release's ConfigMap after the uninstall: %v", err)
	}
}

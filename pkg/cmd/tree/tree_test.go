package tree

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/cmd/internal/fixtures"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/helm"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func inventory(ids ...string) *kustomizev1.ResourceInventory {
	inv := &kustomizev1.ResourceInventory{}
	for _, id := range ids {
		v := "v1"
		inv.Entries = append(inv.Entries, kustomizev1.ResourceRef{ID: id, Version: v})
	}
	return inv
}

func objects() []client.Object {
	root := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tether-system", Name: "cluster"},
		Status: kustomizev1.KustomizationStatus{LastAppliedRevision: "main@sha1:1111", Inventory: inventory(
			"_apps__Namespace",
			"tether-system_apps_kustomize.tether.dev_Kustomization",
			"apps_podinfo_helm.tether.dev_HelmRelease",
			"apps_settings__ConfigMap",
			"tether-system_cluster_kustomize.tether.dev_Kustomization",
		)},
	}
	apps := &kustomizev1.Kustomization{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tether-system", Name: "apps"},
		Status: kustomizev1.KustomizationStatus{LastAppliedRevision: "main@sha1:2222", Inventory: inventory(
			"apps_web_apps_Deployment",
			"apps_web__Service",
			"apps_missing_kustomize.tether.dev_Kustomization",
		)},
	}
	hr := &helmv1.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "podinfo"},
		Status: helmv1.HelmReleaseStatus{History: helmv1.Snapshots{
			{Name: "apps-podinfo", Namespace: "apps", Version: 3, ChartName: "podinfo", ChartVersion: "6.5.0", Status: "deployed"}}},
	}
	return []client.Object{root, apps, hr}
}

func TestTree_ExpandsNestedKustomizationsAndHelmReleases(t *testing.T) {
	for _, tt := range []struct{ golden, output string }{{"cluster.txt", ""}, {"cluster.json", "json"}} {
		t.Run(tt.golden, func(t *testing.T) {
			io, _, out, _ := iostreams.Test()
			mapper := apimeta.NewDefaultRESTMapper(nil)
			mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, apimeta.RESTScopeNamespace)
			mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Service"}, apimeta.RESTScopeNamespace)
			mapper.Add(schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, apimeta.RESTScopeRoot)
			c := fake.NewClientBuilder().WithScheme(cmdutil.Scheme()).WithRESTMapper(mapper).WithObjects(objects()...).Build()
			o := &Options{IO: io, Client: func() (client.Client, error) { return c, nil }, Namespace: "tether-system", Name: "cluster", Output: tt.output,
				ReleaseObjects: func(_ context.Context, hr *helmv1.HelmRelease) ([]*unstructured.Unstructured, error) {
					if hr.Name != "podinfo" {
						t.Errorf("release objects of %s", hr.Name)
					}
					return helm.ParseManifest("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: podinfo\n  namespace: apps\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: podinfo\n")
				}}
			if err := o.Run(t.Context()); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.golden)
			if *update {
				_ = os.WriteFile(golden, out.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Errorf("output differs from %s:\n%s", golden, out)
			}
		})
	}
}

func TestTree_Flags(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	var got *Options
	cmd := NewCmdTree(cmdutil.New(io), func(o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"ks", "apps", "-o", "json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Name != "apps" || got.Output != "json" {
		t.Errorf("options = %+v", got)
	}
	cmd.SetArgs([]string{"ks", "apps", "-o", "yaml"})
	if err := cmd.Execute(); err == nil {
		t.Error("-o yaml accepted")
	}
	io2, _, _, _ := iostreams.Test()
	c := fixtures.Client()
	o := &Options{IO: io2, Client: func() (client.Client, error) { return c, nil }, Namespace: "x", Name: "nosuch"}
	if err := o.Run(t.Context()); err == nil {
		t.Error("missing Kustomization: no error")
	}
}

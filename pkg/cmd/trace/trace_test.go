package trace

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/cmd/internal/fixtures"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func mapper() apimeta.RESTMapper {
	m := apimeta.NewDefaultRESTMapper(nil)
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, apimeta.RESTScopeNamespace)
	return m
}

func ready(reason, msg string) []metav1.Condition {
	return []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, Reason: reason, Message: msg}}
}

func objects() []client.Object {
	return []client.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "settings",
			Labels: map[string]string{kustomizev1.NameLabel: "apps", kustomizev1.NamespaceLabel: "tether-system"}}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "manual"}},
		&kustomizev1.Kustomization{
			ObjectMeta: metav1.ObjectMeta{Namespace: "tether-system", Name: "apps"},
			Spec:       kustomizev1.KustomizationSpec{Path: "./apps", SourceRef: meta.CrossNamespaceSourceReference{Kind: "GitRepository", Name: "fleet"}},
			Status: kustomizev1.KustomizationStatus{LastAppliedRevision: "main@sha1:abcd", Conditions: ready("ReconciliationSucceeded", "Applied revision: main@sha1:abcd"),
				Inventory: &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{{ID: "apps_settings__ConfigMap", Version: "v1"}}}},
		},
		&sourcev1.GitRepository{
			ObjectMeta: metav1.ObjectMeta{Namespace: "tether-system", Name: "fleet"},
			Spec:       sourcev1.GitRepositorySpec{URL: "https://git.example.com/fleet"},
			Status: sourcev1.GitRepositoryStatus{Artifact: &meta.Artifact{Revision: "main@sha1:abcd"},
				Conditions: ready("Succeeded", "stored artifact for revision 'main@sha1:abcd'")},
		},
	}
}

func run(t *testing.T, resource, name string) (string, error) {
	t.Helper()
	io, _, out, _ := iostreams.Test()
	c := fixtures.Client(objects()...)
	o := &Options{IO: io, Client: func() (client.Client, error) { return c, nil }, Mapper: func() (apimeta.RESTMapper, error) { return mapper(), nil },
		Resource: resource, Name: name, Namespace: "apps"}
	err := o.Run(t.Context())
	return out.String(), err
}

func TestTrace_NamesTheKustomizationAndItsSource(t *testing.T) {
	for _, res := range []string{"configmap", "ConfigMap", "configmaps"} {
		out, err := run(t, res, "settings")
		if err != nil {
			t.Fatalf("%s: %v", res, err)
		}
		golden := filepath.Join("testdata", "configmap.txt")
		if *update {
			_ = os.WriteFile(golden, []byte(out), 0o644)
		}
		want, _ := os.ReadFile(golden)
		if out != string(want) {
			t.Errorf("%s: output differs from %s:\n%s", res, golden, out)
		}
	}
}

func TestTrace_NotManaged(t *testing.T) {
	_, err := run(t, "configmap", "manual")
	if err == nil || !strings.Contains(err.Error(), "ConfigMap apps/manual is not managed by Tether") {
		t.Fatalf("err = %v", err)
	}
	if _, err := run(t, "configmap", "nosuch"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v", err)
	}
	if _, err := run(t, "frobnicator", "x"); err == nil || !strings.Contains(err.Error(), "does not know the kind") {
		t.Fatalf("err = %v", err)
	}
}

func TestTrace_Args(t *testing.T) {
	tests := []struct {
		args           []string
		resource, name string
		wantErr        bool
	}{
		{args: []string{"deployment/podinfo"}, resource: "deployment", name: "podinfo"},
		{args: []string{"cm", "settings"}, resource: "cm", name: "settings"},
		{args: []string{"podinfo"}, wantErr: true},
		{args: []string{"a/b/c"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := fixtures.Parse(NewCmdTrace, tt.args...)
		if tt.wantErr != (err != nil) {
			t.Fatalf("%v: err = %v", tt.args, err)
		}
		if err == nil && (got.Resource != tt.resource || got.Name != tt.name) {
			t.Errorf("%v: got %s %s", tt.args, got.Resource, got.Name)
		}
	}
}

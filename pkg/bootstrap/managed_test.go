package bootstrap

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/manifestgen"
)

func TestManagedFromGit(t *testing.T) {
	const ns = "tether-system"
	om := metav1.ObjectMeta{Namespace: ns, Name: SyncName}
	available := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: manifestgen.DeploymentName},
		Status: appsv1.DeploymentStatus{AvailableReplicas: 1}}
	for _, tc := range []struct {
		name    string
		objs    []client.Object
		managed bool
		why     string // the reason when not managed, or the error
	}{
		{"nothing yet", nil, false, "first bootstrap"},
		{"synced", []client.Object{&sourcev1.GitRepository{ObjectMeta: om}, &kustomizev1.Kustomization{ObjectMeta: om}, available}, true, ""},
		{"no reconciler", []client.Object{&sourcev1.GitRepository{ObjectMeta: om}, &kustomizev1.Kustomization{ObjectMeta: om}}, false, "the reconciler Deployment is missing"},
		{"suspended Kustomization", []client.Object{&sourcev1.GitRepository{ObjectMeta: om},
			&kustomizev1.Kustomization{ObjectMeta: om, Spec: kustomizev1.KustomizationSpec{Suspend: true}}, available},
			false, "kustomization tether-system/" + SyncName + " is suspended, so the cluster does not follow the repository: run `tether resume kustomization " + SyncName + " -n tether-system`"},
		{"suspended GitRepository", []client.Object{&sourcev1.GitRepository{ObjectMeta: om, Spec: sourcev1.GitRepositorySpec{Suspend: true}},
			&kustomizev1.Kustomization{ObjectMeta: om}, available},
			false, "run `tether resume source git " + SyncName + " -n tether-system`"},
	} {
		c := fake.NewClientBuilder().WithScheme(cmdutil.Scheme()).WithObjects(tc.objs...).Build()
		managed, why, err := (&Runner{Client: c}).managedFromGit(t.Context(), ns)
		if err != nil {
			why = err.Error()
		}
		if managed != tc.managed || !strings.Contains(why, tc.why) {
			t.Errorf("%s: managed %v, %q; want %v, %q", tc.name, managed, why, tc.managed, tc.why)
		}
	}
}

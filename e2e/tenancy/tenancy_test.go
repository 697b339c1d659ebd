// Package tenancy drives the reconciler's multi-tenancy lockdown
// (--default-service-account, --no-cross-namespace-refs) and spec.kubeConfig
// against a real control plane.
package tenancy

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

var (
	cluster    *testcluster.Cluster
	reconciler *harness.Reconciler
)

// The reconciler impersonates "tenant" in each Kustomization's namespace
// unless spec.serviceAccountName says otherwise.
func TestMain(m *testing.M) {
	harness.Main(m, &cluster, &reconciler, "--default-service-account=tenant", "--no-cross-namespace-refs")
}

func configMap(ns, name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: " + ns + "\ndata:\n  a: \"1\"\n"
}

// source serves files from a git server and returns a GitRepository for it
// in ns, with its first artifact.
func source(t *testing.T, ns string, files map[string]string) *sourcev1.GitRepository {
	t.Helper()
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", files)
	src := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: sourcev1.GitRepositorySpec{URL: srv.URL("app"), Interval: &metav1.Duration{Duration: time.Minute}}}
	harness.Create(t, cluster, src)
	harness.WaitForRevision(t, cluster, src, "main@sha1:"+repo.Head(t))
	return src
}

func kustomization(t *testing.T, ns, name string, mutate func(*kustomizev1.KustomizationSpec)) *kustomizev1.Kustomization {
	t.Helper()
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: kustomizev1.KustomizationSpec{
			SourceRef:     meta.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "app"},
			Prune:         true,
			Interval:      &metav1.Duration{Duration: time.Minute},
			RetryInterval: &metav1.Duration{Duration: 2 * time.Second},
		}}
	if mutate != nil {
		mutate(&ks.Spec)
	}
	harness.Create(t, cluster, ks)
	return ks
}

// tenant creates the ServiceAccount "tenant" in ns, which may manage
// ConfigMaps there. (A Role of its own: the aggregated "edit" ClusterRole is
// filled by kube-controller-manager, which this cluster does not run.)
func tenant(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	for _, o := range []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"*"}}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tenant"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "tenant"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: "tenant"}}},
	} {
		if err := cluster.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
}

func exists(t *testing.T, ns, name string) bool {
	t.Helper()
	err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &corev1.ConfigMap{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

func TestDefaultServiceAccount_TenantAppliesInItsNamespaceOnly(t *testing.T) {
	t.Parallel()
	ns := testcluster.NewNamespace(t, cluster)
	other := testcluster.NewNamespace(t, cluster)
	tenant(t, ns)
	source(t, ns, map[string]string{"own/cm.yaml": configMap(ns, "own"), "escape/cm.yaml": configMap(other, "escape")})

	// No serviceAccountName: applied as "tenant", which may edit ns.
	own := kustomization(t, ns, "own", func(s *kustomizev1.KustomizationSpec) { s.Path = "./own" })
	harness.WaitReady(t, cluster, own)
	if !exists(t, ns, "own") {
		t.Error("the tenant's own ConfigMap was not applied")
	}

	// The same tenant cannot reach another namespace: nothing is created there.
	escape := kustomization(t, ns, "escape", func(s *kustomizev1.KustomizationSpec) { s.Path = "./escape" })
	got := harness.WaitForReason(t, cluster, escape, meta.ReconciliationFailedReason)
	msg := meta.GetCondition(got, meta.ReadyCondition).Message
	if !strings.Contains(msg, "forbidden") || !strings.Contains(msg, "system:serviceaccount:"+ns+":tenant") {
		t.Errorf("Ready message does not say the tenant was refused: %s", msg)
	}
	if exists(t, other, "escape") {
		t.Error("a tenant Kustomization created an object in another namespace")
	}
}

func TestDefaultServiceAccount_MissingAccountAppliesNothing(t *testing.T) {
	t.Parallel()
	ns := testcluster.NewNamespace(t, cluster) // no "tenant" here
	source(t, ns, map[string]string{"cm.yaml": configMap(ns, "x")})
	ks := kustomization(t, ns, "app", nil)
	harness.WaitForReason(t, cluster, ks, meta.ReconciliationFailedReason)
	if exists(t, ns, "x") {
		t.Error("applied with the reconciler's own rights although --default-service-account is set")
	}
}

func TestNoCrossNamespaceRefs_RefusesAnotherNamespacesSource(t *testing.T) {
	t.Parallel()
	ns := testcluster.NewNamespace(t, cluster)
	other := testcluster.NewNamespace(t, cluster)
	tenant(t, ns)
	source(t, other, map[string]string{"cm.yaml": configMap(ns, "x")})
	ks := kustomization(t, ns, "app", func(s *kustomizev1.KustomizationSpec) { s.SourceRef.Namespace = other })
	got := harness.WaitForReason(t, cluster, ks, meta.AccessDeniedReason)
	if msg := meta.GetCondition(got, meta.ReadyCondition).Message; !strings.Contains(msg, "cross-namespace references are disabled") {
		t.Errorf("Ready message = %s", msg)
	}
	if exists(t, ns, "x") {
		t.Error("applied from another namespace's source")
	}
}

// TestKubeConfig_AppliesToTheClusterOfTheSecret applies through a kubeconfig
// Secret (here for the same control plane, reached at its address as a
// remote cluster would be), as the tenant of that cluster.
func TestKubeConfig_AppliesToTheClusterOfTheSecret(t *testing.T) {
	t.Parallel()
	ns := testcluster.NewNamespace(t, cluster)
	tenant(t, ns)
	kubeconfig, err := os.ReadFile(cluster.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	harness.CreateSecret(t, cluster, ns, "remote", map[string][]byte{"value": kubeconfig})
	source(t, ns, map[string]string{"cm.yaml": configMap(ns, "remote-cm")})

	ks := kustomization(t, ns, "remote", func(s *kustomizev1.KustomizationSpec) {
		s.KubeConfig = &meta.KubeConfigReference{SecretRef: meta.SecretKeyReference{Name: "remote"}}
	})
	harness.WaitReady(t, cluster, ks)
	if !exists(t, ns, "remote-cm") {
		t.Error("the object was not applied through the kubeconfig")
	}

	bad := kustomization(t, ns, "bad", func(s *kustomizev1.KustomizationSpec) {
		s.KubeConfig = &meta.KubeConfigReference{SecretRef: meta.SecretKeyReference{Name: "missing"}}
	})
	got := harness.WaitForReason(t, cluster, bad, meta.AccessDeniedReason)
	if msg := meta.GetCondition(got, meta.ReadyCondition).Message; !strings.Contains(msg, `secret "missing" not found`) {
		t.Errorf("Ready message = %s", msg)
	}
}

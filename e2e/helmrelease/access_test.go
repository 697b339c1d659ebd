package helmrelease

import (
	"context"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
)

func TestHelmRelease_ActsAsItsServiceAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	for _, sa := range []string{"deployer", "nobody"} {
		harness.Create(t, cluster, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: sa}})
	}
	harness.Create(t, cluster, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "deployer-admin"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "admin"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "deployer", Namespace: f.ns}}})

	allowed := f.release("allowed", "*", nil, func(s *helmv1.HelmReleaseSpec) { s.ServiceAccountName = "deployer" })
	harness.Create(t, cluster, allowed)
	waitRelease(t, allowed, 1)
	var dep = deployment(t, f.ns, "allowed")
	managers := []string{}
	for _, m := range dep.ManagedFields {
		managers = append(managers, m.Manager)
	}
	if !strings.Contains(strings.Join(managers, ","), "helm") {
		t.Errorf("Deployment managers %v, want helm", managers)
	}

	denied := f.release("denied", "*", nil, func(s *helmv1.HelmReleaseSpec) { s.ServiceAccountName = "nobody" })
	harness.Create(t, cluster, denied)
	got := harness.WaitFor(t, cluster, denied, "Ready=False forbidden", func(o *helmv1.HelmRelease) bool {
		c := meta.GetCondition(o, meta.ReadyCondition)
		return c != nil && c.Status == metav1.ConditionFalse && strings.Contains(c.Message, "system:serviceaccount:"+f.ns+":nobody")
	})
	t.Logf("Ready: %s", condition(got, meta.ReadyCondition))
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "denied"}, &corev1.ServiceAccount{}); err == nil {
		t.Error("a release without rights created objects")
	}
}

func TestHelmRelease_DriftIgnoreRulesLeaveFieldsAlone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("ignored", "*", nil, func(s *helmv1.HelmReleaseSpec) {
		s.DriftDetection = &helmv1.DriftDetection{Ignore: []helmv1.IgnoreRule{{
			Paths: []string{"/spec/replicas"}, Target: &meta.Selector{Kind: "Deployment"},
		}}}
	})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)

	// Scaled by hand (or an autoscaler): ignored. Data edited: corrected.
	dep := deployment(t, f.ns, "ignored")
	three := int32(3)
	dep.Spec.Replicas = &three
	if err := cluster.Client.Update(context.Background(), dep, client.FieldOwner("hpa")); err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: f.ns, Name: "ignored-config"}, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["message"] = "edited"
	if err := cluster.Client.Update(context.Background(), &cm, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	harness.ReconcileAndWait(t, cluster, hr)
	e := waitEvent(t, hr, helmv1.DriftDetectedReason, "ConfigMap/"+f.ns+"/ignored-config changed: data.message")
	if strings.Contains(e, "Deployment") {
		t.Errorf("an ignored field was reported: %s", e)
	}
	if d := configData(t, f.ns, "ignored"); d["message"] != "hello" {
		t.Errorf("ConfigMap not corrected: %v", d)
	}
	if r := *deployment(t, f.ns, "ignored").Spec.Replicas; r != 3 {
		t.Errorf("ignored replicas changed to %d", r)
	}
}

func TestHelmRelease_ReleasesToTheClusterOfItsKubeConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	kubeconfig, err := os.ReadFile(cluster.KubeconfigPath)
	if err != nil {
		t.Fatal(err)
	}
	harness.CreateSecret(t, cluster, f.ns, "remote", map[string][]byte{"value": kubeconfig})
	hr := f.release("remote", "*", map[string]any{"message": "remote"}, func(s *helmv1.HelmReleaseSpec) {
		s.KubeConfig = &meta.KubeConfigReference{SecretRef: meta.SecretKeyReference{Name: "remote"}}
	})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)
	if d := configData(t, f.ns, "remote"); d["message"] != "remote" {
		t.Errorf("ConfigMap data %v", d)
	}

	missing := f.release("nokubeconfig", "*", nil, func(s *helmv1.HelmReleaseSpec) {
		s.KubeConfig = &meta.KubeConfigReference{SecretRef: meta.SecretKeyReference{Name: "absent"}}
	})
	harness.Create(t, cluster, missing)
	readyFalse(t, missing, helmv1.InitFailedReason, `secret "absent" not found`, "spec.kubeConfig.secretRef")
}

package kustomization

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

// badCase is a commit that must fail the Kustomization with nothing of it
// applied and nothing pruned.
type badCase struct {
	name string
	// setup creates what the case needs in the cluster and returns how it
	// changes the Kustomization's spec (may be nil).
	setup func(t *testing.T, f *fixture) func(*kustomizev1.KustomizationSpec)
	// files are added by the bad commit, on top of the common changes.
	files func(t *testing.T, f *fixture) map[string]string
	// reason of Ready=False, and what the message must contain.
	reason string
	want   func(f *fixture) []string
	// check runs last, for what the case adds.
	check func(t *testing.T, f *fixture, ks *kustomizev1.Kustomization)
}

func TestKustomization_BadInputAppliesNothingPrunesNothingAndSaysWhy(t *testing.T) {
	t.Parallel()
	const badYAML = "apiVersion: v1\nkind: ConfigMap\nmetadata\n  name: broken\n"
	var (
		wrongRecipient string
		sopsPlaintext  = "pw-never-shown-7f3a9c"
		otherNS        string
	)
	cases := []badCase{
		{
			name:   "invalid YAML",
			files:  func(*testing.T, *fixture) map[string]string { return map[string]string{"app/broken.yaml": badYAML} },
			reason: meta.BuildFailedReason,
			want:   func(*fixture) []string { return []string{"app/broken.yaml", "could not find expected ':'"} },
		},
		{
			name: "kustomization.yaml lists a missing file",
			files: func(*testing.T, *fixture) map[string]string {
				return map[string]string{"app/kustomization.yaml": "resources:\n- keep.yaml\n- added.yaml\n- missing.yaml\n"}
			},
			reason: meta.BuildFailedReason,
			want: func(*fixture) []string {
				return []string{"app/kustomization.yaml", `"missing.yaml"`, "not found"}
			},
		},
		{
			name: "object without kind",
			files: func(*testing.T, *fixture) map[string]string {
				return map[string]string{
					"app/kustomization.yaml": "resources:\n- keep.yaml\n- added.yaml\n- nokind.yaml\n",
					"app/nokind.yaml":        "apiVersion: v1\nmetadata:\n  name: nokind\ndata:\n  a: b\n",
				}
			},
			reason: meta.BuildFailedReason,
			want: func(*fixture) []string {
				return []string{"app/nokind.yaml", "line 1", `"nokind" has no kind`}
			},
		},
		{
			// Without a kustomization.yaml, a file whose only object lost
			// its kind must not be taken for a values file and left out:
			// its object would be pruned.
			name: "object without kind, generated kustomization",
			files: func(*testing.T, *fixture) map[string]string {
				return map[string]string{"app/nokind.yaml": "# the app's settings\napiVersion: v1\nmetadata:\n  name: nokind\ndata:\n  a: b\n"}
			},
			reason: meta.BuildFailedReason,
			want: func(*fixture) []string {
				return []string{"app/nokind.yaml", "line 2", `"nokind" has no kind`}
			},
		},
		{
			name: "duplicate object",
			files: func(*testing.T, *fixture) map[string]string {
				return map[string]string{"app/dup.yaml": configMap(nsPlaceholder, "keep", map[string]string{"level": "dup"})}
			},
			reason: meta.BuildFailedReason,
			want: func(f *fixture) []string {
				return []string{"app/dup.yaml", "app/keep.yaml", "ConfigMap " + f.ns + "/keep", "already defined"}
			},
		},
		{
			// The Namespace belongs to the first stage, applied before the
			// others: the unknown kind must stop it too.
			name: "kind unknown to the cluster",
			setup: func(*testing.T, *fixture) func(*kustomizev1.KustomizationSpec) {
				return func(s *kustomizev1.KustomizationSpec) {
					s.TargetNamespace = "" // it would rename the Namespace
				}
			},
			files: func(*testing.T, *fixture) map[string]string {
				return map[string]string{
					"app/widget.yaml": "apiVersion: example.tether.dev/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: " + nsPlaceholder + "\nspec:\n  size: 1\n",
					"app/ns.yaml":     "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + nsPlaceholder + "-stage1\n",
				}
			},
			reason: meta.ReconciliationFailedReason,
			want: func(f *fixture) []string {
				return []string{"app/widget.yaml: Widget/" + f.ns + "/w", "no kind example.tether.dev/v1, Kind=Widget is known to the cluster"}
			},
			check: func(t *testing.T, f *fixture, _ *kustomizev1.Kustomization) {
				mustNotExist(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.ns + "-stage1"}})
			},
		},
		{
			name: "substitution variable missing",
			setup: func(*testing.T, *fixture) func(*kustomizev1.KustomizationSpec) {
				return func(s *kustomizev1.KustomizationSpec) {
					s.PostBuild = &kustomizev1.PostBuild{Substitute: map[string]string{"PRESENT": "yes"}}
				}
			},
			files: func(*testing.T, *fixture) map[string]string {
				return map[string]string{"app/vars.yaml": configMap(nsPlaceholder, "vars", map[string]string{"a": "${PRESENT}", "b": "${MISSING_VAR}"})}
			},
			reason: meta.BuildFailedReason,
			want: func(f *fixture) []string {
				return []string{"app/vars.yaml: ConfigMap " + f.ns + "/vars", "MISSING_VAR", "not set"}
			},
			check: func(t *testing.T, f *fixture, _ *kustomizev1.Kustomization) { mustNotExist(t, cmKey(f.ns, "vars")) },
		},
		{
			name: "SOPS file encrypted for another age key",
			setup: func(t *testing.T, f *fixture) func(*kustomizev1.KustomizationSpec) {
				mine, _ := ageIdentity(t)
				harness.CreateSecret(t, cluster, f.ns, "sops-age", map[string][]byte{"identity.agekey": []byte(mine)})
				return func(s *kustomizev1.KustomizationSpec) {
					s.Decryption = &kustomizev1.Decryption{Provider: kustomizev1.DecryptionProviderSOPS, SecretRef: &meta.LocalObjectReference{Name: "sops-age"}}
				}
			},
			files: func(t *testing.T, f *fixture) map[string]string {
				_, wrongRecipient = ageIdentity(t)
				return map[string]string{"app/secret.yaml": sopsSecret(t, nsPlaceholder, "db", map[string]string{"password": sopsPlaintext}, wrongRecipient)}
			},
			reason: meta.BuildFailedReason,
			want: func(*fixture) []string {
				return []string{"app/secret.yaml: cannot decrypt: no age identity in the decryption Secret matches", wrongRecipient}
			},
			check: func(t *testing.T, f *fixture, ks *kustomizev1.Kustomization) {
				mustNotExist(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "db"}})
				if s := harness.Conditions(ks); strings.Contains(s, sopsPlaintext) {
					t.Errorf("the plaintext is in the status: %s", s)
				}
			},
		},
		{
			name: "service account may not write to another namespace",
			setup: func(t *testing.T, f *fixture) func(*kustomizev1.KustomizationSpec) {
				otherNS = testcluster.NewNamespace(t, cluster)
				createDeployer(t, f.ns)
				return func(s *kustomizev1.KustomizationSpec) {
					s.ServiceAccountName = "deployer"
					s.TargetNamespace = "" // the manifests name their namespaces
				}
			},
			files: func(*testing.T, *fixture) map[string]string {
				return map[string]string{"app/elsewhere.yaml": configMap(otherNS, "intruder", map[string]string{"a": "b"})}
			},
			reason: meta.ReconciliationFailedReason,
			want: func(f *fixture) []string {
				return []string{"app/elsewhere.yaml: ConfigMap/" + otherNS + "/intruder", "forbidden", "system:serviceaccount:" + f.ns + ":deployer"}
			},
			check: func(t *testing.T, f *fixture, _ *kustomizev1.Kustomization) {
				mustNotExist(t, cmKey(otherNS, "intruder"))
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runBadCase(t, tc)
		})
	}
}

// runBadCase applies a good revision (keep v1, gone), then a commit that
// changes keep to v2, removes gone, adds added and the case's files, and
// checks that it fails with the case's reason and message while keep is
// still v1, gone still exists and added was not created.
func runBadCase(t *testing.T, tc badCase) {
	f := newFixture(t, map[string]string{
		"app/keep.yaml": configMap(nsPlaceholder, "keep", map[string]string{"level": "v1"}),
		"app/gone.yaml": configMap(nsPlaceholder, "gone", map[string]string{"level": "v1"}),
	})
	var change func(*kustomizev1.KustomizationSpec)
	if tc.setup != nil {
		change = tc.setup(t, f)
	}
	ks := f.kustomization(t, "app", "app", change)
	good := f.revision(t)
	waitApplied(t, ks, good)

	files := tc.files(t, f)
	files["app/keep.yaml"] = configMap(nsPlaceholder, "keep", map[string]string{"level": "v2"})
	files["app/gone.yaml"] = gitserver.Deleted
	files["app/added.yaml"] = configMap(nsPlaceholder, "added", map[string]string{"level": "v2"})
	bad := f.commit(t, files, "bad: "+tc.name)

	got := waitFailed(t, ks, tc.reason, bad)
	msg := readyMessage(got)
	t.Logf("Ready=False %s: %s", tc.reason, msg)
	mustContain(t, "Ready message", msg, tc.want(f)...)
	checkNothingChanged(t, f, got, good)

	// A retry changes nothing either.
	got = harness.ReconcileAndWait(t, cluster, ks)
	if c := meta.GetCondition(got, meta.ReadyCondition); c == nil || c.Reason != tc.reason {
		t.Errorf("after a retry: %s", harness.Conditions(got))
	}
	checkNothingChanged(t, f, got, good)
	if tc.check != nil {
		tc.check(t, f, got)
	}
}

func checkNothingChanged(t *testing.T, f *fixture, ks *kustomizev1.Kustomization, good string) {
	t.Helper()
	if d := cmData(t, f.ns, "keep"); d["level"] != "v1" {
		t.Errorf("keep was changed by the failed revision: level = %q", d["level"])
	}
	cmData(t, f.ns, "gone") // not pruned
	mustNotExist(t, cmKey(f.ns, "added"))
	if ks.Status.LastAppliedRevision != good {
		t.Errorf("lastAppliedRevision = %q, want the last good %q", ks.Status.LastAppliedRevision, good)
	}
	var ids []string
	if ks.Status.Inventory != nil {
		for _, e := range ks.Status.Inventory.Entries {
			ids = append(ids, e.ID)
		}
	}
	if want := []string{f.ns + "_gone__ConfigMap", f.ns + "_keep__ConfigMap"}; !slices.Equal(ids, want) {
		t.Errorf("inventory = %v, want %v", ids, want)
	}
}

// createDeployer creates ServiceAccount ns/deployer allowed to manage
// ConfigMaps in ns only.
func createDeployer(t *testing.T, ns string) {
	t.Helper()
	for _, o := range []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer"}},
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer"},
			Rules: []rbacv1.PolicyRule{{
				APIGroups: []string{""}, Resources: []string{"configmaps"},
				Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"},
			}},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deployer"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "deployer"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "deployer", Namespace: ns}},
		},
	} {
		if err := cluster.Client.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
}

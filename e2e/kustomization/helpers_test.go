package kustomization

import (
	"context"
	"crypto/rand"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	sopsaes "github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	corev1 "k8s.io/api/core/v1"
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

// Labels and field manager that the reconciler puts on what it applies.
const (
	fieldManager   = "tether"
	nameLabel      = "kustomize.tether.dev/name"
	namespaceLabel = "kustomize.tether.dev/namespace"
)

// fixture is a namespace and a git repository served on 127.0.0.1 with a
// GitRepository "app" (interval 2s) pointing at it.
type fixture struct {
	ns   string
	repo *gitserver.Repo
	src  *sourcev1.GitRepository
}

// nsPlaceholder in the files of a fixture stands for its namespace.
const nsPlaceholder = "__NS__"

// newFixture creates a namespace, a git repository holding files (with
// nsPlaceholder replaced by the namespace) and a GitRepository for it, and
// waits for its first artifact.
func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	ns := testcluster.NewNamespace(t, cluster)
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", withNamespace(files, ns))
	src := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: sourcev1.GitRepositorySpec{
			URL:       srv.URL("app"),
			Reference: &sourcev1.GitRepositoryRef{Branch: "main"},
			Interval:  &metav1.Duration{Duration: 2 * time.Second},
		},
	}
	harness.Create(t, cluster, src)
	f := &fixture{ns: ns, repo: repo, src: src}
	harness.WaitForRevision(t, cluster, src, f.revision(t))
	reconciler.LogOnFailure(t)
	return f
}

// revision is the source revision of the repository's head.
func (f *fixture) revision(t *testing.T) string {
	t.Helper()
	return "main@sha1:" + f.repo.Head(t)
}

// commit commits and pushes files (gitserver.Deleted removes one;
// nsPlaceholder stands for the namespace) and returns the new source revision.
func (f *fixture) commit(t *testing.T, files map[string]string, msg string) string {
	t.Helper()
	return "main@sha1:" + f.repo.Commit(t, withNamespace(files, f.ns), msg)
}

func withNamespace(files map[string]string, ns string) map[string]string {
	out := make(map[string]string, len(files))
	for k, v := range files {
		out[k] = strings.ReplaceAll(v, nsPlaceholder, ns)
	}
	return out
}

// kustomization creates a Kustomization of path from the fixture's source:
// prune on, interval 5s, retryInterval 2s, timeout 30s, targetNamespace the
// fixture's namespace; change adjusts the spec before creation.
func (f *fixture) kustomization(t *testing.T, name, path string, change func(*kustomizev1.KustomizationSpec)) *kustomizev1.Kustomization {
	t.Helper()
	spec := kustomizev1.KustomizationSpec{
		SourceRef:       meta.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: f.src.Name},
		Path:            path,
		Prune:           true,
		Interval:        &metav1.Duration{Duration: 5 * time.Second},
		RetryInterval:   &metav1.Duration{Duration: 2 * time.Second},
		Timeout:         &metav1.Duration{Duration: 30 * time.Second},
		TargetNamespace: f.ns,
	}
	if change != nil {
		change(&spec)
	}
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name}, Spec: spec}
	harness.Create(t, cluster, ks)
	return ks
}

// waitApplied waits until ks is Ready for its generation having applied revision.
func waitApplied(t *testing.T, ks *kustomizev1.Kustomization, revision string) *kustomizev1.Kustomization {
	t.Helper()
	return harness.WaitFor(t, cluster, ks, "Ready with revision "+revision, func(k *kustomizev1.Kustomization) bool {
		return meta.IsReady(k) && k.Status.ObservedGeneration == k.Generation && k.Status.LastAppliedRevision == revision
	})
}

// waitFailed waits until ks is Ready=False with reason after attempting revision.
func waitFailed(t *testing.T, ks *kustomizev1.Kustomization, reason, revision string) *kustomizev1.Kustomization {
	t.Helper()
	return harness.WaitFor(t, cluster, ks, "Ready=False "+reason+" at revision "+revision, func(k *kustomizev1.Kustomization) bool {
		c := meta.GetCondition(k, meta.ReadyCondition)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == reason &&
			k.Status.LastAttemptedRevision == revision && k.Status.ObservedGeneration == k.Generation
	})
}

// readyMessage is the message of the Ready condition ("" without one).
func readyMessage(ks *kustomizev1.Kustomization) string {
	if c := meta.GetCondition(ks, meta.ReadyCondition); c != nil {
		return c.Message
	}
	return ""
}

// mustContain fails the test unless s contains each of parts.
func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s does not contain %q:\n%s", what, p, s)
		}
	}
}

// get reads obj (by its namespace and name) from the cluster.
func get(obj client.Object) error {
	return cluster.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
}

// mustGet reads obj, failing the test if that fails.
func mustGet(t *testing.T, obj client.Object) {
	t.Helper()
	if err := get(obj); err != nil {
		t.Fatalf("reading %T %s/%s: %v", obj, obj.GetNamespace(), obj.GetName(), err)
	}
}

// eventually polls cond every 100ms until it returns nil, failing the test
// with its last error after timeout.
func eventually(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	testcluster.Eventually(t, timeout, 100*time.Millisecond, cond)
}

// consistently checks cond every 200ms for d and fails the test as soon as
// it returns an error: used to show that something does not happen within
// a time longer than the interval in which it would have happened.
func consistently(t *testing.T, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if err := cond(); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitGone waits until obj no longer exists.
func waitGone(t *testing.T, timeout time.Duration, obj client.Object) {
	t.Helper()
	eventually(t, timeout, func() error {
		err := get(obj)
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return err
		}
		return fmt.Errorf("%T %s/%s still exists (deletionTimestamp %v)", obj, obj.GetNamespace(), obj.GetName(), obj.GetDeletionTimestamp())
	})
}

// mustNotExist fails the test if obj exists.
func mustNotExist(t *testing.T, obj client.Object) {
	t.Helper()
	err := get(obj)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		t.Fatal(err)
	default:
		t.Errorf("%T %s/%s exists, want it not to", obj, obj.GetNamespace(), obj.GetName())
	}
}

// configMap is a ConfigMap manifest (namespace omitted when ns is "").
func configMap(ns, name string, data map[string]string) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n")
	if ns != "" {
		b.WriteString("  namespace: " + ns + "\n")
	}
	b.WriteString("data:\n")
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s: %q\n", k, data[k])
	}
	return b.String()
}

// cmKey is an empty ConfigMap to read ns/name into.
func cmKey(ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

// cmData reads the data of ConfigMap ns/name.
func cmData(t *testing.T, ns, name string) map[string]string {
	t.Helper()
	cm := cmKey(ns, name)
	mustGet(t, cm)
	return cm.Data
}

// waitCMData waits until ConfigMap ns/name has data[key] == want.
func waitCMData(t *testing.T, timeout time.Duration, ns, name, key, want string) *corev1.ConfigMap {
	t.Helper()
	cm := cmKey(ns, name)
	eventually(t, timeout, func() error {
		if err := get(cm); err != nil {
			return err
		}
		if got := cm.Data[key]; got != want {
			return fmt.Errorf("ConfigMap %s/%s: data[%s] = %q, want %q", ns, name, key, got, want)
		}
		return nil
	})
	return cm
}

// update changes obj with an Update as field manager "hand-editor", as
// `kubectl edit` would, retrying on conflicts.
func update(t *testing.T, obj client.Object, change func()) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		if err := get(obj); err != nil {
			return err
		}
		change()
		return cluster.Client.Update(context.Background(), obj, client.FieldOwner("hand-editor"))
	})
}

// deploymentYAML is a Deployment manifest of replicas pods that kwok runs;
// extra is appended, indented, to the pod spec.
func deploymentYAML(name string, replicas int, extraPodSpec string) string {
	s := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[2]d
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: app
        image: registry.example/app:1.0
`, name, replicas)
	return s + extraPodSpec
}

// kustomizationEvents returns "Reason: note" of the events about ks.
func kustomizationEvents(t *testing.T, ks *kustomizev1.Kustomization) []string {
	t.Helper()
	return harness.Events(t, cluster, kustomizev1.KustomizationKind, ks.Namespace, ks.Name)
}

// ageIdentity is a new age X25519 identity: its secret key
// (AGE-SECRET-KEY-...) and its recipient (age1...).
func ageIdentity(t *testing.T) (secret, recipient string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id.String(), id.Recipient().String()
}

// sopsSecret is the manifest of Secret ns/name holding stringData, its
// values encrypted for the age recipient as `sops --encrypt --age <recipient>
// --encrypted-regex '^(data|stringData)$'` does: the data key, the values and
// the MAC are encrypted by the SOPS library; the file is written here in the
// SOPS YAML layout because the library's stores pull in modules this
// repository does not require.
func sopsSecret(t *testing.T, ns, name string, stringData map[string]string, recipient string) string {
	t.Helper()
	keys := make([]string, 0, len(stringData))
	for k := range stringData {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var data sops.TreeBranch
	for _, k := range keys {
		data = append(data, sops.TreeItem{Key: k, Value: stringData[k]})
	}
	md := sops.TreeBranch{{Key: "name", Value: name}}
	if ns != "" {
		md = append(md, sops.TreeItem{Key: "namespace", Value: ns})
	}
	branch := sops.TreeBranch{
		{Key: "apiVersion", Value: "v1"},
		{Key: "kind", Value: "Secret"},
		{Key: "metadata", Value: md},
		{Key: "type", Value: "Opaque"},
		{Key: "stringData", Value: data},
	}
	key, err := sopsage.MasterKeyFromRecipient(recipient)
	if err != nil {
		t.Fatal(err)
	}
	tree := sops.Tree{
		Branches: sops.TreeBranches{branch},
		Metadata: sops.Metadata{
			KeyGroups:      []sops.KeyGroup{{key}},
			EncryptedRegex: "^(data|stringData)$",
			Version:        "3.13.3",
		},
	}
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		t.Fatal(err)
	}
	if err := key.Encrypt(dataKey); err != nil {
		t.Fatal(err)
	}
	cipher := sopsaes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		t.Fatal(err)
	}
	lastModified := time.Now().UTC().Format(time.RFC3339)
	encMAC, err := cipher.Encrypt(mac, dataKey, lastModified)
	if err != nil {
		t.Fatal(err)
	}

	var b strings.Builder
	writeBranch(&b, tree.Branches[0], "")
	b.WriteString("sops:\n  age:\n")
	fmt.Fprintf(&b, "  - recipient: %s\n    enc: |\n", key.Recipient)
	for _, line := range strings.Split(strings.TrimRight(key.EncryptedKey, "\n"), "\n") {
		b.WriteString("      " + line + "\n")
	}
	fmt.Fprintf(&b, "  lastmodified: %q\n  mac: %q\n  encrypted_regex: %q\n  version: \"3.13.3\"\n", lastModified, encMAC, "^(data|stringData)$")
	out := b.String()
	if !strings.Contains(out, "ENC[AES256_GCM,") {
		t.Fatalf("no encrypted value in:\n%s", out)
	}
	for _, v := range stringData {
		if strings.Contains(out, v) {
			t.Fatalf("plaintext %q left in the encrypted file:\n%s", v, out)
		}
	}
	return out
}

// writeBranch writes a tree of mappings and strings as YAML, in its order
// (the MAC depends on it).
func writeBranch(b *strings.Builder, branch sops.TreeBranch, indent string) {
	for _, item := range branch {
		switch v := item.Value.(type) {
		case sops.TreeBranch:
			fmt.Fprintf(b, "%s%v:\n", indent, item.Key)
			writeBranch(b, v, indent+"  ")
		default:
			fmt.Fprintf(b, "%s%v: %q\n", indent, item.Key, fmt.Sprint(v))
		}
	}
}

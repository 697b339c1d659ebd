package ocirepository

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/registry"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func push(t *testing.T, r *registry.Registry, repo, tag string, a registry.Artifact) string {
	t.Helper()
	d, err := r.Push(repo, tag, a)
	must(t, err)
	return d
}

// newRepo creates an OCIRepository (interval 1h: reconciles happen on request).
func newRepo(t *testing.T, ns, name string, spec sourcev1.OCIRepositorySpec) *sourcev1.OCIRepository {
	t.Helper()
	spec.Interval = &metav1.Duration{Duration: time.Hour}
	obj := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	harness.Create(t, cluster, obj)
	return obj
}

func TestOCIRepository_PullsTheHighestSemverTagAndOnlyWhenItChanges(t *testing.T) {
	reconciler.LogOnFailure(t)
	reg := registry.Start(t, registry.Options{})
	d1 := push(t, reg, "manifests", "1.0.0", registry.Artifact{
		Files:       map[string]string{"app.yaml": "version: 1\n", "docs/notes.md": "ignored"},
		Annotations: map[string]string{"org.opencontainers.image.revision": "main@sha1:1111"},
	})
	push(t, reg, "manifests", "2.0.0", registry.Artifact{Files: map[string]string{"app.yaml": "version: 2\n"}})
	ns := testcluster.NewNamespace(t, cluster)
	ignore := "docs/\n"
	obj := newRepo(t, ns, "app", sourcev1.OCIRepositorySpec{
		URL: reg.URL("manifests"), Insecure: true, Ignore: &ignore,
		Reference: &sourcev1.OCIRepositoryRef{SemVer: "1.x"},
	})

	ready := harness.WaitForNewRevision(t, cluster, obj, "")
	first := ready.Status.Artifact
	if first.Revision != "1.0.0@"+d1 || first.Metadata["org.opencontainers.image.revision"] != "main@sha1:1111" {
		t.Fatalf("artifact %+v, want revision 1.0.0@%s with the manifest's annotations", first, d1)
	}
	harness.SameFiles(t, harness.FetchArtifact(t, first), map[string]string{"app.yaml": "version: 1\n"})

	// An unchanged tag: one HEAD of the manifest, no manifest or blob download.
	before := reg.Requests()
	again := harness.ReconcileAndWait(t, cluster, obj)
	after := reg.Requests()
	if after["HEAD manifests"] == before["HEAD manifests"] || after["GET manifests"] != before["GET manifests"] || after["GET blobs"] != before["GET blobs"] {
		t.Fatalf("an unchanged tag cost requests %v -> %v: want a HEAD and no GET of manifests or blobs", before, after)
	}
	if a := again.Status.Artifact; a.Revision != first.Revision || !a.LastUpdateTime.Equal(&first.LastUpdateTime) {
		t.Fatalf("artifact changed on an unchanged tag: %+v -> %+v", first, a)
	}

	// A new tag in the range: a new revision.
	d11 := push(t, reg, "manifests", "1.1.0", registry.Artifact{Files: map[string]string{"app.yaml": "version: 1.1\n"}})
	harness.RequestReconcile(t, cluster, obj)
	next := harness.WaitForNewRevision(t, cluster, obj, first.Revision)
	if next.Status.Artifact.Revision != "1.1.0@"+d11 {
		t.Fatalf("revision %s, want 1.1.0@%s", next.Status.Artifact.Revision, d11)
	}
	harness.SameFiles(t, harness.FetchArtifact(t, next.Status.Artifact), map[string]string{"app.yaml": "version: 1.1\n"})
}

func TestOCIRepository_DigestReferenceAndCopiedLayer(t *testing.T) {
	reconciler.LogOnFailure(t)
	reg := registry.Start(t, registry.Options{})
	layer, err := registry.TarGz(map[string]string{"a.yaml": "a: 1\n"})
	must(t, err)
	d := push(t, reg, "manifests", "v1", registry.Artifact{Layer: layer})
	push(t, reg, "manifests", "v1", registry.Artifact{Files: map[string]string{"a.yaml": "moved tag\n"}})
	ns := testcluster.NewNamespace(t, cluster)
	obj := newRepo(t, ns, "pinned", sourcev1.OCIRepositorySpec{
		URL: reg.URL("manifests"), Insecure: true,
		Reference:     &sourcev1.OCIRepositoryRef{Digest: d},
		LayerSelector: &sourcev1.OCILayerSelector{Operation: sourcev1.OCILayerCopy},
	})
	ready := harness.WaitForNewRevision(t, cluster, obj, "")
	a := ready.Status.Artifact
	if a.Revision != d {
		t.Fatalf("revision %s, want the digest %s", a.Revision, d)
	}
	// Copied as it is: the artifact is the layer, byte for byte.
	sum := sha256.Sum256(layer)
	if a.Digest != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Fatalf("artifact digest %s is not the layer's", a.Digest)
	}
	resp, err := http.Get(a.URL)
	must(t, err)
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	must(t, err)
	if string(data) != string(layer) {
		t.Fatal("the served artifact differs from the layer")
	}
	harness.SameFiles(t, harness.FetchArtifact(t, a), map[string]string{"a.yaml": "a: 1\n"})
}

func TestOCIRepository_WrongCredentialsFailAuthenticationAndKeepTheArtifact(t *testing.T) {
	reconciler.LogOnFailure(t)
	reg := registry.Start(t, registry.Options{Username: "robot", Password: "right-password"})
	push(t, reg, "manifests", "latest", registry.Artifact{Files: map[string]string{"app.yaml": "ok\n"}})
	ns := testcluster.NewNamespace(t, cluster)
	for name, password := range map[string]string{"good-creds": "right-password", "bad-creds": "wrong-password-42"} {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Type:       corev1.SecretTypeDockerConfigJson,
			Data:       map[string][]byte{corev1.DockerConfigJsonKey: reg.DockerConfigJSON("robot", password)},
		}
		harness.Create(t, cluster, s)
	}
	obj := newRepo(t, ns, "private", sourcev1.OCIRepositorySpec{
		URL: reg.URL("manifests"), Insecure: true, SecretRef: &meta.LocalObjectReference{Name: "good-creds"},
	})
	good := harness.WaitForNewRevision(t, cluster, obj, "").Status.Artifact

	cur := harness.Get(t, cluster, obj)
	cur.Spec.SecretRef = &meta.LocalObjectReference{Name: "bad-creds"}
	must(t, cluster.Client.Update(context.Background(), cur))
	failed := harness.WaitForReason(t, cluster, obj, meta.AuthenticationFailedReason)
	if a := failed.Status.Artifact; a == nil || a.Digest != good.Digest {
		t.Fatalf("the last artifact was dropped: %+v", a)
	}
	if !meta.IsTrue(failed, meta.ArtifactInStorageCondition) {
		t.Fatalf("want ArtifactInStorage=True: %s", harness.Conditions(failed))
	}
	if strings.Contains(harness.Conditions(failed), "wrong-password-42") || strings.Contains(reconciler.Log(1<<20), "wrong-password-42") {
		t.Fatal("the password leaked into the status or the log")
	}
}

func TestOCIRepository_RefusesALayerThatEscapesAndReportsIt(t *testing.T) {
	reconciler.LogOnFailure(t)
	reg := registry.Start(t, registry.Options{})
	push(t, reg, "evil", "latest", registry.Artifact{Layer: evilLayer(t)})
	ns := testcluster.NewNamespace(t, cluster)
	obj := newRepo(t, ns, "evil", sourcev1.OCIRepositorySpec{URL: reg.URL("evil"), Insecure: true})
	failed := harness.WaitForReason(t, cluster, obj, "OCIArtifactLayerOperationFailed")
	if c := meta.GetCondition(failed, meta.ReadyCondition); !strings.Contains(c.Message, "../evil") {
		t.Fatalf("message %q does not name the refused entry", c.Message)
	}
	if failed.Status.Artifact != nil {
		t.Fatalf("an artifact was stored from a hostile layer: %+v", failed.Status.Artifact)
	}
}

package bucket

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/s3server"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func requests(t *testing.T, s *s3server.Server, op string) int {
	t.Helper()
	n, err := s.Requests(op)
	must(t, err)
	return n
}

// newBucket starts an S3 server with a bucket of objects, and a Bucket object
// (interval 1h: reconciles happen on request) with a Secret of the keys.
func newBucket(t *testing.T, objects map[string]string, spec sourcev1.BucketSpec) (*s3server.Server, *sourcev1.Bucket) {
	t.Helper()
	reconciler.LogOnFailure(t)
	s := s3server.Start(t)
	must(t, s.MakeBucket("manifests"))
	for k, v := range objects {
		must(t, s.Put("manifests", k, []byte(v)))
	}
	ns := testcluster.NewNamespace(t, cluster)
	harness.CreateSecret(t, cluster, ns, "s3-keys", map[string][]byte{"accesskey": []byte(s.AccessKey()), "secretkey": []byte(s.SecretKey())})
	spec.BucketName = "manifests"
	spec.Endpoint = s.Endpoint()
	spec.Insecure = true
	spec.SecretRef = &meta.LocalObjectReference{Name: "s3-keys"}
	spec.Interval = &metav1.Duration{Duration: time.Hour}
	obj := &sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bucket"}, Spec: spec}
	harness.Create(t, cluster, obj)
	return s, obj
}

func TestBucket_PublishesObjectsAndDownloadsOnlyWhatChanged(t *testing.T) {
	ignore := "secret/\n"
	s, obj := newBucket(t, map[string]string{
		".sourceignore":         "*.md\n",
		"apps/app.yaml":         "kind: ConfigMap\n",
		"apps/nested/more.yaml": "kind: Secret\n",
		"README.md":             "ignored by .sourceignore",
		"secret/token":          "ignored by spec.ignore",
	}, sourcev1.BucketSpec{Ignore: &ignore})

	ready := harness.WaitForNewRevision(t, cluster, obj, "")
	first := ready.Status.Artifact
	if !strings.HasPrefix(first.Revision, "sha256:") || !meta.IsTrue(ready, meta.ArtifactInStorageCondition) {
		t.Fatalf("artifact %+v, conditions %s", first, harness.Conditions(ready))
	}
	harness.SameFiles(t, harness.FetchArtifact(t, first), map[string]string{
		".sourceignore": "*.md\n", "apps/app.yaml": "kind: ConfigMap\n", "apps/nested/more.yaml": "kind: Secret\n",
	})
	if n := requests(t, s, "GetObject"); n != 3 {
		t.Fatalf("first fetch made %d GetObject requests, want 3 (.sourceignore and two manifests)", n)
	}

	// An unchanged bucket: the reconcile lists it, and downloads nothing.
	lists, gets := requests(t, s, "ListObjectsV2"), requests(t, s, "GetObject")
	again := harness.ReconcileAndWait(t, cluster, obj)
	if requests(t, s, "ListObjectsV2") == lists {
		t.Fatal("the requested reconcile did not list the bucket")
	}
	if n := requests(t, s, "GetObject") - gets; n != 0 {
		t.Fatalf("an unchanged bucket cost %d GetObject requests", n)
	}
	if a := again.Status.Artifact; a.Revision != first.Revision || a.Digest != first.Digest || !a.LastUpdateTime.Equal(&first.LastUpdateTime) {
		t.Fatalf("artifact changed on an unchanged bucket: %+v -> %+v", first, a)
	}

	// One changed object: a new revision, and one download.
	must(t, s.Put("manifests", "apps/app.yaml", []byte("kind: ConfigMap\ndata: {}\n")))
	gets = requests(t, s, "GetObject")
	harness.RequestReconcile(t, cluster, obj)
	changed := harness.WaitForNewRevision(t, cluster, obj, first.Revision)
	harness.SameFiles(t, harness.FetchArtifact(t, changed.Status.Artifact), map[string]string{
		".sourceignore": "*.md\n", "apps/app.yaml": "kind: ConfigMap\ndata: {}\n", "apps/nested/more.yaml": "kind: Secret\n",
	})
	if n := requests(t, s, "GetObject") - gets; n != 1 {
		t.Fatalf("one changed object cost %d GetObject requests, want 1", n)
	}

	// A change to an ignored object changes nothing.
	must(t, s.Put("manifests", "README.md", []byte("still ignored")))
	if a := harness.ReconcileAndWait(t, cluster, obj).Status.Artifact; a.Revision != changed.Status.Artifact.Revision {
		t.Fatalf("an ignored object changed the revision: %s -> %s", changed.Status.Artifact.Revision, a.Revision)
	}
}

func TestBucket_WrongKeysFailAuthenticationAndKeepTheArtifact(t *testing.T) {
	_, obj := newBucket(t, map[string]string{"app.yaml": "kind: ConfigMap\n"}, sourcev1.BucketSpec{})
	ready := harness.WaitForNewRevision(t, cluster, obj, "")
	good := ready.Status.Artifact

	secret := "wrong-secret-0123456789"
	harness.CreateSecret(t, cluster, obj.Namespace, "bad-keys", map[string][]byte{"accesskey": []byte("tether-nobody"), "secretkey": []byte(secret)})
	cur := harness.Get(t, cluster, obj)
	cur.Spec.SecretRef = &meta.LocalObjectReference{Name: "bad-keys"}
	must(t, cluster.Client.Update(context.Background(), cur))

	failed := harness.WaitForReason(t, cluster, obj, meta.AuthenticationFailedReason)
	if a := failed.Status.Artifact; a == nil || a.Digest != good.Digest {
		t.Fatalf("the last artifact was dropped: %+v", a)
	}
	if !meta.IsTrue(failed, meta.ArtifactInStorageCondition) || !meta.IsTrue(failed, meta.FetchFailedCondition) {
		t.Fatalf("want ArtifactInStorage=True and FetchFailed=True: %s", harness.Conditions(failed))
	}
	if strings.Contains(harness.Conditions(failed), secret) {
		t.Fatal("the status holds the secret key")
	}
	harness.SameFiles(t, harness.FetchArtifact(t, failed.Status.Artifact), map[string]string{"app.yaml": "kind: ConfigMap\n"})
	if strings.Contains(reconciler.Log(1<<20), secret) {
		t.Fatal("the reconciler's log holds the secret key")
	}
}

func TestBucket_MissingBucketIsReported(t *testing.T) {
	reconciler.LogOnFailure(t)
	s := s3server.Start(t)
	ns := testcluster.NewNamespace(t, cluster)
	harness.CreateSecret(t, cluster, ns, "s3-keys", map[string][]byte{"accesskey": []byte(s.AccessKey()), "secretkey": []byte(s.SecretKey())})
	obj := &sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "missing"}, Spec: sourcev1.BucketSpec{
		BucketName: "no-such-bucket", Endpoint: s.Endpoint(), Insecure: true,
		SecretRef: &meta.LocalObjectReference{Name: "s3-keys"}, Interval: &metav1.Duration{Duration: time.Hour},
	}}
	harness.Create(t, cluster, obj)
	failed := harness.WaitForReason(t, cluster, obj, "BucketOperationFailed")
	if c := meta.GetCondition(failed, meta.ReadyCondition); !strings.Contains(c.Message, "does not exist") {
		t.Fatalf("message %q does not say the bucket is missing", c.Message)
	}
}

// A bucket over --artifact-max-files or --artifact-max-size (20 and 1Mi in
// TestMain) is not downloaded; the message names the limit and the flags.
func TestBucket_OverTheArtifactLimitsIsNotDownloaded(t *testing.T) {
	many := map[string]string{}
	for i := range 21 {
		many[fmt.Sprintf("apps/%02d.yaml", i)] = "kind: ConfigMap\n"
	}
	big := map[string]string{"big.bin": strings.Repeat("x", 1<<20+1)}
	for what, tc := range map[string]struct {
		objects map[string]string
		want    string
	}{
		"21 objects":      {many, "21 objects, more than the 20 allowed"},
		"1 MiB + 1 bytes": {big, "1048577 bytes, more than the 1048576 allowed"},
	} {
		s, obj := newBucket(t, tc.objects, sourcev1.BucketSpec{})
		got := harness.WaitForReason(t, cluster, obj, "BucketOperationFailed")
		msg := meta.GetCondition(got, meta.ReadyCondition).Message
		for _, w := range []string{tc.want, "--artifact-max-size and --artifact-max-files"} {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: Ready message %q, want %q", what, msg, w)
			}
		}
		if got.Status.Artifact != nil {
			t.Errorf("%s: an artifact was stored: %+v", what, got.Status.Artifact)
		}
		if n := requests(t, s, "GetObject"); n != 0 {
			t.Errorf("%s: %d objects downloaded", what, n)
		}
	}
}

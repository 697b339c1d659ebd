package bucket

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/tether-gitops/tether/pkg/apis"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/artifact"
	"github.com/tether-gitops/tether/pkg/testserver/s3server"
)

type fixture struct {
	r   *Reconciler
	s3  *s3server.Server
	obj *sourcev1.Bucket
}

func setup(t *testing.T, objects map[string]string, mutate func(*sourcev1.Bucket)) *fixture {
	t.Helper()
	s3 := s3server.Start(t)
	must(t, s3.MakeBucket("manifests"))
	for k, v := range objects {
		must(t, s3.Put("manifests", k, []byte(v)))
	}
	scheme := runtime.NewScheme()
	must(t, clientgoscheme.AddToScheme(scheme))
	must(t, apis.AddToScheme(scheme))
	obj := &sourcev1.Bucket{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b"},
		Spec: sourcev1.BucketSpec{
			BucketName: "manifests", Endpoint: s3.Endpoint(), Insecure: true,
			SecretRef: &meta.LocalObjectReference{Name: "keys"}, Interval: &metav1.Duration{Duration: time.Minute},
		},
	}
	if mutate != nil {
		mutate(obj)
	}
	keys := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "keys"}, Data: map[string][]byte{
		AccessKeyKey: []byte(s3.AccessKey()), SecretKeyKey: []byte(s3.SecretKey()),
	}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&sourcev1.Bucket{}).WithObjects(obj, keys).Build()
	store, err := artifact.NewStore(t.TempDir(), "http://localhost")
	must(t, err)
	return &fixture{r: &Reconciler{Client: c, Store: store, Recorder: events.NewFakeRecorder(100)}, s3: s3, obj: obj}
}

func (f *fixture) reconcile(t *testing.T) (*sourcev1.Bucket, error) {
	t.Helper()
	_, err := f.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(f.obj)})
	out := &sourcev1.Bucket{}
	must(t, f.r.Get(context.Background(), client.ObjectKeyFromObject(f.obj), out))
	return out, err
}

func (f *fixture) gets(t *testing.T) int {
	t.Helper()
	n, err := f.s3.Requests("GetObject")
	must(t, err)
	return n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func readyReason(o *sourcev1.Bucket) string {
	if c := meta.GetCondition(o, meta.ReadyCondition); c != nil {
		return string(c.Status) + "/" + c.Reason
	}
	return "none"
}

func TestReconcile_StoresArtifactAndSkipsUnchangedBucket(t *testing.T) {
	f := setup(t, map[string]string{"a.yaml": "a", "dir/b.yaml": "b"}, nil)
	got, err := f.reconcile(t)
	must(t, err)
	if !meta.IsReady(got) || got.Status.Artifact == nil || !f.r.Store.Exists(*got.Status.Artifact) {
		t.Fatalf("not ready with an artifact: %s %+v", readyReason(got), got.Status.Artifact)
	}
	first := *got.Status.Artifact

	before := f.gets(t)
	got, err = f.reconcile(t)
	must(t, err)
	if f.gets(t) != before || got.Status.Artifact.Digest != first.Digest || !got.Status.Artifact.LastUpdateTime.Equal(&first.LastUpdateTime) {
		t.Fatalf("unchanged bucket: %d downloads, artifact %+v", f.gets(t)-before, got.Status.Artifact)
	}

	must(t, f.s3.Put("manifests", "a.yaml", []byte("a2")))
	before = f.gets(t)
	got, err = f.reconcile(t)
	must(t, err)
	if got.Status.Artifact.Revision == first.Revision || f.gets(t)-before != 1 {
		t.Fatalf("changed object: revision %s, %d downloads (want new revision, 1 download)", got.Status.Artifact.Revision, f.gets(t)-before)
	}
}

func TestReconcile_AuthenticationFailureKeepsArtifact(t *testing.T) {
	f := setup(t, map[string]string{"a.yaml": "a"}, nil)
	got, err := f.reconcile(t)
	must(t, err)
	good := *got.Status.Artifact

	bad := &corev1.Secret{}
	must(t, f.r.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "keys"}, bad))
	bad.Data[SecretKeyKey] = []byte("wrong")
	must(t, f.r.Update(context.Background(), bad))
	got, err = f.reconcile(t)
	if err == nil || readyReason(got) != "False/"+meta.AuthenticationFailedReason {
		t.Fatalf("err %v, Ready %s; want AuthenticationFailed", err, readyReason(got))
	}
	if got.Status.Artifact == nil || got.Status.Artifact.Digest != good.Digest || !meta.IsTrue(got, meta.ArtifactInStorageCondition) {
		t.Fatalf("artifact not kept: %+v", got.Status.Artifact)
	}
}

func TestReconcile_UnsupportedSpecStalls(t *testing.T) {
	f := setup(t, nil, func(b *sourcev1.Bucket) {
		b.Spec.STS = &sourcev1.BucketSTSSpec{Provider: sourcev1.STSProviderLDAP, Endpoint: "https://sts.example"}
	})
	got, err := f.reconcile(t)
	if err != nil || !meta.IsTrue(got, meta.StalledCondition) {
		t.Fatalf("err %v, conditions %+v; want Stalled without retry", err, got.Status.Conditions)
	}
}

func TestReconcile_DeletionRemovesArtifacts(t *testing.T) {
	f := setup(t, map[string]string{"a.yaml": "a"}, nil)
	got, err := f.reconcile(t)
	must(t, err)
	a := *got.Status.Artifact
	must(t, f.r.Delete(context.Background(), got))
	_, err = f.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(f.obj)})
	must(t, err)
	if f.r.Store.Exists(a) {
		t.Fatal("artifact left in storage after deletion")
	}
}

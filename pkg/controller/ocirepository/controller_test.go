package ocirepository

import (
	"context"
	"strings"
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
	"github.com/tether-gitops/tether/pkg/testserver/registry"
)

func setup(t *testing.T, reg *registry.Registry, spec sourcev1.OCIRepositorySpec, objs ...client.Object) (*Reconciler, *sourcev1.OCIRepository) {
	t.Helper()
	scheme := runtime.NewScheme()
	must(t, clientgoscheme.AddToScheme(scheme))
	must(t, apis.AddToScheme(scheme))
	if spec.URL == "" {
		spec.URL = reg.URL("app")
	}
	spec.Interval = &metav1.Duration{Duration: time.Minute}
	obj := &sourcev1.OCIRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "o"}, Spec: spec}
	c := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&sourcev1.OCIRepository{}).
		WithObjects(append(objs, obj)...).Build()
	store, err := artifact.NewStore(t.TempDir(), "http://localhost")
	must(t, err)
	return &Reconciler{Client: c, Store: store, Recorder: events.NewFakeRecorder(100)}, obj
}

func reconcileOnce(t *testing.T, r *Reconciler, obj *sourcev1.OCIRepository) (*sourcev1.OCIRepository, error) {
	t.Helper()
	_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
	out := &sourcev1.OCIRepository{}
	must(t, r.Get(context.Background(), client.ObjectKeyFromObject(obj), out))
	return out, err
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ready(o *sourcev1.OCIRepository) *metav1.Condition {
	return meta.GetCondition(o, meta.ReadyCondition)
}

func TestReconcile_PullsOnlyWhenTheDigestChanges(t *testing.T) {
	reg := registry.Start(t, registry.Options{})
	d, err := reg.Push("app", "latest", registry.Artifact{Files: map[string]string{"a.yaml": "a"}})
	must(t, err)
	r, obj := setup(t, reg, sourcev1.OCIRepositorySpec{Insecure: true})
	got, err := reconcileOnce(t, r, obj)
	must(t, err)
	if !meta.IsReady(got) || got.Status.Artifact.Revision != "latest@"+d {
		t.Fatalf("ready %+v, artifact %+v", ready(got), got.Status.Artifact)
	}
	blobs := reg.Requests()["GET blobs"]
	again, err := reconcileOnce(t, r, obj)
	must(t, err)
	if reg.Requests()["GET blobs"] != blobs || again.Status.Artifact.Digest != got.Status.Artifact.Digest {
		t.Fatal("an unchanged tag was pulled again")
	}
	// A changed layer selector rebuilds even at the same revision.
	again.Spec.LayerSelector = &sourcev1.OCILayerSelector{Operation: sourcev1.OCILayerCopy}
	must(t, r.Update(context.Background(), again))
	copied, err := reconcileOnce(t, r, obj)
	must(t, err)
	if reg.Requests()["GET blobs"] == blobs || copied.Status.ObservedLayerSelector == nil || !strings.HasSuffix(copied.Status.Artifact.Path, ".tar.gz") {
		t.Fatalf("a new layer selector did not rebuild: %+v", copied.Status)
	}
}

func TestReconcile_ReasonsForFailures(t *testing.T) {
	reg := registry.Start(t, registry.Options{Username: "u", Password: "p"})
	_, err := reg.Push("app", "latest", registry.Artifact{Files: map[string]string{"a.yaml": "a"}})
	must(t, err)
	wrong := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "creds"},
		Data: map[string][]byte{corev1.DockerConfigJsonKey: reg.DockerConfigJSON("u", "nope")}}
	for name, tc := range map[string]struct {
		spec    sourcev1.OCIRepositorySpec
		reason  string
		stalled bool
	}{
		"wrong credentials": {sourcev1.OCIRepositorySpec{Insecure: true, SecretRef: &meta.LocalObjectReference{Name: "creds"}}, meta.AuthenticationFailedReason, false},
		"missing secret":    {sourcev1.OCIRepositorySpec{Insecure: true, SecretRef: &meta.LocalObjectReference{Name: "none"}}, meta.AuthenticationFailedReason, false},
		"tag in the URL":    {sourcev1.OCIRepositorySpec{Insecure: true, SecretRef: &meta.LocalObjectReference{Name: "creds"}, URL: "oci://" + reg.Host() + "/app:v1"}, meta.InvalidURLReason, true},
		"verify":            {sourcev1.OCIRepositorySpec{Insecure: true, Verify: &sourcev1.OCIRepositoryVerification{}}, OCIArtifactPullFailedReason, true},
		"bad semver":        {sourcev1.OCIRepositorySpec{Insecure: true, Reference: &sourcev1.OCIRepositoryRef{SemVer: "not-a-range"}}, OCIArtifactPullFailedReason, true},
	} {
		r, obj := setup(t, reg, tc.spec, wrong.DeepCopy())
		got, err := reconcileOnce(t, r, obj)
		c := ready(got)
		if c == nil || c.Reason != tc.reason || meta.IsTrue(got, meta.StalledCondition) != tc.stalled || (err == nil) != tc.stalled {
			t.Errorf("%s: err %v, Ready %+v, stalled %v; want reason %s stalled %v", name, err, c, meta.IsTrue(got, meta.StalledCondition), tc.reason, tc.stalled)
		}
	}
}

// A missing service account is named in Ready (NotFound is not swallowed
// into a "%!w(<nil>)" message).
func TestReconcile_MissingServiceAccountIsNamed(t *testing.T) {
	reg := registry.Start(t, registry.Options{})
	_, err := reg.Push("app", "latest", registry.Artifact{Files: map[string]string{"a.yaml": "a"}})
	must(t, err)
	r, obj := setup(t, reg, sourcev1.OCIRepositorySpec{Insecure: true, ServiceAccountName: "puller"})
	got, err := reconcileOnce(t, r, obj)
	c := ready(got)
	want := `service account "puller" not found in namespace "ns": create it or fix spec.serviceAccountName`
	if err == nil || c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, want) || strings.Contains(c.Message, "%!") {
		t.Fatalf("err %v, Ready %+v; want a message with %q", err, c, want)
	}
}

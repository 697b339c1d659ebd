package helm

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
)

func TestComposeValues_MergesInOrderThenSpecValues(t *testing.T) {
	c := fake.NewClientBuilder().WithObjects(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "base"},
			Data: map[string]string{"values.yaml": "a: 1\nnested:\n  x: base\n  k: base\n", "custom": "b: 2\n"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "creds"},
			Data: map[string][]byte{"values.yaml": []byte("nested:\n  k: secret\n"), "password": []byte("p,a=ss\\word")}},
	).Build()
	refs := []helmv1.ValuesReference{
		{Kind: "ConfigMap", Name: "base"},
		{Kind: "ConfigMap", Name: "base", ValuesKey: "custom"},
		{Kind: "Secret", Name: "creds"},
		{Kind: "Secret", Name: "creds", ValuesKey: "password", TargetPath: "auth.password"},
		{Kind: "Secret", Name: "absent", Optional: true},
		{Kind: "ConfigMap", Name: "base", ValuesKey: "nokey", Optional: true},
	}
	got, err := ComposeValues(context.Background(), c, "ns", refs, map[string]any{"a": 10, "nested": map[string]any{"z": "spec"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": 10, "b": float64(2),
		"nested": map[string]any{"x": "base", "k": "secret", "z": "spec"},
		"auth":   map[string]any{"password": "p,a=ss\\word"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

func TestComposeValues_MissingRequiredReferenceNamesIt(t *testing.T) {
	c := fake.NewClientBuilder().WithObjects(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s"}}).Build()
	for _, tt := range []struct {
		ref  helmv1.ValuesReference
		want string
	}{
		{helmv1.ValuesReference{Kind: "Secret", Name: "missing"}, "Secret ns/missing not found"},
		{helmv1.ValuesReference{Kind: "Secret", Name: "s", ValuesKey: "k"}, `Secret ns/s has no key "k"`},
	} {
		_, err := ComposeValues(context.Background(), c, "ns", []helmv1.ValuesReference{tt.ref}, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.ref, err, tt.want)
		}
	}
}

func TestValuesDigest_IsCanonical(t *testing.T) {
	a := map[string]any{"x": 1, "y": map[string]any{"b": true, "a": "s"}}
	b := map[string]any{"y": map[string]any{"a": "s", "b": true}, "x": float64(1)}
	if ValuesDigest(a) != ValuesDigest(b) || ValuesChecksum(a) != ValuesChecksum(b) {
		t.Error("equal values have different digests")
	}
	if ValuesDigest(nil) != ValuesDigest(map[string]any{}) {
		t.Error("nil and empty values differ")
	}
	if ValuesDigest(a) == ValuesDigest(map[string]any{"x": 2}) {
		t.Error("different values have the same digest")
	}
}

func TestPostRenderer_PatchesAndImages(t *testing.T) {
	pr := PostRenderer([]helmv1.PostRenderer{{Kustomize: &helmv1.KustomizePostRenderer{
		Patches: []meta.Patch{{Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: 3\n"}},
		Images:  []meta.Image{{Name: "registry.example/app", NewTag: "2.0"}},
	}}})
	in := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {a: b}\n  template:\n    metadata:\n      labels: {a: b}\n    spec:\n      containers:\n      - name: app\n        image: registry.example/app:1.0\n"
	out, err := pr.Run(bytes.NewBufferString(in))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := ParseManifest(out.String())
	if err != nil || len(objs) != 1 {
		t.Fatalf("%v\n%s", err, out)
	}
	replicas, _, _ := unstructured.NestedInt64(objs[0].Object, "spec", "replicas")
	containers, _, _ := unstructured.NestedSlice(objs[0].Object, "spec", "template", "spec", "containers")
	if replicas != 3 || containers[0].(map[string]any)["image"] != "registry.example/app:2.0" {
		t.Errorf("post-rendered:\n%s", out)
	}
	if PostRenderer(nil) != nil {
		t.Error("no post-renderers should give nil")
	}
}

func TestJSONPointers(t *testing.T) {
	obj := map[string]any{"spec": map[string]any{"replicas": 3, "list": []any{"a", "b"}, "a/b": 1}}
	tok, _ := parsePointer("/spec/a~1b")
	if v, ok := getPointer(obj, tok); !ok || v != 1 {
		t.Errorf("escaped pointer: %v %v", v, ok)
	}
	tok, _ = parsePointer("/spec/list/1")
	if v, ok := getPointer(obj, tok); !ok || v != "b" {
		t.Errorf("array pointer: %v %v", v, ok)
	}
	tok, _ = parsePointer("/spec/new/field")
	setPointer(obj, tok, "x")
	if v, ok := getPointer(obj, tok); !ok || v != "x" {
		t.Errorf("set creates maps: %v", obj)
	}
	tok, _ = parsePointer("/spec/replicas")
	removePointer(obj, tok)
	if _, ok := getPointer(obj, tok); ok {
		t.Error("remove")
	}
	if _, err := parsePointer("spec"); err == nil {
		t.Error("a pointer without / was accepted")
	}
}

package kustomize

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// files maps slash-separated paths to contents.
type files map[string]string

// writeDir writes fs into a fresh temporary directory.
func writeDir(t testing.TB, fs files) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range fs {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// load writes fs to disk and loads it back with LoadDir, as the reconciler
// does with an extracted artifact.
func load(t testing.TB, fs files) filesys.FileSystem {
	t.Helper()
	fsys, err := LoadDir(writeDir(t, fs))
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

func deployment(name, image string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  labels:
    app: %[1]s
spec:
  replicas: 1
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      containers:
      - name: main
        image: %[2]s
`, name, image)
}

func configMap(name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  k: v\n", name)
}

// ids returns "Kind namespace/name" of each object, in order.
func ids(objs []*unstructured.Unstructured) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = objectName(o)
	}
	return out
}

func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s in %v", kind, name, ids(objs))
	return nil
}

func nested(t *testing.T, o *unstructured.Unstructured, fields ...string) any {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(o.Object, fields...)
	if err != nil || !ok {
		t.Fatalf("%s: no field %v (%v)", objectName(o), fields, err)
	}
	return v
}

func image(t *testing.T, o *unstructured.Unstructured) string {
	t.Helper()
	cs := nested(t, o, "spec", "template", "spec", "containers").([]any)
	return cs[0].(map[string]any)["image"].(string)
}

package kustomize

import (
	"strings"
	"testing"
)

// FuzzScanManifest: any file content is either a manifest, skipped, or an
// error naming the file; never a panic.
func FuzzScanManifest(f *testing.F) {
	f.Add([]byte(deployment("web", "nginx")))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems: []\n---\n" + configMap("a")))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata\n  name: x\n"))
	f.Add([]byte(`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": 1}}`))
	f.Add([]byte("- a\n- b\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := scanManifest("f.yaml", data, map[string]string{})
		if err != nil && !strings.HasPrefix(err.Error(), "f.yaml: ") {
			t.Errorf("error %q does not name the file", err)
		}
	})
}

// FuzzSubstitute: substitution either yields an object or an error naming
// the object; never a panic.
func FuzzSubstitute(f *testing.F) {
	f.Add("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: ${V}\n", "x")
	f.Add("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: \"C:\\\\${V:=d}\"\n", "a: b")
	f.Add("data: ${V:0:2} ${V/a/b} ${V^^} ${#V} $${V} ${", "\"")
	f.Fuzz(func(t *testing.T, doc, value string) {
		_, _, err := substituteYAML("ConfigMap c", doc, map[string]string{"V": value})
		if err != nil && !strings.HasPrefix(err.Error(), "ConfigMap c: ") {
			t.Errorf("error %q does not name the object", err)
		}
	})
}

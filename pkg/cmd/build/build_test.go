package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

func secret(data map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"}, "data": data,
	}}
}

func TestMaskSecret_HidesValuesAndMarksChangedOnes(t *testing.T) {
	live := secret(map[string]any{"a": "b2xk", "b": "c2FtZQ=="})
	merged := secret(map[string]any{"a": "bmV3", "b": "c2FtZQ==", "c": "YWRkZWQ="})
	got := MaskSecret(merged, live)
	data, _, _ := unstructured.NestedMap(got.Object, "data")
	want := map[string]any{"a": Masked + " (changed)", "b": Masked, "c": Masked + " (changed)"}
	for k, v := range want {
		if data[k] != v {
			t.Errorf("data[%s] = %v, want %v", k, data[k], v)
		}
	}
	if d, _, _ := unstructured.NestedMap(merged.Object, "data"); d["a"] != "bmV3" {
		t.Error("MaskSecret changed its argument")
	}
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"a": "b"}}}
	if MaskSecret(cm, nil) != cm {
		t.Error("a ConfigMap was masked")
	}
	out, err := YAML([]*unstructured.Unstructured{live})
	if err != nil || strings.Contains(string(out), "b2xk") || !strings.Contains(string(out), "'***'") {
		t.Errorf("YAML shows a secret value or no mask: %s %v", out, err)
	}
}

func TestReadKustomization_PicksByNameOrTheOnlyOne(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ks.yaml")
	doc := func(name, path string) string {
		return "apiVersion: kustomize.tether.dev/v1\nkind: Kustomization\nmetadata:\n  name: " + name + "\nspec:\n  path: " + path + "\n  prune: true\n  sourceRef: {kind: GitRepository, name: x}\n"
	}
	if err := os.WriteFile(file, []byte(doc("a", "./a")+"---\n"+doc("b", "./b")+"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ks, err := readKustomization(file, "b", "apps")
	if err != nil || ks.Spec.Path != "./b" || ks.Namespace != "apps" {
		t.Fatalf("got %+v, %v", ks, err)
	}
	if _, err := readKustomization(file, "missing", "apps"); err == nil || !strings.Contains(err.Error(), `no Kustomization named "missing"`) {
		t.Errorf("missing name: %v", err)
	}
	one := filepath.Join(dir, "one.yaml")
	if err := os.WriteFile(one, []byte(doc("other", "./o")), 0o644); err != nil {
		t.Fatal(err)
	}
	if ks, err := readKustomization(one, "apps", "ns"); err != nil || ks.Name != "apps" || ks.Spec.Path != "./o" {
		t.Errorf("the only Kustomization of a file is not used under the given name: %+v %v", ks, err)
	}
}

func TestNewCmdBuild_Flags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args    []string
		wantErr string
		path    string // the options' Path when there is no error
	}{
		{[]string{"kustomization", "apps", "--path", dir}, "", dir},
		{[]string{"ks", "apps", "--path", dir, "--dry-run", "--kustomization-file", "k.yaml"}, "", dir},
		{[]string{"kustomization", "apps"}, "", ""}, // the source's artifact
		{[]string{"ks", "apps", "--dry-run", "--kustomization-file", "k.yaml"}, "--dry-run needs --path", ""},
		{[]string{"kustomization", "apps", "--path", filepath.Join(dir, "nope")}, "is not a directory", ""},
		{[]string{"kustomization", "apps", "--path", dir, "--dry-run"}, "--dry-run needs --kustomization-file", ""},
	} {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		cmd := NewCmdBuild(cmdutil.New(ios), func(o *Options) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SetOut(ios.Out)
		cmd.SetErr(ios.ErrOut)
		err := cmd.Execute()
		switch {
		case tc.wantErr == "" && (err != nil || got == nil || got.Name != "apps" || got.Path != tc.path):
			t.Errorf("%v: err %v, options %+v", tc.args, err, got)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.wantErr)
		}
	}
}

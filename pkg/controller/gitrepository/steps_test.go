package gitrepository

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/tether-gitops/tether/pkg/apis"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCopyInto_ReplacesToPathWithTheIncludedTree(t *testing.T) {
	checkout, src := t.TempDir(), t.TempDir()
	writeFiles(t, checkout, map[string]string{"app.yaml": "app", "vendor/base/stale.yaml": "old"})
	writeFiles(t, src, map[string]string{"x.yaml": "x: 1", "sub/y.yaml": "y"})
	if err := os.Symlink("x.yaml", filepath.Join(src, "link.yaml")); err != nil {
		t.Fatal(err)
	}

	if err := copyInto(checkout, "vendor/base", src); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"app.yaml": "app", "vendor/base/x.yaml": "x: 1", "vendor/base/sub/y.yaml": "y", "vendor/base/link.yaml": "x: 1"} {
		if got, err := os.ReadFile(filepath.Join(checkout, name)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(checkout, "vendor/base/stale.yaml")); !os.IsNotExist(err) {
		t.Errorf("a file of the old toPath survived: %v", err)
	}
}

// A repository may commit symlinks; a toPath through one must neither delete
// nor write where it points, and "." must not wipe the checkout.
func TestCopyInto_RefusesToPathsThatLeaveOrReplaceTheCheckout(t *testing.T) {
	for _, tc := range []struct {
		name, to, link, linkTarget, wantErr string
	}{
		{name: "dot", to: ".", wantErr: "whole repository"},
		{name: "empty", to: "", wantErr: "whole repository"},
		{name: "dot-dot back in", to: "vendor/..", wantErr: "whole repository"},
		{name: "parent", to: "../out", wantErr: "relative path inside"},
		{name: "dir symlink outside", to: "vendor/base", link: "vendor", linkTarget: "OUTSIDE", wantErr: `goes through "vendor"`},
		{name: "final symlink outside", to: "vendor", link: "vendor", linkTarget: "OUTSIDE/base", wantErr: `goes through "vendor"`},
		{name: "nested symlink", to: "a/vendor/base", link: "a/vendor", linkTarget: "OUTSIDE", wantErr: `goes through "a/vendor"`},
		{name: "symlink inside", to: "vendor/base", link: "vendor", linkTarget: "lib", wantErr: "symlink in the repository"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkout, src, outside := t.TempDir(), t.TempDir(), t.TempDir()
			writeFiles(t, checkout, map[string]string{"app.yaml": "app", "lib/base/keep.yaml": "lib", "a/.keep": ""})
			writeFiles(t, outside, map[string]string{"base/precious": "data"})
			writeFiles(t, src, map[string]string{"evil.yaml": "evil"})
			if tc.link != "" {
				target := strings.Replace(tc.linkTarget, "OUTSIDE", outside, 1)
				if err := os.Symlink(target, filepath.Join(checkout, tc.link)); err != nil {
					t.Fatal(err)
				}
			}

			err := copyInto(checkout, tc.to, src)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("copyInto(%q) = %v, want an error with %q", tc.to, err, tc.wantErr)
			}
			if got, err := os.ReadFile(filepath.Join(outside, "base/precious")); err != nil || string(got) != "data" {
				t.Errorf("file outside the checkout changed: %q, %v", got, err)
			}
			for _, name := range []string{"app.yaml", "lib/base/keep.yaml"} {
				if _, err := os.Stat(filepath.Join(checkout, name)); err != nil {
					t.Errorf("%s of the checkout is gone: %v", name, err)
				}
			}
			for _, dir := range []string{outside, filepath.Join(outside, "base"), filepath.Join(checkout, "lib/base")} {
				if _, err := os.Stat(filepath.Join(dir, "evil.yaml")); !os.IsNotExist(err) {
					t.Errorf("included file written into %s", dir)
				}
			}
		})
	}
}

// A missing included repository is named, with what to do (NotFound is not
// swallowed into a "%!w(<nil>)" message).
func TestIncludedArtifact_MissingRepositoryIsNamed(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := apis.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Client: fake.NewClientBuilder().WithScheme(scheme).Build()}
	obj := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app"}}
	_, err := r.includedArtifact(context.Background(), obj, sourcev1.GitRepositoryInclude{GitRepositoryRef: meta.LocalObjectReference{Name: "lib"}})
	want := `included GitRepository "lib" not found in namespace "ns": create it or remove it from spec.include`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

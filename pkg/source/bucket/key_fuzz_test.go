package bucket_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/pkg/source/bucket"
)

// FuzzCheckKey: every key CheckKey accepts lands inside the download directory.
func FuzzCheckKey(f *testing.F) {
	for _, k := range []string{"a", "a/b.yaml", "../a", "a/../../b", "/etc/passwd", "a//b", "./a", "..", "a/.", "a\\..\\b", "ok/..a/b.."} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if bucket.CheckKey(key) != nil {
			return
		}
		dir := "/download/dir"
		p := filepath.Join(dir, filepath.FromSlash(key))
		if p == dir || !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Fatalf("accepted key %q resolves to %q, outside %q", key, p, dir)
		}
	})
}

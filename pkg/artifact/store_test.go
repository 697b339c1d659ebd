package artifact

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

var helmRepo = ObjectRef{Kind: "HelmRepository", Namespace: "default", Name: "bitnami"}

func TestStoreReader_WritesContentAddressedFile(t *testing.T) {
	s := newTestStore(t)
	body := "apiVersion: v1\nentries: {}\n"
	a, err := s.StoreReader(helmRepo, strings.NewReader(body), "sha256:idx", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	hx := hex.EncodeToString(sum[:])
	if want := "helmrepository/default/bitnami/" + hx + ".yaml"; a.Path != want {
		t.Errorf("Path = %q, want %q", a.Path, want)
	}
	if a.Digest != "sha256:"+hx || *a.Size != int64(len(body)) || a.URL != "http://tether.test/"+a.Path || a.LastUpdateTime.IsZero() {
		t.Errorf("unexpected artifact %+v", a)
	}
	p, err := s.LocalPath(a)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(p); err != nil || string(got) != body {
		t.Errorf("file holds %q (%v)", got, err)
	}
	f, err := s.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, _ := io.ReadAll(f); string(got) != body {
		t.Errorf("Open read %q", got)
	}
	if !s.Exists(a) || s.Exists(meta.Artifact{Path: "helmrepository/default/bitnami/nope.yaml"}) {
		t.Error("Exists disagrees with the files present")
	}
	if err := s.Verify(a); err != nil {
		t.Errorf("Verify() on an untouched artifact: %v", err)
	}
}

func TestStoreReader_LeavesNoTempFiles(t *testing.T) {
	s := newTestStore(t)
	if _, err := s.StoreReader(helmRepo, strings.NewReader("ok"), "r", "yaml"); err != nil {
		t.Fatal(err)
	}
	failing := io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(errors.New("connection reset")))
	if _, err := s.StoreReader(helmRepo, failing, "r", "yaml"); err == nil {
		t.Fatal("StoreReader() succeeded with a failing reader")
	}
	if _, err := s.ArchiveDir(helmRepo, filepath.Join(t.TempDir(), "missing"), "r", nil); err == nil {
		t.Fatal("ArchiveDir() succeeded on a missing directory")
	}
	dir := filepath.Join(s.Root(), "helmrepository", "default", "bitnami")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || strings.HasPrefix(entries[0].Name(), ".") {
		t.Errorf("directory holds %v, want just the one stored file", entries)
	}
}

func TestStore_RejectsBadNames(t *testing.T) {
	s := newTestStore(t)
	for _, obj := range []ObjectRef{
		{Kind: "GitRepository", Namespace: "..", Name: "x"},
		{Kind: "GitRepository", Namespace: "a/b", Name: "x"},
		{Kind: "", Namespace: "a", Name: "x"},
		{Kind: "GitRepository", Namespace: "a", Name: ".hidden"},
	} {
		if _, err := s.StoreReader(obj, strings.NewReader("x"), "r", "yaml"); err == nil {
			t.Errorf("StoreReader(%v) accepted a bad reference", obj)
		}
	}
	for _, ext := range []string{"", ".yaml", "a/b", "..", "tar."} {
		if _, err := s.StoreReader(helmRepo, strings.NewReader("x"), "r", ext); err == nil {
			t.Errorf("StoreReader(ext %q) accepted a bad extension", ext)
		}
	}
	for _, p := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", "kind/ns/name/.tmp-123", `a\..\b`} {
		if _, err := s.LocalPath(meta.Artifact{Path: p}); err == nil {
			t.Errorf("LocalPath(%q) accepted a path outside the store's layout", p)
		}
		if _, err := s.Open(meta.Artifact{Path: p}); err == nil {
			t.Errorf("Open(%q) accepted a path outside the store's layout", p)
		}
	}
}

func TestNewStore_ValidatesArguments(t *testing.T) {
	root := t.TempDir()
	for _, u := range []string{"", "tether.svc", "ftp://x", "http://"} {
		if _, err := NewStore(root, u); err == nil {
			t.Errorf("NewStore(%q) accepted a bad advertised URL", u)
		}
	}
	if _, err := NewStore("", "http://x"); err == nil {
		t.Error("NewStore accepted an empty root")
	}
}

func TestStore_OpenRefusesSymlinkOutOfRoot(t *testing.T) {
	s := newTestStore(t)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cr3t"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(s.Root(), "gitrepository", "ns", "name")
	mkdir(t, dir)
	if err := os.Symlink(secret, filepath.Join(dir, "leak.tar.gz")); err != nil {
		t.Fatal(err)
	}
	if f, err := s.Open(meta.Artifact{Path: "gitrepository/ns/name/leak.tar.gz"}); err == nil {
		f.Close()
		t.Error("Open followed a symlink out of the root")
	}
}

func TestVerify_DetectsTampering(t *testing.T) {
	s := newTestStore(t)
	a, err := s.StoreReader(helmRepo, strings.NewReader("original content"), "r", "tgz")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.LocalPath(a)
	for name, content := range map[string]string{"changed": "Original content", "truncated": "original", "appended": "original content!"} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := s.Verify(a); !errors.Is(err, ErrDigestMismatch) {
				t.Errorf("Verify() = %v, want ErrDigestMismatch", err)
			}
		})
	}
	if err := s.Verify(meta.Artifact{Path: a.Path, Digest: "md5:abc"}); err == nil {
		t.Error("Verify accepted an unsupported digest")
	}
}

func TestExtractTo_IsAllOrNothing(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a.yaml": "a", "b/c.yaml": "c"}, 0o644)

	t.Run("success", func(t *testing.T) {
		s := newTestStore(t)
		a, err := s.ArchiveDir(gitRepo, src, "r", nil)
		if err != nil {
			t.Fatal(err)
		}
		parent := t.TempDir()
		out := filepath.Join(parent, "out")
		mkdir(t, out) // an existing empty directory is fine
		if err := s.ExtractTo(a, out); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(filepath.Join(out, "b", "c.yaml")); string(got) != "c" {
			t.Errorf("b/c.yaml = %q", got)
		}
		assertOnly(t, parent, "out")
	})
	t.Run("over limits", func(t *testing.T) {
		// Written by a store without limits (ArchiveDir refuses a tree over
		// its own), read by one with them.
		unlimited := newTestStore(t)
		a, err := unlimited.ArchiveDir(gitRepo, src, "r", nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewStore(unlimited.root, "http://tether.test/", WithLimits(Limits{MaxFiles: 1}))
		if err != nil {
			t.Fatal(err)
		}
		parent := t.TempDir()
		if err := s.ExtractTo(a, filepath.Join(parent, "out")); !errors.Is(err, ErrLimit) {
			t.Fatalf("ExtractTo() = %v, want ErrLimit", err)
		}
		assertOnly(t, parent)
	})
	t.Run("tampered", func(t *testing.T) {
		s := newTestStore(t)
		a, err := s.ArchiveDir(gitRepo, src, "r", nil)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := s.LocalPath(a)
		data, _ := os.ReadFile(p)
		// Trailing bytes leave the archive readable but change the digest.
		if err := os.WriteFile(p, append(data, "junk"...), 0o644); err != nil {
			t.Fatal(err)
		}
		parent := t.TempDir()
		if err := s.ExtractTo(a, filepath.Join(parent, "out")); !errors.Is(err, ErrDigestMismatch) {
			t.Fatalf("ExtractTo() = %v, want ErrDigestMismatch", err)
		}
		assertOnly(t, parent)
	})
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("%s holds %v, want %v", dir, got, names)
	}
}

// Same content stored twice is one file, with its mtime refreshed for GC.
func TestStoreReader_ReusesIdenticalContent(t *testing.T) {
	s := newTestStore(t)
	a1, err := s.StoreReader(helmRepo, bytes.NewReader([]byte("same")), "r1", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.LocalPath(a1)
	old := a1.LastUpdateTime.Add(-48 * time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	a2, err := s.StoreReader(helmRepo, bytes.NewReader([]byte("same")), "r2", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	if a1.Path != a2.Path || a2.Revision != "r2" {
		t.Errorf("second store: %+v", a2)
	}
	if fi, _ := os.Stat(p); !fi.ModTime().After(old) {
		t.Error("reused file's mtime was not refreshed")
	}
}

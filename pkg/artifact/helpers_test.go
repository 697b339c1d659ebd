package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// ent describes one entry of a hand-made test archive.
type ent struct {
	name string
	typ  byte // tar.Type*; 0 means a regular file
	body string
	link string
	mode int64
	size int64 // for zero-filled bodies too big to spell out
}

func reg(name, body string) ent { return ent{name: name, typ: tar.TypeReg, body: body} }
func sym(name, target string) ent {
	return ent{name: name, typ: tar.TypeSymlink, link: target}
}
func hard(name, target string) ent { return ent{name: name, typ: tar.TypeLink, link: target} }
func dirEnt(name string) ent       { return ent{name: name, typ: tar.TypeDir} }

// tarball builds a tar (gzipped if gz) from entries, written exactly as given,
// with no checks, so tests can express hostile archives.
func tarball(t testing.TB, gz bool, entries ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		size := int64(len(e.body))
		if e.size > 0 {
			size = e.size
		}
		if typ != tar.TypeReg {
			size = 0
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: mode, Size: size, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("writing header %q: %v", e.name, err)
		}
		if typ != tar.TypeReg {
			continue
		}
		var body io.Reader = bytes.NewReader([]byte(e.body))
		if e.size > 0 {
			body = io.LimitReader(zeros{}, e.size)
		}
		if _, err := io.Copy(tw, body); err != nil {
			t.Fatalf("writing body %q: %v", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// sandbox returns a parent directory and a destination inside it. After an
// extraction, the parent must hold the destination and nothing else.
func sandbox(t testing.TB) (parent, dir string) {
	t.Helper()
	parent = t.TempDir()
	return parent, filepath.Join(parent, "dst")
}

// assertContained fails if anything other than dir (or the named extras)
// appeared in parent.
func assertContained(t testing.TB, parent string, allowed ...string) {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	ok := map[string]bool{"dst": true}
	for _, a := range allowed {
		ok[a] = true
	}
	for _, e := range entries {
		if !ok[e.Name()] {
			t.Errorf("extraction wrote outside the destination: %s", filepath.Join(parent, e.Name()))
		}
	}
}

// assertLinksInside fails if any symlink under dir resolves outside it.
func assertLinksInside(t testing.TB, dir string) {
	t.Helper()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return // nothing was extracted
	}
	_ = filepath.WalkDir(real, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Type()&os.ModeSymlink == 0 {
			return nil
		}
		resolved, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil // dangling: points at nothing
		}
		if rel, err := filepath.Rel(real, resolved); err != nil || !filepath.IsLocal(rel) && rel != "." {
			t.Errorf("symlink %s resolves outside the destination, to %s", p, resolved)
		}
		return nil
	})
}

func newTestStore(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := NewStore(filepath.Join(t.TempDir(), "storage"), "http://tether.test/", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeTree creates files (path -> content) under dir; a path ending in "/"
// is an empty directory.
func writeTree(t testing.TB, dir string, files map[string]string, mode os.FileMode) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if p[len(p)-1] == '/' {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
}

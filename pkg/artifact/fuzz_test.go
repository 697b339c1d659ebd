package artifact

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var updateSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzz/FuzzExtract from the test archives")

// fuzzLimits keep each fuzz run small and fast.
var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxFiles: 256, MaxRatio: 100}

// FuzzExtract checks that no input makes Extract write outside its
// destination, leave a symlink pointing out of it, or panic.
func FuzzExtract(f *testing.F) {
	f.Add(tarball(f, true, reg("a.yaml", "k: v")))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent, dir := sandbox(t)
		err := Extract(bytes.NewReader(data), dir, fuzzLimits)
		assertContained(t, parent)
		if err == nil {
			assertLinksInside(t, dir)
		}
	})
}

// TestWriteFuzzSeeds regenerates the committed seed corpus:
//
//	go test ./pkg/artifact -run TestWriteFuzzSeeds -update-fuzz-seeds
func TestWriteFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("pass -update-fuzz-seeds to regenerate the corpus")
	}
	seeds := map[string][]byte{}
	for _, a := range attacks(t) {
		if a.name == "zip bomb ratio" {
			continue // 64 KiB; the small bomb below covers it
		}
		seeds[a.name] = a.archive
	}
	seeds["small zip bomb"] = tarball(t, true, ent{name: "bomb", size: 2 << 20})
	seeds["valid plain tar"] = tarball(t, false, dirEnt("d/"), reg("d/f.yaml", "a: b"), sym("l", "d/f.yaml"), hard("h", "d/f.yaml"))
	seeds["valid long names"] = tarball(t, true, reg(strings.Repeat("n", 120)+"/"+strings.Repeat("m", 120), "x"), sym("s", strings.Repeat("t", 150)))
	seeds["gnu long names and escaping link"] = gnuTar(t)
	seeds["valid empty"] = tarball(t, true)

	// A real ArchiveDir output with inside symlinks and an executable.
	s := newTestStore(t)
	src := t.TempDir()
	writeTree(t, src, map[string]string{"deploy/app.yaml": "kind: Deployment\n", "empty/": ""}, 0o644)
	if err := os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("deploy", filepath.Join(src, "current")); err != nil {
		t.Fatal(err)
	}
	a, err := s.ArchiveDir(gitRepo, src, "r", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.LocalPath(a)
	if seeds["valid ArchiveDir output"], err = os.ReadFile(p); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join("testdata", "fuzz", "FuzzExtract")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	mkdir(t, dir)
	unsafe := regexp.MustCompile(`[^a-z0-9]+`)
	for name, data := range seeds {
		file := filepath.Join(dir, unsafe.ReplaceAllString(strings.ToLower(name), "-"))
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// gnuTar writes GNU-format headers (long names via ././@LongLink), which the
// tar reader decodes differently from PAX.
func gnuTar(t *testing.T) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: strings.Repeat("g", 130), Typeflag: tar.TypeReg, Mode: 0o644, Size: 1, Format: tar.FormatGNU},
		{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "../" + strings.Repeat("x", 120), Format: tar.FormatGNU},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

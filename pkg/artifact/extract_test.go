package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type attack struct {
	name    string
	archive []byte
	limits  Limits
	setup   func(t *testing.T, parent, dir string) // prepares the destination
	want    error                                  // sentinel the error wraps
	entry   string                                 // entry the error names
}

// attacks are the hostile archives Extract must refuse; FuzzExtract's seed
// corpus is generated from them too.
func attacks(t testing.TB) []attack {
	small := Limits{MaxBytes: 10, MaxFiles: 3}
	return []attack{
		{name: "absolute path", archive: tarball(t, true, reg("/etc/evil", "x")), want: ErrPathEscapes, entry: "/etc/evil"},
		{name: "dot-dot", archive: tarball(t, true, reg("../evil", "x")), want: ErrPathEscapes, entry: "../evil"},
		{name: "nested dot-dot", archive: tarball(t, true, reg("a/../../x", "x")), want: ErrPathEscapes, entry: "a/../../x"},
		{name: "dot-dot directory", archive: tarball(t, true, dirEnt("../d/")), want: ErrPathEscapes, entry: "../d/"},
		{name: "symlink to /etc", archive: tarball(t, true, sym("etc", "/etc")), want: ErrPathEscapes, entry: "etc"},
		{name: "symlink climbing out", archive: tarball(t, true, dirEnt("a/"), sym("a/up", "../..")), want: ErrPathEscapes, entry: "a/up"},
		{
			name:    "write through symlink to /tmp",
			archive: tarball(t, true, sym("tmp", "/tmp"), reg("tmp/evil", "x")),
			want:    ErrPathEscapes, entry: "tmp",
		},
		{
			name:    "write through inside symlink",
			archive: tarball(t, true, dirEnt("real/"), sym("l", "real"), reg("l/x", "x")),
			want:    ErrPathEscapes, entry: "l/x",
		},
		{
			name:    "symlink chain through link to self",
			archive: tarball(t, true, sym("self", "."), sym("out", "self/../escaped")),
			want:    ErrPathEscapes, entry: "out",
		},
		{
			// "later" resolves inside while "s" is missing; "s" then makes it escape.
			name:    "symlink chain completed by a later entry",
			archive: tarball(t, true, sym("later", "s/../escaped"), sym("s", ".")),
			want:    ErrPathEscapes, entry: "later",
		},
		{
			name: "write through pre-existing symlink",
			setup: func(t *testing.T, parent, dir string) {
				mkdir(t, filepath.Join(parent, "outside"))
				mkdir(t, dir)
				if err := os.Symlink(filepath.Join(parent, "outside"), filepath.Join(dir, "l")); err != nil {
					t.Fatal(err)
				}
			},
			archive: tarball(t, true, reg("l/evil", "x")),
			want:    ErrPathEscapes, entry: "l/evil",
		},
		{name: "hard link outside", archive: tarball(t, true, hard("h", "../outside")), want: ErrPathEscapes, entry: "h"},
		{name: "hard link absolute", archive: tarball(t, true, hard("h", "/etc/passwd")), want: ErrPathEscapes, entry: "h"},
		{
			name:    "hard link to symlink",
			archive: tarball(t, true, reg("f", "x"), sym("l", "f"), hard("h", "l")),
			want:    ErrPathEscapes, entry: "h",
		},
		{name: "character device", archive: tarball(t, true, ent{name: "null", typ: tar.TypeChar}), want: ErrEntryType, entry: "null"},
		{name: "block device", archive: tarball(t, true, ent{name: "sda", typ: tar.TypeBlock}), want: ErrEntryType, entry: "sda"},
		{name: "fifo", archive: tarball(t, true, ent{name: "pipe", typ: tar.TypeFifo}), want: ErrEntryType, entry: "pipe"},
		{
			name:    "too many files",
			archive: tarball(t, true, reg("1", ""), reg("2", ""), reg("3", ""), reg("4", "")),
			limits:  small, want: ErrLimit, entry: "4",
		},
		{name: "too big", archive: tarball(t, true, reg("big", "01234567890")), limits: small, want: ErrLimit, entry: "big"},
		{
			name:    "too big in total",
			archive: tarball(t, false, reg("a", "012345"), reg("b", "012345")),
			limits:  small, want: ErrLimit, entry: "b",
		},
		{
			name:    "implied directories count",
			archive: tarball(t, true, reg("a/b/c/f", "")),
			limits:  small, want: ErrLimit, entry: "a/b/c/f",
		},
		{name: "name too long", archive: tarball(t, true, reg(strings.Repeat("d/", 2100)+"f", "")), want: ErrLimit, entry: strings.Repeat("d/", 2100) + "f"},
		{
			name:    "symlink too complex to resolve",
			archive: tarball(t, true, dirEnt("a/"), sym("l", strings.Repeat("a/../", 300)+"a")),
			want:    ErrPathEscapes, entry: "l",
		},
		{
			// 64 MiB of zeros gzip to ~64 KiB: a ratio near 1000.
			name:    "zip bomb ratio",
			archive: tarball(t, true, ent{name: "bomb", size: 64 << 20}),
			want:    ErrLimit, entry: "bomb",
		},
	}
}

func mkdir(t testing.TB, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestExtract_RefusesHostileArchives(t *testing.T) {
	for _, tc := range attacks(t) {
		t.Run(tc.name, func(t *testing.T) {
			parent, dir := sandbox(t)
			allowed := []string{}
			if tc.setup != nil {
				tc.setup(t, parent, dir)
				allowed = append(allowed, "outside")
			}
			err := Extract(bytes.NewReader(tc.archive), dir, tc.limits)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Extract() error = %v, want %v", err, tc.want)
			}
			t.Log(err)
			var ee *EntryError
			if !errors.As(err, &ee) || ee.Name != tc.entry {
				t.Errorf("error %q should name entry %q", err, tc.entry)
			}
			assertContained(t, parent, allowed...)
			if tc.setup == nil { // the setup's own link points out on purpose
				assertLinksInside(t, dir)
			}
			if tc.setup != nil {
				if entries, _ := os.ReadDir(filepath.Join(parent, "outside")); len(entries) != 0 {
					t.Errorf("wrote %d entries through the pre-existing symlink", len(entries))
				}
			}
		})
	}
}

func TestExtract_ErrorNamesEntry(t *testing.T) {
	_, dir := sandbox(t)
	err := Extract(bytes.NewReader(tarball(t, true, reg("../evil", "x"))), dir, Limits{})
	if want := `archive entry "../evil": path escapes the destination`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestExtract_AcceptsOrdinaryArchives(t *testing.T) {
	tests := []struct {
		name    string
		archive []byte
		files   map[string]string // path -> content; "->target" for a symlink
	}{
		{
			name:    "plain tar",
			archive: tarball(t, false, reg("a.txt", "hello")),
			files:   map[string]string{"a.txt": "hello"},
		},
		{
			name:    "implicit parents and dot prefix",
			archive: tarball(t, true, dirEnt("./"), reg("./x/y/z.yaml", "k: v")),
			files:   map[string]string{"x/y/z.yaml": "k: v"},
		},
		{
			name:    "dot-dot that stays inside",
			archive: tarball(t, true, reg("a/../b", "b")),
			files:   map[string]string{"b": "b"},
		},
		{
			name:    "later entry replaces file and symlink",
			archive: tarball(t, true, reg("f", "old"), sym("l", "f"), reg("l", "new"), reg("f", "newer")),
			files:   map[string]string{"f": "newer", "l": "new"},
		},
		{
			name:    "symlinks inside, including to a parent",
			archive: tarball(t, true, reg("d/f", "x"), sym("d/up", ".."), sym("top", "d/f"), sym("dangling", "nope")),
			files:   map[string]string{"d/f": "x", "d/up": "->..", "top": "->d/f", "dangling": "->nope"},
		},
		{
			name:    "hard link",
			archive: tarball(t, true, reg("d/f", "x"), hard("g", "d/f")),
			files:   map[string]string{"d/f": "x", "g": "x"},
		},
		{
			name:    "empty gzip archive",
			archive: tarball(t, true),
			files:   map[string]string{},
		},
		{
			name:    "empty plain archive",
			archive: tarball(t, false),
			files:   map[string]string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent, dir := sandbox(t)
			if err := Extract(bytes.NewReader(tc.archive), dir, Limits{}); err != nil {
				t.Fatal(err)
			}
			assertContained(t, parent)
			for p, want := range tc.files {
				full := filepath.Join(dir, p)
				if target, ok := strings.CutPrefix(want, "->"); ok {
					if got, err := os.Readlink(full); err != nil || got != target {
						t.Errorf("%s: link to %q (%v), want %q", p, got, err, target)
					}
					continue
				}
				if got, err := os.ReadFile(full); err != nil || string(got) != want {
					t.Errorf("%s = %q (%v), want %q", p, got, err, want)
				}
			}
		})
	}
}

func TestExtract_RejectsNonArchives(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":        nil,
		"text":         []byte("apiVersion: v1\nkind: ConfigMap\n"),
		"truncated gz": tarball(t, true, reg("a", strings.Repeat("x", 4096)))[:40],
	} {
		t.Run(name, func(t *testing.T) {
			parent, dir := sandbox(t)
			if err := Extract(bytes.NewReader(data), dir, Limits{}); err == nil {
				t.Fatal("Extract() succeeded on a non-archive")
			}
			assertContained(t, parent)
		})
	}
}

func TestExtract_NegativeLimitsDisableChecks(t *testing.T) {
	_, dir := sandbox(t)
	bomb := tarball(t, true, ent{name: "zeros", size: 8 << 20})
	if err := Extract(bytes.NewReader(bomb), dir, Limits{MaxRatio: -1}); err != nil {
		t.Fatalf("Extract() with no ratio limit: %v", err)
	}
}

func TestExtract_NormalisesModes(t *testing.T) {
	_, dir := sandbox(t)
	archive := tarball(t, true,
		ent{name: "setuid", body: "x", mode: 0o4755},
		ent{name: "private", body: "x", mode: 0o600},
		ent{name: "ro-dir/", typ: tar.TypeDir, mode: 0o500},
		reg("ro-dir/f", "x"),
	)
	if err := Extract(bytes.NewReader(archive), dir, Limits{}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{"setuid": 0o755, "private": 0o644, "ro-dir": 0o755 | os.ModeDir} {
		fi, err := os.Lstat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		// Compare before the umask: any exec bit, and no special bits.
		if got := fi.Mode(); got&(os.ModeSetuid|os.ModeDir) != want&(os.ModeSetuid|os.ModeDir) || (got&0o111 != 0) != (want&0o111 != 0) {
			t.Errorf("%s mode = %v, want %v", p, got, want)
		}
	}
}

func TestExtract_DetectsCorruptedContent(t *testing.T) {
	archive := tarball(t, false, reg("f", strings.Repeat("manifest ", 100)))
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.NoCompression) // stored blocks: a flipped byte stays decodable
	zw.Write(archive)
	zw.Close()
	data := gz.Bytes()
	i := bytes.Index(data, []byte("manifest"))
	data[i] = 'M'
	_, dir := sandbox(t)
	if err := Extract(bytes.NewReader(data), dir, Limits{}); !errors.Is(err, gzip.ErrChecksum) {
		t.Errorf("Extract() of corrupted content = %v, want gzip.ErrChecksum", err)
	}
}

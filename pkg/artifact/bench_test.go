package artifact

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchTree writes 5,000 small manifest-like files (50 directories of 100)
// and returns the directory and their total size.
func benchTree(b *testing.B) (string, int64) {
	b.Helper()
	dir := b.TempDir()
	var total int64
	for d := range 50 {
		sub := filepath.Join(dir, fmt.Sprintf("app-%02d", d))
		mkdir(b, sub)
		for f := range 100 {
			body := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d-%d\n  namespace: team-%d\ndata:\n  key: %s\n",
				d, f, d, strings.Repeat(fmt.Sprint(f), 20+f%40))
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("cm-%03d.yaml", f)), []byte(body), 0o644); err != nil {
				b.Fatal(err)
			}
			total += int64(len(body))
		}
	}
	return dir, total
}

func BenchmarkArchiveDir(b *testing.B) {
	src, total := benchTree(b)
	s := newTestStore(b)
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ArchiveDir(gitRepo, src, "r", nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExtract(b *testing.B) {
	src, total := benchTree(b)
	s := newTestStore(b)
	a, err := s.ArchiveDir(gitRepo, src, "r", nil)
	if err != nil {
		b.Fatal(err)
	}
	p, _ := s.LocalPath(a)
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	base := b.TempDir()
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(base, fmt.Sprint(i))
		if err := Extract(bytes.NewReader(data), dir, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(len(data)), "archive-bytes")
}

package helm_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	repo "helm.sh/helm/v4/pkg/repo/v1"

	"github.com/tether-gitops/tether/pkg/source/helm"
	"github.com/tether-gitops/tether/pkg/testserver/chartrepo"
)

// bigIndexServer serves an index of 1,000 entries: 50 charts of 20 versions.
func bigIndexServer(b *testing.B) *chartrepo.Server {
	srv := chartrepo.New(b)
	idx := repo.NewIndexFile()
	for c := range 50 {
		for v := range 20 {
			md := &chart.Metadata{APIVersion: chart.APIVersionV2, Name: fmt.Sprintf("chart-%02d", c),
				Version: fmt.Sprintf("1.%d.%d", v/5, v%5), Description: "a chart in a large index", AppVersion: "1.0"}
			if err := idx.MustAdd(md, fmt.Sprintf("%s-%s.tgz", md.Name, md.Version), "", fmt.Sprintf("%064x", c*100+v)); err != nil {
				b.Fatal(err)
			}
		}
	}
	idx.SortEntries()
	srv.WriteIndex(idx)
	return srv
}

// BenchmarkFetchIndex downloads and parses a 1,000-entry index, each time
// into a fresh cache (no ETag, no parsed copy).
func BenchmarkFetchIndex(b *testing.B) {
	srv := bigIndexServer(b)
	base := b.TempDir()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		cache, err := helm.NewCache(filepath.Join(base, strconv.Itoa(i)), 0)
		if err != nil {
			b.Fatal(err)
		}
		r, err := helm.NewRepository(srv.URL(), helm.Options{}, cache)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.FetchIndex(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetchIndexUnchanged fetches the same index again: the server
// answers 304 and the parsed index comes from the cache.
func BenchmarkFetchIndexUnchanged(b *testing.B) {
	srv := bigIndexServer(b)
	r := newRepo(b, srv.URL(), helm.Options{})
	ctx := context.Background()
	if _, err := r.FetchIndex(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.FetchIndex(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolve resolves a range among a chart's 20 versions.
func BenchmarkResolve(b *testing.B) {
	srv := bigIndexServer(b)
	idx, err := newRepo(b, srv.URL(), helm.Options{}).FetchIndex(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cv, err := idx.Resolve("chart-25", ">=1.1.0 <1.3.0")
		if err != nil || cv.Version != "1.2.4" {
			b.Fatal(cv, err)
		}
	}
}

package helm_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	repo "helm.sh/helm/v4/pkg/repo/v1"

	"github.com/tether-gitops/tether/pkg/source/helm"
	"github.com/tether-gitops/tether/pkg/testserver/chartrepo"
)

func newCache(t testing.TB) *helm.Cache {
	t.Helper()
	c, err := helm.NewCache(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newRepo(t testing.TB, url string, opts helm.Options) *helm.Repository {
	t.Helper()
	r, err := helm.NewRepository(url, opts, newCache(t))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRepository_FetchesIndexAndResolvesTheHighestMatchingVersion(t *testing.T) {
	srv := chartrepo.New(t)
	for _, v := range []string{"1.0.0", "1.2.0", "1.10.0", "2.0.0", "1.11.0-rc.1"} {
		srv.Publish("app", v)
	}
	r := newRepo(t, srv.URL(), helm.Options{})
	idx, err := r.FetchIndex(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(idx.Digest, "sha256:") {
		t.Errorf("digest %q", idx.Digest)
	}
	for _, tc := range []struct{ version, want string }{
		{">=1.0.0 <2.0.0", "1.10.0"},
		{"", "2.0.0"},
		{"*", "2.0.0"},
		{"1.2.0", "1.2.0"},
		{"~1.2", "1.2.0"},
		{">=1.11.0-0 <2.0.0", "1.11.0-rc.1"},
	} {
		cv, err := idx.Resolve("app", tc.version)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tc.version, err)
			continue
		}
		if cv.Version != tc.want {
			t.Errorf("Resolve(%q) = %s, want %s", tc.version, cv.Version, tc.want)
		}
	}
	c, err := r.DownloadChart(context.Background(), mustResolve(t, idx, "app", "1.2.0"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "app" || c.Version() != "1.2.0" || !strings.HasPrefix(c.Digest, "sha256:") {
		t.Errorf("downloaded %s %s %s", c.Name(), c.Version(), c.Digest)
	}
}

func TestIndex_Resolve_ReportsClearErrors(t *testing.T) {
	srv := chartrepo.New(t)
	srv.Publish("app", "1.0.0")
	srv.Publish("app", "2.0.0")
	idx, err := newRepo(t, srv.URL(), helm.Options{}).FetchIndex(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, version string
		want          error
		msg           string
	}{
		{"app", ">=3.0.0", helm.ErrNoMatchingVersion, `no version of chart "app" satisfies ">=3.0.0" (latest: 2.0.0, 1.0.0)`},
		{"app", "not a range", helm.ErrInvalidReference, "is not a semver range"},
		{"missing", "*", helm.ErrChartNotFound, `no chart named "missing"`},
	} {
		_, err := idx.Resolve(tc.name, tc.version)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Resolve(%q, %q) = %v, want %v containing %q", tc.name, tc.version, err, tc.want, tc.msg)
		}
	}
}

func TestRepository_BasicAuth(t *testing.T) {
	srv := chartrepo.New(t, chartrepo.WithBasicAuth("user", "s3cret"))
	srv.Publish("app", "1.0.0")

	_, err := newRepo(t, srv.URL(), helm.Options{}).FetchIndex(context.Background())
	if !errors.Is(err, helm.ErrAuthentication) {
		t.Fatalf("without credentials: %v, want ErrAuthentication", err)
	}
	_, err = newRepo(t, srv.URL(), helm.Options{Auth: helm.Auth{Username: "user", Password: "wrong-pass"}}).FetchIndex(context.Background())
	if !errors.Is(err, helm.ErrAuthentication) || strings.Contains(err.Error(), "wrong-pass") {
		t.Fatalf("wrong password: %v, want ErrAuthentication without the password", err)
	}
	r := newRepo(t, srv.URL(), helm.Options{Auth: helm.Auth{Username: "user", Password: "s3cret"}})
	idx, err := r.FetchIndex(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.DownloadChart(context.Background(), mustResolve(t, idx, "app", "1.0.0")); err != nil {
		t.Fatal(err)
	}
}

func TestRepository_PassCredentialsOnlyWhenSet(t *testing.T) {
	// The charts live on another host (port) than the index, which lists
	// them by absolute URL; both ask for the same credentials.
	charts := chartrepo.New(t, chartrepo.WithBasicAuth("user", "s3cret"), chartrepo.WithAbsoluteURLs())
	charts.Publish("app", "1.0.0")
	index, err := repo.LoadIndexFile(filepath.Join(charts.Dir(), "index.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	front := chartrepo.New(t, chartrepo.WithBasicAuth("user", "s3cret"))
	front.WriteIndex(index)

	for _, pass := range []bool{false, true} {
		r := newRepo(t, front.URL(), helm.Options{Auth: helm.Auth{Username: "user", Password: "s3cret", PassCredentials: pass}})
		idx, err := r.FetchIndex(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.DownloadChart(context.Background(), mustResolve(t, idx, "app", "1.0.0"))
		if pass && err != nil {
			t.Errorf("passCredentials: %v", err)
		}
		if !pass && !errors.Is(err, helm.ErrAuthentication) {
			t.Errorf("without passCredentials the other host must not get the credentials: got %v", err)
		}
	}
}

func TestRepository_TLSWithCAAndClientCertificate(t *testing.T) {
	srv := chartrepo.New(t, chartrepo.WithClientCerts())
	srv.Publish("app", "1.0.0")
	if _, err := newRepo(t, srv.URL(), helm.Options{}).FetchIndex(context.Background()); err == nil {
		t.Fatal("an unknown CA must be refused")
	}
	if _, err := newRepo(t, srv.URL(), helm.Options{Auth: helm.Auth{CAPEM: srv.CAPEM()}}).FetchIndex(context.Background()); err == nil {
		t.Fatal("the server requires a client certificate")
	}
	cert, key := srv.ClientCertPEM()
	r := newRepo(t, srv.URL(), helm.Options{Auth: helm.Auth{CAPEM: srv.CAPEM(), CertPEM: cert, KeyPEM: key}})
	idx, err := r.FetchIndex(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.DownloadChart(context.Background(), mustResolve(t, idx, "app", "1.0.0")); err != nil {
		t.Fatal(err)
	}
	if _, err := helm.NewRepository(srv.URL(), helm.Options{Auth: helm.Auth{CAPEM: []byte("junk")}}, nil); err == nil {
		t.Error("a CA that is not PEM must be refused")
	}
}

func TestRepository_BoundsDownloadSizes(t *testing.T) {
	srv := chartrepo.New(t)
	srv.Publish("app", "1.0.0")
	r := newRepo(t, srv.URL(), helm.Options{MaxIndexSize: 64})
	if _, err := r.FetchIndex(context.Background()); !errors.Is(err, helm.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	r = newRepo(t, srv.URL(), helm.Options{MaxChartSize: 64})
	idx, err := r.FetchIndex(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.DownloadChart(context.Background(), mustResolve(t, idx, "app", "1.0.0")); !errors.Is(err, helm.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

func TestRepository_CachesByDigest(t *testing.T) {
	srv := chartrepo.New(t, chartrepo.WithAbsoluteURLs())
	srv.Publish("app", "1.0.0")
	cache := newCache(t)
	r, err := helm.NewRepository(srv.URL(), helm.Options{}, cache)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := r.FetchIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cv := mustResolve(t, first, "app", "1.0.0")
	for range 3 {
		if _, err := r.DownloadChart(ctx, cv); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Requests("/app-1.0.0.tgz"); n != 1 {
		t.Errorf("chart downloaded %d times, want once", n)
	}
	second, err := r.FetchIndex(ctx) // 304: served from the cache
	if err != nil {
		t.Fatal(err)
	}
	if second.Digest != first.Digest || second.IndexFile != first.IndexFile {
		t.Errorf("unchanged index: digest %s vs %s, parsed again: %v", second.Digest, first.Digest, second.IndexFile != first.IndexFile)
	}
	srv.Publish("app", "1.1.0")
	third, err := r.FetchIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if third.Digest == first.Digest || mustResolve(t, third, "app", "*").Version != "1.1.0" {
		t.Errorf("a changed index must be fetched again")
	}
	loaded, err := helm.LoadIndex(third.Path, third.Digest, cache)
	if err != nil || loaded.IndexFile != third.IndexFile {
		t.Errorf("LoadIndex of a cached digest must reuse the parsed index: %v", err)
	}
}

func TestRepository_RejectsInvalidIndexes(t *testing.T) {
	srv := chartrepo.New(t)
	r := newRepo(t, srv.URL(), helm.Options{})
	for name, content := range map[string]string{
		"empty":         "",
		"no apiVersion": "entries: {}\n",
		"not yaml":      "{{{",
	} {
		if err := os.WriteFile(filepath.Join(srv.Dir(), "index.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := r.FetchIndex(context.Background()); err == nil || !strings.Contains(err.Error(), "invalid repository index") {
			t.Errorf("%s: got %v, want an invalid index error", name, err)
		}
	}
	if _, err := helm.NewRepository("ftp://example", helm.Options{}, nil); !errors.Is(err, helm.ErrInvalidReference) {
		t.Errorf("ftp URL: %v", err)
	}
	if _, err := helm.NewRepository("http://u:p@example", helm.Options{}, nil); err == nil || strings.Contains(err.Error(), ":p@") {
		t.Errorf("URL with credentials: %v", err)
	}
}

func TestRepository_ServerDownFails(t *testing.T) {
	srv := chartrepo.New(t)
	srv.Publish("app", "1.0.0")
	r := newRepo(t, srv.URL(), helm.Options{})
	srv.Down()
	if _, err := r.FetchIndex(context.Background()); err == nil {
		t.Fatal("want an error while the server is down")
	}
	srv.Up()
	if _, err := r.FetchIndex(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func mustResolve(t testing.TB, idx *helm.Index, name, version string) *repo.ChartVersion {
	t.Helper()
	cv, err := idx.Resolve(name, version)
	if err != nil {
		t.Fatal(err)
	}
	return cv
}

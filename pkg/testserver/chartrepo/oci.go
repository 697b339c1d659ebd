package chartrepo

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v4/pkg/registry"
)

// Registry is an in-process OCI registry on 127.0.0.1 (plain HTTP) that
// holds charts under the repository path "charts".
type Registry struct {
	t          testing.TB
	srv        *httptest.Server
	user, pass string
}

// NewRegistry starts a registry; of the options only WithBasicAuth applies.
func NewRegistry(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	r := &Registry{t: t, user: o.user, pass: o.pass}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if checkBasicAuth(w, req, r.user, r.pass) {
			reg.ServeHTTP(w, req)
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// Host returns host:port of the registry.
func (r *Registry) Host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// URL returns the oci:// URL of the chart path, for a HelmRepository of
// type oci (with insecure: true, as the registry speaks plain HTTP).
func (r *Registry) URL() string { return "oci://" + r.Host() + "/charts" }

// Push packages version of the chart name and pushes it with the Helm
// registry client as charts/<name>:<version>.
func (r *Registry) Push(name, version string) {
	r.t.Helper()
	dir := r.t.TempDir()
	p, err := PackageChart(name, version, dir)
	if err != nil {
		r.t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		r.t.Fatal(err)
	}
	opts := []registry.ClientOption{registry.ClientOptPlainHTTP(), registry.ClientOptWriter(io.Discard),
		registry.ClientOptCredentialsFile(filepath.Join(dir, "credentials.json"))}
	if r.user != "" {
		opts = append(opts, registry.ClientOptBasicAuth(r.user, r.pass))
	}
	c, err := registry.NewClient(opts...)
	if err != nil {
		r.t.Fatal(err)
	}
	ref := fmt.Sprintf("%s/charts/%s:%s", r.Host(), name, version)
	if _, err := c.Push(data, ref); err != nil {
		r.t.Fatalf("pushing %s: %v", ref, err)
	}
}

// Package registry runs an OCI registry for tests: go-containerregistry's
// in-memory registry on an httptest server bound to 127.0.0.1, optionally
// behind basic auth and TLS, with helpers to push artifacts and count requests.
package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types of the artifacts Push makes by default.
const (
	// ContentMediaType is a tar+gzip layer of manifests.
	ContentMediaType = "application/vnd.tether.content.v1.tar+gzip"
	// ConfigMediaType is the config of such an artifact.
	ConfigMediaType = "application/vnd.tether.config.v1+json"
)

// Options configure a Registry.
type Options struct {
	// Username and Password, when set, are required (basic auth) on every request.
	Username, Password string
	// TLS serves HTTPS with a certificate for 127.0.0.1 (see CAPEM).
	TLS bool
}

// Registry is a running test registry.
type Registry struct {
	srv  *httptest.Server
	opts Options

	mu       sync.Mutex
	requests map[string]int
}

// Start runs a registry on 127.0.0.1 and closes it in t.Cleanup.
func Start(t testing.TB, o Options) *Registry {
	t.Helper()
	r := &Registry{opts: o, requests: map[string]int{}}
	handler := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewUnstartedServer(r.wrap(handler))
	if o.TLS {
		r.srv.StartTLS()
	} else {
		r.srv.Start()
	}
	t.Cleanup(r.srv.Close)
	return r
}

func (r *Registry) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.count(req)
		if r.opts.Username != "" {
			u, p, ok := req.BasicAuth()
			if !ok || u != r.opts.Username || p != r.opts.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="tether-test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
				return
			}
		}
		next.ServeHTTP(w, req)
	})
}

var apiPath = regexp.MustCompile(`^/v2/.+/(manifests|blobs/uploads|blobs|tags)(/[^/]*)?$`)

func (r *Registry) count(req *http.Request) {
	kind := "other"
	if m := apiPath.FindStringSubmatch(req.URL.Path); m != nil {
		kind = m[1]
	}
	r.mu.Lock()
	r.requests[req.Method+" "+kind]++
	r.mu.Unlock()
}

// Requests counts the requests so far by "<METHOD> <kind>", where kind is
// manifests, blobs, blobs/uploads, tags or other (the /v2/ ping); e.g. "GET blobs".
func (r *Registry) Requests() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.requests))
	for k, v := range r.requests {
		out[k] = v
	}
	return out
}

// Host is the registry's host:port.
func (r *Registry) Host() string {
	return strings.TrimPrefix(strings.TrimPrefix(r.srv.URL, "https://"), "http://")
}

// URL is the oci:// URL of a repository in the registry.
func (r *Registry) URL(repo string) string { return "oci://" + r.Host() + "/" + repo }

// CAPEM is the PEM certificate that a TLS registry serves (nil without TLS).
func (r *Registry) CAPEM() []byte {
	if r.srv.Certificate() == nil || !r.opts.TLS {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
}

// DockerConfigJSON is a .dockerconfigjson with the given credentials for this registry.
func (r *Registry) DockerConfigJSON(username, password string) []byte {
	auth := base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
	data, _ := json.Marshal(map[string]any{"auths": map[string]any{
		r.Host(): map[string]string{"username": username, "password": password, "auth": auth},
	}})
	return data
}

// Artifact is what Push uploads: one layer, either Files packed as tar+gzip
// or Layer as it is.
type Artifact struct {
	Files map[string]string
	// Layer, if set, is the layer's bytes (e.g. a hand-made hostile archive).
	Layer []byte
	// LayerMediaType defaults to ContentMediaType.
	LayerMediaType string
	// ConfigMediaType defaults to ConfigMediaType.
	ConfigMediaType string
	// ExtraLayers are appended after the first, as {mediaType: bytes}.
	ExtraLayers map[string][]byte
	// Annotations of the manifest.
	Annotations map[string]string
}

// Push uploads the artifact to repo:tag and returns its manifest digest.
func (r *Registry) Push(repo, tag string, a Artifact) (string, error) {
	layer := a.Layer
	if layer == nil {
		var err error
		if layer, err = TarGz(a.Files); err != nil {
			return "", err
		}
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		mutate.Addendum{Layer: static.NewLayer(layer, types.MediaType(or(a.LayerMediaType, ContentMediaType)))})
	if err != nil {
		return "", err
	}
	var extra []string
	for mt := range a.ExtraLayers {
		extra = append(extra, mt)
	}
	sort.Strings(extra)
	for _, mt := range extra {
		if img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(a.ExtraLayers[mt], types.MediaType(mt))}); err != nil {
			return "", err
		}
	}
	img = mutate.ConfigMediaType(img, types.MediaType(or(a.ConfigMediaType, ConfigMediaType)))
	if len(a.Annotations) > 0 {
		img = mutate.Annotations(img, a.Annotations).(v1.Image)
	}
	ref, err := name.NewTag(r.Host()+"/"+repo+":"+tag, r.nameOpts()...)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, r.remoteOpts()...); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// Tag points tag at the manifest repo@digest.
func (r *Registry) Tag(repo, digest, tag string) error {
	d, err := name.NewDigest(r.Host()+"/"+repo+"@"+digest, r.nameOpts()...)
	if err != nil {
		return err
	}
	desc, err := remote.Get(d, r.remoteOpts()...)
	if err != nil {
		return err
	}
	return remote.Tag(d.Repository.Tag(tag), desc, r.remoteOpts()...)
}

func (r *Registry) nameOpts() []name.Option {
	if r.opts.TLS {
		return nil
	}
	return []name.Option{name.Insecure}
}

func (r *Registry) remoteOpts() []remote.Option {
	opts := []remote.Option{remote.WithTransport(r.srv.Client().Transport)}
	if r.opts.Username != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: r.opts.Username, Password: r.opts.Password}))
	}
	return opts
}

// TarGz packs files (path -> content, sorted) into a tar+gzip archive.
func TarGz(files map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		hdr := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

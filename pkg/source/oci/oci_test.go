package oci_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/tether-gitops/tether/pkg/artifact"
	"github.com/tether-gitops/tether/pkg/source/oci"
	"github.com/tether-gitops/tether/pkg/testserver/registry"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func push(t testing.TB, r *registry.Registry, repo, tag string, a registry.Artifact) string {
	t.Helper()
	d, err := r.Push(repo, tag, a)
	must(t, err)
	return d
}

func newClient(t testing.TB, url string, o oci.Options) *oci.Client {
	t.Helper()
	c, err := oci.New(url, o)
	must(t, err)
	return c
}

func TestResolve_TagCostsOneHeadAndNoDownload(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	d := push(t, r, "app", "latest", registry.Artifact{Files: map[string]string{"a.yaml": "a"}})
	c := newClient(t, r.URL("app"), oci.Options{Insecure: true})
	before := r.Requests()
	res, err := c.Resolve(context.Background(), oci.Ref{})
	must(t, err)
	if res.Revision != "latest@"+d || res.Tag != "latest" {
		t.Fatalf("resolved %+v, want revision latest@%s", res, d)
	}
	after := r.Requests()
	if after["HEAD manifests"]-before["HEAD manifests"] != 1 || after["GET manifests"] != before["GET manifests"] || after["GET blobs"] != before["GET blobs"] {
		t.Fatalf("requests %v -> %v: want one HEAD of the manifest and no GET", before, after)
	}
}

func TestResolve_SemverPicksHighestMatchingTag(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	for _, tag := range []string{"1.0.0", "1.2.0", "v1.3.0-rc.1", "2.0.0", "latest", "1.1.0-alpine"} {
		push(t, r, "app", tag, registry.Artifact{Files: map[string]string{"v": tag}})
	}
	c := newClient(t, r.URL("app"), oci.Options{Insecure: true})
	ctx := context.Background()
	res, err := c.Resolve(ctx, oci.Ref{SemVer: ">=1.0.0 <2.0.0"})
	must(t, err)
	if res.Tag != "1.2.0" || !strings.HasPrefix(res.Revision, "1.2.0@sha256:") {
		t.Fatalf("resolved %+v, want 1.2.0", res)
	}
	res, err = c.Resolve(ctx, oci.Ref{SemVer: ">=1.0.0-0", SemverFilter: `-alpine$`})
	must(t, err)
	if res.Tag != "1.1.0-alpine" {
		t.Fatalf("with filter resolved %+v, want 1.1.0-alpine", res)
	}
	if _, err := c.Resolve(ctx, oci.Ref{SemVer: ">=3"}); !errors.Is(err, oci.ErrNotFound) {
		t.Fatalf("no match: err = %v, want ErrNotFound", err)
	}
	if _, err := c.Resolve(ctx, oci.Ref{SemVer: "not a range"}); !errors.Is(err, oci.ErrInvalidConfig) {
		t.Fatalf("bad range: err = %v, want ErrInvalidConfig", err)
	}
}

func TestResolve_DigestRevisionIsTheDigest(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	d := push(t, r, "app", "v1", registry.Artifact{Files: map[string]string{"a": "1"}})
	c := newClient(t, r.URL("app"), oci.Options{Insecure: true})
	res, err := c.Resolve(context.Background(), oci.Ref{Digest: d})
	must(t, err)
	if res.Revision != d || res.Tag != "" {
		t.Fatalf("resolved %+v, want revision %s", res, d)
	}
	missing := "sha256:" + strings.Repeat("0", 64)
	if _, err := c.Resolve(context.Background(), oci.Ref{Digest: missing}); !errors.Is(err, oci.ErrNotFound) {
		t.Fatalf("missing digest: err = %v, want ErrNotFound", err)
	}
}

func TestLayer_ExtractAndCopy(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	files := map[string]string{"deploy/app.yaml": "kind: Deployment\n", "kustomization.yaml": "resources: []\n"}
	push(t, r, "app", "v1", registry.Artifact{
		Files:       files,
		ExtraLayers: map[string][]byte{"application/vnd.test.raw": []byte("raw bytes")},
		Annotations: map[string]string{"org.opencontainers.image.revision": "main@sha1:abc"},
	})
	c := newClient(t, r.URL("app"), oci.Options{Insecure: true})
	ctx := context.Background()
	res, err := c.Resolve(ctx, oci.Ref{Tag: "v1"})
	must(t, err)

	l, err := c.Layer(ctx, res, "")
	must(t, err)
	if l.MediaType != registry.ContentMediaType || l.Annotations["org.opencontainers.image.revision"] != "main@sha1:abc" {
		t.Fatalf("layer %+v", l)
	}
	dir := t.TempDir()
	must(t, l.Extract(dir, artifact.DefaultLimits()))
	for p, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil || string(got) != want {
			t.Fatalf("%s = %q, %v; want %q", p, got, err, want)
		}
	}

	raw, err := c.Layer(ctx, res, "application/vnd.test.raw")
	must(t, err)
	rc, err := raw.Open(0)
	must(t, err)
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(data) != "raw bytes" {
		t.Fatalf("copied %q, %v", data, err)
	}
	if _, err := raw.Open(3); !errors.Is(err, oci.ErrLayer) {
		t.Fatalf("over the size bound: err = %v, want ErrLayer", err)
	}
	if _, err := c.Layer(ctx, res, "application/x-none"); !errors.Is(err, oci.ErrLayer) {
		t.Fatalf("missing media type: err = %v, want ErrLayer", err)
	}
}

func TestLayer_ExtractRefusesEscapingEntries(t *testing.T) {
	r := registry.Start(t, registry.Options{})
	push(t, r, "evil", "v1", registry.Artifact{Layer: tarGz(t, "../evil", "pwned")})
	c := newClient(t, r.URL("evil"), oci.Options{Insecure: true})
	ctx := context.Background()
	res, err := c.Resolve(ctx, oci.Ref{Tag: "v1"})
	must(t, err)
	l, err := c.Layer(ctx, res, "")
	must(t, err)
	parent := t.TempDir()
	err = l.Extract(filepath.Join(parent, "out"), artifact.DefaultLimits())
	if !errors.Is(err, oci.ErrLayer) || !errors.Is(err, artifact.ErrPathEscapes) || !strings.Contains(err.Error(), "../evil") {
		t.Fatalf("err = %v, want ErrLayer wrapping ErrPathEscapes and naming ../evil", err)
	}
	if _, err := os.Stat(filepath.Join(parent, "evil")); !os.IsNotExist(err) {
		t.Fatalf("../evil was written outside the destination")
	}
}

func TestAuth_DockerConfigForTheHost(t *testing.T) {
	r := registry.Start(t, registry.Options{Username: "user", Password: "s3cret-pass"})
	push(t, r, "app", "latest", registry.Artifact{Files: map[string]string{"a": "1"}})
	ctx := context.Background()

	c := newClient(t, r.URL("app"), oci.Options{Insecure: true, DockerConfigJSON: r.DockerConfigJSON("user", "s3cret-pass")})
	if _, err := c.Resolve(ctx, oci.Ref{}); err != nil {
		t.Fatalf("right credentials: %v", err)
	}
	for name, o := range map[string]oci.Options{
		"wrong password": {Insecure: true, DockerConfigJSON: r.DockerConfigJSON("user", "wrong-pass-987")},
		"no credentials": {Insecure: true},
	} {
		c := newClient(t, r.URL("app"), o)
		_, err := c.Resolve(ctx, oci.Ref{})
		if !errors.Is(err, oci.ErrAuthentication) {
			t.Fatalf("%s: err = %v, want ErrAuthentication", name, err)
		}
		if strings.Contains(err.Error(), "wrong-pass-987") || strings.Contains(err.Error(), "s3cret-pass") {
			t.Fatalf("%s: error leaks the password: %v", name, err)
		}
	}
	_, err := oci.New(r.URL("app"), oci.Options{DockerConfigJSON: []byte(`{"auths":{"other.example:5000":{"auth":"dTpw"}}}`)})
	if !errors.Is(err, oci.ErrAuthentication) {
		t.Fatalf("no entry for the host: err = %v, want ErrAuthentication", err)
	}
}

func TestTLS_CustomCAAndPlainHTTPRefusal(t *testing.T) {
	ctx := context.Background()
	tlsReg := registry.Start(t, registry.Options{TLS: true})
	push(t, tlsReg, "app", "latest", registry.Artifact{Files: map[string]string{"a": "1"}})
	c := newClient(t, tlsReg.URL("app"), oci.Options{CA: tlsReg.CAPEM()})
	if _, err := c.Resolve(ctx, oci.Ref{}); err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	c = newClient(t, tlsReg.URL("app"), oci.Options{})
	if _, err := c.Resolve(ctx, oci.Ref{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: err = %v, want a certificate error", err)
	}

	plain := registry.Start(t, registry.Options{})
	push(t, plain, "app", "latest", registry.Artifact{Files: map[string]string{"a": "1"}})
	c = newClient(t, plain.URL("app"), oci.Options{})
	if _, err := c.Resolve(ctx, oci.Ref{}); !errors.Is(err, oci.ErrInsecure) {
		t.Fatalf("plain HTTP without insecure: err = %v, want ErrInsecure", err)
	}
}

func TestNew_RefusesBadURLs(t *testing.T) {
	for _, u := range []string{"https://host/repo", "oci://host/repo:tag", "oci://host/repo@sha256:abc", "oci://"} {
		if _, err := oci.New(u, oci.Options{}); !errors.Is(err, oci.ErrInvalidURL) {
			t.Errorf("%q: err = %v, want ErrInvalidURL", u, err)
		}
	}
	if _, err := oci.New("oci://localhost:5000/org/repo", oci.Options{}); err != nil {
		t.Errorf("host with port: %v", err)
	}
}

func TestHighestTag(t *testing.T) {
	tags := []string{"latest", "1.0.0", "v1.2.0", "1.2", "1.10.0", "2.0.0-rc.1", "main-abc"}
	for _, tc := range []struct{ constraint, filter, want string }{
		{">=1.0.0", "", "1.10.0"},
		{"~1.2", "", "v1.2.0"}, // "1.2" and "v1.2.0" are equal; the lexically greater wins
		{">=2.0.0-0", "", "2.0.0-rc.1"},
		{"*", `^v`, "v1.2.0"},
		{">=3", "", ""},
	} {
		c, err := semver.NewConstraint(tc.constraint)
		must(t, err)
		var f *regexp.Regexp
		if tc.filter != "" {
			f = regexp.MustCompile(tc.filter)
		}
		got, _ := oci.HighestTag(tags, c, f)
		if got != tc.want {
			t.Errorf("%s %s: got %q, want %q", tc.constraint, tc.filter, got, tc.want)
		}
	}
}

func tarGz(t testing.TB, name, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}))
	_, err := tw.Write([]byte(content))
	must(t, err)
	must(t, tw.Close())
	must(t, gz.Close())
	return buf.Bytes()
}

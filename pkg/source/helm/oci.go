package helm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v4/pkg/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// OCIRepository is an OCI registry path that holds charts, one repository per
// chart: oci://host/path/<chart>:<version>.
type OCIRepository struct {
	// URL is the oci:// URL, as in the HelmRepository spec.
	URL    string
	host   string // host[:port]
	path   string // path under the host, no leading or trailing slash
	opts   Options
	cache  *Cache
	client *registry.Client
	authz  *auth.Client
}

// NewOCIRepository checks the URL and credentials and returns a client for
// the registry. cache may be nil, as for NewRepository.
func NewOCIRepository(rawURL string, opts Options, cache *Cache) (*OCIRepository, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "oci" || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%w: OCI repository URL %q must look like oci://host[:port]/path, without credentials", ErrInvalidReference, redact(rawURL))
	}
	hc, err := opts.httpClient()
	if err != nil {
		return nil, err
	}
	if cache, err = cacheOr(cache); err != nil {
		return nil, err
	}
	authz := &auth.Client{Client: hc, Cache: auth.NewCache()}
	authz.SetUserAgent("tether-source-helm")
	if opts.Username != "" || opts.Password != "" {
		authz.Credential = auth.StaticCredential(u.Host, auth.Credential{Username: opts.Username, Password: opts.Password})
	}
	copts := []registry.ClientOption{
		registry.ClientOptHTTPClient(hc),
		registry.ClientOptAuthorizer(*authz),
		registry.ClientOptWriter(io.Discard),
		// Never read or write the user's Helm credentials: a file that does not exist.
		registry.ClientOptCredentialsFile(filepath.Join(cache.Dir(), "no-registry-credentials.json")),
	}
	if opts.PlainHTTP {
		copts = append(copts, registry.ClientOptPlainHTTP())
	}
	c, err := registry.NewClient(copts...)
	if err != nil {
		return nil, fmt.Errorf("creating the registry client: %w", err)
	}
	return &OCIRepository{URL: rawURL, host: u.Host, path: strings.Trim(u.Path, "/"),
		opts: opts, cache: cache, client: c, authz: authz}, nil
}

// Login checks that the registry accepts the credentials.
func (o *OCIRepository) Login(ctx context.Context) error {
	reg, err := remote.NewRegistry(o.host)
	if err != nil {
		return fmt.Errorf("%w: registry host %q: %v", ErrInvalidReference, o.host, err)
	}
	reg.PlainHTTP = o.opts.PlainHTTP
	reg.Client = o.authz
	if err := reg.Ping(ctx); err != nil {
		return fmt.Errorf("logging in to %s: %w", o.host, ociError(err))
	}
	return nil
}

// ref returns the registry reference of a chart, without a tag.
func (o *OCIRepository) ref(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, ":@ ") || !filepath.IsLocal(name) {
		return "", fmt.Errorf("%w: chart name %q must be a plain name or a path under the registry URL", ErrInvalidReference, name)
	}
	if o.path == "" {
		return o.host + "/" + name, nil
	}
	return o.host + "/" + o.path + "/" + name, nil
}

// Resolve lists the chart's tags and returns the highest version that
// satisfies the semver range version (see SelectVersion).
func (o *OCIRepository) Resolve(ctx context.Context, name, version string) (string, error) {
	ref, err := o.ref(name)
	if err != nil {
		return "", err
	}
	tags, err := o.client.Tags(ref)
	if err != nil {
		return "", fmt.Errorf("listing the tags of %s: %w", ref, ociError(err))
	}
	if len(tags) == 0 {
		return "", fmt.Errorf("%w: %s has no semver tags: check spec.chart and the registry URL", ErrChartNotFound, ref)
	}
	return SelectVersion(name, version, tags)
}

// Pull pulls version of the chart (as returned by Resolve) with the Helm
// registry client and checks that it loads. A chart whose manifest digest is
// already in the cache is not pulled again.
func (o *OCIRepository) Pull(ctx context.Context, name, version string) (*Chart, error) {
	ref, err := o.ref(name)
	if err != nil {
		return nil, err
	}
	tagged := ref + ":" + strings.ReplaceAll(version, "+", "_")
	desc, err := o.client.Resolve(tagged)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", tagged, ociError(err))
	}
	manifestHex := desc.Digest.Encoded()
	if p := o.cache.lookup("oci", manifestHex, "tgz"); p != "" {
		if c, err := LoadChart(p); err == nil {
			d, err := fileDigest(p)
			c.Digest = "sha256:" + d
			return c, err
		}
		_ = os.Remove(p)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res, err := o.client.Pull(tagged)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", tagged, ociError(err))
	}
	if int64(len(res.Chart.Data)) > o.opts.maxChart() {
		return nil, fmt.Errorf("pulling %s: %d bytes: %w of %d bytes", tagged, len(res.Chart.Data), ErrTooLarge, o.opts.maxChart())
	}
	hexDigest, p, err := o.cache.write("chart", "tgz", "", func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(res.Chart.Data))
		return err
	})
	if err != nil {
		return nil, err
	}
	c, err := LoadChart(p)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", tagged, err)
	}
	c.Digest = "sha256:" + hexDigest
	if c.Name() != filepath.Base(name) {
		return nil, fmt.Errorf("%s holds chart %q, not %q", tagged, c.Name(), filepath.Base(name))
	}
	// Also file it under the manifest digest; failing only means pulling again.
	_ = os.Link(p, o.cache.path("oci", trimAlgo(res.Manifest.Digest), "tgz"))
	return c, nil
}

// ociError maps registry answers to this package's errors; the registry's
// messages never hold credentials.
func ociError(err error) error {
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("%s: %w: check the username and password in the secret", http.StatusText(resp.StatusCode), ErrAuthentication)
	}
	if errors.As(err, &resp) && resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %v", ErrChartNotFound, err)
	}
	return err
}

// Package helm fetches Helm charts for the source controllers, with no
// Kubernetes types: it downloads and validates repository indexes, resolves a
// semver range to a chart version, downloads charts over HTTP(S) or pulls them
// from OCI registries, and packages charts from a source tree with extra values
// files merged in. Downloads are cached on disk by digest.
package helm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Errors callers tell apart with errors.Is.
var (
	// ErrAuthentication: the server refused the credentials (or wanted some).
	ErrAuthentication = errors.New("authentication failed")
	// ErrTooLarge: a download exceeded its size limit.
	ErrTooLarge = errors.New("download exceeds the size limit")
	// ErrChartNotFound: the index has no chart of that name.
	ErrChartNotFound = errors.New("chart not found")
	// ErrNoMatchingVersion: no version of the chart satisfies the range.
	ErrNoMatchingVersion = errors.New("no chart version matches")
	// ErrInvalidReference: the chart name, path or version range is malformed.
	ErrInvalidReference = errors.New("invalid chart reference")
)

// Default size limits, generous for real repositories (the largest public
// indexes are tens of MiB) yet bounded against a hostile server.
const (
	DefaultMaxIndexSize int64 = 64 << 20
	DefaultMaxChartSize int64 = 16 << 20
)

// Auth holds the credentials and TLS material of a repository.
type Auth struct {
	Username, Password string
	// PassCredentials sends the basic auth credentials to chart URLs on
	// hosts other than the repository's; without it they go only to the
	// repository's own scheme and host.
	PassCredentials bool
	// CAPEM is trusted in addition to the system roots; CertPEM and KeyPEM
	// form a client certificate.
	CAPEM, CertPEM, KeyPEM []byte
}

// Options configure a repository client.
type Options struct {
	Auth
	// CacheDir keeps downloads by digest; empty means no cache.
	CacheDir string
	// MaxIndexSize and MaxChartSize bound downloads; zero means the default.
	MaxIndexSize, MaxChartSize int64
	// Timeout bounds each HTTP request (OCI calls have no context); zero means
	// no limit beyond the context's.
	Timeout time.Duration
	// PlainHTTP talks to an OCI registry over http:// (spec.insecure).
	PlainHTTP bool
	// Transport, when set, replaces the default transport (tests).
	Transport http.RoundTripper
}

func (o Options) maxIndex() int64 { return orDefault(o.MaxIndexSize, DefaultMaxIndexSize) }
func (o Options) maxChart() int64 { return orDefault(o.MaxChartSize, DefaultMaxChartSize) }

func orDefault(v, d int64) int64 {
	if v <= 0 {
		return d
	}
	return v
}

// TLSConfig builds the client TLS configuration from the PEM data; it returns
// nil when there is none, so the default transport settings apply.
func (a Auth) TLSConfig() (*tls.Config, error) {
	if len(a.CAPEM) == 0 && len(a.CertPEM) == 0 && len(a.KeyPEM) == 0 {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(a.CAPEM) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(a.CAPEM) {
			return nil, errors.New("ca.crt holds no PEM certificate: put the CA certificate(s) in PEM form in the secret")
		}
		cfg.RootCAs = pool
	}
	if len(a.CertPEM) > 0 || len(a.KeyPEM) > 0 {
		if len(a.CertPEM) == 0 || len(a.KeyPEM) == 0 {
			return nil, errors.New("a client certificate needs both tls.crt and tls.key in the secret")
		}
		cert, err := tls.X509KeyPair(a.CertPEM, a.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("tls.crt and tls.key do not form a valid key pair: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// httpClient builds the client used for index and chart downloads.
func (o Options) httpClient() (*http.Client, error) {
	if o.Transport != nil {
		return &http.Client{Transport: o.Transport, Timeout: o.Timeout}, nil
	}
	tlsCfg, err := o.TLSConfig()
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	if tlsCfg != nil {
		t.TLSClientConfig = tlsCfg
	}
	return &http.Client{Transport: t, Timeout: o.Timeout}, nil
}

// getter downloads URLs with the repository's credentials and size limits.
type getter struct {
	client *http.Client
	auth   Auth
	base   *url.URL // credentials always go to base's scheme and host
}

// sameOrigin reports whether u is on the repository's scheme and host.
func (g *getter) sameOrigin(u *url.URL) bool {
	return u.Scheme == g.base.Scheme && u.Host == g.base.Host
}

// get fetches rawURL into w, at most limit bytes. etag, when set, is sent as
// If-None-Match; notModified is true when the server answered 304.
func (g *getter) get(ctx context.Context, rawURL string, limit int64, etag string, w io.Writer) (newETag string, notModified bool, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", false, fmt.Errorf("invalid URL %q: %w", redact(rawURL), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", false, err
	}
	req.Header.Set("User-Agent", "tether-source-helm")
	if g.auth.Username != "" && (g.sameOrigin(u) || g.auth.PassCredentials) {
		req.SetBasicAuth(g.auth.Username, g.auth.Password)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return "", false, fmt.Errorf("GET %s: %w", redact(rawURL), unwrapURLError(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && etag != "":
		return etag, true, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", false, fmt.Errorf("GET %s: %s: %w: check the username and password in the secret", redact(rawURL), resp.Status, ErrAuthentication)
	case resp.StatusCode != http.StatusOK:
		return "", false, fmt.Errorf("GET %s: unexpected status %s", redact(rawURL), resp.Status)
	case resp.ContentLength > limit:
		return "", false, fmt.Errorf("GET %s: %d bytes: %w of %d bytes", redact(rawURL), resp.ContentLength, ErrTooLarge, limit)
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return "", false, fmt.Errorf("GET %s: reading the body: %w", redact(rawURL), err)
	}
	if n > limit {
		return "", false, fmt.Errorf("GET %s: %w of %d bytes", redact(rawURL), ErrTooLarge, limit)
	}
	return resp.Header.Get("ETag"), false, nil
}

// redact drops user info from a URL so that no password reaches an error.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the URL
// (possibly with user info).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Package oci fetches OCI artifacts from a container registry: it resolves a
// tag, semver range or digest to a manifest digest with one HEAD request (so
// an unchanged tag downloads nothing), then pulls one layer of the manifest and
// either extracts it (safely, within bounds) or hands it over as it is.
package oci

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Scheme is the URL scheme of OCI repositories.
const Scheme = "oci://"

// Options say how to reach a registry. None of its values ever appears in an error.
type Options struct {
	// Insecure allows plain HTTP. Without it, plain HTTP is refused even for
	// registries on loopback or private addresses.
	Insecure bool
	// DockerConfigJSON is the ".dockerconfigjson" of a
	// kubernetes.io/dockerconfigjson Secret; the entry for the registry's host
	// is used.
	DockerConfigJSON []byte
	// CA is a PEM bundle of extra certificate authorities to trust.
	CA []byte
	// CertPEM and KeyPEM are a TLS client certificate.
	CertPEM, KeyPEM []byte
	// Proxy is an HTTP(S) proxy URL, with user info for basic auth.
	Proxy *url.URL
	// UserAgent is sent with every request.
	UserAgent string
}

// Client reads one repository of a registry.
type Client struct {
	repo   name.Repository
	url    string
	puller *remote.Puller
	opts   []remote.Option
}

// New parses rawURL ("oci://host[:port]/repository", without tag or digest)
// and prepares a client. It makes no request.
func New(rawURL string, o Options) (*Client, error) {
	if !strings.HasPrefix(rawURL, Scheme) {
		return nil, fmt.Errorf("%w: %q must start with %s", ErrInvalidURL, rawURL, Scheme)
	}
	ref := strings.TrimPrefix(rawURL, Scheme)
	if strings.ContainsAny(ref, "@") || strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":") {
		return nil, fmt.Errorf("%w: %q must name a repository without tag or digest: put those in spec.ref", ErrInvalidURL, rawURL)
	}
	var nopts []name.Option
	if o.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	repo, err := name.NewRepository(ref, nopts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrInvalidURL, rawURL, err)
	}
	tr, err := newTransport(o)
	if err != nil {
		return nil, err
	}
	auth, err := authFor(repo.Registry, o.DockerConfigJSON)
	if err != nil {
		return nil, err
	}
	opts := []remote.Option{remote.WithTransport(tr), remote.WithAuth(auth)}
	if o.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(o.UserAgent))
	}
	// One puller per client: the registry ping and token exchange happen once.
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return &Client{repo: repo, url: rawURL, puller: puller, opts: append(opts, remote.Reuse(puller))}, nil
}

// URL is the repository's oci:// URL.
func (c *Client) URL() string { return c.url }

func newTransport(o Options) (http.RoundTripper, error) {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	if len(o.CA) > 0 || len(o.CertPEM) > 0 {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if tr.TLSClientConfig != nil {
			cfg = tr.TLSClientConfig.Clone()
		}
		if len(o.CA) > 0 {
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(o.CA) {
				return nil, fmt.Errorf("%w: ca.crt holds no PEM certificate", ErrInvalidConfig)
			}
			cfg.RootCAs = pool
		}
		if len(o.CertPEM) > 0 || len(o.KeyPEM) > 0 {
			cert, err := tls.X509KeyPair(o.CertPEM, o.KeyPEM)
			if err != nil {
				return nil, fmt.Errorf("%w: tls.crt and tls.key are not a valid key pair", ErrInvalidConfig)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		tr.TLSClientConfig = cfg
	}
	if o.Proxy != nil {
		if o.Proxy.Host == "" {
			return nil, fmt.Errorf("%w: the proxy address has no host", ErrInvalidConfig)
		}
		tr.Proxy = http.ProxyURL(o.Proxy)
	}
	if o.Insecure {
		return tr, nil
	}
	return httpsOnly{tr}, nil
}

// httpsOnly refuses plain HTTP. go-containerregistry falls back to HTTP for
// registries on loopback and private addresses; without spec.insecure, Tether
// does not.
type httpsOnly struct{ next http.RoundTripper }

func (t httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w: plain HTTP to %s refused: use HTTPS, or set spec.insecure to allow plain HTTP", ErrInsecure, req.URL.Host)
	}
	return t.next.RoundTrip(req)
}

// authFor picks the credentials for the registry from a Docker config
// ({"auths": {"<host>": {"auth": ..., "username": ..., ...}}}). Keys may be
// bare hosts or URLs ("https://index.docker.io/v1/").
func authFor(reg name.Registry, dockerConfig []byte) (authn.Authenticator, error) {
	if len(dockerConfig) == 0 {
		return authn.Anonymous, nil
	}
	var cfg struct {
		Auths map[string]authn.AuthConfig `json:"auths"`
	}
	if err := json.Unmarshal(dockerConfig, &cfg); err != nil {
		return nil, fmt.Errorf("%w: .dockerconfigjson is not a Docker config (JSON with \"auths\")", ErrInvalidConfig)
	}
	want := normalizeHost(reg.RegistryStr())
	var hosts []string
	for k, ac := range cfg.Auths {
		host := normalizeHost(k)
		if host == want {
			return authn.FromConfig(ac), nil
		}
		hosts = append(hosts, host)
	}
	sort.Strings(hosts)
	return nil, fmt.Errorf("%w: the Docker config has no credentials for registry %q (it has %v): add an entry for it",
		ErrAuthentication, want, hosts)
}

func normalizeHost(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	switch s {
	case "docker.io", "registry-1.docker.io":
		return name.DefaultRegistry
	}
	return s
}

package chartrepo

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sync"
	"testing"
	"time"

	repo "helm.sh/helm/v4/pkg/repo/v1"
)

// Server is an HTTP(S) Helm chart repository on 127.0.0.1.
type Server struct {
	t           testing.TB
	dir         string
	user, pass  string
	useTLS      bool
	clientCerts bool
	absolute    bool
	tls         *tlsMaterial

	mu       sync.Mutex
	addr     string
	srv      *http.Server
	requests map[string]int
}

// Option configures a Server (and, for WithBasicAuth, a Registry).
type Option func(*options)

type options struct {
	user, pass  string
	tls         bool
	clientCerts bool
	absolute    bool
}

// WithBasicAuth makes the server require these credentials.
func WithBasicAuth(user, pass string) Option {
	return func(o *options) { o.user, o.pass = user, pass }
}

// WithTLS serves HTTPS with a certificate for 127.0.0.1 signed by a CA made
// for this server (see CAPEM).
func WithTLS() Option { return func(o *options) { o.tls = true } }

// WithClientCerts (with WithTLS) requires a client certificate signed by the
// server's CA (see ClientCertPEM).
func WithClientCerts() Option { return func(o *options) { o.tls, o.clientCerts = true, true } }

// WithAbsoluteURLs writes absolute chart URLs into the index; by default they
// are relative to the repository URL.
func WithAbsoluteURLs() Option { return func(o *options) { o.absolute = true } }

// New starts a repository with an empty index and stops it with the test.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{t: t, dir: t.TempDir(), user: o.user, pass: o.pass, useTLS: o.tls,
		clientCerts: o.clientCerts, absolute: o.absolute, requests: map[string]int{}}
	if s.useTLS {
		m, err := newTLSMaterial()
		if err != nil {
			t.Fatalf("creating TLS certificates: %v", err)
		}
		s.tls = m
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.reindex()
	s.serve(ln)
	t.Cleanup(s.Down)
	return s
}

// URL returns the repository URL (http:// or https://127.0.0.1:PORT).
func (s *Server) URL() string {
	if s.useTLS {
		return "https://" + s.addr
	}
	return "http://" + s.addr
}

// Dir returns the directory served.
func (s *Server) Dir() string { return s.dir }

// CAPEM returns the PEM certificate of the CA that signed the server's
// certificate (nil without WithTLS).
func (s *Server) CAPEM() []byte {
	if s.tls == nil {
		return nil
	}
	return s.tls.caPEM
}

// ClientCertPEM returns a client certificate and key signed by the server's
// CA (nil without WithTLS).
func (s *Server) ClientCertPEM() (certPEM, keyPEM []byte) {
	if s.tls == nil {
		return nil, nil
	}
	return s.tls.clientCertPEM, s.tls.clientKeyPEM
}

// Publish packages version of the chart name into the repository and
// rebuilds the index.
func (s *Server) Publish(name, version string) {
	s.t.Helper()
	if _, err := PackageChart(name, version, s.dir); err != nil {
		s.t.Fatal(err)
	}
	s.reindex()
}

// WriteIndex replaces index.yaml (until the next Publish).
func (s *Server) WriteIndex(idx *repo.IndexFile) {
	s.t.Helper()
	if err := idx.WriteFile(filepath.Join(s.dir, "index.yaml"), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Server) reindex() {
	s.t.Helper()
	base := ""
	if s.absolute {
		base = s.URL()
	}
	idx, err := repo.IndexDirectory(s.dir, base)
	if err != nil {
		s.t.Fatalf("indexing %s: %v", s.dir, err)
	}
	idx.SortEntries()
	s.WriteIndex(idx)
}

// Requests returns how many requests reached path (such as "/index.yaml").
func (s *Server) Requests(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[p]
}

// Down stops serving: connections are refused until Up.
func (s *Server) Down() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Up serves again on the same address after Down.
func (s *Server) Up() {
	s.t.Helper()
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if ln, err = net.Listen("tcp", s.addr); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		s.t.Fatalf("listening again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

func (s *Server) serve(ln net.Listener) {
	if s.tls != nil {
		cfg := &tls.Config{Certificates: []tls.Certificate{s.tls.server}, MinVersion: tls.VersionTLS12}
		if s.clientCerts {
			cfg.ClientCAs, cfg.ClientAuth = s.tls.pool, tls.RequireAndVerifyClientCert
		}
		ln = tls.NewListener(ln, cfg)
	}
	// Failed TLS handshakes are expected in tests: keep them out of the output.
	srv := &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.t.Logf("chart repository: %v", err)
		}
	}()
}

func (s *Server) handler() http.Handler {
	files := http.FileServer(http.Dir(s.dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[path.Clean(r.URL.Path)]++
		s.mu.Unlock()
		if !checkBasicAuth(w, r, s.user, s.pass) {
			return
		}
		if path.Clean(r.URL.Path) == "/index.yaml" {
			// An ETag lets clients skip an unchanged index (FileServer then
			// answers If-None-Match with 304).
			if data, err := os.ReadFile(filepath.Join(s.dir, "index.yaml")); err == nil {
				sum := sha256.Sum256(data)
				w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
			}
		}
		files.ServeHTTP(w, r)
	})
}

// checkBasicAuth answers 401 and returns false when the credentials are
// required and missing or wrong.
func checkBasicAuth(w http.ResponseWriter, r *http.Request, user, pass string) bool {
	if user == "" && pass == "" {
		return true
	}
	u, p, ok := r.BasicAuth()
	if ok && subtle.ConstantTimeCompare([]byte(u), []byte(user)) == 1 && subtle.ConstantTimeCompare([]byte(p), []byte(pass)) == 1 {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="chartrepo"`)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
	return false
}

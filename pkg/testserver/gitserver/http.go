package gitserver

import (
	"crypto/subtle"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// GitHTTPBackend is the path of Debian git's smart HTTP CGI program.
const GitHTTPBackend = "/usr/lib/git-core/git-http-backend"

// Server serves the bare repositories under Root over Git smart HTTP.
type Server struct {
	root  string
	srv   *httptest.Server
	cgi   *cgi.Handler
	down  atomic.Bool
	count atomic.Int64

	user, pass, token string
	tls               bool
	gitConfig         [][2]string

	mu       sync.Mutex
	requests []string
	stopOnce sync.Once
}

// Option configures a Server.
type Option func(*Server)

// WithBasicAuth requires HTTP basic auth with this user and password.
func WithBasicAuth(user, pass string) Option {
	return func(s *Server) { s.user, s.pass = user, pass }
}

// WithBearerToken requires "Authorization: Bearer tok".
func WithBearerToken(tok string) Option {
	return func(s *Server) { s.token = tok }
}

// WithTLS serves HTTPS with httptest's self-signed certificate (valid for
// 127.0.0.1); CACert returns it in PEM.
func WithTLS() Option {
	return func(s *Server) { s.tls = true }
}

// WithGitConfig sets a git config value for git-http-backend and the
// upload-pack/receive-pack it runs, e.g.
// WithGitConfig("uploadpack.allowReachableSHA1InWant", "true").
func WithGitConfig(key, value string) Option {
	return func(s *Server) { s.gitConfig = append(s.gitConfig, [2]string{key, value}) }
}

// NewHTTP starts a smart HTTP server on 127.0.0.1 over a new temporary root.
// It stops when the test ends. Push over HTTP is enabled.
func NewHTTP(t testing.TB, opts ...Option) *Server {
	t.Helper()
	if _, err := os.Stat(GitHTTPBackend); err != nil {
		t.Fatalf("gitserver: %s not found: install Debian's git package (apt-get install git): %v", GitHTTPBackend, err)
	}
	s := &Server{root: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	s.cgi = Backend(s.root, s.gitConfig...)
	if s.tls {
		s.srv = httptest.NewTLSServer(s)
	} else {
		s.srv = httptest.NewServer(s)
	}
	t.Cleanup(s.Stop)
	return s
}

// Backend returns git-http-backend serving the bare repositories under root
// over smart HTTP, push enabled, with extra git config key/value pairs.
func Backend(root string, gitConfig ...[2]string) *cgi.Handler {
	cfg := append([][2]string{{"http.receivepack", "true"}}, gitConfig...)
	env := []string{
		"GIT_PROJECT_ROOT=" + root,
		"GIT_HTTP_EXPORT_ALL=1",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"PATH=" + os.Getenv("PATH"),
		"GIT_CONFIG_COUNT=" + strconv.Itoa(len(cfg)),
	}
	for i, kv := range cfg {
		env = append(env,
			fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]),
			fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	return &cgi.Handler{Path: GitHTTPBackend, Dir: root, Env: env, Stderr: io.Discard}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.count.Add(1)
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
	s.mu.Unlock()

	if s.down.Load() {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	if !s.authorized(r) {
		if s.token != "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="git"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
		}
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	s.cgi.ServeHTTP(w, r)
}

func (s *Server) authorized(r *http.Request) bool {
	switch {
	case s.token != "":
		return equal(r.Header.Get("Authorization"), "Bearer "+s.token)
	case s.user != "" || s.pass != "":
		u, p, ok := r.BasicAuth()
		return ok && equal(u, s.user) && equal(p, s.pass)
	}
	return true
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// Root is the directory whose bare repositories the server serves.
func (s *Server) Root() string { return s.root }

// Addr is the server's base URL, e.g. http://127.0.0.1:PORT.
func (s *Server) Addr() string { return s.srv.URL }

// URL returns the clone URL of repo ("app" or "app.git").
func (s *Server) URL(repo string) string { return s.srv.URL + "/" + repoDir(repo) }

// CACert returns the PEM certificate of a WithTLS server (nil otherwise).
func (s *Server) CACert() []byte {
	if !s.tls {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Down makes every request fail with 503 until Up.
func (s *Server) Down() { s.down.Store(true) }

// Up ends a Down.
func (s *Server) Up() { s.down.Store(false) }

// RequestCount is the number of HTTP requests received (including refused ones).
func (s *Server) RequestCount() int64 { return s.count.Load() }

// Requests returns "METHOD /path?query" for each request received, in order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// ResetRequests clears the request log and counter.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.requests = nil
	s.count.Store(0)
	s.mu.Unlock()
}

// Stop shuts the server down; it is also registered with t.Cleanup.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

package git_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/pkg/source/git"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

// assertFails checks that both Resolve and Checkout fail with kind and that
// the messages contain none of the secrets.
func assertFails(t *testing.T, c *git.Client, kind error, secrets ...string) string {
	t.Helper()
	_, err := c.Resolve(ctx(t), git.Ref{Branch: "main"})
	_, err2 := c.Checkout(ctx(t), git.Ref{Branch: "main"}, t.TempDir())
	for _, e := range []error{err, err2} {
		if !errors.Is(e, kind) {
			t.Fatalf("got %v, want %v", e, kind)
		}
		for _, s := range secrets {
			if strings.Contains(e.Error(), s) {
				t.Fatalf("error message %q contains a secret", e)
			}
		}
	}
	return err.Error()
}

func TestHTTPBasicAuth(t *testing.T) {
	const user, pass = "flux", "s3cr3t-Passw0rd"
	srv := gitserver.NewHTTP(t, gitserver.WithBasicAuth(user, pass))
	repo := gitserver.InitRepo(t, srv.Root(), "private", baseFiles)
	url := srv.URL("private")

	t.Run("without credentials", func(t *testing.T) {
		assertFails(t, newClient(t, url, git.Auth{}), git.ErrAuthentication)
	})
	t.Run("wrong password", func(t *testing.T) {
		const wrong = "wr0ng-Passw0rd-value"
		assertFails(t, newClient(t, url, git.Auth{Username: user, Password: wrong}), git.ErrAuthentication, wrong, pass)
	})
	t.Run("right credentials", func(t *testing.T) {
		c := newClient(t, url, git.Auth{Username: user, Password: pass})
		commit, _ := checkout(t, c, git.Ref{Branch: "main"})
		if commit.Hash != repo.Head(t) {
			t.Fatalf("checked out %s, want %s", commit.Hash, repo.Head(t))
		}
	})
}

func TestHTTPBearerToken(t *testing.T) {
	const token = "tok-0123456789abcdef"
	srv := gitserver.NewHTTP(t, gitserver.WithBearerToken(token))
	repo := gitserver.InitRepo(t, srv.Root(), "private", baseFiles)
	url := srv.URL("private")

	assertFails(t, newClient(t, url, git.Auth{BearerToken: "tok-wrong-value"}), git.ErrAuthentication, "tok-wrong-value", token)
	c := newClient(t, url, git.Auth{BearerToken: token})
	if rev := resolve(t, c, git.Ref{}); rev.Hash != repo.Head(t) {
		t.Fatalf("Resolve = %s", rev.Hash)
	}
	checkout(t, c, git.Ref{Branch: "main"})

	if _, err := git.New(url, git.Auth{BearerToken: token, Username: "u", Password: "p"}); !errors.Is(err, git.ErrAuthentication) {
		t.Fatalf("bearer token plus basic auth: %v, want ErrAuthentication", err)
	}
}

func TestHTTPS_CustomCA(t *testing.T) {
	srv := gitserver.NewHTTP(t, gitserver.WithTLS(), gitserver.WithBasicAuth("u", "pass-for-tls"))
	repo := gitserver.InitRepo(t, srv.Root(), "app", baseFiles)
	url := srv.URL("app")
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("URL %s", url)
	}

	t.Run("without the CA the certificate is refused", func(t *testing.T) {
		msg := assertFails(t, newClient(t, url, git.Auth{Username: "u", Password: "pass-for-tls"}), git.ErrTLS, "pass-for-tls")
		if !strings.Contains(msg, "x509") {
			t.Fatalf("message %q does not say x509", msg)
		}
	})
	t.Run("with the CA", func(t *testing.T) {
		c := newClient(t, url, git.Auth{Username: "u", Password: "pass-for-tls", CAFile: srv.CACert()})
		commit, _ := checkout(t, c, git.Ref{Branch: "main"})
		if commit.Hash != repo.Head(t) {
			t.Fatalf("checked out %s", commit.Hash)
		}
	})
	t.Run("a CA that is not PEM", func(t *testing.T) {
		if _, err := git.New(url, git.Auth{CAFile: []byte("junk")}); !errors.Is(err, git.ErrTLS) {
			t.Fatalf("New = %v, want ErrTLS", err)
		}
	})
}

func TestSSH(t *testing.T) {
	httpSrv := gitserver.NewHTTP(t) // the SSH server serves the same root
	repo := gitserver.InitRepo(t, httpSrv.Root(), "app", baseFiles)
	srv := gitserver.NewSSH(t, httpSrv.Root())
	key, pub := gitserver.NewClientKey(t)
	srv.AuthorizedKey(pub)
	url := srv.URL("app")
	secret := string(key)

	t.Run("right known_hosts", func(t *testing.T) {
		c := newClient(t, url, git.Auth{SSHIdentity: key, KnownHosts: srv.KnownHosts()})
		rev := resolve(t, c, git.Ref{})
		if rev.Revision != "main@sha1:"+repo.Head(t) {
			t.Fatalf("Resolve = %s", rev)
		}
		commit, dir := checkout(t, c, git.Ref{Branch: "main"})
		if commit.Hash != repo.Head(t) || readFile(t, dir, "deploy/app.yaml") != baseFiles["deploy/app.yaml"] {
			t.Fatalf("checkout over SSH: %+v", commit)
		}
	})
	t.Run("scp-like URL", func(t *testing.T) {
		// git@host:path has no port, so this only checks that New accepts it.
		if _, err := git.New("git@github.com:org/app.git", git.Auth{SSHIdentity: key, KnownHosts: srv.KnownHosts()}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong host key", func(t *testing.T) {
		_, other := gitserver.NewClientKey(t)
		c := newClient(t, url, git.Auth{SSHIdentity: key, KnownHosts: gitserver.KnownHostsLine(srv.Addr(), other)})
		msg := assertFails(t, c, git.ErrHostKey, secret)
		if !strings.Contains(msg, srv.Addr()) || !strings.Contains(msg, "does not match known_hosts") {
			t.Fatalf("message %q should name the host and say the key does not match", msg)
		}
	})
	t.Run("host missing from known_hosts", func(t *testing.T) {
		c := newClient(t, url, git.Auth{SSHIdentity: key, KnownHosts: gitserver.KnownHostsLine("127.0.0.2:22", srv.HostKey())})
		msg := assertFails(t, c, git.ErrHostKey, secret)
		if !strings.Contains(msg, "not in known_hosts") {
			t.Fatalf("message %q", msg)
		}
	})
	t.Run("missing known_hosts", func(t *testing.T) {
		if _, err := git.New(url, git.Auth{SSHIdentity: key}); !errors.Is(err, git.ErrHostKey) {
			t.Fatalf("New without known_hosts = %v, want ErrHostKey", err)
		}
	})
	t.Run("missing or bad identity", func(t *testing.T) {
		for _, id := range [][]byte{nil, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n")} {
			_, err := git.New(url, git.Auth{SSHIdentity: id, KnownHosts: srv.KnownHosts()})
			if !errors.Is(err, git.ErrAuthentication) || (id != nil && strings.Contains(err.Error(), "not a key")) {
				t.Fatalf("New = %v, want ErrAuthentication without the key", err)
			}
		}
	})
	t.Run("key not authorized", func(t *testing.T) {
		other, _ := gitserver.NewClientKey(t)
		c := newClient(t, url, git.Auth{SSHIdentity: other, KnownHosts: srv.KnownHosts()})
		assertFails(t, c, git.ErrAuthentication, string(other))
	})
}

func TestNew_ValidatesURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://example.com/org/app.git", true},
		{"http://127.0.0.1:8080/app", true},
		{"ssh://git@example.com/org/app.git", true},
		{"ssh://example.com:2222/org/app.git", true},
		{"git@github.com:org/app.git", true},
		{"github.com:org/app.git", true},
		{"", false},
		{"ftp://example.com/app.git", false},
		{"file:///tmp/app.git", false},
		{"git://example.com/app.git", false},
		{"/tmp/app.git", false},
		{"https://example.com", false},
		{"https:///app.git", false},
		{"https://user:hunter22@example.com/app.git", false},
		{"example.com/app.git", false},
	} {
		auth := git.Auth{SSHIdentity: mustKey(t), KnownHosts: []byte("example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")}
		_, err := git.New(tc.url, auth)
		if tc.ok != (err == nil) {
			t.Errorf("New(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "hunter22") {
			t.Errorf("New(%q) error leaks the password: %v", tc.url, err)
		}
		if err != nil && !tc.ok && !errors.Is(err, git.ErrInvalidURL) {
			t.Errorf("New(%q) = %v, want ErrInvalidURL", tc.url, err)
		}
	}
}

var testKey []byte

func mustKey(t *testing.T) []byte {
	if testKey == nil {
		testKey, _ = gitserver.NewClientKey(t)
	}
	return testKey
}

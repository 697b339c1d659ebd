package git_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tether-gitops/tether/pkg/source/git"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

func TestCheckout_RecurseSubmodules(t *testing.T) {
	const user, pass = "u", "sub-module-pass"
	srv := gitserver.NewHTTP(t, gitserver.WithBasicAuth(user, pass))
	gitserver.InitRepo(t, srv.Root(), "lib", map[string]string{"lib.yaml": "lib: 1\n"})
	app := gitserver.InitRepo(t, srv.Root(), "app", baseFiles)
	gitserver.Git(t, app.Work, "-c", "protocol.file.allow=always", "submodule", "-q", "add", "../lib.git", "vendor/lib")
	app.Commit(t, nil, "add submodule")
	auth := git.Auth{Username: user, Password: pass}

	_, dir := checkout(t, newClient(t, srv.URL("app"), auth), git.Ref{Branch: "main"})
	if _, err := os.Stat(filepath.Join(dir, "vendor/lib/lib.yaml")); !os.IsNotExist(err) {
		t.Fatalf("submodule checked out without WithRecurseSubmodules: %v", err)
	}
	_, dir = checkout(t, newClient(t, srv.URL("app"), auth, git.WithRecurseSubmodules()), git.Ref{Branch: "main"})
	if got := readFile(t, dir, "vendor/lib/lib.yaml"); got != "lib: 1\n" {
		t.Fatalf("submodule file = %q", got)
	}
}

func TestCheckout_RecurseSubmodulesNested(t *testing.T) {
	srv := gitserver.NewHTTP(t)
	gitserver.InitRepo(t, srv.Root(), "base", map[string]string{"b.yaml": "b: 1\n"})
	lib := gitserver.InitRepo(t, srv.Root(), "lib", map[string]string{"lib.yaml": "lib: 1\n"})
	gitserver.Git(t, lib.Work, "-c", "protocol.file.allow=always", "submodule", "-q", "add", "../base.git", "base")
	lib.Commit(t, nil, "add base")
	app := gitserver.InitRepo(t, srv.Root(), "app", baseFiles)
	gitserver.Git(t, app.Work, "-c", "protocol.file.allow=always", "submodule", "-q", "add", "../lib.git", "vendor/lib")
	app.Commit(t, nil, "add lib")

	_, dir := checkout(t, newClient(t, srv.URL("app"), git.Auth{}, git.WithRecurseSubmodules()), git.Ref{Branch: "main"})
	if got := readFile(t, dir, "vendor/lib/base/b.yaml"); got != "b: 1\n" {
		t.Fatalf("nested submodule file = %q", got)
	}
}

// addSubmodule records a submodule at path with url in .gitmodules and the
// index, without cloning it (url may not be reachable).
func addSubmodule(t *testing.T, repo *gitserver.Repo, path, url, hash string) {
	t.Helper()
	gitserver.Git(t, repo.Work, "config", "-f", ".gitmodules", "submodule."+path+".path", path)
	gitserver.Git(t, repo.Work, "config", "-f", ".gitmodules", "submodule."+path+".url", url)
	gitserver.Git(t, repo.Work, "update-index", "--add", "--cacheinfo", "160000,"+hash+","+path)
	// An empty directory is an uninitialised submodule: `git add -A` keeps it.
	if err := os.MkdirAll(filepath.Join(repo.Work, path), 0o755); err != nil {
		t.Fatal(err)
	}
	repo.Commit(t, nil, "add submodule "+path)
}

// A .gitmodules is written by whoever can push: its URLs must neither read
// the reconciler's disk nor receive the credentials meant for the repository.
func TestCheckout_SubmoduleURLsAreNotTrusted(t *testing.T) {
	const user, pass = "u", "parent-only-pass"
	srv := gitserver.NewHTTP(t, gitserver.WithBasicAuth(user, pass))
	auth := git.Auth{Username: user, Password: pass}

	// Another host (another port) records the Authorization headers it gets.
	otherRoot := t.TempDir()
	other := gitserver.InitRepo(t, otherRoot, "other", map[string]string{"other.yaml": "o: 1\n"})
	backend := gitserver.Backend(otherRoot)
	var mu sync.Mutex
	var authHeaders []string
	otherSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		authHeaders = append(authHeaders, r.Header.Get("Authorization"))
		mu.Unlock()
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(otherSrv.Close)

	t.Run("another http host gets no credentials", func(t *testing.T) {
		app := gitserver.InitRepo(t, srv.Root(), "app-other", baseFiles)
		addSubmodule(t, app, "vendor/other", otherSrv.URL+"/other.git", other.Head(t))
		_, dir := checkout(t, newClient(t, srv.URL("app-other"), auth, git.WithRecurseSubmodules()), git.Ref{Branch: "main"})
		if got := readFile(t, dir, "vendor/other/other.yaml"); got != "o: 1\n" {
			t.Fatalf("submodule file = %q", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(authHeaders) == 0 {
			t.Fatal("the other host got no request")
		}
		for _, h := range authHeaders {
			if h != "" {
				t.Errorf("the other host got Authorization %q", h)
			}
		}
	})

	secret := gitserver.InitRepo(t, t.TempDir(), "secret", map[string]string{"secret.yaml": "s: 1\n"})
	for name, tc := range map[string]struct{ url, want string }{
		"absolute path":  {secret.Bare, "path on the reconciler's disk"},
		"file URL":       {"file://" + secret.Bare, "path on the reconciler's disk"},
		"other SSH host": {"ssh://git@127.0.0.1:1/x.git", "is an SSH URL"},
		"scp-like":       {"git@example.com:x.git", "is an SSH URL"},
		"git protocol":   {"git://127.0.0.1/x.git", "uses git://"},
	} {
		t.Run(name, func(t *testing.T) {
			repo := "app-" + strings.ReplaceAll(name, " ", "-")
			app := gitserver.InitRepo(t, srv.Root(), repo, baseFiles)
			addSubmodule(t, app, "vendor/x", tc.url, secret.Head(t))
			dir := filepath.Join(t.TempDir(), "src")
			_, err := newClient(t, srv.URL(repo), auth, git.WithRecurseSubmodules()).Checkout(ctx(t), git.Ref{Branch: "main"}, dir)
			if !errors.Is(err, git.ErrInvalidURL) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `submodule "vendor/x"`) {
				t.Fatalf("Checkout() = %v, want ErrInvalidURL with %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "vendor/x/secret.yaml")); !os.IsNotExist(err) {
				t.Errorf("the local repository was checked out: %v", err)
			}
		})
	}
}

// Submodules are fetched with the repository's CA bundle, and a submodule
// pinned to a commit that no branch holds any more is still checked out.
func TestCheckout_SubmoduleOverTLSPinnedOffBranch(t *testing.T) {
	const user, pass = "u", "tls-sub-pass"
	srv := gitserver.NewHTTP(t, gitserver.WithTLS(), gitserver.WithBasicAuth(user, pass),
		gitserver.WithGitConfig("uploadpack.allowAnySHA1InWant", "true"))
	lib := gitserver.InitRepo(t, srv.Root(), "lib", map[string]string{"lib.yaml": "lib: 1\n"})
	pinned := lib.Head(t)
	lib.ForcePush(t, map[string]string{"lib.yaml": "lib: 2\n"}, "rewritten") // pinned is on no branch now
	app := gitserver.InitRepo(t, srv.Root(), "app", baseFiles)
	addSubmodule(t, app, "vendor/lib", "../lib.git", pinned)

	auth := git.Auth{Username: user, Password: pass, CAFile: srv.CACert()}
	_, dir := checkout(t, newClient(t, srv.URL("app"), auth, git.WithRecurseSubmodules()), git.Ref{Branch: "main"})
	if got := readFile(t, dir, "vendor/lib/lib.yaml"); got != "lib: 1\n" {
		t.Fatalf("submodule file = %q, want the pinned commit's", got)
	}
}

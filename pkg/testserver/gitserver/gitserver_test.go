package gitserver_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

// These tests drive the servers with the git CLI, independently of the
// project's Go client.

func TestHTTP_ServesCloneAndPushWithBasicAuth(t *testing.T) {
	srv := gitserver.NewHTTP(t, gitserver.WithBasicAuth("alice", "pw"))
	repo := gitserver.InitRepo(t, srv.Root(), "org/app", map[string]string{"a.txt": "a\n"})
	if !strings.HasSuffix(srv.URL("org/app"), "/org/app.git") {
		t.Fatalf("URL = %s", srv.URL("org/app"))
	}
	authURL := strings.Replace(srv.URL("org/app"), "http://", "http://alice:pw@", 1)

	out := gitserver.Git(t, t.TempDir(), "ls-remote", authURL, "refs/heads/main")
	if !strings.HasPrefix(out, repo.Head(t)) {
		t.Fatalf("ls-remote = %q, want %s", out, repo.Head(t))
	}
	if _, err := gitserver.RunGit(t.TempDir(), "ls-remote", srv.URL("org/app")); err == nil {
		t.Fatal("ls-remote without credentials succeeded")
	}

	clone := filepath.Join(t.TempDir(), "clone")
	gitserver.Git(t, t.TempDir(), "clone", "-q", authURL, clone)
	if err := os.WriteFile(filepath.Join(clone, "b.txt"), []byte("b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.Git(t, clone, "add", "b.txt")
	gitserver.Git(t, clone, "commit", "-q", "-m", "b")
	gitserver.Git(t, clone, "push", "-q", "origin", "main")
	if got, want := gitserver.Git(t, repo.Bare, "rev-parse", "main"), gitserver.Git(t, clone, "rev-parse", "HEAD"); got != want {
		t.Fatalf("push over HTTP: bare main = %s, want %s", got, want)
	}
	if srv.RequestCount() == 0 || len(srv.Requests()) != int(srv.RequestCount()) {
		t.Fatalf("request log: %d vs %d", len(srv.Requests()), srv.RequestCount())
	}
}

func TestHTTP_DownAndUp(t *testing.T) {
	srv := gitserver.NewHTTP(t)
	gitserver.InitRepo(t, srv.Root(), "app", nil)
	srv.Down()
	if _, err := gitserver.RunGit(t.TempDir(), "ls-remote", srv.URL("app")); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("ls-remote while down: %v", err)
	}
	srv.Up()
	gitserver.Git(t, t.TempDir(), "ls-remote", srv.URL("app"))
}

func TestSSH_ServesGitCLI(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.InitRepo(t, root, "app", map[string]string{"a.txt": "a\n"})
	srv := gitserver.NewSSH(t, root)
	key, pub := gitserver.NewClientKey(t)
	srv.AuthorizedKey(pub)

	dir := t.TempDir()
	keyFile, khFile := filepath.Join(dir, "id"), filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(khFile, srv.KnownHosts(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_SSH_COMMAND", "ssh -F /dev/null -i "+keyFile+" -o IdentitiesOnly=yes -o UserKnownHostsFile="+khFile+" -o StrictHostKeyChecking=yes")
	out := gitserver.Git(t, dir, "ls-remote", srv.URL("app"), "HEAD")
	if !strings.HasPrefix(out, repo.Head(t)) {
		t.Fatalf("ls-remote over SSH = %q", out)
	}
	clone := filepath.Join(dir, "clone")
	gitserver.Git(t, dir, "clone", "-q", srv.URL("app"), clone)
	gitserver.Git(t, clone, "commit", "-q", "--allow-empty", "-m", "over ssh")
	gitserver.Git(t, clone, "push", "-q", "origin", "main")
	if got, want := gitserver.Git(t, repo.Bare, "rev-parse", "main"), gitserver.Git(t, clone, "rev-parse", "HEAD"); got != want {
		t.Fatalf("push over SSH: %s, want %s", got, want)
	}
}

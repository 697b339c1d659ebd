package git_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tether-gitops/tether/pkg/source/git"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

var baseFiles = map[string]string{
	"deploy/app.yaml": "kind: ConfigMap\n",
	"README.md":       "# app\n",
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func newClient(t testing.TB, url string, auth git.Auth, opts ...git.Option) *git.Client {
	t.Helper()
	c, err := git.New(url, auth, opts...)
	if err != nil {
		t.Fatalf("New(%s): %v", url, err)
	}
	return c
}

func resolve(t testing.TB, c *git.Client, ref git.Ref) git.Revision {
	t.Helper()
	rev, err := c.Resolve(ctx(t), ref)
	if err != nil {
		t.Fatalf("Resolve(%+v): %v", ref, err)
	}
	return rev
}

func checkout(t testing.TB, c *git.Client, ref git.Ref) (git.Commit, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	commit, err := c.Checkout(ctx(t), ref, dir)
	if err != nil {
		t.Fatalf("Checkout(%+v): %v", ref, err)
	}
	return commit, dir
}

func readFile(t testing.TB, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertRev checks that Resolve and Checkout agree on ref and give want.
func assertRev(t *testing.T, c *git.Client, ref git.Ref, want string) string {
	t.Helper()
	rev := resolve(t, c, ref)
	if rev.Revision != want {
		t.Fatalf("Resolve(%+v) = %q, want %q", ref, rev.Revision, want)
	}
	commit, dir := checkout(t, c, ref)
	if commit.Revision != want || commit.Hash != rev.Hash {
		t.Fatalf("Checkout(%+v) = %q (%s), want %q", ref, commit.Revision, commit.Hash, want)
	}
	return dir
}

func TestRefs_ResolveAndCheckoutAgree(t *testing.T) {
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", baseFiles)
	first := repo.Head(t)
	v1 := repo.Tag(t, "v1.0.0", false)
	repo.Commit(t, map[string]string{"deploy/app.yaml": "kind: ConfigMap # v1.1\n"}, "v1.1")
	v11 := repo.Tag(t, "v1.1.0", true)
	repo.Commit(t, map[string]string{"deploy/app.yaml": "kind: ConfigMap # v2\n"}, "v2")
	v2 := repo.Tag(t, "v2.0.0", true)
	repo.Tag(t, "not-semver", false)
	pr := repo.PushRef(t, "refs/pull/1/head")
	main := repo.Commit(t, map[string]string{"deploy/app.yaml": "kind: ConfigMap # main\n"}, "main tip")
	c := newClient(t, srv.URL("app"), git.Auth{})

	t.Run("branch", func(t *testing.T) {
		dir := assertRev(t, c, git.Ref{Branch: "main"}, "main@sha1:"+main)
		if got := readFile(t, dir, "deploy/app.yaml"); got != "kind: ConfigMap # main\n" {
			t.Fatalf("checked out content %q", got)
		}
	})
	t.Run("lightweight tag", func(t *testing.T) {
		assertRev(t, c, git.Ref{Tag: "v1.0.0"}, "v1.0.0@sha1:"+v1)
	})
	t.Run("annotated tag is peeled to its commit", func(t *testing.T) {
		dir := assertRev(t, c, git.Ref{Tag: "v2.0.0"}, "v2.0.0@sha1:"+v2)
		if got := readFile(t, dir, "deploy/app.yaml"); got != "kind: ConfigMap # v2\n" {
			t.Fatalf("checked out content %q", got)
		}
	})
	t.Run("semver picks the highest matching tag", func(t *testing.T) {
		assertRev(t, c, git.Ref{SemVer: ">=1.0.0 <2.0.0"}, "v1.1.0@sha1:"+v11)
		assertRev(t, c, git.Ref{SemVer: "*", Tag: "v1.0.0"}, "v2.0.0@sha1:"+v2)
	})
	t.Run("name", func(t *testing.T) {
		assertRev(t, c, git.Ref{Name: "refs/pull/1/head"}, "refs/pull/1/head@sha1:"+pr)
		assertRev(t, c, git.Ref{Name: "refs/tags/v1.1.0"}, "refs/tags/v1.1.0@sha1:"+v11)
	})
	t.Run("commit alone", func(t *testing.T) {
		assertRev(t, c, git.Ref{Commit: first}, "sha1:"+first)
	})
	t.Run("commit on a branch", func(t *testing.T) {
		assertRev(t, c, git.Ref{Branch: "main", Commit: v11}, "main@sha1:"+v11)
	})
	t.Run("empty ref follows the remote default branch", func(t *testing.T) {
		repo.NewBranch(t, "trunk")
		trunk := repo.Commit(t, map[string]string{"trunk.txt": "t\n"}, "trunk")
		repo.SetDefaultBranch(t, "trunk")
		assertRev(t, c, git.Ref{}, "trunk@sha1:"+trunk)
	})
}

func TestResolve_IsOneRoundTripWithoutClone(t *testing.T) {
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", baseFiles)
	c := newClient(t, srv.URL("app"), git.Auth{})
	for _, ref := range []git.Ref{{Branch: "main"}, {}, {SemVer: "*"}} {
		if ref.SemVer != "" {
			repo.Tag(t, "v0.1.0", true)
		}
		srv.ResetRequests()
		resolve(t, c, ref)
		reqs := srv.Requests()
		if len(reqs) != 1 || reqs[0] != "GET /app.git/info/refs?service=git-upload-pack" {
			t.Fatalf("Resolve(%+v) made requests %q, want one ref advertisement", ref, reqs)
		}
	}
	srv.ResetRequests()
	if _, err := c.Resolve(ctx(t), git.Ref{Commit: repo.Head(t)}); err != nil {
		t.Fatal(err)
	}
	if n := srv.RequestCount(); n != 0 {
		t.Fatalf("Resolve of a bare commit made %d requests, want 0", n)
	}
}

func TestCheckout_CommitByHashWhenServerAllowsIt(t *testing.T) {
	srv := gitserver.NewHTTP(t, gitserver.WithGitConfig("uploadpack.allowReachableSHA1InWant", "true"))
	repo := gitserver.InitRepo(t, srv.Root(), "app", baseFiles)
	old := repo.Commit(t, map[string]string{"a.txt": "old\n"}, "old")
	repo.Commit(t, map[string]string{"a.txt": "new\n"}, "new")
	c := newClient(t, srv.URL("app"), git.Auth{})
	commit, dir := checkout(t, c, git.Ref{Commit: old})
	if commit.Revision != "sha1:"+old || readFile(t, dir, "a.txt") != "old\n" {
		t.Fatalf("got %q with a.txt=%q", commit.Revision, readFile(t, dir, "a.txt"))
	}
	if commit.Message != "old\n" || commit.Author != "Tether Test <test@tether.invalid>" {
		t.Fatalf("commit metadata: %+v", commit)
	}
}

func TestCheckout_UnknownCommitIsNotFound(t *testing.T) {
	srv := gitserver.NewHTTP(t)
	gitserver.InitRepo(t, srv.Root(), "app", baseFiles)
	c := newClient(t, srv.URL("app"), git.Auth{})
	missing := strings.Repeat("ab", 20)
	for _, ref := range []git.Ref{{Commit: missing}, {Branch: "main", Commit: missing}} {
		dir := t.TempDir()
		_, err := c.Checkout(ctx(t), ref, dir)
		if !errors.Is(err, git.ErrNotFound) || !strings.Contains(err.Error(), missing) {
			t.Fatalf("Checkout(%+v) = %v, want ErrNotFound naming the commit", ref, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("failed checkout left %d entries in dir", len(entries))
		}
	}
}

func TestNotFound(t *testing.T) {
	srv := gitserver.NewHTTP(t)
	gitserver.InitRepo(t, srv.Root(), "app", baseFiles)
	c := newClient(t, srv.URL("app"), git.Auth{})
	for _, ref := range []git.Ref{{Branch: "nope"}, {Tag: "v9"}, {SemVer: ">=5.0.0"}, {Name: "refs/pull/9/head"}} {
		_, err := c.Resolve(ctx(t), ref)
		if !errors.Is(err, git.ErrNotFound) {
			t.Errorf("Resolve(%+v) = %v, want ErrNotFound", ref, err)
		}
		_, err = c.Checkout(ctx(t), ref, t.TempDir())
		if !errors.Is(err, git.ErrNotFound) {
			t.Errorf("Checkout(%+v) = %v, want ErrNotFound", ref, err)
		}
	}
	missing := newClient(t, srv.URL("missing"), git.Auth{})
	if _, err := missing.Resolve(ctx(t), git.Ref{}); !errors.Is(err, git.ErrNotFound) {
		t.Errorf("Resolve of a missing repository = %v, want ErrNotFound", err)
	}
}

func TestInvalidRef(t *testing.T) {
	c := newClient(t, "https://127.0.0.1:1/app.git", git.Auth{})
	for _, ref := range []git.Ref{{Commit: "abc"}, {SemVer: "not a range"}, {Name: "main"}} {
		if _, err := c.Resolve(ctx(t), ref); !errors.Is(err, git.ErrInvalidRef) {
			t.Errorf("Resolve(%+v) = %v, want ErrInvalidRef", ref, err)
		}
	}
}

func TestResolve_FollowsForcePush(t *testing.T) {
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", baseFiles)
	repo.Commit(t, map[string]string{"a.txt": "1\n"}, "one")
	c := newClient(t, srv.URL("app"), git.Auth{})
	before := resolve(t, c, git.Ref{Branch: "main"})
	rewritten := repo.ForcePush(t, map[string]string{"a.txt": "rewritten\n"}, "one, rewritten")
	after := resolve(t, c, git.Ref{Branch: "main"})
	if after.Hash != rewritten || after.Hash == before.Hash {
		t.Fatalf("after force push Resolve = %s, want %s (before %s)", after.Hash, rewritten, before.Hash)
	}
	commit, dir := checkout(t, c, git.Ref{Branch: "main"})
	if commit.Hash != rewritten || readFile(t, dir, "a.txt") != "rewritten\n" {
		t.Fatalf("checkout after force push: %s", commit.Hash)
	}
}

func TestServerDown_FailsThenRecovers(t *testing.T) {
	srv := gitserver.NewHTTP(t)
	gitserver.InitRepo(t, srv.Root(), "app", baseFiles)
	c := newClient(t, srv.URL("app"), git.Auth{})
	srv.Down()
	if _, err := c.Resolve(ctx(t), git.Ref{}); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Resolve while down = %v, want a 503 error", err)
	}
	srv.Up()
	resolve(t, c, git.Ref{})
}

func TestContextDeadline(t *testing.T) {
	srv := gitserver.NewHTTP(t)
	gitserver.InitRepo(t, srv.Root(), "app", baseFiles)
	c := newClient(t, srv.URL("app"), git.Auth{})
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Resolve(cctx, git.Ref{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Resolve with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := c.Checkout(cctx, git.Ref{Branch: "main"}, t.TempDir()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Checkout with a cancelled context = %v, want context.Canceled", err)
	}
}

package gitserver

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Deleted, as a value in a files map, removes the file instead of writing it.
const Deleted = "\x00deleted"

// DefaultBranch is the branch InitRepo creates and the bare repository's HEAD.
const DefaultBranch = "main"

// Repo is a bare repository under a server root plus a working copy whose
// "origin" is that bare repository. Changes are made in the working copy and
// pushed with the git CLI.
type Repo struct {
	Name string // as given to InitRepo
	Bare string // path of the bare repository (root/name.git)
	Work string // path of the working copy
}

func repoDir(name string) string {
	name = strings.Trim(name, "/")
	if strings.HasSuffix(name, ".git") {
		return name
	}
	return name + ".git"
}

// InitRepo creates root/<name>.git (bare, HEAD on main) and a working copy,
// commits files on main and pushes. name may contain slashes ("org/app").
func InitRepo(t testing.TB, root, name string, files map[string]string) *Repo {
	t.Helper()
	r := &Repo{Name: name, Bare: filepath.Join(root, repoDir(name)), Work: t.TempDir()}
	if err := os.MkdirAll(filepath.Dir(r.Bare), 0o755); err != nil {
		t.Fatal(err)
	}
	Git(t, root, "init", "-q", "--bare", "-b", DefaultBranch, r.Bare)
	r.git(t, "init", "-q", "-b", DefaultBranch)
	r.git(t, "remote", "add", "origin", r.Bare)
	r.Commit(t, files, "initial commit")
	return r
}

// Git runs the git CLI in dir with an isolated configuration and a fixed
// author; it fails the test on error and returns trimmed stdout.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := runGit(dir, nil, args...)
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// RunGit is Git without a test: it returns the error (with git's stderr)
// instead of failing.
func RunGit(dir string, args ...string) (string, error) { return runGit(dir, nil, args...) }

func runGit(dir string, stdin []byte, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{
		"-c", "commit.gpgSign=false", "-c", "tag.gpgSign=false", "-c", "init.defaultBranch=" + DefaultBranch,
		"-c", "protocol.file.allow=always",
	}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Tether Test", "GIT_AUTHOR_EMAIL=test@tether.invalid",
		"GIT_COMMITTER_NAME=Tether Test", "GIT_COMMITTER_EMAIL=test@tether.invalid",
	)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", &gitError{err: err, stderr: stderr.String()}
	}
	return strings.TrimSpace(stdout.String()), nil
}

type gitError struct {
	err    error
	stderr string
}

func (e *gitError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.stderr) }

func (r *Repo) git(t testing.TB, args ...string) string {
	t.Helper()
	return Git(t, r.Work, args...)
}

// WriteFiles writes (or, for Deleted, removes) files in the working copy
// and stages everything, without committing.
func (r *Repo) WriteFiles(t testing.TB, files map[string]string) {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(r.Work, filepath.FromSlash(n))
		if files[n] == Deleted {
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[n]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.git(t, "add", "-A")
}

// Branch returns the working copy's current branch.
func (r *Repo) Branch(t testing.TB) string {
	t.Helper()
	return r.git(t, "symbolic-ref", "--short", "HEAD")
}

// Commit writes files, commits them (an empty commit if nothing changed) on
// the current branch, pushes it and returns the commit hash.
func (r *Repo) Commit(t testing.TB, files map[string]string, msg string) string {
	t.Helper()
	r.WriteFiles(t, files)
	r.git(t, "commit", "-q", "--allow-empty", "-m", msg)
	r.git(t, "push", "-q", "origin", "HEAD")
	return r.Head(t)
}

// ForcePush rewrites the last commit with files and msg (git commit --amend),
// force-pushes the branch and returns the new hash.
func (r *Repo) ForcePush(t testing.TB, files map[string]string, msg string) string {
	t.Helper()
	r.WriteFiles(t, files)
	r.git(t, "commit", "-q", "--amend", "--allow-empty", "-m", msg)
	r.git(t, "push", "-q", "--force", "origin", "HEAD")
	return r.Head(t)
}

// Head returns the working copy's HEAD commit hash.
func (r *Repo) Head(t testing.TB) string {
	t.Helper()
	return r.git(t, "rev-parse", "HEAD")
}

// Tag tags HEAD (annotated or lightweight), pushes the tag and returns the
// tagged commit hash.
func (r *Repo) Tag(t testing.TB, name string, annotated bool) string {
	t.Helper()
	if annotated {
		r.git(t, "tag", "-a", name, "-m", "release "+name)
	} else {
		r.git(t, "tag", name)
	}
	r.git(t, "push", "-q", "origin", "refs/tags/"+name)
	return r.Head(t)
}

// NewBranch creates branch name at HEAD, switches the working copy to it and
// pushes it.
func (r *Repo) NewBranch(t testing.TB, name string) {
	t.Helper()
	r.git(t, "switch", "-q", "-c", name)
	r.git(t, "push", "-q", "origin", "HEAD")
}

// Switch switches the working copy to an existing local branch.
func (r *Repo) Switch(t testing.TB, name string) {
	t.Helper()
	r.git(t, "switch", "-q", name)
}

// PushRef pushes HEAD to an arbitrary ref (e.g. "refs/pull/1/head") and
// returns the hash.
func (r *Repo) PushRef(t testing.TB, ref string) string {
	t.Helper()
	r.git(t, "push", "-q", "--force", "origin", "HEAD:"+ref)
	return r.Head(t)
}

// SetDefaultBranch points the bare repository's HEAD at branch (which should
// exist there).
func (r *Repo) SetDefaultBranch(t testing.TB, branch string) {
	t.Helper()
	Git(t, r.Bare, "symbolic-ref", "HEAD", "refs/heads/"+branch)
}

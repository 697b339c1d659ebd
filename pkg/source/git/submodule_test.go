package git_test

import (
	"os"
	"path/filepath"
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

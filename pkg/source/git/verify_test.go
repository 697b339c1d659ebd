package git_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/pkg/source/git"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

func TestVerifyCommit(t *testing.T) {
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "app", baseFiles)
	signer, other := gitserver.NewGPGKey(t), gitserver.NewGPGKey(t)
	signed := repo.SignedCommit(t, signer, map[string]string{"a.txt": "signed\n"}, "signed change")
	c := newClient(t, srv.URL("app"), git.Auth{})

	commit, dir := checkout(t, c, git.Ref{Branch: "main"})
	if commit.Hash != signed || readFile(t, dir, "a.txt") != "signed\n" {
		t.Fatalf("checked out %s, want the signed commit %s", commit.Hash, signed)
	}
	if !strings.HasPrefix(commit.Signature, "-----BEGIN PGP SIGNATURE-----") {
		t.Fatalf("Signature = %q", commit.Signature)
	}
	// The CLI agrees the object is well formed.
	gitserver.Git(t, repo.Bare, "fsck", "--strict")

	t.Run("the signing key verifies", func(t *testing.T) {
		id, err := git.VerifyCommit(commit, other.PublicKey, signer.PublicKey)
		if err != nil || id != signer.KeyID {
			t.Fatalf("VerifyCommit = %q, %v; want %s", id, err, signer.KeyID)
		}
	})
	t.Run("another key fails", func(t *testing.T) {
		_, err := git.VerifyCommit(commit, other.PublicKey)
		if !errors.Is(err, git.ErrUnverified) ||
			!strings.Contains(err.Error(), "commit "+signed+" signature does not match any of the given keys") {
			t.Fatalf("VerifyCommit = %v", err)
		}
	})
	t.Run("tampered content fails", func(t *testing.T) {
		tampered := commit
		tampered.Encoded = []byte(strings.Replace(string(commit.Encoded), "signed change", "evil change", 1))
		if _, err := git.VerifyCommit(tampered, signer.PublicKey); !errors.Is(err, git.ErrUnverified) {
			t.Fatalf("VerifyCommit = %v", err)
		}
	})
	t.Run("unsigned fails", func(t *testing.T) {
		repo.Commit(t, map[string]string{"a.txt": "unsigned\n"}, "unsigned")
		unsigned, _ := checkout(t, c, git.Ref{Branch: "main"})
		_, err := git.VerifyCommit(unsigned, signer.PublicKey)
		if !errors.Is(err, git.ErrUnverified) || !strings.Contains(err.Error(), "commit "+unsigned.Hash+" is not signed") {
			t.Fatalf("VerifyCommit = %v", err)
		}
	})
	t.Run("no or bad keys fail", func(t *testing.T) {
		if _, err := git.VerifyCommit(commit); !errors.Is(err, git.ErrUnverified) {
			t.Fatalf("VerifyCommit without keys = %v", err)
		}
		if _, err := git.VerifyCommit(commit, "not a key"); !errors.Is(err, git.ErrUnverified) {
			t.Fatalf("VerifyCommit with junk key = %v", err)
		}
	})
}

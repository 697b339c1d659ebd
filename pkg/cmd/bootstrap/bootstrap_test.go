package bootstrap

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tether-gitops/tether/pkg/bootstrap"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/provider/github"
)

func execute(t *testing.T, cmd *cobra.Command, io *iostreams.IOStreams, args ...string) error {
	t.Helper()
	cmd.SetArgs(append([]string{"--version", "v1.0.0"}, args...))
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	return cmd.Execute()
}

func TestNewCmdGit_Flags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
		check   func(*GitOptions) bool
	}{
		{args: []string{"--url", "https://git.example.com/org/fleet.git", "-p", "pw", "--path", "./clusters/prod/"},
			check: func(o *GitOptions) bool { return o.Username == "git" && o.Password == "pw" && o.Branch == "main" }},
		{args: []string{"--url", "git@git.example.com:org/fleet.git"},
			check: func(o *GitOptions) bool { return o.URL == "ssh://git@git.example.com/org/fleet.git" }},
		{args: []string{}, wantErr: `"url" not set`},
		{args: []string{"--url", "ftp://x/y"}, wantErr: "unsupported --url"},
		{args: []string{"--url", "ssh://git@h/o/r.git", "--password", "x"}, wantErr: "--password and --token-auth are for HTTPS"},
		{args: []string{"--url", "https://h/o/r.git", "--private-key-file", "k"}, wantErr: "--private-key-file is for ssh://"},
		{args: []string{"--url", "https://h/o/r.git", "--token-auth"}, wantErr: "--token-auth needs the token"},
		{args: []string{"--url", "https://h/o/r.git", "--path", "../up"}, wantErr: "inside the repository"},
		{args: []string{"--url", "https://h/o/r.git", "--interval", "10ms"}, wantErr: "--interval"},
		{args: []string{"--url", "https://h/o/r.git", "--gpg-key-id", "ABCD"}, wantErr: "need --gpg-key-ring"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			io, _, _, _ := iostreams.Test()
			var got *GitOptions
			err := execute(t, NewCmdGit(cmdutil.New(io), func(o *GitOptions) error { got = o; return nil }), io, tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(got) {
				t.Errorf("options: %+v", *got)
			}
		})
	}
}

func TestNewCmdGitHub_Flags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
		check   func(*GitHubOptions) bool
	}{
		{args: []string{"--owner", "acme", "--repository", "fleet", "--team", "platform:maintain", "--team", "ops"},
			check: func(o *GitHubOptions) bool {
				return o.Private && len(o.teams) == 2 && o.teams[0] == teamGrant{"platform", "maintain"} && o.teams[1] == teamGrant{"ops", "maintain"}
			}},
		{args: []string{"--owner", "acme"}, wantErr: `"repository" not set`},
		{args: []string{"--owner", "acme", "--repository", "fleet", "--team", "x:owner"}, wantErr: "invalid --team"},
		{args: []string{"--owner", "me", "--personal", "--repository", "fleet", "--team", "x:pull"}, wantErr: "needs an organisation"},
		{args: []string{"--owner", "acme/fleet", "--repository", "fleet"}, wantErr: "are names"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			io, _, _, _ := iostreams.Test()
			var got *GitHubOptions
			err := execute(t, NewCmdGitHub(cmdutil.New(io), func(o *GitHubOptions) error { got = o; return nil }), io, tc.args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(got) {
				t.Errorf("options: %+v", *got)
			}
		})
	}
}

// fakeGitHub records calls; it fails the test if bootstrap goes further
// than it should.
type fakeGitHub struct {
	github.Provider
	calls []string
	repo  *github.Repository
	ours  bool
}

func (f *fakeGitHub) User(context.Context) (string, error) {
	f.calls = append(f.calls, "user")
	return "octo", nil
}

func (f *fakeGitHub) GetRepo(context.Context, string, string) (*github.Repository, error) {
	f.calls = append(f.calls, "get")
	if f.repo == nil {
		return nil, github.ErrNotFound
	}
	return f.repo, nil
}

func (f *fakeGitHub) HasFile(_ context.Context, _, _, _, p string) (bool, error) {
	f.calls = append(f.calls, "has "+p)
	return f.ours, nil
}

func TestGitHubRun_RefusesAForeignRepositoryBeforeChangingAnything(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	// GitHub may report size 0 for a repository that has commits (it
	// computes the size later): emptiness comes from the Git server.
	fake := &fakeGitHub{repo: &github.Repository{Owner: "acme", Name: "fleet", CloneURL: "https://h/acme/fleet.git"}}
	o := &GitHubOptions{
		CommonOptions: CommonOptions{Factory: cmdutil.New(io), IO: io, Branch: "main", Path: "clusters/prod", Version: "v1.0.0"},
		Owner:         "acme", Repository: "fleet",
		Getenv:      func(string) string { return "tok" },
		NewProvider: func(string, string) (github.Provider, error) { return fake, nil },
		RemoteEmpty: func(_ context.Context, url string, creds bootstrap.Credentials) (bool, error) {
			fake.calls = append(fake.calls, "ls-remote "+url)
			if creds.Password != "tok" {
				t.Errorf("ls-remote without the token")
			}
			return false, nil
		},
	}
	err := o.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("err = %v", err)
	}
	want := []string{"user", "get", "ls-remote https://h/acme/fleet.git", "has clusters/prod/tether-system/kustomization.yaml"}
	if strings.Join(fake.calls, ",") != strings.Join(want, ",") {
		t.Errorf("calls = %v, want %v", fake.calls, want)
	}
}

func TestGitHubRun_NoTokenIsAClearError(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	o := &GitHubOptions{
		CommonOptions: CommonOptions{Factory: cmdutil.New(io), IO: io},
		Getenv:        func(string) string { return "" },
		NewProvider: func(string, string) (github.Provider, error) {
			return nil, errors.New("must not be called")
		},
	}
	if err := o.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "GITHUB_TOKEN is not set") {
		t.Fatalf("err = %v", err)
	}
}

func TestSameKey(t *testing.T) {
	if !sameKey("ssh-ed25519 AAAA tether", "ssh-ed25519 AAAA") || sameKey("ssh-ed25519 AAAA", "ssh-ed25519 BBBB") {
		t.Error("sameKey compares the wrong fields")
	}
}

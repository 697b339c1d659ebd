package bootstrap

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/tether-gitops/tether/pkg/manifestgen"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

func manifestOptions() ManifestOptions {
	return ManifestOptions{
		Components: manifestgen.Options{Version: "v1.2.3", Namespace: "tether-system"},
		URL:        "ssh://git@git.example.com/org/fleet.git",
		Branch:     "main",
		Path:       "clusters/prod",
		Interval:   2 * time.Minute,
		SecretName: "tether-system",
	}
}

func TestCleanPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "."}, {".", "."}, {"./", "."}, {"clusters/prod", "clusters/prod"}, {"./clusters/prod/", "clusters/prod"},
		{"/clusters//prod", "clusters/prod"}, {"a/../b", "b"},
	} {
		got, err := CleanPath(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizeURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"git@github.com:org/fleet.git", "ssh://git@github.com/org/fleet.git"},
		{"ssh://git@host:2222/org/fleet.git", "ssh://git@host:2222/org/fleet.git"},
		{"https://github.com/org/fleet.git", "https://github.com/org/fleet.git"},
	} {
		if got := NormalizeURL(tc.in); got != tc.want {
			t.Errorf("NormalizeURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestGenerate_WritesTheThreeFilesUnderThePath(t *testing.T) {
	m, err := Generate(manifestOptions())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range m.Files {
		names = append(names, n)
	}
	for _, want := range []string{"clusters/prod/tether-system/components.yaml", "clusters/prod/tether-system/sync.yaml", "clusters/prod/tether-system/kustomization.yaml"} {
		if _, ok := m.Files[want]; !ok {
			t.Errorf("missing %s in %v", want, names)
		}
	}
	sync := string(m.Files["clusters/prod/tether-system/sync.yaml"])
	for _, want := range []string{
		"kind: GitRepository", "url: ssh://git@git.example.com/org/fleet.git", "branch: main", "interval: 2m0s",
		"secretRef:\n    name: tether-system", "kind: Kustomization", "path: ./clusters/prod", "prune: true",
		"namespace: tether-system",
	} {
		if !strings.Contains(sync, want) {
			t.Errorf("sync.yaml lacks %q:\n%s", want, sync)
		}
	}
	if strings.Contains(sync, "status") || strings.Contains(sync, "creationTimestamp") {
		t.Errorf("sync.yaml has empty status fields:\n%s", sync)
	}
	kust := string(m.Files["clusters/prod/tether-system/kustomization.yaml"])
	if !strings.Contains(kust, "- components.yaml\n- sync.yaml\n") {
		t.Errorf("kustomization.yaml:\n%s", kust)
	}
	if !bytes.Contains(m.Files["clusters/prod/tether-system/components.yaml"], []byte("tether-reconciler:v1.2.3")) {
		t.Error("components.yaml does not pin the reconciler image to the version")
	}
	if len(m.Sync) != 2 || len(m.Components) == 0 {
		t.Errorf("objects: %d sync, %d components", len(m.Sync), len(m.Components))
	}
}

func TestGenerate_IsDeterministic(t *testing.T) {
	o := manifestOptions()
	o.Extra = []ExtraFile{{Name: "/tmp/extra.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: tether-system\n")}}
	a, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	for n := range a.Files {
		if !bytes.Equal(a.Files[n], b.Files[n]) {
			t.Errorf("%s differs between two renders", n)
		}
	}
	if _, ok := a.Files["clusters/prod/tether-system/extra.yaml"]; !ok {
		t.Error("the extra file is not written next to components.yaml")
	}
	if !strings.Contains(string(a.Files["clusters/prod/tether-system/kustomization.yaml"]), "- extra.yaml") {
		t.Error("the extra file is not listed in kustomization.yaml")
	}
}

func TestGenerate_NoSecretRefWithoutCredentials(t *testing.T) {
	o := manifestOptions()
	o.SecretName = ""
	o.Path = "."
	m, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	sync := string(m.Files["tether-system/sync.yaml"])
	if strings.Contains(sync, "secretRef") || !strings.Contains(sync, "path: ./\n") {
		t.Errorf("sync.yaml:\n%s", sync)
	}
}

func TestGenerate_RejectsBadInput(t *testing.T) {
	for name, change := range map[string]func(*ManifestOptions){
		"path outside": func(o *ManifestOptions) { o.Path = "../x" },
		"bad version":  func(o *ManifestOptions) { o.Components.Version = "latest" },
		"no url":       func(o *ManifestOptions) { o.URL = "" },
		"extra name clash": func(o *ManifestOptions) {
			o.Extra = []ExtraFile{{Name: "sync.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")}}
		},
		"extra not yaml": func(o *ManifestOptions) { o.Extra = []ExtraFile{{Name: "e.yaml", Data: []byte("kind: [")}} },
	} {
		o := manifestOptions()
		change(&o)
		if _, err := Generate(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCredentials_SecretDataRoundTrip(t *testing.T) {
	key, err := GenerateDeployKey()
	if err != nil {
		t.Fatal(err)
	}
	c := Credentials{Identity: key, KnownHosts: []byte("[127.0.0.1]:22 ssh-ed25519 AAAA\n")}
	d, err := c.SecretData()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := PublicKey(key)
	if string(d["identity.pub"]) != pub+"\n" || !strings.HasPrefix(pub, "ssh-ed25519 ") {
		t.Errorf("identity.pub = %q", d["identity.pub"])
	}
	if _, ok := d["password"]; ok {
		t.Error("empty fields are stored")
	}
	back := CredentialsFromSecret(d)
	if !bytes.Equal(back.Identity, key) || !bytes.Equal(back.KnownHosts, c.KnownHosts) {
		t.Error("round trip lost data")
	}
}

func TestCheckout_CommitsOnlyWhenSomethingChanged(t *testing.T) {
	srv := gitserver.NewHTTP(t, gitserver.WithBasicAuth("u", "p"))
	repo := gitserver.InitRepo(t, srv.Root(), "fleet", map[string]string{"README.md": "fleet\n"})
	creds := Credentials{Username: "u", Password: "p"}
	files := map[string][]byte{"clusters/a/tether-system/x.yaml": []byte("a: 1\n")}
	author := Author{Name: "T", Email: "t@example.invalid"}
	ctx := context.Background()

	co, err := Clone(ctx, srv.URL("fleet"), "main", creds)
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if co.Empty {
		t.Fatal("an existing branch is reported empty")
	}
	committed, err := co.WriteAndCommit(files, "first", author)
	if err != nil || !committed {
		t.Fatalf("first write: committed=%v err=%v", committed, err)
	}
	if err := co.Push(ctx); err != nil {
		t.Fatal(err)
	}
	if got := gitserver.Git(t, repo.Bare, "rev-parse", "main"); got != co.Head() {
		t.Fatalf("remote main = %s, pushed %s", got, co.Head())
	}

	again, err := Clone(ctx, srv.URL("fleet"), "main", creds)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	committed, err = again.WriteAndCommit(files, "second", author)
	if err != nil || committed {
		t.Fatalf("same files again: committed=%v err=%v", committed, err)
	}

	if _, err := Clone(ctx, srv.URL("fleet"), "main", Credentials{Username: "u", Password: "wrong"}); err == nil ||
		!strings.Contains(err.Error(), "credentials") {
		t.Errorf("wrong password: %v", err)
	}
}

func TestCheckout_CreatesTheBranchInAnEmptyRepository(t *testing.T) {
	srv := gitserver.NewHTTP(t)
	bare := filepath.Join(srv.Root(), "empty.git")
	gitserver.Git(t, srv.Root(), "init", "-q", "--bare", "-b", "main", bare)
	ctx := context.Background()
	co, err := Clone(ctx, srv.URL("empty"), "prod", Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if !co.Empty {
		t.Fatal("an empty repository is not reported empty")
	}
	if _, err := co.WriteAndCommit(map[string][]byte{"a.yaml": []byte("a: 1\n")}, "init", Author{Name: "T", Email: "t@x.invalid"}); err != nil {
		t.Fatal(err)
	}
	if err := co.Push(ctx); err != nil {
		t.Fatal(err)
	}
	if got := gitserver.Git(t, bare, "rev-parse", "prod"); got != co.Head() {
		t.Fatalf("remote prod = %q, want %s", got, co.Head())
	}
}

func TestRemoteEmpty_AsksTheGitServer(t *testing.T) {
	srv := gitserver.NewHTTP(t, gitserver.WithBasicAuth("git", "tok"))
	gitserver.Git(t, srv.Root(), "init", "-q", "--bare", "-b", "main", filepath.Join(srv.Root(), "empty.git"))
	gitserver.InitRepo(t, srv.Root(), "full", map[string]string{"README.md": "x\n"})
	// A repository with a branch that is not the default one is not empty.
	other := gitserver.InitRepo(t, srv.Root(), "other", map[string]string{"README.md": "x\n"})
	gitserver.Git(t, other.Bare, "branch", "-m", "main", "prod")
	ctx := context.Background()
	creds := Credentials{Username: "git", Password: "tok"}
	for name, want := range map[string]bool{"empty": true, "full": false, "other": false} {
		got, err := RemoteEmpty(ctx, srv.URL(name), creds)
		if err != nil || got != want {
			t.Errorf("RemoteEmpty(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := RemoteEmpty(ctx, srv.URL("full"), Credentials{Username: "git", Password: "wrong"}); err == nil ||
		!strings.Contains(err.Error(), "credentials") {
		t.Errorf("wrong password: %v", err)
	}
}

func TestSSH_ScanKnownHostsAndPushWithKey(t *testing.T) {
	root := t.TempDir()
	srv := gitserver.NewSSH(t, root)
	gitserver.InitRepo(t, root, "fleet", map[string]string{"README.md": "x\n"})
	ctx := context.Background()
	kh, err := ScanKnownHosts(ctx, srv.URL("fleet"))
	if err != nil {
		t.Fatal(err)
	}
	if string(kh) != string(srv.KnownHosts()) {
		t.Fatalf("known_hosts = %q, want %q", kh, srv.KnownHosts())
	}
	key, err := GenerateDeployKey()
	if err != nil {
		t.Fatal(err)
	}
	creds := Credentials{Identity: key, KnownHosts: kh}
	if _, err := Clone(ctx, srv.URL("fleet"), "main", creds); err == nil {
		t.Fatal("a key the server does not know could clone")
	}
	priv, pub := gitserver.NewClientKey(t)
	srv.AuthorizedKey(pub)
	creds.Identity = priv
	co, err := Clone(ctx, srv.URL("fleet"), "main", creds)
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if _, err := co.WriteAndCommit(map[string][]byte{"b.yaml": []byte("b: 1\n")}, "b", Author{Name: "T", Email: "t@x.invalid"}); err != nil {
		t.Fatal(err)
	}
	if err := co.Push(ctx); err != nil {
		t.Fatal(err)
	}

	other := gitserver.NewSSH(t, root)
	creds.KnownHosts = gitserver.KnownHostsLine(srv.Addr(), other.HostKey())
	if _, err := Clone(ctx, srv.URL("fleet"), "main", creds); err == nil {
		t.Fatal("a wrong host key was accepted")
	}
	_ = os.Remove(co.Dir)
}

func armoredPrivateKey(t *testing.T, key *gitserver.GPGKey, passphrase string) []byte {
	t.Helper()
	if passphrase != "" {
		if err := key.Entity.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := key.Entity.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadSigningKey(t *testing.T) {
	key := gitserver.NewGPGKey(t)
	ring := armoredPrivateKey(t, key, "")
	if e, err := LoadSigningKey(ring, "", ""); err != nil || e.PrimaryKey.KeyIdString() != key.KeyID {
		t.Fatalf("first key: %v", err)
	}
	if _, err := LoadSigningKey(ring, "", strings.ToLower(key.KeyID[8:])); err != nil {
		t.Fatalf("by short ID: %v", err)
	}
	if _, err := LoadSigningKey(ring, "", "DEADBEEF"); err == nil {
		t.Fatal("an absent key ID was accepted")
	}
	if _, err := LoadSigningKey([]byte(key.PublicKey), "", ""); err == nil || !strings.Contains(err.Error(), "no private key") {
		t.Fatalf("public key ring: %v", err)
	}

	enc := gitserver.NewGPGKey(t)
	encRing := armoredPrivateKey(t, enc, "pass phrase")
	if _, err := LoadSigningKey(encRing, "", ""); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Fatalf("encrypted key without passphrase: %v", err)
	}
	if _, err := LoadSigningKey(encRing, "wrong", ""); err == nil {
		t.Fatal("a wrong passphrase was accepted")
	}
	if _, err := LoadSigningKey(encRing, "pass phrase", ""); err != nil {
		t.Fatal(err)
	}
}

func TestCheckout_SignsTheCommit(t *testing.T) {
	srv := gitserver.NewHTTP(t)
	repo := gitserver.InitRepo(t, srv.Root(), "fleet", map[string]string{"README.md": "x\n"})
	key := gitserver.NewGPGKey(t)
	signer, err := LoadSigningKey(armoredPrivateKey(t, key, ""), "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	co, err := Clone(ctx, srv.URL("fleet"), "main", Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	defer co.Close()
	if _, err := co.WriteAndCommitSigned(map[string][]byte{"a.yaml": []byte("a: 1\n")}, "signed", Author{Name: "T", Email: "t@x.invalid"}, signer); err != nil {
		t.Fatal(err)
	}
	if err := co.Push(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := gogit.PlainOpen(repo.Bare)
	if err != nil {
		t.Fatal(err)
	}
	commit, err := r.CommitObject(plumbing.NewHash(co.Head()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := commit.Verify(key.PublicKey); err != nil {
		t.Fatalf("the pushed commit does not verify: %v", err)
	}
}

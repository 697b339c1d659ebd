package create

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/cmd/internal/fixtures"
	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const fakeKnownHosts = "[git.example.com]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKeyForTheGoldenFilesOnlyxxxxxxxxx\n"

// execute runs `tether create args...` in namespace apps; with a nil runF
// the command runs with a fake host key scan (it must not need a cluster).
func execute(t *testing.T, runF func(*Options) error, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	io, _, out, errOut := iostreams.Test()
	f := cmdutil.New(io)
	ns := "apps"
	f.ConfigFlags.Namespace = &ns
	if runF == nil {
		runF = func(o *Options) error {
			o.ScanHostKeys = func(_ context.Context, addr string) ([]byte, error) {
				if addr != "git.example.com:2222" {
					t.Errorf("scanned %q, want git.example.com:2222", addr)
				}
				return []byte(fakeKnownHosts), nil
			}
			o.Client = func() (client.Client, error) {
				t.Fatal("the command talked to the cluster")
				return nil, nil
			}
			return o.Run(t.Context())
		}
	}
	cmd := NewCmdCreate(f, runF)
	cmd.SetArgs(args)
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestCreate_ExportGoldenYAML(t *testing.T) {
	td := "testdata"
	tests := []struct {
		golden string
		args   []string
	}{
		{"source-git.yaml", []string{"source", "git", "podinfo", "--url=https://github.com/example/podinfo", "--branch=main", "--secret-ref=podinfo-auth", "--interval=5m", "--ignore-paths=/docs,*.md", "--label=team=apps"}},
		{"source-git-semver.yaml", []string{"source", "git", "app", "--url=ssh://git@git.example.com/app", "--tag-semver=>=1.0.0 <2.0.0"}},
		{"source-git-commit.yaml", []string{"source", "git", "app", "--url=https://git.example.com/app", "--branch=release", "--commit=0123456789abcdef0123456789abcdef01234567", "--recurse-submodules"}},
		{"source-helm.yaml", []string{"source", "helm", "podinfo", "--url=https://stefanprodan.github.io/podinfo", "--interval=30m", "--secret-ref=charts", "--pass-credentials"}},
		{"source-helm-oci.yaml", []string{"source", "helm", "charts", "--url=oci://ghcr.io/example/charts", "--oci", "--secret-ref=ghcr"}},
		{"source-bucket.yaml", []string{"source", "bucket", "manifests", "--bucket-name=manifests", "--endpoint=minio.minio:9000", "--insecure", "--region=us-east-1", "--secret-ref=minio", "--prefix=prod/"}},
		{"source-oci.yaml", []string{"source", "oci", "manifests", "--url=oci://ghcr.io/example/manifests", "--tag=v1.2.3", "--provider=aws", "--secret-ref=ghcr", "--ignore-paths=*.md"}},
		{"source-oci-semver.yaml", []string{"source", "oci", "manifests", "--url=oci://ghcr.io/example/manifests", "--semver=1.x"}},
		{"kustomization.yaml", []string{"kustomization", "apps", "--source=podinfo", "--path=./deploy", "--prune", "--wait", "--target-namespace=podinfo",
			"--depends-on=infra,tether-system/crds", "--service-account=deployer", "--health-check=Deployment/podinfo,HelmRelease/other/redis,service/web",
			"--decryption-provider=sops", "--decryption-secret=sops-age", "--interval=5m", "--retry-interval=1m"}},
		{"kustomization-oci.yaml", []string{"ks", "apps", "--source=OCIRepository/shared/manifests"}},
		{"helmrelease.yaml", []string{"helmrelease", "podinfo", "--source=HelmRepository/podinfo", "--chart=podinfo", "--chart-version=>=6.0.0",
			"--values=" + filepath.Join(td, "values-a.yaml"), "--values=" + filepath.Join(td, "values-b.yaml"), "--values-from=ConfigMap/podinfo-values,secret/podinfo-secrets",
			"--release-name=podinfo", "--target-namespace=podinfo", "--create-target-namespace", "--depends-on=cert-manager", "--service-account=helm"}},
		{"helmrelease-chartref.yaml", []string{"hr", "podinfo", "--chart-ref=OCIRepository/podinfo"}},
		{"secret-git-basic.yaml", []string{"secret", "git", "app-git", "--url=https://git.example.com/app", "--username=bot", "--password=s3cret", "--ca-file=" + filepath.Join(td, "ca.pem")}},
		{"secret-git-bearer.yaml", []string{"secret", "git", "app-git", "--url=https://git.example.com/app", "--bearer-token=tok"}},
		{"secret-git-ssh.yaml", []string{"secret", "git", "app-git", "--url=ssh://git@git.example.com:2222/org/app", "--private-key-file=" + filepath.Join(td, "id_ed25519")}},
		{"secret-helm.yaml", []string{"secret", "helm", "charts", "--username=bot", "--password=s3cret", "--ca-file=" + filepath.Join(td, "ca.pem")}},
		{"secret-oci.yaml", []string{"secret", "oci", "ghcr", "--url=oci://ghcr.io/example/manifests", "--username=bot", "--password=s3cret"}},
		{"secret-tls.yaml", []string{"secret", "tls", "registry-tls", "--ca-file=" + filepath.Join(td, "ca.pem"), "--cert-file=" + filepath.Join(td, "client.pem"), "--key-file=" + filepath.Join(td, "client-key.pem")}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			out, _, err := execute(t, nil, append(tt.args, "--export")...)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", tt.golden)
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v: run go test ./pkg/cmd/create -update", err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s:\n%s", golden, out)
			}
		})
	}
}

func TestCreate_FlagsBuildTheObjects(t *testing.T) {
	var got *Options
	capture := func(o *Options) error { got = o; return nil }
	if _, _, err := execute(t, capture, "ks", "apps", "--source=Bucket/b", "--wait-ready=false", "--timeout=2m"); err != nil {
		t.Fatal(err)
	}
	if got.Kind != kinds.Kustomization || got.Name != "apps" || got.Namespace != "apps" || got.Wait || got.Timeout != 2*time.Minute {
		t.Errorf("options = kind %v name %q ns %q wait %v timeout %v", got.Kind.Kind, got.Name, got.Namespace, got.Wait, got.Timeout)
	}
	objs, err := got.Objects(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ks := objs[0].(*kustomizev1.Kustomization)
	want := meta.CrossNamespaceSourceReference{Kind: "Bucket", Name: "b"}
	if ks.Spec.SourceRef != want || ks.Spec.Path != "./" || ks.Spec.Prune || ks.Spec.Wait {
		t.Errorf("spec = %+v", ks.Spec)
	}

	if _, _, err := execute(t, capture, "source", "git", "app", "--url=https://x/app", "--wait=false"); err != nil {
		t.Fatal(err)
	}
	if got.Wait || got.Kind != kinds.GitRepository {
		t.Errorf("--wait=false: wait %v", got.Wait)
	}
	objs, err = got.Objects(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if g := objs[0].(*sourcev1.GitRepository); g.Spec.Reference != nil || g.Spec.Interval.Duration != time.Minute {
		t.Errorf("defaults: %+v", g.Spec)
	}
}

func TestCreate_BadFlagsAreUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"source", "git", "app"}, `required flag(s) "url" not set`},
		{[]string{"source", "git", "app", "--url=ftp://x/y"}, "invalid --url"},
		{[]string{"source", "git", "app", "--url=https://x/y", "--tag=v1", "--tag-semver=1.x"}, "exclude each other"},
		{[]string{"source", "git", "app", "--url=https://x/y", "--tag=v1", "--commit=abc"}, "--commit goes with --branch only"},
		{[]string{"source", "git", "Bad_Name", "--url=https://x/y"}, "invalid name"},
		{[]string{"source", "helm", "h", "--url=https://x", "--oci"}, "--oci needs an oci:// URL"},
		{[]string{"source", "bucket", "b", "--bucket-name=b"}, "--endpoint is required"},
		{[]string{"source", "bucket", "b", "--bucket-name=b", "--provider=ibm"}, "invalid --provider"},
		{[]string{"source", "oci", "o", "--url=https://x"}, "use an oci:// URL"},
		{[]string{"ks", "k", "--source=HelmRepository/x"}, "the kind must be one of GitRepository, OCIRepository, Bucket"},
		{[]string{"ks", "k", "--source=a/b/c/d"}, "invalid --source"},
		{[]string{"ks", "k", "--source=x", "--decryption-provider=vault"}, "only sops"},
		{[]string{"ks", "k", "--source=x", "--health-check=podinfo"}, "invalid --health-check"},
		{[]string{"ks", "k", "--source=x", "--health-check=Frobnicator/x"}, "unknown kind Frobnicator"},
		{[]string{"hr", "h", "--chart=podinfo"}, "pass --source and --chart, or --chart-ref"},
		{[]string{"hr", "h", "--chart-ref=OCIRepository/x", "--chart=y"}, "--chart-ref excludes"},
		{[]string{"hr", "h", "--source=HelmRepository/x", "--chart=y", "--values-from=Deployment/z"}, "invalid --values-from"},
		{[]string{"hr", "h", "--source=HelmRepository/x", "--chart=y", "--create-target-namespace"}, "needs --target-namespace"},
		{[]string{"hr", "h", "--source=HelmRepository/x", "--chart=y", "--values=testdata/nosuch.yaml"}, "reading --values"},
		{[]string{"secret", "git", "s", "--url=https://x/y", "--username=u"}, "pass both --username and --password"},
		{[]string{"secret", "git", "s", "--url=https://x/y"}, "pass --username and --password, --bearer-token or --ca-file"},
		{[]string{"secret", "git", "s", "--url=https://x/y", "--bearer-token=t", "--username=u", "--password=p"}, "--bearer-token excludes"},
		{[]string{"secret", "git", "s", "--url=ssh://git@x/y", "--username=u"}, "are for https:// URLs"},
		{[]string{"secret", "git", "s", "--url=ssh://git@x/y", "--private-key-file=testdata/ca.pem"}, "not a usable SSH private key"},
		{[]string{"secret", "tls", "s", "--cert-file=testdata/client.pem"}, "pass both --cert-file and --key-file"},
		{[]string{"secret", "tls", "s", "--cert-file=testdata/client.pem", "--key-file=testdata/id_ed25519"}, "are not a certificate and its key"},
		{[]string{"secret", "oci", "s", "--url=ghcr.io", "--username=u"}, `required flag(s) "password" not set`},
		{[]string{"source", "git", "app", "--url=https://x/y", "--label=bad"}, "invalid --label"},
		{[]string{"nosuch"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := tt.args
			if len(args) > 1 {
				args = append(args, "--export")
			}
			_, _, err := execute(t, nil, args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCreateSecretGit_SSHGeneratesAKeyPairAndPrintsThePublicKey(t *testing.T) {
	out, stderr, err := execute(t, nil, "secret", "git", "deploy", "--url=ssh://git@git.example.com:2222/org/app", "--export")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "ssh-ed25519 ") {
		t.Errorf("no public key on stderr with --export:\n%s", stderr)
	}
	for _, key := range []string{"identity: |", "identity.pub: |", "known_hosts: |", "OPENSSH PRIVATE KEY"} {
		if !strings.Contains(out, key) {
			t.Errorf("export lacks %q:\n%s", key, out)
		}
	}
	if strings.Contains(out, "ssh-ed25519 AAAA") && strings.Count(out, "ssh-ed25519") != 2 {
		t.Errorf("want the public key once in identity.pub and the host key once:\n%s", out)
	}
}

// The user can check a key scanned on first contact: its SHA256
// fingerprint, as ssh-keygen -l prints it, is on stderr.
func TestCreateSecretGit_PrintsTheScannedHostKeyFingerprint(t *testing.T) {
	pk, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := gossh.NewPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	var got *Options
	if _, _, err := execute(t, func(o *Options) error { got = o; return nil }, "secret", "git", "s", "--url=ssh://git@git.example.com:2222/org/app"); err != nil {
		t.Fatal(err)
	}
	got.ScanHostKeys = func(_ context.Context, addr string) ([]byte, error) {
		return []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKey) + "\n"), nil
	}
	if _, err := got.Objects(t.Context()); err != nil {
		t.Fatal(err)
	}
	stderr := got.IO.ErrOut.(*bytes.Buffer).String()
	if want := "host key of git.example.com:2222: ssh-ed25519 " + gossh.FingerprintSHA256(hostKey); !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
}

// The Secret a command builds carries exactly the keys its reconciler reads.
func TestCreateSecret_KeysTheReconcilersRead(t *testing.T) {
	var got *Options
	capture := func(o *Options) error { got = o; return nil }
	build := func(args ...string) *corev1.Secret {
		t.Helper()
		if _, _, err := execute(t, capture, args...); err != nil {
			t.Fatal(err)
		}
		got.ScanHostKeys = func(context.Context, string) ([]byte, error) { return []byte(fakeKnownHosts), nil }
		objs, err := got.Objects(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return objs[0].(*corev1.Secret)
	}
	s := build("secret", "git", "s", "--url=ssh://git@git.example.com:2222/org/app")
	signer, err := gossh.ParsePrivateKey(s.Data["identity"])
	if err != nil {
		t.Fatalf("identity: %v", err)
	}
	if string(gossh.MarshalAuthorizedKey(signer.PublicKey())) != string(s.Data["identity.pub"]) {
		t.Error("identity.pub is not the public key of identity")
	}
	if len(got.Notes) != 1 || got.Notes[0]+"\n" != string(s.Data["identity.pub"]) {
		t.Errorf("notes = %q, want the public key", got.Notes)
	}
	if string(s.Data["known_hosts"]) != fakeKnownHosts {
		t.Errorf("known_hosts = %q", s.Data["known_hosts"])
	}
	s = build("secret", "oci", "s", "--url=ghcr.io", "--username=u", "--password=p")
	if s.Type != corev1.SecretTypeDockerConfigJson || len(s.Data[corev1.DockerConfigJsonKey]) == 0 {
		t.Errorf("oci secret = %s %v", s.Type, s.Data)
	}
}

func TestWaitReady_ReturnsWhenReadyForTheCurrentGeneration(t *testing.T) {
	src := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "app", Generation: 2},
		Status: sourcev1.GitRepositoryStatus{ObservedGeneration: 2, Conditions: []metav1.Condition{
			{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, Reason: "Succeeded", Message: "ok"}}},
	}
	io, _, _, _ := iostreams.Test()
	c := fixtures.Client(src)
	if _, err := WaitReady(t.Context(), io, c, kinds.GitRepository, "apps", "app", time.Millisecond); err != nil {
		t.Fatal(err)
	}

	src.Name, src.Status.ObservedGeneration = "old", 1
	c = fixtures.Client(src)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := WaitReady(ctx, io, c, kinds.GitRepository, "apps", "old", time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a timeout while the generation is not observed", err)
	}

	src.Name, src.Status.ObservedGeneration = "stalled", 2
	src.Status.Conditions = []metav1.Condition{
		{Type: meta.ReadyCondition, Status: metav1.ConditionFalse, Reason: "URLInvalid", Message: "bad url"},
		{Type: "Stalled", Status: metav1.ConditionTrue, Reason: "URLInvalid", Message: "bad url"}}
	c = fixtures.Client(src)
	_, err = WaitReady(t.Context(), io, c, kinds.GitRepository, "apps", "stalled", time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "stalled: URLInvalid: bad url") {
		t.Fatalf("err = %v, want stalled", err)
	}
}

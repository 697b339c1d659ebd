package get

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/cmd/internal/fixtures"
	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// parse runs `tether get` with args and returns the options it would run with.
func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	got, err := fixtures.Parse(NewCmdGet, args...)
	return got, err
}

func TestNewCmdGet_KindsAndFlags(t *testing.T) {
	tests := []struct {
		args      []string
		wantKinds []*kinds.Kind
		check     func(*Options) bool
		wantErr   string
	}{
		{args: []string{"sources", "git"}, wantKinds: []*kinds.Kind{kinds.GitRepository}},
		{args: []string{"source", "chart", "-A"}, wantKinds: []*kinds.Kind{kinds.HelmChart}, check: func(o *Options) bool { return o.AllNamespaces }},
		{args: []string{"sources", "all"}, wantKinds: kinds.Sources()},
		{args: []string{"sources"}, wantKinds: kinds.Sources()},
		{args: []string{"ks", "apps", "-n", "team"}, wantKinds: []*kinds.Kind{kinds.Kustomization}, check: func(o *Options) bool { return o.Name == "apps" && o.Namespace == "team" }},
		{args: []string{"kustomization"}, wantKinds: []*kinds.Kind{kinds.Kustomization}},
		{args: []string{"hr", "--status-selector", "ready=false", "-o", "wide"}, wantKinds: []*kinds.Kind{kinds.HelmRelease},
			check: func(o *Options) bool {
				return o.StatusSelector == "ready=false" && *o.PrintFlags.OutputFormat == "wide"
			}},
		{args: []string{"all", "--watch", "-o", "yaml"}, wantKinds: kinds.All, check: func(o *Options) bool { return o.Watch }},
		{args: []string{"sources", "git", "-o", "name"}, wantKinds: []*kinds.Kind{kinds.GitRepository}},
		{args: []string{"all", "podinfo"}, wantErr: "unknown command"},
		{args: []string{"sources", "git", "a", "b"}, wantErr: "accepts at most 1 arg"},
		{args: []string{"hr", "--status-selector", "ready"}, wantErr: "invalid --status-selector"},
		{args: []string{"hr", "--status-selector", "ready=maybe"}, wantErr: "True, False or Unknown"},
		{args: []string{"hr", "podinfo", "-A"}, wantErr: "do not go together"},
		{args: []string{"hr", "-o", "table"}, wantErr: "invalid --output"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := parse(t, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Kinds) != len(tt.wantKinds) {
				t.Fatalf("kinds = %d, want %d", len(got.Kinds), len(tt.wantKinds))
			}
			for i := range got.Kinds {
				if got.Kinds[i] != tt.wantKinds[i] {
					t.Errorf("kind %d = %s, want %s", i, got.Kinds[i].Kind, tt.wantKinds[i].Kind)
				}
			}
			if tt.check != nil && !tt.check(got) {
				t.Errorf("options = %+v", *got)
			}
		})
	}
}

// run runs `tether get args` against the fixtures and returns stdout and stderr.
func run(t *testing.T, c client.WithWatch, args ...string) (string, string) {
	t.Helper()
	io, _, out, errOut := iostreams.Test()
	f := cmdutil.New(io)
	cmd := NewCmdGet(f, func(o *Options) error {
		o.Client = func() (client.WithWatch, error) { return c, nil }
		o.Now = func() time.Time { return fixtures.Now }
		return o.Run(t.Context())
	})
	f.ConfigFlags.AddFlags(cmd.PersistentFlags())
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("get %v: %v", args, err)
	}
	return out.String(), errOut.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test ./pkg/cmd/get -update", err)
	}
	if !bytes.Equal(want, []byte(got)) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestGet_Output(t *testing.T) {
	c := fixtures.Client(fixtures.Objects()...)
	tests := []struct {
		golden string
		args   []string
	}{
		{"sources-git.txt", []string{"sources", "git", "-n", "apps"}},
		{"sources-git-wide.txt", []string{"sources", "git", "-n", "apps", "-o", "wide"}},
		{"sources-all-A.txt", []string{"sources", "all", "-A"}},
		{"all.txt", []string{"all", "-n", "apps"}},
		{"ks.txt", []string{"ks", "-n", "apps"}},
		{"hr.txt", []string{"hr", "-n", "apps"}},
		{"not-ready-A.txt", []string{"all", "-A", "--status-selector", "ready=false"}},
		{"git-podinfo.yaml", []string{"sources", "git", "podinfo", "-n", "apps", "-o", "yaml"}},
		{"all-name.txt", []string{"all", "-A", "-o", "name"}},
		{"ks-list.json", []string{"ks", "-n", "apps", "-o", "json"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			out, errOut := run(t, c, tt.args...)
			if errOut != "" {
				t.Errorf("stderr = %q", errOut)
			}
			golden(t, tt.golden, out)
		})
	}
}

func TestGet_NothingFoundIsSaidOnStderr(t *testing.T) {
	c := fixtures.Client(fixtures.Objects()...)
	out, errOut := run(t, c, "sources", "bucket", "-n", "apps")
	if out != "" || errOut != "No resources found in apps namespace.\n" {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}
	out, errOut = run(t, c, "hr", "-A", "--status-selector", "ready=false")
	if out != "" || errOut != "No resources found\n" {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}
}

func TestGet_NamedObjectThatDoesNotMatchTheSelectorIsNotAnError(t *testing.T) {
	c := fixtures.Client(fixtures.Objects()...)
	// podinfo exists and is Ready: like kubectl with a selector, nothing
	// matches, which is said on stderr, and the exit code is 0.
	out, errOut := run(t, c, "sources", "git", "podinfo", "-n", "apps", "--status-selector", "ready=false")
	if out != "" || errOut != "No resources found in apps namespace.\n" {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}
	out, _ = run(t, c, "sources", "git", "podinfo", "-n", "apps", "--status-selector", "ready=true", "-o", "name")
	if out != "gitrepository.source.tether.dev/podinfo\n" {
		t.Errorf("a matching named object: stdout %q", out)
	}
}

// lockedBuffer is a bytes.Buffer that a watch writes while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestGet_WatchShowsDeletions(t *testing.T) {
	// The watch prints three states: the listed one, the one marked for
	// deletion (the reconciler's finalizer holds it), and the deleted one.
	for _, tc := range []struct {
		output string
		line   string // in every line printed for the Kustomization
	}{
		{"", "apps   main@sha1:"},
		{"name", "kustomization.kustomize.tether.dev/apps"},
	} {
		t.Run("-o "+tc.output, func(t *testing.T) {
			c := fixtures.Client(fixtures.Objects()...)
			io, _, _, _ := iostreams.Test()
			out := &lockedBuffer{}
			io.Out = out
			o := &Options{IO: io, Now: func() time.Time { return fixtures.Now }, Kinds: []*kinds.Kind{kinds.Kustomization},
				Namespace: "apps", Watch: true, Client: func() (client.WithWatch, error) { return c, nil }}
			o.PrintFlags = newPrintFlags()
			*o.PrintFlags.OutputFormat = tc.output
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- o.Run(ctx) }()
			waitLines(t, out, tc.line, 1)

			ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "apps"}}
			if err := c.Delete(t.Context(), ks); err != nil {
				t.Fatal(err)
			}
			waitLines(t, out, tc.line, 2)
			// The reconciler removes its finalizer: the object goes.
			if err := c.Patch(t.Context(), ks, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))); err != nil {
				t.Fatal(err)
			}
			waitLines(t, out, tc.line, 3)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			last := lines[len(lines)-1]
			if tc.output == "" && (!strings.Contains(last, "(deleted)") || strings.Count(out.String(), "(deleted)") != 1) {
				t.Errorf("the deletion is not the last row of the table:\n%s", out.String())
			}
		})
	}
}

// waitLines waits until n lines of out hold s.
func waitLines(t *testing.T, out *lockedBuffer, s string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the output never showed %d lines with %q:\n%s", n, s, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGet_MissingNameIsAnError(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	o := &Options{IO: io, Now: time.Now, Kinds: []*kinds.Kind{kinds.GitRepository}, Name: "nosuch", Namespace: "apps",
		Client: func() (client.WithWatch, error) { return fixtures.Client(), nil }}
	o.PrintFlags = newPrintFlags()
	err := o.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "GitRepository apps/nosuch not found") {
		t.Errorf("err = %v", err)
	}
}

func TestStatusSelector(t *testing.T) {
	objs := fixtures.Objects()
	tests := []struct {
		sel  string
		want []string
	}{
		{"", []string{"podinfo", "broken", "charts", "apps", "podinfo"}},
		{"ready=false", []string{"broken"}},
		{"Ready=True", []string{"podinfo", "charts", "apps", "podinfo"}},
		{"stalled=unknown", []string{"podinfo", "broken", "charts", "apps", "podinfo"}},
		{"stalled=true", nil},
	}
	for _, tt := range tests {
		typ, status, err := parseStatusSelector(tt.sel)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range objs {
			if matches(o.(kinds.Object), typ, status) {
				got = append(got, o.GetName())
			}
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%q selects %v, want %v", tt.sel, got, tt.want)
		}
	}
}

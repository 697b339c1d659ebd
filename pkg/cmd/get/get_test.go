package get

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

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

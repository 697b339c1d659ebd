package export

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/cmd/internal/fixtures"
	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestNewCmdExport_Flags(t *testing.T) {
	tests := []struct {
		args     []string
		wantKind *kinds.Kind
		wantAll  bool
		wantErr  string
	}{
		{args: []string{"source", "git", "a", "b"}, wantKind: kinds.GitRepository},
		{args: []string{"source", "oci", "--all"}, wantKind: kinds.OCIRepository, wantAll: true},
		{args: []string{"ks", "apps"}, wantKind: kinds.Kustomization},
		{args: []string{"hr", "--all"}, wantKind: kinds.HelmRelease, wantAll: true},
		{args: []string{"source", "git"}, wantErr: "or pass --all"},
		{args: []string{"source", "git", "a", "--all"}, wantErr: "do not go together"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := fixtures.Parse(NewCmdExport, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tt.wantKind || got.All != tt.wantAll {
				t.Errorf("kind %s all %v", got.Kind.Kind, got.All)
			}
		})
	}
}

func TestExport_CleanYAML(t *testing.T) {
	c := fixtures.Client(fixtures.Objects()...)
	tests := []struct {
		golden string
		kind   *kinds.Kind
		names  []string
		ns     string
	}{
		{"git-all.yaml", kinds.GitRepository, nil, "apps"},
		{"ks-apps.yaml", kinds.Kustomization, []string{"apps"}, "apps"},
		{"hr-podinfo.yaml", kinds.HelmRelease, []string{"podinfo"}, "apps"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			io, _, out, _ := iostreams.Test()
			o := &Options{IO: io, Client: func() (client.Client, error) { return c, nil }, Kind: tt.kind, Names: tt.names, All: tt.names == nil, Namespace: tt.ns}
			if err := o.Run(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, field := range []string{"status:", "uid:", "resourceVersion:", "generation:", "creationTimestamp:", "finalizers:", "requestedAt", "last-applied", "kustomize.tether.dev/name"} {
				if strings.Contains(out.String(), field) {
					t.Errorf("export keeps %q", field)
				}
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v: run go test ./pkg/cmd/export -update", err)
			}
			if !bytes.Equal(want, out.Bytes()) {
				t.Errorf("output differs from %s (go test -update rewrites it):\n%s", path, out)
			}
		})
	}
}

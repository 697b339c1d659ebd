package install

import (
	"strings"
	"testing"

	"github.com/tether-gitops/tether/pkg/cmd/internal/fixtures"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/manifestgen"
)

func TestNewCmdInstall_Flags(t *testing.T) {
	tests := []struct {
		args    []string
		want    Options
		wantErr string
	}{
		{args: []string{"--version", "v1.0.0"}, want: Options{Version: "v1.0.0", Registry: manifestgen.DefaultRegistry, Wait: true}},
		{args: []string{"--version", "v1.0.0", "--export", "--registry", "r.local/x"}, want: Options{Version: "v1.0.0", Registry: "r.local/x", Export: true, Wait: true}},
		{args: []string{"--version", "v1.0.0", "--wait=false", "--image", "a/b:c"}, want: Options{Version: "v1.0.0", Registry: manifestgen.DefaultRegistry, Image: "a/b:c"}},
		{args: []string{"--version", "nosuch"}, wantErr: `invalid version "nosuch"`},
		{args: []string{"extra"}, wantErr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := fixtures.Parse(NewCmdInstall, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != tt.want.Version || got.Registry != tt.want.Registry || got.Image != tt.want.Image ||
				got.Export != tt.want.Export || got.Wait != tt.want.Wait {
				t.Errorf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestRun_ExportWritesYAMLOnly(t *testing.T) {
	io, _, out, errOut := iostreams.Test()
	o := &Options{Factory: cmdutil.New(io), IO: io, Version: "v1.2.3", Registry: manifestgen.DefaultRegistry, Export: true}
	if err := o.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	objs, err := manifestgen.Decode(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) == 0 || errOut.Len() != 0 {
		t.Errorf("%d objects on stdout, stderr %q", len(objs), errOut.String())
	}
	if !strings.Contains(out.String(), "ghcr.io/tether-gitops/tether-reconciler:v1.2.3") {
		t.Error("image tag does not follow --version")
	}
}

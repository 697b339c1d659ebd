package deletecmd

import (
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/cmd/internal/fixtures"
	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

func TestNewCmdDelete_Flags(t *testing.T) {
	tests := []struct {
		args    []string
		want    Options
		wantErr string
	}{
		{args: []string{"source", "git", "a"}, want: Options{Kind: kinds.GitRepository, Name: "a", Wait: true, Timeout: 5 * time.Minute}},
		{args: []string{"hr", "a", "--silent", "--wait=false"}, want: Options{Kind: kinds.HelmRelease, Name: "a", Silent: true, Timeout: 5 * time.Minute}},
		{args: []string{"ks", "a", "-y"}, want: Options{Kind: kinds.Kustomization, Name: "a", Silent: true, Wait: true, Timeout: 5 * time.Minute}},
		{args: []string{"ks"}, wantErr: "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := fixtures.Parse(NewCmdDelete, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tt.want.Kind || got.Name != tt.want.Name || got.Silent != tt.want.Silent || got.Wait != tt.want.Wait || got.Timeout != tt.want.Timeout {
				t.Errorf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestRun_WithoutTerminalNeedsSilent(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	o := &Options{IO: io, Kind: kinds.Kustomization, Name: "apps", Namespace: "team", Wait: true, Timeout: time.Minute,
		Client: func() (client.Client, error) {
			t.Fatal("the cluster was contacted before confirmation")
			return nil, nil
		}}
	err := o.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "refusing to delete Kustomization team/apps without confirmation: pass --silent") {
		t.Errorf("err = %v", err)
	}
}

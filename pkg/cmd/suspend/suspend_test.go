package suspend

import (
	"strings"
	"testing"

	"github.com/tether-gitops/tether/pkg/cmd/internal/fixtures"
	"github.com/tether-gitops/tether/pkg/cmd/kinds"
)

func TestNewCmdSuspend_Flags(t *testing.T) {
	tests := []struct {
		args      []string
		wantKind  *kinds.Kind
		wantNames []string
		wantAll   bool
		wantErr   string
	}{
		{args: []string{"source", "git", "a", "b"}, wantKind: kinds.GitRepository, wantNames: []string{"a", "b"}},
		{args: []string{"source", "helm", "--all"}, wantKind: kinds.HelmRepository, wantAll: true},
		{args: []string{"kustomization", "apps"}, wantKind: kinds.Kustomization, wantNames: []string{"apps"}},
		{args: []string{"hr", "--all"}, wantKind: kinds.HelmRelease, wantAll: true},
		{args: []string{"ks"}, wantErr: "or pass --all"},
		{args: []string{"ks", "a", "--all"}, wantErr: "do not go together"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := fixtures.Parse(NewCmdSuspend, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tt.wantKind || got.All != tt.wantAll || strings.Join(got.Names, ",") != strings.Join(tt.wantNames, ",") {
				t.Errorf("kind %s names %v all %v", got.Kind.Kind, got.Names, got.All)
			}
		})
	}
}

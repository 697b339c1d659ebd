package resume

import (
	"strings"
	"testing"
	"time"

	"github.com/tether-gitops/tether/pkg/cmd/internal/fixtures"
	"github.com/tether-gitops/tether/pkg/cmd/kinds"
)

func TestNewCmdResume_Flags(t *testing.T) {
	tests := []struct {
		args    []string
		want    Options
		wantErr string
	}{
		{args: []string{"source", "oci", "a"}, want: Options{Kind: kinds.OCIRepository, Names: []string{"a"}, Wait: true, Timeout: 5 * time.Minute}},
		{args: []string{"ks", "--all", "--wait=false"}, want: Options{Kind: kinds.Kustomization, All: true, Timeout: 5 * time.Minute}},
		{args: []string{"hr", "a", "b", "--timeout", "1m"}, want: Options{Kind: kinds.HelmRelease, Names: []string{"a", "b"}, Wait: true, Timeout: time.Minute}},
		{args: []string{"source", "chart"}, wantErr: "or pass --all"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := fixtures.Parse(NewCmdResume, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tt.want.Kind || got.All != tt.want.All || got.Wait != tt.want.Wait || got.Timeout != tt.want.Timeout ||
				strings.Join(got.Names, ",") != strings.Join(tt.want.Names, ",") {
				t.Errorf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

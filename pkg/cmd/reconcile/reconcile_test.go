package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

func TestNewCmdReconcile_Flags(t *testing.T) {
	tests := []struct {
		args    []string
		want    Options
		wantErr string
	}{
		{args: []string{"source", "git", "podinfo"}, want: Options{Kind: kinds.GitRepository, Name: "podinfo", Timeout: 5 * time.Minute}},
		{args: []string{"source", "chart", "podinfo", "--with-source"}, want: Options{Kind: kinds.HelmChart, Name: "podinfo", WithSource: true, Timeout: 5 * time.Minute}},
		{args: []string{"sources", "bucket", "b", "--timeout", "30s"}, want: Options{Kind: kinds.Bucket, Name: "b", Timeout: 30 * time.Second}},
		{args: []string{"ks", "apps", "--with-source", "-n", "team"}, want: Options{Kind: kinds.Kustomization, Name: "apps", Namespace: "team", WithSource: true, Timeout: 5 * time.Minute}},
		{args: []string{"hr", "podinfo", "--force", "--reset", "--with-source"}, want: Options{Kind: kinds.HelmRelease, Name: "podinfo", Force: true, Reset: true, WithSource: true, Timeout: 5 * time.Minute}},
		{args: []string{"helmrelease", "podinfo"}, want: Options{Kind: kinds.HelmRelease, Name: "podinfo", Timeout: 5 * time.Minute}},
		{args: []string{"ks", "apps", "--force"}, wantErr: "unknown flag: --force"},
		{args: []string{"source", "git", "a", "--with-source"}, wantErr: "unknown flag: --with-source"},
		{args: []string{"source", "git"}, wantErr: "accepts 1 arg"},
		{args: []string{"source", "svn", "a"}, wantErr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			io, _, _, _ := iostreams.Test()
			f := cmdutil.New(io)
			var got *Options
			cmd := NewCmdReconcile(f, func(o *Options) error { got = o; return nil })
			f.ConfigFlags.AddFlags(cmd.PersistentFlags())
			cmd.SetArgs(tt.args)
			cmd.SetOut(io.Out)
			cmd.SetErr(io.ErrOut)
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.Namespace == "" {
				tt.want.Namespace = f.Namespace()
			}
			if got.Kind != tt.want.Kind || got.Name != tt.want.Name || got.Namespace != tt.want.Namespace || got.WithSource != tt.want.WithSource ||
				got.Force != tt.want.Force || got.Reset != tt.want.Reset || got.Timeout != tt.want.Timeout {
				t.Errorf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

package logs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tether-gitops/tether/pkg/cmd/internal/fixtures"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

func TestFilter_SampleLogs(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		filter Filter
		want   []string
	}{
		{"all json", "reconciler.json.log", Filter{}, []string{
			"2026-01-02T10:00:00.000Z info setup starting manager",
			"2026-01-02T10:00:01.000Z info Kustomization/apps/apps applied changes=\"2 created\" revision=main@sha1:1234",
			"2026-01-02T10:00:02.000Z error GitRepository/apps/app Reconciler error error=\"authentication required: check spec.secretRef\"",
			"2026-01-02T10:00:03.500Z debug Kustomization/tether-system/infra health check finished ready=true",
			"2026-01-02T10:00:04.000Z info Kustomization/other/apps reconcile failed error=\"kustomization.yaml: unknown field\" reason=BuildFailed",
		}},
		{"kind and name", "reconciler.json.log", Filter{Kind: "Kustomization", Name: "apps"}, []string{
			"2026-01-02T10:00:01.000Z info Kustomization/apps/apps applied changes=\"2 created\" revision=main@sha1:1234",
			"2026-01-02T10:00:04.000Z info Kustomization/other/apps reconcile failed error=\"kustomization.yaml: unknown field\" reason=BuildFailed",
		}},
		{"namespace", "reconciler.json.log", Filter{Namespace: "apps"}, []string{
			"2026-01-02T10:00:01.000Z info Kustomization/apps/apps applied changes=\"2 created\" revision=main@sha1:1234",
			"2026-01-02T10:00:02.000Z error GitRepository/apps/app Reconciler error error=\"authentication required: check spec.secretRef\"",
		}},
		{"level error", "reconciler.json.log", Filter{Level: "error"}, []string{
			"2026-01-02T10:00:02.000Z error GitRepository/apps/app Reconciler error error=\"authentication required: check spec.secretRef\"",
		}},
		{"level info drops debug", "reconciler.json.log", Filter{Level: "info", Namespace: "tether-system"}, nil},
		{"console encoding", "reconciler.console.log", Filter{Kind: "GitRepository"}, []string{
			"2026-01-02T10:00:02.000Z error GitRepository/apps/app Reconciler error error=\"authentication required\"",
		}},
		{"console, every entry, no stack trace lines", "reconciler.console.log", Filter{}, []string{
			"2026-01-02T10:00:00.000Z info setup starting manager",
			"2026-01-02T10:00:01.000Z info Kustomization/apps/apps applied revision=main@sha1:1234",
			"2026-01-02T10:00:02.000Z error GitRepository/apps/app Reconciler error error=\"authentication required\"",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var got []string
			for _, e := range tt.filter.Read(f) {
				got = append(got, e.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLogs_LogFileWithTail(t *testing.T) {
	io, _, out, _ := iostreams.Test()
	o := &Options{IO: io, LogFile: filepath.Join("testdata", "reconciler.json.log"), Tail: 1, Filter: Filter{Kind: "Kustomization"}}
	if err := o.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); !strings.HasPrefix(got, "2026-01-02T10:00:04.000Z info Kustomization/other/apps") || strings.Count(got, "\n") != 0 {
		t.Errorf("tail 1 = %q", got)
	}
}

func TestLogs_NoReconcilerPodIsAClearError(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	o := &Options{IO: io, ReconcilerNamespace: "tether-system", Tail: -1,
		Clientset: func() (kubernetes.Interface, error) { return fake.NewClientset(), nil }}
	err := o.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no reconciler pods") || !strings.Contains(err.Error(), "--log-file") {
		t.Fatalf("err = %v", err)
	}
}

func TestLogs_Flags(t *testing.T) {
	tests := []struct {
		args    []string
		want    Filter
		wantErr string
	}{
		{args: []string{"--kind", "kustomization", "--name", "apps", "-n", "apps", "--level", "error"}, want: Filter{Kind: "Kustomization", Name: "apps", Namespace: "apps", Level: "error"}},
		{args: []string{"--kind", "gitrepository"}, want: Filter{Kind: "GitRepository"}},
		{args: []string{"--kind", "Deployment"}, wantErr: "invalid --kind"},
		{args: []string{"--level", "warning"}, wantErr: "invalid --level"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := fixtures.Parse(NewCmdLogs, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Filter != tt.want {
				t.Errorf("filter = %+v, want %+v", got.Filter, tt.want)
			}
		})
	}
}

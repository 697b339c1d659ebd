package events

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/cmd/internal/fixtures"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func event(ns, name, apiVersion, kind, objName, typ, reason, note string, ago time.Duration) *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		EventTime:  metav1.NewMicroTime(fixtures.Now.Add(-ago)),
		Regarding:  corev1.ObjectReference{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: objName},
		Type:       typ, Reason: reason, Note: note, ReportingController: "tether-reconciler", ReportingInstance: "x", Action: "Reconcile",
	}
}

func objects() []client.Object {
	return []client.Object{
		&kustomizev1.Kustomization{
			ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "podinfo"},
			Status: kustomizev1.KustomizationStatus{Inventory: &kustomizev1.ResourceInventory{Entries: []kustomizev1.ResourceRef{
				{ID: "apps_podinfo_apps_Deployment", Version: "v1"}}}},
		},
		event("apps", "e1", "kustomize.tether.dev/v1", "Kustomization", "podinfo", "Normal", "ReconciliationSucceeded", "applied revision main@sha1:1234", 2*time.Minute),
		event("apps", "e2", "apps/v1", "Deployment", "podinfo", "Warning", "ProgressDeadlineExceeded", "ReplicaSet has timed out\nprogressing", 5*time.Minute),
		event("apps", "e3", "source.tether.dev/v1", "GitRepository", "podinfo", "Normal", "NewArtifact", "stored artifact for commit 1234", 10*time.Minute),
		event("apps", "e4", "v1", "Pod", "unrelated", "Normal", "Scheduled", "not ours", time.Minute),
		event("other", "e5", "kustomize.tether.dev/v1", "Kustomization", "infra", "Warning", "BuildFailed", "kustomization.yaml: bad", 30*time.Second),
	}
}

func TestEvents_Golden(t *testing.T) {
	tests := []struct {
		golden string
		opts   Options
	}{
		{"namespace.txt", Options{Namespace: "apps"}},
		{"for-kustomization.txt", Options{Namespace: "apps", For: "Kustomization/podinfo"}},
		{"all-warnings.txt", Options{Namespace: "apps", AllNamespaces: true, Types: []string{"Warning"}}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			io, _, out, _ := iostreams.Test()
			c := fixtures.Client(objects()...)
			o := tt.opts
			o.IO, o.Now = io, func() time.Time { return fixtures.Now }
			o.Client = func() (client.Client, error) { return c, nil }
			if err := o.Run(t.Context()); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.golden)
			if *update {
				_ = os.WriteFile(golden, out.Bytes(), 0o644)
			}
			want, _ := os.ReadFile(golden)
			if out.String() != string(want) {
				t.Errorf("output differs from %s:\n%s", golden, out)
			}
		})
	}
}

func TestEvents_Flags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{args: []string{"--for", "ks/apps"}},
		{args: []string{"--for", "GitRepository/app", "--types", "Warning"}},
		{args: []string{"--for", "apps"}, wantErr: "use Kind/name"},
		{args: []string{"--for", "Deployment/apps"}, wantErr: "not a Tether kind"},
		{args: []string{"--for", "ks/apps", "-A"}, wantErr: "do not go together"},
		{args: []string{"--types", "Error"}, wantErr: "invalid --types"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			io, _, _, _ := iostreams.Test()
			cmd := NewCmdEvents(cmdutil.New(io), func(*Options) error { return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(io.Out)
			cmd.SetErr(io.ErrOut)
			err := cmd.Execute()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestEvents_ForHelmRelease_IncludesItsReleaseObjects(t *testing.T) {
	hr := &helmv1.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"},
		Status: helmv1.HelmReleaseStatus{History: helmv1.Snapshots{{
			Name: "web", Namespace: "web", Version: 2, ChartName: "web", ChartVersion: "1.2.0", Status: "deployed"}}},
	}
	c := fixtures.Client(hr,
		event("apps", "h1", "helm.tether.dev/v1", "HelmRelease", "web", "Normal", "UpgradeSucceeded", "upgraded to 1.2.0", 3*time.Minute),
		event("web", "h2", "apps/v1", "Deployment", "web", "Warning", "ProgressDeadlineExceeded", "web timed out", time.Minute),
		event("web", "h3", "apps/v1", "Deployment", "other", "Warning", "ProgressDeadlineExceeded", "not the release's", time.Minute),
		event("apps", "h4", "helm.tether.dev/v1", "HelmRelease", "api", "Normal", "InstallSucceeded", "another release", time.Minute),
	)
	release := func(_ context.Context, got *helmv1.HelmRelease) ([]*unstructured.Unstructured, error) {
		if got.Name != "web" {
			t.Errorf("release objects asked for %s", got.Name)
		}
		d := &unstructured.Unstructured{}
		d.SetAPIVersion("apps/v1")
		d.SetKind("Deployment")
		d.SetName("web") // Helm leaves the release namespace out
		return []*unstructured.Unstructured{d}, nil
	}
	io, _, out, _ := iostreams.Test()
	o := Options{IO: io, Namespace: "apps", For: "HelmRelease/web", ReleaseObjects: release,
		Now: func() time.Time { return fixtures.Now }, Client: func() (client.Client, error) { return c, nil }}
	if err := o.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"HelmRelease/web", "upgraded to 1.2.0", "Deployment/web", "web timed out"} {
		if !strings.Contains(got, want) {
			t.Errorf("events lack %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"not the release's", "another release"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("events show %q, which is not the release's:\n%s", unwanted, got)
		}
	}
}

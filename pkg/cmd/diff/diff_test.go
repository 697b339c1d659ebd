package diff

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

func TestNewCmdHelmRelease_Flags(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := write("first.yaml", "message: one\nnested:\n  a: 1\n")
	second := write("second.yaml", "message: two\n")
	empty := write("empty.yaml", "")
	list := write("list.yaml", "- a\n- b\n")

	tests := []struct {
		args         []string
		namespace    string
		values       []map[string]any
		chartVersion string
		wantErr      string
	}{
		{args: []string{"web"}},
		{args: []string{"web", "-n", "apps", "--chart-version", " 1.x "}, namespace: "apps", chartVersion: "1.x"},
		{args: []string{"web", "--values", first, "-f", second}, values: []map[string]any{
			{"message": "one", "nested": map[string]any{"a": float64(1)}}, {"message": "two"}}},
		{args: []string{"web", "--values", empty}, values: []map[string]any{nil}},
		{args: []string{"web", "--chart-version", ""}, wantErr: "--chart-version is empty"},
		{args: []string{"web", "--values", filepath.Join(dir, "missing.yaml")}, wantErr: "missing.yaml: no such file or directory"},
		{args: []string{"web", "--values", list}, wantErr: "list.yaml: not a YAML map of values"},
		{args: []string{}, wantErr: "accepts 1 arg"},
		{args: []string{"web", "other"}, wantErr: "accepts 1 arg"},
		{args: []string{"web", "--bogus"}, wantErr: "unknown flag: --bogus"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := cmdutil.New(ios)
			var got *HelmReleaseOptions
			cmd := NewCmdHelmRelease(f, func(o *HelmReleaseOptions) error { got = o; return nil })
			f.ConfigFlags.AddFlags(cmd.PersistentFlags())
			cmd.SetArgs(tt.args)
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if cmdutil.ExitCode(err) != 2 {
					t.Errorf("exit code %d, want 2 (diff's error code)", cmdutil.ExitCode(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.namespace == "" {
				tt.namespace = f.Namespace()
			}
			if got.Name != "web" || got.Namespace != tt.namespace || got.ChartVersion != tt.chartVersion || !reflect.DeepEqual(got.values, tt.values) {
				t.Errorf("options: name %q, namespace %q, chart version %q, values %v; want web, %q, %q, %v",
					got.Name, got.Namespace, got.ChartVersion, got.values, tt.namespace, tt.chartVersion, tt.values)
			}
		})
	}
}

func TestNewCmdDiff_HasHelmReleaseWithItsAlias(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	cmd := NewCmdDiff(cmdutil.New(ios), nil)
	for _, args := range [][]string{{"helmrelease", "web"}, {"hr", "web"}} {
		sub, _, err := cmd.Find(args)
		if err != nil || sub.Name() != "helmrelease" || sub.ValidArgsFunction == nil {
			t.Errorf("diff %v: found %v (%v), want the helmrelease command with name completion", args, sub, err)
		}
	}
}

func TestWriteDiff_CreatedSecretInFullWithValuesMasked(t *testing.T) {
	secret := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "token", "namespace": "apps"},
		"stringData": map[string]any{"token": "s3cr3t"},
	}}
	var out bytes.Buffer
	if err := writeDiff(&out, "web.v1 Secret/apps/token", "web.v2 Secret/apps/token", nil, secret); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.Contains(text, "s3cr3t") || !strings.Contains(text, "+  token: '***'") || !strings.Contains(text, "+kind: Secret") {
		t.Errorf("diff of a created Secret:\n%s", text)
	}
	if !strings.HasPrefix(text, "--- web.v1 Secret/apps/token\n+++ web.v2 Secret/apps/token\n@@ -0,0 +1,") {
		t.Errorf("diff header:\n%s", text)
	}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line == "+" || line == "-" || line == " " {
			t.Errorf("diff has an empty line that the object does not:\n%s", text)
		}
	}

	changed := secret.DeepCopy()
	_ = unstructured.SetNestedField(changed.Object, "n3w", "stringData", "token")
	out.Reset()
	if err := writeDiff(&out, "a", "b", secret, changed); err != nil {
		t.Fatal(err)
	}
	if text := out.String(); !strings.Contains(text, "-  token: '***'") || !strings.Contains(text, "+  token: '*** (changed)'") || strings.Contains(text, "n3w") {
		t.Errorf("diff of a changed Secret:\n%s", text)
	}
}

func TestReportMoved_WhenTheSpecNamesAnotherRelease(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func(*helmv1.HelmRelease)
		want    bool
		wantMsg string
	}{
		{name: "same release", mutate: func(*helmv1.HelmRelease) {}},
		{name: "never released", mutate: func(hr *helmv1.HelmRelease) { hr.Status.History = nil }},
		{name: "renamed", mutate: func(hr *helmv1.HelmRelease) { hr.Spec.ReleaseName = "new" }, want: true,
			wantMsg: "release apps/web (storage apps) would be uninstalled: the spec now names release apps/new"},
		{name: "target namespace", mutate: func(hr *helmv1.HelmRelease) { hr.Spec.TargetNamespace = "prod" }, want: true,
			wantMsg: "the spec now names release prod/prod-web"},
		{name: "storage namespace", mutate: func(hr *helmv1.HelmRelease) { hr.Spec.StorageNamespace = "helm" }, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hr := &helmv1.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"}}
			hr.Status.History = helmv1.Snapshots{{Name: "web", Namespace: "apps", Version: 3}}
			hr.Status.StorageNamespace = "apps"
			tc.mutate(hr)
			ios, _, _, errOut := iostreams.Test()
			o := &HelmReleaseOptions{IO: ios}
			if got := o.reportMoved(hr); got != tc.want || !strings.Contains(errOut.String(), tc.wantMsg) || (!tc.want && errOut.Len() > 0) {
				t.Errorf("reportMoved = %v, stderr %q; want %v, %q", got, errOut.String(), tc.want, tc.wantMsg)
			}
		})
	}
}

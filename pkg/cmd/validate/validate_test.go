package validate

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v: run go test ./pkg/cmd/validate -update", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n%s", file, got)
	}
}

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	io, _, out, errOut := iostreams.Test()
	cmd := NewCmdValidate(cmdutil.New(io), nil)
	cmd.SetArgs(args)
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestValidate_GoodRepositoryPasses(t *testing.T) {
	// --offline: the podinfo chart would come from the internet; the web
	// chart is in the repository.
	out, stderr, err := run(t, "testdata/good", "--offline")
	if err != nil || out != "" {
		t.Fatalf("err = %v, stdout:\n%s", err, out)
	}
	if !strings.Contains(stderr, "8 files, 8 objects, 3 kustomizations, 1 of 2 HelmReleases templated (1 objects), Kubernetes 1.37.2: 0 errors, 0 warnings") {
		t.Errorf("summary: %s", stderr)
	}
}

func TestValidate_BrokenRepositoryFileLineProblems(t *testing.T) {
	out, stderr, err := run(t, "testdata/broken")
	if cmdutil.ExitCode(err) != 1 {
		t.Fatalf("exit code %d (%v), want 1", cmdutil.ExitCode(err), err)
	}
	golden(t, "broken.txt", out)
	if !strings.Contains(stderr, "13 errors, 3 warnings") {
		t.Errorf("summary: %s", stderr)
	}
	// Every problem says where it is.
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) < 3 || !strings.HasPrefix(parts[0], "testdata/broken/") || parts[1] == "" {
			t.Errorf("not file:line: problem: %q", line)
		}
	}
}

func TestValidate_StrictRefsMakesMissingReferencesErrors(t *testing.T) {
	out, _, err := run(t, "testdata/broken", "--strict-refs", "-o", "json")
	if cmdutil.ExitCode(err) != 1 {
		t.Fatalf("exit code %d", cmdutil.ExitCode(err))
	}
	var res Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	if res.Errors != 16 || res.Warnings != 0 {
		t.Errorf("errors %d warnings %d, want 16 and 0", res.Errors, res.Warnings)
	}
	golden(t, "broken-strict.json", out)
}

func TestValidate_BuiltInKindsPassForEachKubernetesVersion(t *testing.T) {
	for _, version := range []string{"1.33", "1.35", "1.37"} {
		out, stderr, err := run(t, "testdata/kube", "--kubernetes-version", version)
		if err != nil || out != "" {
			t.Errorf("%s: err = %v, stdout:\n%s", version, err, out)
		}
		// Deployment, Service, ConfigMap, Secret, CronJob, a CRD and its
		// object: all checked.
		if !strings.Contains(stderr, "7 objects, 0 kustomizations, Kubernetes "+version+".") || strings.Contains(stderr, "not checked") {
			t.Errorf("%s: summary: %s", version, stderr)
		}
	}
}

func TestValidate_APIsTheKubernetesVersionDoesNotServeAreErrors(t *testing.T) {
	out135, _, err := run(t, "testdata/kube-broken", "--kubernetes-version", "1.35")
	if cmdutil.ExitCode(err) != 1 {
		t.Fatalf("exit code %d (%v), want 1", cmdutil.ExitCode(err), err)
	}
	for _, want := range []string{
		"removed.yaml:2: batch/v1beta1 CronJob is not served by Kubernetes 1.35: use batch/v1\n",
		"removed.yaml:17: policy/v1beta1 PodSecurityPolicy is not served by Kubernetes 1.35: it has no kind PodSecurityPolicy in any API group\n",
		"removed.yaml:24: extensions/v1beta1 Ingress is not served by Kubernetes 1.35: use networking.k8s.io/v1\n",
		"removed.yaml:29: apps/v1 Deploymnet is not served by Kubernetes 1.35",
		"removed.yaml:35: admissionregistration.k8s.io/v1 MutatingAdmissionPolicyBinding is not served by Kubernetes 1.35: use admissionregistration.k8s.io/v1beta1\n",
	} {
		if !strings.Contains(out135, want) {
			t.Errorf("1.35: no %q in:\n%s", want, out135)
		}
	}
	// 1.36 made MutatingAdmissionPolicyBinding v1.
	out137, _, _ := run(t, "testdata/kube-broken", "--kubernetes-version", "1.37")
	if strings.Contains(out137, "MutatingAdmissionPolicyBinding") || !strings.Contains(out137, "batch/v1beta1 CronJob is not served by Kubernetes 1.37: use batch/v1") {
		t.Errorf("1.37:\n%s", out137)
	}
}

func TestValidate_BuiltInKindsWrongTypesAndUnknownFields(t *testing.T) {
	out, _, err := run(t, "testdata/kube-broken", "--kubernetes-version", "1.35")
	if cmdutil.ExitCode(err) != 1 {
		t.Fatalf("exit code %d (%v), want 1", cmdutil.ExitCode(err), err)
	}
	golden(t, "kube-broken-1.35.txt", out)
	for _, want := range []string{
		`fields.yaml:6: Deployment web: metadata.labels.tier: Invalid value: "number"`,
		`fields.yaml:8: Deployment web: spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer`,
		`fields.yaml:21: Deployment web: spec.template.spec.containers[0].name: Required value`,
		`fields.yaml:22: Deployment web: unknown field "spec.template.spec.containers[0].imagePullPolice"`,
		`fields.yaml:25: Deployment web: spec.template.spec.containers[0].resources.limits.cpu: Invalid value: "lots"`,
		`fields.yaml:27: Deployment web: spec.template.spec.containers[0].ports[0].containerPort: Invalid value: "string"`,
		`fields.yaml:34: Secret web: data.password: Invalid value: "not base64!"`,
		`fields.yaml:42: Service web: spec.ports[0].port: Required value`,
		`fields.yaml:49: CronJob cleanup: metadata.creationTimestamp: Invalid value: "yesterday"`,
		`fields.yaml:50: CronJob cleanup: spec.schedule: Required value`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q", want)
		}
	}
	// A field added in 1.36 is unknown to 1.35, known to 1.37.
	if !strings.Contains(out, `fields.yaml:18: Deployment web: unknown field "spec.template.spec.schedulingGroup"`) {
		t.Error("1.35 accepts spec.template.spec.schedulingGroup")
	}
	out137, _, _ := run(t, "testdata/kube-broken", "--kubernetes-version", "1.37")
	if strings.Contains(out137, "schedulingGroup") || !strings.Contains(out137, "imagePullPolice") {
		t.Errorf("1.37:\n%s", out137)
	}
}

func TestValidate_DuplicateFieldsAreErrors(t *testing.T) {
	dir := t.TempDir()
	data := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\ndata:\n  x: \"1\"\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: i\n      image: j\n"
	if err := os.WriteFile(filepath.Join(dir, "dup.yaml"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, dir)
	if cmdutil.ExitCode(err) != 1 {
		t.Fatalf("exit code %d (%v)", cmdutil.ExitCode(err), err)
	}
	for _, want := range []string{`dup.yaml:5: duplicate field "metadata.name" (first at line 4)`, `dup.yaml:17: duplicate field "spec.containers[0].image" (first at line 16)`} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

func TestValidate_SchemaDirReplacesTheEmbeddedSchemas(t *testing.T) {
	dir := t.TempDir()
	data := "apiVersion: example.k8s.io/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: big\n  colour: red\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n"
	if err := os.WriteFile(filepath.Join(dir, "widget.yaml"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := run(t, dir, "--schema-dir", "../../kubeschema/testdata/openapi", "-o", "json")
	if cmdutil.ExitCode(err) != 1 {
		t.Fatalf("exit code %d (%v), want 1\n%s%s", cmdutil.ExitCode(err), err, out, stderr)
	}
	var res Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	// The documents say which version they are; apps is not among them, so
	// the Deployment is not checked.
	if res.KubernetesVersion != "v1.30.2" || res.Errors != 2 || res.Unchecked["Deployment.apps"] != 1 {
		t.Errorf("result %+v", res)
	}
	for i, want := range []string{`Widget w: spec.size: Invalid value: "string"`, `Widget w: unknown field "spec.colour"`} {
		if i >= len(res.Problems) || !strings.Contains(res.Problems[i].Message, want) {
			t.Errorf("problem %d: want %q in %+v", i, want, res.Problems)
		}
	}
	if _, _, err := run(t, dir, "--schema-dir", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no OpenAPI v3 documents") {
		t.Errorf("empty --schema-dir: %v", err)
	}
}

func TestValidate_Flags(t *testing.T) {
	if _, _, err := run(t, "testdata/good", "--kubernetes-version", "1.20"); err == nil || !strings.Contains(err.Error(), "--schema-dir") {
		t.Errorf("--kubernetes-version 1.20: %v", err)
	}
	if _, _, err := run(t, "testdata/good", "--kubernetes-version", "latest"); err == nil || !strings.Contains(err.Error(), "invalid --kubernetes-version") {
		t.Errorf("--kubernetes-version latest: %v", err)
	}
	if _, _, err := run(t, "testdata/good", "-o", "yaml"); err == nil || !strings.Contains(err.Error(), "invalid --output") {
		t.Errorf("-o yaml: %v", err)
	}
	if _, _, err := run(t, "testdata/nosuch"); err == nil || cmdutil.ExitCode(err) != 1 {
		t.Errorf("missing dir: %v", err)
	}
	if _, _, err := run(t, "testdata/good/clusters/prod/apps.yaml"); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file: %v", err)
	}
}

func TestLineOf(t *testing.T) {
	dir := t.TempDir()
	data := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n      image: x\n    - name: b\n      image: y\n"
	if err := os.WriteFile(filepath.Join(dir, "pod.yaml"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	docs, _, err := parseFile(dir, "pod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"": 1, "metadata.name": 4, "spec.containers[1].image": 10, "spec.containers.image": 8, "spec.nosuch": 5, "kind": 2} {
		if got := docs[0].lineOf(path); got != want {
			t.Errorf("lineOf(%q) = %d, want %d", path, got, want)
		}
	}
}

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
	out, stderr, err := run(t, "testdata/good")
	if err != nil || out != "" {
		t.Fatalf("err = %v, stdout:\n%s", err, out)
	}
	if !strings.Contains(stderr, "8 files, 7 objects, 3 kustomizations: 0 errors, 0 warnings") {
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

func TestValidate_Flags(t *testing.T) {
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

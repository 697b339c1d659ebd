// Command genk8sschemas writes the Kubernetes schemas that `tether validate`
// embeds (make k8s-schemas): for each version given, it downloads the
// k8s.io/kubernetes module of that version with `go mod download` (from the
// Go module proxy, into the module cache), reads the OpenAPI v3 documents of
// its api/openapi-spec/v3, compacts them (pkg/kubeschema.Compact: the kinds
// and the definitions they reach, without descriptions) and writes
// DIR/<version>.json.gz. Files of versions not given are removed from DIR.
//
//	go run ./hack/genk8sschemas -out pkg/kubeschema/data v1.35.4 v1.37.2
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tether-gitops/tether/pkg/kubeschema"
)

func main() {
	out := flag.String("out", "pkg/kubeschema/data", "directory to write <version>.json.gz into")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: genk8sschemas [-out DIR] VERSION... (such as v1.37.2)")
		os.Exit(2)
	}
	if err := run(*out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "genk8sschemas:", err)
		os.Exit(1)
	}
}

func run(out string, versions []string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, v := range versions {
		if !strings.HasPrefix(v, "v") {
			v = "v" + v
		}
		if _, _, ok := kubeschema.MajorMinor(v); !ok || strings.Count(v, ".") != 2 {
			return fmt.Errorf("version %q: give a release, such as v1.37.2", v)
		}
		dir, err := moduleDir(v)
		if err != nil {
			return err
		}
		specDir := filepath.Join(dir, "api", "openapi-spec", "v3")
		set, err := kubeschema.LoadDir(specDir)
		if err != nil {
			return fmt.Errorf("%s: %w", v, err)
		}
		set.Version = v
		name := filepath.Join(out, v+".json.gz")
		var b bytes.Buffer
		if err := set.Write(&b); err != nil {
			return err
		}
		if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
			return err
		}
		keep[filepath.Base(name)] = true
		fmt.Printf("%s: %d kinds, %d definitions, %d bytes\n", name, len(set.Kinds), len(set.Definitions), b.Len())
	}
	old, _ := filepath.Glob(filepath.Join(out, "*.json.gz"))
	for _, f := range old {
		if !keep[filepath.Base(f)] {
			if err := os.Remove(f); err != nil {
				return err
			}
			fmt.Printf("%s: removed\n", f)
		}
	}
	return nil
}

// moduleDir downloads k8s.io/kubernetes at version into the module cache and
// returns its directory.
func moduleDir(version string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", "k8s.io/kubernetes@"+version)
	cmd.Stderr = os.Stderr
	data, err := cmd.Output()
	var res struct{ Dir, Error string }
	_ = json.Unmarshal(data, &res)
	if res.Error != "" {
		return "", fmt.Errorf("go mod download k8s.io/kubernetes@%s: %s", version, res.Error)
	}
	if err != nil || res.Dir == "" {
		return "", fmt.Errorf("go mod download k8s.io/kubernetes@%s: %v: is the version right and the module proxy reachable?", version, err)
	}
	return res.Dir, nil
}

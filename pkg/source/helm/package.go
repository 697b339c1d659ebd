package helm

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"sigs.k8s.io/yaml"
)

// packageTime stamps every file of a packaged chart, so that the same chart
// packages to the same bytes (and digest) whenever it is built.
var packageTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// PackageOptions say how to package a chart.
type PackageOptions struct {
	// ValuesFiles are merged in order into values.yaml, later files winning.
	// When packaging from a source tree they are relative to its root; for
	// an existing archive (Repackage) they name files inside the chart.
	ValuesFiles []string
	// IgnoreMissingValuesFiles skips values files that do not exist.
	IgnoreMissingValuesFiles bool
	// VersionMetadata, when set, becomes the build metadata of the chart's
	// version ("1.2.3" becomes "1.2.3+<metadata>").
	VersionMetadata string
	// OutDir receives the archive; it must exist.
	OutDir string
}

// Package packages the chart at chartPath (a directory with a Chart.yaml or
// a .tgz, relative to root, such as an extracted GitRepository artifact). The
// chart keeps its own version unless VersionMetadata is set. Dependencies
// must be vendored in the chart's charts/ directory.
func Package(root, chartPath string, opts PackageOptions) (*Chart, error) {
	dir, err := inside(root, chartPath, "chart path")
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%w: chart path %q does not exist in the source: check spec.chart", ErrInvalidReference, chartPath)
	}
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("loading the chart at %q: %w", chartPath, err)
	}
	if err := checkVendored(ch); err != nil {
		return nil, err
	}
	read := func(name string) ([]byte, error) {
		p, err := inside(root, name, "values file")
		if err != nil {
			return nil, err
		}
		return os.ReadFile(p)
	}
	return save(ch, read, opts)
}

// Repackage merges values files found inside a downloaded chart into its
// values.yaml and saves it to opts.OutDir. With no values files and no
// version metadata it returns c as it is.
func Repackage(c *Chart, opts PackageOptions) (*Chart, error) {
	if len(opts.ValuesFiles) == 0 && opts.VersionMetadata == "" {
		return c, nil
	}
	ch, err := loader.Load(c.Path)
	if err != nil {
		return nil, fmt.Errorf("loading chart %q: %w", c.Name(), err)
	}
	files := make(map[string][]byte, len(ch.Raw))
	for _, f := range ch.Raw {
		files[path.Clean(f.Name)] = f.Data
	}
	read := func(name string) ([]byte, error) {
		if !filepath.IsLocal(name) {
			return nil, fmt.Errorf("%w: values file %q must be a relative path inside the chart", ErrInvalidReference, name)
		}
		if data, ok := files[path.Clean(filepath.ToSlash(name))]; ok {
			return data, nil
		}
		return nil, fs.ErrNotExist
	}
	return save(ch, read, opts)
}

// save merges the values files, sets the version metadata and writes the archive.
func save(ch *chart.Chart, read func(string) ([]byte, error), opts PackageOptions) (*Chart, error) {
	merged, err := mergeValues(ch, read, opts)
	if err != nil {
		return nil, err
	}
	if opts.VersionMetadata != "" {
		v, err := semver.NewVersion(ch.Metadata.Version)
		if err != nil {
			return nil, fmt.Errorf("chart %q has version %q, which is not semver: fix Chart.yaml", ch.Name(), ch.Metadata.Version)
		}
		withMeta, err := v.SetMetadata(opts.VersionMetadata)
		if err != nil {
			return nil, fmt.Errorf("setting version metadata %q: %w", opts.VersionMetadata, err)
		}
		ch.Metadata.Version = withMeta.String()
	}
	ch.StampModTimes(packageTime)
	p, err := chartutil.Save(ch, opts.OutDir)
	if err != nil {
		return nil, fmt.Errorf("packaging chart %q: %w", ch.Name(), err)
	}
	d, err := fileDigest(p)
	if err != nil {
		return nil, err
	}
	return &Chart{Path: p, Digest: "sha256:" + d, Metadata: ch.Metadata, ValuesFiles: merged}, nil
}

// mergeValues merges the values files into the chart's values and its
// values.yaml, and returns the files it merged.
func mergeValues(ch *chart.Chart, read func(string) ([]byte, error), opts PackageOptions) ([]string, error) {
	if len(opts.ValuesFiles) == 0 {
		return nil, nil
	}
	values := ch.Values
	if values == nil {
		values = map[string]any{}
	}
	var merged []string
	for _, name := range opts.ValuesFiles {
		data, err := read(name)
		if errors.Is(err, fs.ErrNotExist) {
			if opts.IgnoreMissingValuesFiles {
				continue
			}
			return nil, fmt.Errorf("%w: values file %q not found: fix spec.valuesFiles or set spec.ignoreMissingValuesFiles", ErrInvalidReference, name)
		}
		if err != nil {
			return nil, fmt.Errorf("reading values file %q: %w", name, err)
		}
		v, err := loader.LoadValues(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("values file %q is not valid YAML: %w", name, err)
		}
		values = loader.MergeMaps(values, v)
		merged = append(merged, name)
	}
	out, err := yaml.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("writing the merged values: %w", err)
	}
	ch.Values = values
	replaced := false
	for _, f := range ch.Raw {
		if f.Name == chartutil.ValuesfileName {
			f.Data, replaced = out, true
		}
	}
	if !replaced {
		ch.Raw = append(ch.Raw, &common.File{Name: chartutil.ValuesfileName, Data: out})
	}
	return merged, nil
}

// checkVendored fails when Chart.yaml declares a dependency that is not in
// charts/: Tether packages charts as they are and fetches no dependency.
func checkVendored(ch *chart.Chart) error {
	have := map[string]bool{}
	for _, d := range ch.Dependencies() {
		have[d.Name()] = true
	}
	for _, d := range ch.Metadata.Dependencies {
		if d != nil && !have[d.Name] {
			return fmt.Errorf("chart %q depends on %q (%s), which is not in its charts/ directory: run `helm dependency build` and commit charts/",
				ch.Name(), d.Name, d.Repository)
		}
	}
	return nil
}

// inside joins rel to root and checks that the result, symlinks resolved,
// stays inside root.
func inside(root, rel, what string) (string, error) {
	rel = strings.TrimPrefix(filepath.FromSlash(rel), "./")
	if rel == "" || rel == "." {
		rel = "."
	} else if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%w: %s %q must be a relative path inside the source", ErrInvalidReference, what, rel)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	p := filepath.Join(realRoot, rel)
	real, err := filepath.EvalSymlinks(p)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil // callers report the missing path
	}
	if err != nil {
		return "", err
	}
	if r, err := filepath.Rel(realRoot, real); err != nil || !filepath.IsLocal(r) && r != "." {
		return "", fmt.Errorf("%w: %s %q leaves the source through a symlink", ErrInvalidReference, what, rel)
	}
	return real, nil
}

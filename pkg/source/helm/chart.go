package helm

import (
	"context"
	"fmt"
	"io"
	"os"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	repo "helm.sh/helm/v4/pkg/repo/v1"
)

// Chart is a packaged chart (.tgz) on disk.
type Chart struct {
	// Path of the archive. Files in the cache are shared: read or copy them,
	// never change or remove them.
	Path string
	// Digest is "sha256:<hex>" of the archive.
	Digest string
	// Metadata is the chart's Chart.yaml.
	Metadata *chart.Metadata
	// ValuesFiles are the values files merged into values.yaml, in order.
	ValuesFiles []string
}

// Name returns the chart's name.
func (c *Chart) Name() string { return c.Metadata.Name }

// Version returns the chart's version.
func (c *Chart) Version() string { return c.Metadata.Version }

// Open opens the archive for reading.
func (c *Chart) Open() (io.ReadCloser, error) { return os.Open(c.Path) }

// ChartURL returns the absolute download URL of an index entry: relative URLs
// are resolved against the repository URL.
func (r *Repository) ChartURL(cv *repo.ChartVersion) (string, error) {
	if len(cv.URLs) == 0 {
		return "", fmt.Errorf("the index entry of chart %q version %s has no URL: fix the repository index", cv.Name, cv.Version)
	}
	u, err := repo.ResolveReferenceURL(r.URL, cv.URLs[0])
	if err != nil {
		return "", fmt.Errorf("the index entry of chart %q version %s has an invalid URL: %w", cv.Name, cv.Version, err)
	}
	return u, nil
}

// DownloadChart downloads the chart of an index entry (at most
// Options.MaxChartSize bytes), checks it against the entry's digest when the
// index has one, and checks that it loads as the chart the entry names. A
// chart whose digest is already in the cache is not downloaded again.
func (r *Repository) DownloadChart(ctx context.Context, cv *repo.ChartVersion) (*Chart, error) {
	if path := r.cache.lookup("chart", cv.Digest, "tgz"); path != "" {
		if c, err := loadChecked(path, cv.Digest, cv); err == nil {
			return c, nil
		}
		_ = os.Remove(path) // damaged: download it again
	}
	chartURL, err := r.ChartURL(cv)
	if err != nil {
		return nil, err
	}
	hexDigest, path, err := r.cache.write("chart", "tgz", "", func(w io.Writer) error {
		_, _, err := r.g.get(ctx, chartURL, r.opts.maxChart(), "", w)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("downloading chart %q version %s: %w", cv.Name, cv.Version, err)
	}
	if cv.Digest != "" && trimAlgo(cv.Digest) != hexDigest {
		return nil, fmt.Errorf("chart %q version %s from %s has digest sha256:%s, but the index says %s: the repository is inconsistent or the download was tampered with",
			cv.Name, cv.Version, redact(chartURL), hexDigest, cv.Digest)
	}
	c, err := loadChecked(path, hexDigest, cv)
	if err != nil {
		_ = os.Remove(path)
		return nil, err
	}
	return c, nil
}

// loadChecked loads an archive and checks that it is the chart cv names.
func loadChecked(path, hexDigest string, cv *repo.ChartVersion) (*Chart, error) {
	c, err := LoadChart(path)
	if err != nil {
		return nil, err
	}
	c.Digest = "sha256:" + trimAlgo(hexDigest)
	if cv != nil && (c.Name() != cv.Name || c.Version() != cv.Version) {
		return nil, fmt.Errorf("the archive of chart %q version %s holds chart %q version %s: fix the repository index",
			cv.Name, cv.Version, c.Name(), c.Version())
	}
	return c, nil
}

// LoadChart loads and validates a chart archive; Digest is left empty.
func LoadChart(path string) (*Chart, error) {
	ch, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("the chart archive is not a valid Helm chart: %w", err)
	}
	if err := ch.Validate(); err != nil {
		return nil, fmt.Errorf("the chart archive is not a valid Helm chart: %w", err)
	}
	return &Chart{Path: path, Metadata: ch.Metadata}, nil
}

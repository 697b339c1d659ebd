package helm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	repo "helm.sh/helm/v4/pkg/repo/v1"
)

// Index is a parsed and validated repository index. It is shared through the
// cache: treat it as read-only.
type Index struct {
	*repo.IndexFile
	// Digest is "sha256:<hex>" of the index file.
	Digest string
	// Path is the index file on disk.
	Path string
}

// Repository is an HTTP(S) chart repository that serves an index.yaml.
type Repository struct {
	// URL is the repository's base URL, as in the HelmRepository spec.
	URL   string
	opts  Options
	cache *Cache
	g     *getter
}

var (
	defaultCacheOnce sync.Once
	defaultCache     *Cache
	defaultCacheErr  error
)

// cacheOr returns c, or a process-wide cache under the temporary directory.
func cacheOr(c *Cache) (*Cache, error) {
	if c != nil {
		return c, nil
	}
	defaultCacheOnce.Do(func() {
		defaultCache, defaultCacheErr = NewCache(filepath.Join(os.TempDir(), "tether-helm-cache"), 0)
	})
	return defaultCache, defaultCacheErr
}

// NewRepository checks the URL and TLS material and returns a client for
// the repository. cache may be nil, to use a process-wide one under the
// temporary directory.
func NewRepository(rawURL string, opts Options, cache *Cache) (*Repository, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: repository URL %q must be an http:// or https:// URL", ErrInvalidReference, redact(rawURL))
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: repository URL %q must not hold credentials: put them in the secret", ErrInvalidReference, redact(rawURL))
	}
	hc, err := opts.httpClient()
	if err != nil {
		return nil, err
	}
	if cache, err = cacheOr(cache); err != nil {
		return nil, err
	}
	return &Repository{URL: rawURL, opts: opts, cache: cache, g: &getter{client: hc, auth: opts.Auth, base: u}}, nil
}

// IndexURL returns the URL of the repository's index.yaml.
func (r *Repository) IndexURL() string {
	u := *r.g.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/index.yaml"
	u.RawPath = ""
	return u.String()
}

var errNotModified = errors.New("not modified")

// FetchIndex downloads the index (at most Options.MaxIndexSize bytes), or
// reuses the cached copy when the server says it has not changed, and
// parses and validates it.
func (r *Repository) FetchIndex(ctx context.Context) (*Index, error) {
	indexURL := r.IndexURL()
	known := r.cache.etag(indexURL)
	sendETag := ""
	if known.digest != "" && r.cache.lookup("index", known.digest, "yaml") != "" {
		sendETag = known.etag
	}
	var etag string
	hexDigest, path, err := r.cache.write("index", "yaml", "", func(w io.Writer) error {
		var notModified bool
		var err error
		etag, notModified, err = r.g.get(ctx, indexURL, r.opts.maxIndex(), sendETag, w)
		if err == nil && notModified {
			return errNotModified
		}
		return err
	})
	switch {
	case errors.Is(err, errNotModified):
		hexDigest, path = known.digest, r.cache.lookup("index", known.digest, "yaml")
		if path == "" { // pruned in between: fetch it whole
			r.cache.setETag(indexURL, etagEntry{})
			return r.FetchIndex(ctx)
		}
	case err != nil:
		return nil, fmt.Errorf("fetching the repository index: %w", err)
	default:
		r.cache.setETag(indexURL, etagEntry{etag: etag, digest: hexDigest})
	}
	idx, err := r.cache.index(hexDigest, path)
	if err != nil {
		return nil, fmt.Errorf("%w from %s: check that the URL points at a Helm chart repository", err, indexURL)
	}
	return &Index{IndexFile: idx, Digest: "sha256:" + hexDigest, Path: path}, nil
}

// LoadIndex reads and validates an index file that was stored before (such as
// a HelmRepository's artifact). digest ("sha256:<hex>") keys the parsed
// index in the cache; when empty it is computed from the file.
func LoadIndex(path, digest string, cache *Cache) (*Index, error) {
	if digest == "" || !strings.HasPrefix(digest, "sha256:") {
		d, err := fileDigest(path)
		if err != nil {
			return nil, err
		}
		digest = "sha256:" + d
	}
	cache, err := cacheOr(cache)
	if err != nil {
		return nil, err
	}
	idx, err := cache.index(trimAlgo(digest), path)
	if err != nil {
		return nil, err
	}
	return &Index{IndexFile: idx, Digest: digest, Path: path}, nil
}

// parseIndexFile parses and validates an index: it needs an apiVersion and
// valid entries (invalid ones are dropped, as Helm does); entries are sorted
// newest first.
func parseIndexFile(path string) (*repo.IndexFile, error) {
	idx, err := repo.LoadIndexFile(path)
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // drop the local path that LoadIndexFile adds
		}
		return nil, fmt.Errorf("invalid repository index: %w", err)
	}
	if idx.Entries == nil {
		idx.Entries = map[string]repo.ChartVersions{}
	}
	return idx, nil
}

// Resolve returns the highest version of the chart that satisfies the semver
// range version; "" and "*" mean the latest stable version, and an exact
// version string matches that entry even when it is not strict semver.
func (i *Index) Resolve(name, version string) (*repo.ChartVersion, error) {
	entries, ok := i.Entries[name]
	if !ok || len(entries) == 0 {
		return nil, fmt.Errorf("%w: the repository index has no chart named %q: check spec.chart", ErrChartNotFound, name)
	}
	byVersion := make(map[string]*repo.ChartVersion, len(entries))
	versions := make([]string, 0, len(entries))
	for _, cv := range entries {
		if cv == nil || cv.Metadata == nil || cv.Removed {
			continue
		}
		if _, dup := byVersion[cv.Version]; !dup {
			byVersion[cv.Version] = cv
			versions = append(versions, cv.Version)
		}
	}
	v, err := SelectVersion(name, version, versions)
	if err != nil {
		return nil, err
	}
	return byVersion[v], nil
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

package helm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	repo "helm.sh/helm/v4/pkg/repo/v1"
)

// DefaultCacheSize bounds the bytes a Cache keeps on disk.
const DefaultCacheSize int64 = 1 << 30

// maxParsedIndexes bounds the parsed indexes kept in memory: a large index
// takes tens of MiB once parsed.
const maxParsedIndexes = 8

// Cache keeps downloaded indexes and charts on disk under the sha256 of their
// content, so that a chart whose digest is already there is not downloaded
// again, and an index the server reports unchanged (ETag) is not either. It
// also keeps a few parsed indexes in memory. It is safe for concurrent use and
// meant to be shared by all reconcilers of a process.
type Cache struct {
	dir      string
	maxBytes int64

	mu     sync.Mutex
	etags  map[string]etagEntry // index URL -> last ETag and the digest it named
	parsed map[string]*parsedIndex
}

type etagEntry struct{ etag, digest string }

type parsedIndex struct {
	index *repo.IndexFile
	used  time.Time
}

// NewCache opens (creating it if needed) a cache in dir that keeps at most
// maxBytes on disk (zero means DefaultCacheSize).
func NewCache(dir string, maxBytes int64) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the Helm cache directory: %w", err)
	}
	return &Cache{dir: dir, maxBytes: orDefault(maxBytes, DefaultCacheSize),
		etags: map[string]etagEntry{}, parsed: map[string]*parsedIndex{}}, nil
}

// Dir returns the cache directory.
func (c *Cache) Dir() string { return c.dir }

func (c *Cache) path(kind, hexDigest, ext string) string {
	return filepath.Join(c.dir, kind+"-"+hexDigest+"."+ext)
}

// lookup returns the path of a cached file, or "" when it is not there. A hit
// refreshes the file's time so that pruning keeps what is in use.
func (c *Cache) lookup(kind, hexDigest, ext string) string {
	if c == nil || hexDigest == "" {
		return ""
	}
	p := c.path(kind, strings.ToLower(hexDigest), ext)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now)
	return p
}

// write stores what fill writes under its sha256 and returns the hex digest
// and the file's path. Without a cache (nil) it writes to a temporary file
// in tmpDir that the caller removes.
func (c *Cache) write(kind, ext, tmpDir string, fill func(io.Writer) error) (hexDigest, path string, err error) {
	dir := tmpDir
	if c != nil {
		dir = c.dir
	}
	f, err := os.CreateTemp(dir, ".tmp-"+kind+"-*")
	if err != nil {
		return "", "", fmt.Errorf("creating a file for the download: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	if err = fill(io.MultiWriter(f, h)); err != nil {
		return "", "", err
	}
	if err = f.Close(); err != nil {
		return "", "", fmt.Errorf("writing the download: %w", err)
	}
	hexDigest = hex.EncodeToString(h.Sum(nil))
	if c == nil {
		return hexDigest, f.Name(), nil
	}
	path = c.path(kind, hexDigest, ext)
	if err = os.Rename(f.Name(), path); err != nil {
		return "", "", fmt.Errorf("moving the download into the cache: %w", err)
	}
	c.prune()
	return hexDigest, path, nil
}

// prune removes the least recently used files once the cache holds more
// than maxBytes.
func (c *Cache) prune() {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	type file struct {
		path string
		size int64
		used time.Time
	}
	var files []file
	var total int64
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		files = append(files, file{filepath.Join(c.dir, e.Name()), info.Size(), info.ModTime()})
		total += info.Size()
	}
	if total <= c.maxBytes {
		return
	}
	slices.SortFunc(files, func(a, b file) int { return a.used.Compare(b.used) })
	for _, f := range files {
		if total <= c.maxBytes {
			return
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
}

func (c *Cache) etag(u string) etagEntry {
	if c == nil {
		return etagEntry{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.etags[u]
}

func (c *Cache) setETag(u string, e etagEntry) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.etag == "" {
		delete(c.etags, u)
		return
	}
	c.etags[u] = e
}

// index returns the parsed index of a digest, parsing path on a miss.
func (c *Cache) index(hexDigest, path string) (*repo.IndexFile, error) {
	if c == nil {
		return parseIndexFile(path)
	}
	c.mu.Lock()
	if p, ok := c.parsed[hexDigest]; ok {
		p.used = time.Now()
		c.mu.Unlock()
		return p.index, nil
	}
	c.mu.Unlock()
	idx, err := parseIndexFile(path)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.parsed[hexDigest] = &parsedIndex{index: idx, used: time.Now()}
	for len(c.parsed) > maxParsedIndexes {
		oldest := ""
		for k, p := range c.parsed {
			if oldest == "" || p.used.Before(c.parsed[oldest].used) {
				oldest = k
			}
		}
		delete(c.parsed, oldest)
	}
	return idx, nil
}

// trimAlgo returns the hex part of "sha256:<hex>", or digest as it is.
func trimAlgo(digest string) string {
	if _, hexPart, ok := strings.Cut(digest, ":"); ok {
		return hexPart
	}
	return digest
}

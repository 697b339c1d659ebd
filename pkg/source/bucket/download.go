package bucket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
)

// Default download bounds.
const (
	DefaultMaxBytes    int64 = 1 << 30
	DefaultMaxObjects        = 100_000
	DefaultConcurrency       = 4
)

// DownloadOptions bound and shape a Download.
type DownloadOptions struct {
	// Have lists the objects that dir already holds (e.g. extracted from the
	// previous artifact); those whose ETag is unchanged are not downloaded.
	Have Index
	// MaxBytes caps the total size of the objects; 0 means DefaultMaxBytes.
	MaxBytes int64
	// MaxObjects caps their number; 0 means DefaultMaxObjects.
	MaxObjects int
	// Concurrency is the number of parallel downloads; 0 means DefaultConcurrency.
	Concurrency int
	// IgnoreFile is the .sourceignore that Snapshot already read: when the
	// index holds it with the same ETag, it is written, not downloaded again.
	IgnoreFile *IgnoreFile
}

// DownloadStats says what a Download did.
type DownloadStats struct {
	Downloaded int   // objects fetched
	Bytes      int64 // bytes fetched
	Reused     int   // objects kept from Have
	Removed    int   // files of dir that are no longer in the index
}

// Download makes dir hold exactly the objects of ix, each at its key: files
// that are not in ix (or whose object changed since Have) are removed, and
// missing objects are downloaded. Every key is checked before anything is
// downloaded: absolute keys and keys with "." or ".." segments are refused
// (ErrUnsafeKey), as is an index over the bounds (ErrLimit). Each download
// asks for the listed ETag and size, so dir matches the index's revision or
// the call fails with ErrChanged. On error dir holds a partial tree.
func (c *Client) Download(ctx context.Context, ix Index, dir string, o DownloadOptions) (DownloadStats, error) {
	var st DownloadStats
	if err := checkIndex(ix, o); err != nil {
		return st, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return st, err
	}
	defer root.Close()

	have := map[string]bool{}
	if removed, err := prune(root, dir, ix, o.Have, have); err != nil {
		return st, fmt.Errorf("removing stale files: %w", err)
	} else {
		st.Removed = removed
	}
	var todo []Object
	for _, obj := range ix {
		switch {
		case have[obj.Key]:
			st.Reused++
		case obj.Key == IgnoreFileKey && o.IgnoreFile != nil && o.IgnoreFile.ETag == obj.ETag && int64(len(o.IgnoreFile.Data)) == obj.Size:
			if err := root.WriteFile(IgnoreFileKey, o.IgnoreFile.Data, 0o644); err != nil {
				return st, fmt.Errorf("writing %s: %w", IgnoreFileKey, err)
			}
			st.Reused++
		default:
			todo = append(todo, obj)
		}
	}

	workers := o.Concurrency
	if workers <= 0 {
		workers = DefaultConcurrency
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan Object)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range min(workers, len(todo)) {
		wg.Go(func() {
			for obj := range jobs {
				n, err := c.fetch(ctx, root, obj)
				mu.Lock()
				st.Bytes += n
				if err == nil {
					st.Downloaded++
				}
				mu.Unlock()
				if err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for _, obj := range todo {
		select {
		case jobs <- obj:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return st, err
	}
	return st, nil
}

func checkIndex(ix Index, o DownloadOptions) error {
	maxObjects, maxBytes := o.MaxObjects, o.MaxBytes
	if maxObjects == 0 {
		maxObjects = DefaultMaxObjects
	}
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	if maxObjects > 0 && len(ix) > maxObjects {
		return fmt.Errorf("%w: %d objects, more than the %d allowed: narrow spec.prefix or add rules to spec.ignore", ErrLimit, len(ix), maxObjects)
	}
	if size := ix.Size(); maxBytes > 0 && size > maxBytes {
		return fmt.Errorf("%w: %d bytes, more than the %d allowed: narrow spec.prefix or add rules to spec.ignore", ErrLimit, size, maxBytes)
	}
	for _, obj := range ix {
		if err := CheckKey(obj.Key); err != nil {
			return err
		}
		if obj.Size < 0 {
			return fmt.Errorf("object %q has a negative size", obj.Key)
		}
	}
	return nil
}

// CheckKey refuses keys that are not plain relative paths: empty, absolute,
// with "." or ".." segments or empty ones ("a//b"), or with a NUL byte.
func CheckKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.ContainsRune(key, 0) ||
		path.Clean(key) != key || !filepath.IsLocal(filepath.FromSlash(key)) {
		return fmt.Errorf("%w: %q is not a relative path without \".\" or \"..\": rename the object or add it to spec.ignore", ErrUnsafeKey, key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == ".." || seg == "." {
			return fmt.Errorf("%w: %q has a %q segment: rename the object or add it to spec.ignore", ErrUnsafeKey, key, seg)
		}
	}
	return nil
}

// prune removes the files of dir that ix does not want as they are, records
// the ones it keeps in kept, and removes directories left empty.
func prune(root *os.Root, dir string, ix, have Index, kept map[string]bool) (int, error) {
	removed := 0
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			dirs = append(dirs, rel)
			return nil
		}
		want, inIx := ix.Lookup(key)
		had, inHave := have.Lookup(key)
		if d.Type().IsRegular() && inIx && inHave && had.ETag == want.ETag && had.ETag != "" {
			kept[key] = true
			return nil
		}
		removed++
		return root.Remove(rel)
	})
	if err != nil {
		return removed, err
	}
	// Deepest first, so that a parent is empty once its children are gone.
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	for _, d := range dirs {
		_ = root.Remove(d) // fails, harmlessly, when not empty
	}
	return removed, nil
}

// fetch downloads one object into the root, checking its ETag and size.
func (c *Client) fetch(ctx context.Context, root *os.Root, obj Object) (int64, error) {
	rel := filepath.FromSlash(obj.Key)
	if parent := filepath.Dir(rel); parent != "." {
		if err := root.MkdirAll(parent, 0o755); err != nil {
			return 0, fmt.Errorf("creating the directory of object %q (does another object have the name of one of its directories?): %w", obj.Key, err)
		}
	}
	opts := minio.GetObjectOptions{}
	if obj.ETag != "" {
		if err := opts.SetMatchETag(obj.ETag); err != nil {
			return 0, err
		}
	}
	r, err := c.mc.GetObject(ctx, c.bucket, obj.Key, opts)
	if err != nil {
		return 0, c.classify(fmt.Sprintf("downloading %q", obj.Key), err)
	}
	defer r.Close()
	f, err := root.OpenFile(rel, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, fmt.Errorf("writing object %q: %w", obj.Key, err)
	}
	n, err := io.Copy(f, io.LimitReader(r, obj.Size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) {
			return n, c.classify(fmt.Sprintf("downloading %q", obj.Key), resp)
		}
		return n, fmt.Errorf("downloading %q: %w", obj.Key, err)
	}
	if n != obj.Size {
		return n, fmt.Errorf("%w: %q was listed with %d bytes but %d were read: the next reconcile retries", ErrChanged, obj.Key, obj.Size, n)
	}
	return n, nil
}

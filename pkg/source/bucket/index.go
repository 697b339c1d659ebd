package bucket

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/tether-gitops/tether/pkg/source/git"
)

// IgnoreFileKey is the object, at the root of the bucket, whose gitignore
// rules (like a .sourceignore in Git) leave objects out of the artifact.
const IgnoreFileKey = git.SourceIgnoreFile

// maxIgnoreFileSize bounds the .sourceignore object.
const maxIgnoreFileSize = 1 << 20

// Object is one object of a listing.
type Object struct {
	Key  string
	ETag string
	Size int64
}

// Index is a listing sorted by key.
type Index []Object

// Revision is "sha256:<hex>" over the sorted keys and ETags: it changes when
// an object is added, removed or rewritten, and costs no download.
func (ix Index) Revision() string {
	h := sha256.New()
	for _, o := range ix {
		// Length-prefixed, so that no two listings hash alike.
		fmt.Fprintf(h, "%d:%s %d:%s\n", len(o.Key), o.Key, len(o.ETag), o.ETag)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Size is the sum of the objects' sizes.
func (ix Index) Size() int64 {
	var n int64
	for _, o := range ix {
		n += o.Size
	}
	return n
}

// Lookup finds an object by key.
func (ix Index) Lookup(key string) (Object, bool) {
	i := sort.Search(len(ix), func(i int) bool { return ix[i].Key >= key })
	if i < len(ix) && ix[i].Key == key {
		return ix[i], true
	}
	return Object{}, false
}

// IgnoreFile is the content of the bucket's .sourceignore, kept by the caller
// between polls so that an unchanged one (same ETag) is not downloaded again.
type IgnoreFile struct {
	ETag string
	Data []byte
}

// SnapshotOptions select what a Snapshot covers.
type SnapshotOptions struct {
	// Prefix restricts the listing to keys that start with it.
	Prefix string
	// Ignore holds extra gitignore rules (spec.ignore), applied after the
	// bucket's .sourceignore.
	Ignore *string
	// CachedIgnoreFile is the IgnoreFile of the previous Snapshot, if any.
	CachedIgnoreFile *IgnoreFile
}

// Snapshot is the bucket's state as one poll sees it.
type Snapshot struct {
	// Index lists the objects that pass the ignore rules.
	Index Index
	// Revision is Index.Revision().
	Revision string
	// IgnoreFile is the bucket's .sourceignore (nil if there is none), to pass
	// as CachedIgnoreFile next time.
	IgnoreFile *IgnoreFile
	// Ignored counts the objects the rules left out.
	Ignored int
}

// Snapshot lists the prefix recursively and applies the ignore rules, without
// downloading any object but a changed .sourceignore. Directory markers (keys
// ending in "/") are skipped.
func (c *Client) Snapshot(ctx context.Context, o SnapshotOptions) (Snapshot, error) {
	all, err := c.List(ctx, o.Prefix)
	if err != nil {
		return Snapshot{}, err
	}
	file, err := c.ignoreFile(ctx, all, o.Prefix, o.CachedIgnoreFile)
	if err != nil {
		return Snapshot{}, err
	}
	ignored, err := ignoreRules(file, o.Ignore)
	if err != nil {
		return Snapshot{}, err
	}
	kept := make(Index, 0, len(all))
	for _, obj := range all {
		if !ignored(obj.Key) {
			kept = append(kept, obj)
		}
	}
	return Snapshot{Index: kept, Revision: kept.Revision(), IgnoreFile: file, Ignored: len(all) - len(kept)}, nil
}

// List lists every object under prefix, sorted by key.
func (c *Client) List(ctx context.Context, prefix string) (Index, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine on an early return
	var ix Index
	for obj := range c.mc.ListObjects(ctx, c.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, c.classify("listing objects", obj.Err)
		}
		if strings.HasSuffix(obj.Key, "/") {
			continue
		}
		ix = append(ix, Object{Key: obj.Key, ETag: strings.Trim(obj.ETag, `"`), Size: obj.Size})
	}
	sort.Slice(ix, func(i, j int) bool { return ix[i].Key < ix[j].Key })
	return ix, nil
}

// ignoreFile returns the bucket's .sourceignore, downloading it only when its
// ETag differs from the cached one. When the prefix leaves it out of the
// listing, one HEAD request looks for it.
func (c *Client) ignoreFile(ctx context.Context, all Index, prefix string, cached *IgnoreFile) (*IgnoreFile, error) {
	obj, ok := all.Lookup(IgnoreFileKey)
	if !ok && !strings.HasPrefix(IgnoreFileKey, prefix) {
		info, err := c.mc.StatObject(ctx, c.bucket, IgnoreFileKey, minio.StatObjectOptions{})
		if err = c.classify("reading "+IgnoreFileKey, err); err != nil && !isNoSuchKey(err) {
			return nil, err
		}
		if err == nil {
			obj, ok = Object{Key: IgnoreFileKey, ETag: strings.Trim(info.ETag, `"`), Size: info.Size}, true
		}
	}
	if !ok {
		return nil, nil
	}
	if cached != nil && cached.ETag == obj.ETag && obj.ETag != "" {
		return cached, nil
	}
	if obj.Size > maxIgnoreFileSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than the %d allowed", ErrLimit, IgnoreFileKey, obj.Size, maxIgnoreFileSize)
	}
	r, err := c.mc.GetObject(ctx, c.bucket, IgnoreFileKey, minio.GetObjectOptions{})
	if err != nil {
		return nil, c.classify("reading "+IgnoreFileKey, err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxIgnoreFileSize+1))
	if err != nil {
		return nil, c.classify("reading "+IgnoreFileKey, err)
	}
	if len(data) > maxIgnoreFileSize {
		return nil, fmt.Errorf("%w: %s is larger than the %d bytes allowed", ErrLimit, IgnoreFileKey, maxIgnoreFileSize)
	}
	return &IgnoreFile{ETag: obj.ETag, Data: data}, nil
}

// ignoreRules builds the predicate from the .sourceignore and spec.ignore,
// with the same rules (and defaults) as Git sources. A key is ignored when
// it, or any of its parent directories, matches. The predicate is not safe
// for concurrent use.
func ignoreRules(file *IgnoreFile, spec *string) (func(key string) bool, error) {
	dir, err := os.MkdirTemp("", "bucket-ignore-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if file != nil {
		if err := os.WriteFile(filepath.Join(dir, IgnoreFileKey), file.Data, 0o600); err != nil {
			return nil, err
		}
	}
	match, err := git.LoadIgnore(dir, spec)
	if err != nil {
		return nil, fmt.Errorf("reading the ignore rules: %w", err)
	}
	dirs := map[string]bool{} // keys share few directories: match each once
	return func(key string) bool {
		for i := 0; i < len(key); i++ {
			if key[i] != '/' || i == 0 {
				continue
			}
			ignored, ok := dirs[key[:i]]
			if !ok {
				ignored = match(key[:i], true)
				dirs[key[:i]] = ignored
			}
			if ignored {
				return true
			}
		}
		return match(key, false)
	}, nil
}

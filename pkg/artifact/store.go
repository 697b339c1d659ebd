// Package artifact is the reconciler's artifact store: sources write their
// content here as files (mostly deterministic .tar.gz archives), consumers in
// the same process read them directly, other clients fetch them over HTTP, and
// old files are garbage collected. It also holds the safe archive extraction
// that every consumer uses.
//
// Layout under the root: <kind-lowercase>/<namespace>/<name>/<sha256-hex>.<ext>.
// Naming files by digest makes them immutable, so a reader never sees a file
// change under it and an unchanged source reuses the file it already has.
package artifact

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// DefaultRetention is how many artifact files GC keeps per object: the current
// one and the previous one, so a consumer that read the old status just
// before an update can still fetch what it was pointed at.
const DefaultRetention = 2

// tempPrefix marks files being written. The leading dot keeps them out of the
// HTTP handler and LocalPath, which refuse dot-files.
const tempPrefix = ".tmp-"

// digestPrefix is the only algorithm the store writes.
const digestPrefix = "sha256:"

// ErrDigestMismatch means a stored file no longer matches its artifact's digest
// (or size): it was modified or truncated after it was written.
var ErrDigestMismatch = errors.New("artifact content does not match its digest")

// ObjectRef names the object that owns artifacts, such as a GitRepository.
type ObjectRef struct {
	Kind, Namespace, Name string
}

func (o ObjectRef) String() string {
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// dir is the object's directory relative to the root, slash-separated. Each
// part must be a single plain path segment: Kubernetes names already are, and
// checking it here keeps a bad ref from ever addressing another object's files.
func (o ObjectRef) dir() (string, error) {
	for _, p := range []string{o.Kind, o.Namespace, o.Name} {
		if !validSegment(p) {
			return "", fmt.Errorf("invalid object reference %q: kind, namespace and name must be non-empty and contain only letters, digits, '.', '-' or '_'", o.String())
		}
	}
	return strings.ToLower(o.Kind) + "/" + o.Namespace + "/" + o.Name, nil
}

func validSegment(s string) bool {
	if s == "" || s == "." || s == ".." || strings.HasPrefix(s, ".") {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// Store keeps artifact files under a root directory. It is safe for
// concurrent use. It assumes it is the only writer of its root (the
// reconciler runs with leader election), so any temp file GC finds while
// holding the object's lock was left behind by a crash.
type Store struct {
	root      string // absolute, symlinks resolved
	baseURL   string // no trailing slash
	retention int
	limits    Limits

	// Striped per-object locks: writes and GC of one object never interleave,
	// different objects rarely contend, and memory stays bounded.
	locks [64]sync.Mutex
}

// Option configures a Store.
type Option func(*Store)

// WithRetention sets how many artifact files GC keeps per object, the current
// one included. Values below 1 mean 1.
func WithRetention(n int) Option {
	return func(s *Store) { s.retention = max(n, 1) }
}

// WithLimits sets the limits ExtractTo applies.
func WithLimits(l Limits) Option {
	return func(s *Store) { s.limits = l }
}

// NewStore opens (creating if needed) the store rooted at root. advertisedURL
// is the base URL other clients reach Handler at, e.g.
// "http://tether-reconciler.tether-system.svc"; artifact URLs are
// advertisedURL + "/" + Path.
func NewStore(root, advertisedURL string, opts ...Option) (*Store, error) {
	if root == "" {
		return nil, errors.New("artifact storage path is empty")
	}
	u, err := url.Parse(advertisedURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("advertised artifact URL %q must be an absolute http(s) URL", advertisedURL)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("creating artifact storage: %w", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("artifact storage path: %w", err)
	}
	// Resolve once so LocalPath's containment check compares real paths.
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("artifact storage path: %w", err)
	}
	s := &Store{
		root:      abs,
		baseURL:   strings.TrimRight(advertisedURL, "/"),
		retention: DefaultRetention,
		limits:    DefaultLimits(),
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Root returns the absolute storage directory.
func (s *Store) Root() string { return s.root }

func (s *Store) lock(dir string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(dir))
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

// StoreReader stores everything r yields as an artifact of obj with the given
// file extension (without dot, e.g. "yaml", "tgz", "tar.gz"). The caller
// bounds r if it comes from an untrusted source.
func (s *Store) StoreReader(obj ObjectRef, r io.Reader, revision, ext string) (meta.Artifact, error) {
	return s.write(obj, revision, ext, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}

// write streams fill's output into a temp file next to its final place,
// hashing as it goes, then renames it to <digest>.<ext>. If that file already
// exists the content is identical, so it is kept and only its mtime refreshed
// (GC orders by mtime). The rename is atomic, so readers see either no file or
// the whole file; fsyncing the file and directory makes it survive a crash.
func (s *Store) write(obj ObjectRef, revision, ext string, fill func(io.Writer) error) (_ meta.Artifact, err error) {
	dir, err := obj.dir()
	if err != nil {
		return meta.Artifact{}, err
	}
	if !validExt(ext) {
		return meta.Artifact{}, fmt.Errorf("invalid artifact extension %q", ext)
	}
	mu := s.lock(dir)
	mu.Lock()
	defer mu.Unlock()

	root, err := os.OpenRoot(s.root)
	if err != nil {
		return meta.Artifact{}, fmt.Errorf("opening artifact storage: %w", err)
	}
	defer root.Close()
	if err := root.MkdirAll(dir, 0o755); err != nil {
		return meta.Artifact{}, fmt.Errorf("creating artifact directory for %s: %w", obj, err)
	}

	tmp := dir + "/" + tempPrefix + rand.Text()
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return meta.Artifact{}, fmt.Errorf("creating artifact file for %s: %w", obj, err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = f.Close()
		}
		// Gone after a successful rename; removed on any failure or reuse.
		_ = root.Remove(tmp)
	}()

	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 64<<10)
	if err := fill(bw); err != nil {
		return meta.Artifact{}, fmt.Errorf("writing artifact for %s: %w", obj, err)
	}
	if err := bw.Flush(); err != nil {
		return meta.Artifact{}, fmt.Errorf("writing artifact for %s: %w", obj, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	rel := dir + "/" + sum + "." + ext
	now := time.Now()

	var size int64
	if fi, err := root.Lstat(rel); err == nil && fi.Mode().IsRegular() {
		if err := root.Chtimes(rel, now, now); err != nil {
			return meta.Artifact{}, fmt.Errorf("refreshing artifact %s: %w", rel, err)
		}
		size = fi.Size()
	} else {
		fi, err := f.Stat()
		if err != nil {
			return meta.Artifact{}, err
		}
		size = fi.Size()
		if err := f.Sync(); err != nil {
			return meta.Artifact{}, fmt.Errorf("syncing artifact for %s: %w", obj, err)
		}
		closed = true
		if err := f.Close(); err != nil {
			return meta.Artifact{}, fmt.Errorf("closing artifact for %s: %w", obj, err)
		}
		if err := root.Rename(tmp, rel); err != nil {
			return meta.Artifact{}, fmt.Errorf("storing artifact for %s: %w", obj, err)
		}
		if err := syncDir(root, dir); err != nil {
			return meta.Artifact{}, fmt.Errorf("syncing artifact directory for %s: %w", obj, err)
		}
	}

	return meta.Artifact{
		Path:           rel,
		URL:            s.baseURL + "/" + rel,
		Revision:       revision,
		Digest:         digestPrefix + sum,
		LastUpdateTime: metav1.NewTime(now),
		Size:           &size,
	}, nil
}

// syncDir makes a rename in dir durable.
func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func validExt(ext string) bool {
	return validSegment(ext) && !strings.HasSuffix(ext, ".") && !strings.Contains(ext, "..")
}

// validRel reports whether p is a store-relative path the store could have
// written: slash-separated, no "." / ".." / empty elements, no dot-files
// (which also hides temp files).
func validRel(p string) bool {
	if p == "." || !fs.ValidPath(p) || strings.Contains(p, `\`) {
		return false
	}
	for part := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	return true
}

// LocalPath returns the artifact's file path on this machine, for consumers
// in the same process. It rejects paths that would leave the root. The store
// only ever writes regular files, so the path involves no symlinks unless
// someone else put them there; Open is the symlink-proof way to read.
func (s *Store) LocalPath(a meta.Artifact) (string, error) {
	if !validRel(a.Path) {
		return "", fmt.Errorf("artifact path %q is not a valid path inside the storage root", a.Path)
	}
	return filepath.Join(s.root, filepath.FromSlash(a.Path)), nil
}

// Open opens the artifact's file for reading. Symlinks are only followed while
// they stay inside the root, and the result must be a regular file.
func (s *Store) Open(a meta.Artifact) (*os.File, error) {
	if !validRel(a.Path) {
		return nil, fmt.Errorf("artifact path %q is not a valid path inside the storage root", a.Path)
	}
	root, err := os.OpenRoot(s.root)
	if err != nil {
		return nil, fmt.Errorf("opening artifact storage: %w", err)
	}
	defer root.Close()
	f, err := root.Open(a.Path)
	if err != nil {
		return nil, fmt.Errorf("opening artifact: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("opening artifact: %w", err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("opening artifact %s: not a regular file", a.Path)
	}
	return f, nil
}

// Exists reports whether the artifact's file is present.
func (s *Store) Exists(a meta.Artifact) bool {
	f, err := s.Open(a)
	if err != nil {
		return false
	}
	_ = f.Close()
	return true
}

// Verify recomputes the file's digest (and checks its size, when recorded)
// and returns an error wrapping ErrDigestMismatch if either differs.
func (s *Store) Verify(a meta.Artifact) error {
	want, err := digestHex(a.Digest)
	if err != nil {
		return err
	}
	f, err := s.Open(a)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("reading artifact %s: %w", a.Path, err)
	}
	return checkDigest(a, want, h.Sum(nil), n)
}

func checkDigest(a meta.Artifact, want string, sum []byte, n int64) error {
	if got := hex.EncodeToString(sum); got != want {
		return fmt.Errorf("artifact %s: %w: file has %s%s, artifact records %s", a.Path, ErrDigestMismatch, digestPrefix, got, a.Digest)
	}
	if a.Size != nil && *a.Size != n {
		return fmt.Errorf("artifact %s: %w: file has %d bytes, artifact records %d", a.Path, ErrDigestMismatch, n, *a.Size)
	}
	return nil
}

func digestHex(d string) (string, error) {
	hx, ok := strings.CutPrefix(d, digestPrefix)
	if !ok || !isSHA256Hex(hx) {
		return "", fmt.Errorf("artifact digest %q is not a sha256 digest", d)
	}
	return hx, nil
}

func isSHA256Hex(s string) bool {
	if len(s) != sha256.Size*2 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ExtractTo unpacks the artifact (a tar or tar.gz) into dir with the store's
// limits, checking its digest on the way. It extracts into a temporary
// sibling of dir and renames it into place only on success, so dir either
// gets the whole content or is not created: dir must not exist, or be an
// empty directory.
func (s *Store) ExtractTo(a meta.Artifact, dir string) (err error) {
	want := ""
	if a.Digest != "" {
		if want, err = digestHex(a.Digest); err != nil {
			return err
		}
	}
	f, err := s.Open(a)
	if err != nil {
		return err
	}
	defer f.Close()

	dir = filepath.Clean(dir)
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".extract-*")
	if err != nil {
		return fmt.Errorf("extracting artifact %s: %w", a.Path, err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	// MkdirTemp creates 0700; the result should look like any other directory.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("extracting artifact %s: %w", a.Path, err)
	}

	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(f, h)}
	if err := Extract(cr, tmp, s.limits); err != nil {
		return fmt.Errorf("extracting artifact %s: %w", a.Path, err)
	}
	if want != "" {
		// Extract stops at the end-of-archive marker; hash the rest too.
		if _, err := io.Copy(io.Discard, cr); err != nil {
			return fmt.Errorf("reading artifact %s: %w", a.Path, err)
		}
		if err := checkDigest(a, want, h.Sum(nil), cr.n); err != nil {
			return err
		}
	}
	// os.Rename refuses to replace a directory, even an empty one; os.Remove
	// only removes an empty one, so a populated dir is never clobbered.
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("extracting artifact %s: destination: %w", a.Path, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("extracting artifact %s: moving into place: %w", a.Path, err)
	}
	return nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

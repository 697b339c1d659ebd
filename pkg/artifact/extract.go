package artifact

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
)

// Errors that Extract wraps (inside an *EntryError) so callers can tell an
// unsafe archive from an I/O failure.
var (
	// ErrPathEscapes: the entry's path, or a link's target, leaves the
	// destination or would be written through a symlink.
	ErrPathEscapes = errors.New("path escapes the destination")
	// ErrEntryType: devices, fifos and other non-content entries.
	ErrEntryType = errors.New("entry type not allowed")
	// ErrLimit: the archive exceeds a Limits bound.
	ErrLimit = errors.New("archive exceeds extraction limits")
	// ErrNotArchive: the input is neither gzip nor tar.
	ErrNotArchive = errors.New("not a tar or tar.gz archive")
)

// EntryError reports the archive entry Extract refused or failed on.
type EntryError struct {
	Name string // as written in the archive
	Err  error
}

func (e *EntryError) Error() string { return fmt.Sprintf("archive entry %s: %v", quote(e.Name), e.Err) }
func (e *EntryError) Unwrap() error { return e.Err }

// quote quotes an archive-supplied string for an error message, shortened so
// a hostile 4 KiB name cannot flood logs and status conditions.
func quote(s string) string {
	const max = 200
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// Limits bounds what Extract will unpack. A zero field means the default, a
// negative one means no limit.
type Limits struct {
	// MaxBytes caps the total size of regular file contents.
	MaxBytes int64
	// MaxFiles caps the entries of any type, counting directories (implied
	// ones too) once when created.
	MaxFiles int
	// MaxRatio caps uncompressed/compressed bytes of a gzip stream. It is
	// checked once 1 MiB has been decompressed (ratioFloor), because tiny
	// archives (mostly zero-filled tar headers) legitimately compress far
	// better than this.
	MaxRatio int
}

// ratioFloor is how much output a gzip stream may produce before MaxRatio applies.
const ratioFloor = 1 << 20

// DefaultLimits fit GitOps sources with a wide margin, while keeping a
// hostile archive from filling the disk or inode table:
//   - 1 GiB: far beyond any repository of manifests or chart, yet bounded.
//   - 100,000 entries: large monorepos have tens of thousands of files.
//   - ratio 100: tarred text compresses 5-20x (many tiny files ~25x, the
//     headers being mostly zeros); a gzip bomb reaches ~1000x, so it is
//     stopped after a few MiB rather than at MaxBytes.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 1 << 30, MaxFiles: 100_000, MaxRatio: 100}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes == 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxFiles == 0 {
		l.MaxFiles = d.MaxFiles
	}
	if l.MaxRatio == 0 {
		l.MaxRatio = d.MaxRatio
	}
	return l
}

// Extract unpacks a tar.gz (or plain tar, detected by its magic) from r into
// dir, creating dir if needed, and refuses anything that could reach outside
// dir:
//   - absolute names and names whose cleaned form climbs out with "..";
//   - writing through any symlink already in dir (including ones the archive
//     created earlier), so a link cannot redirect later entries;
//   - symlinks that are absolute or resolve outside dir, checked both when
//     created and once more at the end, since a later entry can change what an
//     earlier link resolves to;
//   - hard links whose target is not a regular file already inside dir;
//   - devices, fifos and sparse or unknown entry types.
//
// Files get mode 0755 if any exec bit is set in the archive, else 0644 (less
// the umask); directories 0755; owners and mtimes are not restored. A later
// entry replaces an earlier file of the same name but never a directory.
//
// On error dir holds a partial tree: extract into a fresh temporary directory
// and discard it on failure (Store.ExtractTo does). Every symlink left in dir
// resolves inside it, but a consumer that joins ".." after a symlink can
// still climb out, as with any directory; resolve paths before trusting them.
func Extract(r io.Reader, dir string, l Limits) error {
	l = l.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating extraction directory: %w", err)
	}
	// os.Root is the backstop: even if a check below were wrong, no
	// operation through it can leave dir.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("opening extraction directory: %w", err)
	}
	defer root.Close()

	in := &countingReader{r: r}
	src, err := decompress(in, l)
	if err != nil {
		return err
	}
	x := &extractor{
		root:   root,
		links:  &linkResolver{fsys: root.FS().(fs.ReadLinkFS), budget: extractLinkBudget},
		limits: l,
		dirs:   map[string]bool{},
		buf:    make([]byte, 32<<10),
	}
	defer x.closeSub()
	tr := tar.NewReader(src)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			return x.streamError(src, err)
		}
		if err := x.entry(tr, hdr); err != nil {
			if le := limitError(src); le != nil {
				err = le
			}
			return &EntryError{Name: hdr.Name, Err: err}
		}
		x.last = hdr.Name
	}
	if rr, ok := src.(*ratioReader); ok {
		// The tar reader stops at the end-of-archive marker; read on to the
		// gzip trailer so its checksum catches corrupted content. Padding is
		// at most a few KiB; more than trailerLimit is not worth reading.
		if _, err := io.CopyN(io.Discard, rr, trailerLimit); err != nil && err != io.EOF {
			return x.streamError(src, err)
		}
	}
	return x.checkLinks()
}

// trailerLimit is how much of the gzip stream Extract reads past the end of
// the tar archive to reach the checksum.
const trailerLimit = 1 << 20

// decompress sniffs the stream: gzip by its magic, tar by the "ustar" magic
// or an all-zero first block (an empty archive).
func decompress(in *countingReader, l Limits) (io.Reader, error) {
	br := bufio.NewReader(in)
	head, _ := br.Peek(512)
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading archive: %w", err)
		}
		gz.Multistream(false) // one member; trailing bytes are ignored
		return &ratioReader{r: gz, in: in, max: int64(l.MaxRatio)}, nil
	case len(head) == 512 && (bytes.Equal(head[257:262], []byte("ustar")) || bytes.Count(head, []byte{0}) == 512):
		return br, nil
	default:
		return nil, ErrNotArchive
	}
}

// ratioReader fails once the output outgrows the compressed input read so far
// by more than max. The input count includes bufio's read-ahead (at most 4
// KiB), which only errs on the lenient side.
type ratioReader struct {
	r   io.Reader
	in  *countingReader
	out int64
	max int64
	err error
}

func (rr *ratioReader) Read(p []byte) (int, error) {
	if rr.err != nil {
		return 0, rr.err
	}
	n, err := rr.r.Read(p)
	rr.out += int64(n)
	if rr.max > 0 && rr.out > ratioFloor && rr.out > rr.in.n*rr.max {
		rr.err = fmt.Errorf("%w: decompression ratio above %d:1 (%d bytes from %d)", ErrLimit, rr.max, rr.out, rr.in.n)
		return n, rr.err
	}
	return n, err
}

// limitError returns the ratio error if that is what stopped the read, since
// archive/tar may wrap or replace it.
func limitError(src io.Reader) error {
	if rr, ok := src.(*ratioReader); ok {
		return rr.err
	}
	return nil
}

type extractor struct {
	root    *os.Root
	links   *linkResolver
	limits  Limits
	dirs    map[string]bool // directories known to be real (not symlinks)
	created []link          // symlinks created, re-checked at the end
	files   int
	bytes   int64
	buf     []byte
	last    string // last entry processed, for errors between entries
	sub     *os.Root
	subDir  string
}

type link struct{ entry, name string }

// dirRoot returns a Root for directory rel (already made by mkdirAll). The
// last one is cached: archives list a directory's files together, and
// opening the file relative to its directory saves resolving the whole path
// for every file.
func (x *extractor) dirRoot(rel string) (*os.Root, error) {
	if rel == "." {
		return x.root, nil
	}
	if x.sub != nil && x.subDir == rel {
		return x.sub, nil
	}
	x.closeSub()
	sub, err := x.root.OpenRoot(rel)
	if err != nil {
		return nil, err
	}
	x.sub, x.subDir = sub, rel
	return sub, nil
}

func (x *extractor) closeSub() {
	if x.sub != nil {
		_ = x.sub.Close()
		x.sub, x.subDir = nil, ""
	}
}

func (x *extractor) streamError(src io.Reader, err error) error {
	if le := limitError(src); le != nil {
		err = le
	}
	if x.last == "" {
		return fmt.Errorf("reading archive: %w", err)
	}
	return fmt.Errorf("reading archive after entry %s: %w", quote(x.last), err)
}

func (x *extractor) entry(tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // PAX defaults, not a file
	}
	// Directories count when created, including implicit parents.
	if hdr.Typeflag != tar.TypeDir {
		if err := x.count(); err != nil {
			return err
		}
	}
	name, err := localName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "." && hdr.Typeflag != tar.TypeDir {
		return fmt.Errorf("%w (names the destination itself)", ErrPathEscapes)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.mkdirAll(name)
	case tar.TypeReg: // archive/tar already maps the legacy TypeRegA here
		return x.file(tr, name, hdr)
	case tar.TypeSymlink:
		return x.symlink(hdr.Name, name, hdr.Linkname)
	case tar.TypeLink:
		return x.hardlink(name, hdr.Linkname)
	case tar.TypeChar:
		return fmt.Errorf("%w (character device)", ErrEntryType)
	case tar.TypeBlock:
		return fmt.Errorf("%w (block device)", ErrEntryType)
	case tar.TypeFifo:
		return fmt.Errorf("%w (fifo)", ErrEntryType)
	case tar.TypeGNUSparse:
		return fmt.Errorf("%w (sparse file)", ErrEntryType)
	default:
		return fmt.Errorf("%w (type %q)", ErrEntryType, hdr.Typeflag)
	}
}

func (x *extractor) count() error {
	if x.files++; x.limits.MaxFiles > 0 && x.files > x.limits.MaxFiles {
		return fmt.Errorf("%w: more than %d entries", ErrLimit, x.limits.MaxFiles)
	}
	return nil
}

// maxName is Linux's PATH_MAX. It also bounds how deep one entry can nest
// the directories it implies.
const maxName = 4096

// localName cleans an archive name to a slash-separated path inside the
// destination ("." for the destination itself).
func localName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w (empty name)", ErrPathEscapes)
	}
	if len(name) > maxName {
		return "", fmt.Errorf("%w: name longer than %d bytes", ErrLimit, maxName)
	}
	if path.IsAbs(name) || filepath.IsAbs(name) || filepath.VolumeName(name) != "" {
		return "", fmt.Errorf("%w (absolute path)", ErrPathEscapes)
	}
	clean := path.Clean(name)
	if clean == "." {
		return clean, nil
	}
	if !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", ErrPathEscapes
	}
	return clean, nil
}

// mkdirAll creates rel and its parents, refusing to go through anything that
// is not a real directory.
func (x *extractor) mkdirAll(rel string) error {
	if rel == "." || x.dirs[rel] {
		return nil
	}
	if err := x.mkdirAll(path.Dir(rel)); err != nil {
		return err
	}
	fi, err := x.root.Lstat(rel)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w (goes through symlink %s)", ErrPathEscapes, quote(rel))
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%s exists and is not a directory", quote(rel))
	case errors.Is(err, fs.ErrNotExist):
		if err := x.count(); err != nil {
			return err
		}
		if err := x.root.Mkdir(rel, 0o755); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	x.dirs[rel] = true
	return nil
}

// prepare makes name's parents and removes an earlier non-directory entry of
// the same name, so the new one is created afresh (O_EXCL) rather than
// written through whatever was there.
func (x *extractor) prepare(name string) error {
	if err := x.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	fi, err := x.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("would replace a directory")
	}
	return x.root.Remove(name)
}

func (x *extractor) file(tr *tar.Reader, name string, hdr *tar.Header) error {
	if x.limits.MaxBytes > 0 && hdr.Size > x.limits.MaxBytes-x.bytes {
		return fmt.Errorf("%w: more than %d bytes uncompressed", ErrLimit, x.limits.MaxBytes)
	}
	if err := x.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	mode := fs.FileMode(0o644)
	if hdr.Mode&0o111 != 0 {
		mode = 0o755
	}
	// Create first and clear a previous entry only if there is one: saves
	// a lookup per file in the common case.
	const flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	dir, err := x.dirRoot(path.Dir(name))
	if err != nil {
		return err
	}
	f, err := dir.OpenFile(path.Base(name), flags, mode)
	if errors.Is(err, fs.ErrExist) {
		if err := x.prepare(name); err != nil {
			return err
		}
		f, err = dir.OpenFile(path.Base(name), flags, mode)
	}
	if err != nil {
		return err
	}
	// Hide the optional interfaces so CopyBuffer uses our buffer instead of
	// allocating one per file.
	n, err := io.CopyBuffer(struct{ io.Writer }{f}, struct{ io.Reader }{tr}, x.buf)
	x.bytes += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (x *extractor) symlink(entry, name, target string) error {
	if target == "" || path.IsAbs(target) || filepath.IsAbs(target) {
		return fmt.Errorf("%w (symlink target %s)", ErrPathEscapes, quote(target))
	}
	if err := x.prepare(name); err != nil {
		return err
	}
	if !x.links.inside(path.Dir(name), target) {
		return x.linkError(target, "")
	}
	if err := x.root.Symlink(target, name); err != nil {
		return err
	}
	x.created = append(x.created, link{entry: entry, name: name})
	return nil
}

func (x *extractor) hardlink(name, target string) error {
	t, err := localName(target)
	if err != nil || t == "." {
		return fmt.Errorf("%w (hard link target %s)", ErrPathEscapes, quote(target))
	}
	// The target must be reachable without symlinks and be a regular file.
	for p := path.Dir(t); p != "."; p = path.Dir(p) {
		if !x.dirs[p] {
			if fi, err := x.root.Lstat(p); err != nil || !fi.IsDir() {
				return fmt.Errorf("%w (hard link target %s is not a file inside the destination)", ErrPathEscapes, quote(target))
			}
		}
	}
	if fi, err := x.root.Lstat(t); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("%w (hard link target %s is not a file inside the destination)", ErrPathEscapes, quote(target))
	}
	if t == name {
		return errors.New("hard link to itself")
	}
	if err := x.prepare(name); err != nil {
		return err
	}
	return x.root.Link(t, name)
}

func (x *extractor) linkError(target, when string) error {
	if x.links.exhausted() {
		return fmt.Errorf("%w: symlinks too complex to verify", ErrLimit)
	}
	return fmt.Errorf("%w (symlink target %s%s)", ErrPathEscapes, quote(target), when)
}

// checkLinks re-resolves every symlink now that the tree is complete: a link
// that was inside when created can point out once later entries add the
// symlinks it goes through.
func (x *extractor) checkLinks() error {
	for _, l := range x.created {
		fi, err := x.root.Lstat(l.name)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			continue // replaced by a later entry
		}
		target, err := x.root.Readlink(l.name)
		if err != nil {
			return &EntryError{Name: l.entry, Err: err}
		}
		if !x.links.inside(path.Dir(l.name), target) {
			return &EntryError{Name: l.entry, Err: x.linkError(target, ", once the archive is complete")}
		}
	}
	return nil
}

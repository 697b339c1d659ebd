package artifact

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// epoch is the mtime of every archived entry: the Unix epoch rather than
// Go's zero time, which the ustar format cannot represent and would push the
// writer into a different header format.
var epoch = time.Unix(0, 0)

// ArchiveDir packs dir into a deterministic tar.gz and stores it as an
// artifact of obj. The same tree yields the same bytes (and digest) whatever
// its mtimes, owners or umask, so an unchanged source reuses its artifact:
// entries are in lexical walk order, mtimes are the epoch, uid/gid and names
// are empty, files are 0644 or 0755 (any exec bit), directories 0755.
// Devices, fifos and sockets are left out, and so are symlinks that do not
// resolve inside dir (absolute, escaping, or looping ones).
//
// filter, if not nil, is called with each slash-separated path relative to
// dir; returning false leaves the entry out (and, for a directory, all of it).
//
// A tree over the store's MaxBytes or MaxFiles is refused (ErrLimit): every
// consumer extracts with the same limits, so such an artifact would be stored
// only to fail everywhere it is used.
//
// The gzip stream is deterministic for a given Go release; a compress/flate
// change in a Go upgrade can change digests once, which only means one new
// artifact per source.
func (s *Store) ArchiveDir(obj ObjectRef, dir, revision string, filter func(rel string, d fs.DirEntry) bool) (meta.Artifact, error) {
	src, err := os.OpenRoot(dir)
	if err != nil {
		return meta.Artifact{}, fmt.Errorf("archiving %s: %w", dir, err)
	}
	defer src.Close()
	return s.write(obj, revision, "tar.gz", func(w io.Writer) error {
		return writeTarGz(w, src.FS().(fs.ReadLinkFS), filter, s.limits.withDefaults())
	})
}

// writeTarGz writes the deterministic archive of fsys to w.
func writeTarGz(w io.Writer, fsys fs.ReadLinkFS, filter func(string, fs.DirEntry) bool, l Limits) error {
	gz, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	buf := make([]byte, 32<<10)
	links := &linkResolver{fsys: fsys, budget: math.MaxInt} // our own checkout: no global cap
	var files int
	var size int64
	// count counts the entry about to be written, as Extract will.
	count := func() error {
		if files++; l.MaxFiles > 0 && files > l.MaxFiles {
			return fmt.Errorf("%w: more than %d entries", ErrLimit, l.MaxFiles)
		}
		return nil
	}

	// fs.WalkDir reads each directory sorted by name and does not follow
	// symlinks, which gives the deterministic order.
	err = fs.WalkDir(fsys, ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		if filter != nil && !filter(rel, d) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		hdr := &tar.Header{Name: rel, ModTime: epoch}
		switch t := d.Type(); {
		case t.IsDir():
			if err := count(); err != nil {
				return err
			}
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, rel+"/", 0o755
			return tw.WriteHeader(hdr)
		case t.IsRegular():
			if err := count(); err != nil {
				return err
			}
			if fi, err := d.Info(); err == nil {
				if size += fi.Size(); l.MaxBytes > 0 && size > l.MaxBytes {
					return fmt.Errorf("%w: more than %d bytes uncompressed", ErrLimit, l.MaxBytes)
				}
			}
			return addFile(tw, fsys, hdr, buf)
		case t&fs.ModeSymlink != 0:
			target, err := fsys.ReadLink(rel)
			if err != nil {
				return err
			}
			target = filepath.ToSlash(target)
			if !links.inside(path.Dir(rel), target) {
				return nil
			}
			if err := count(); err != nil {
				return err
			}
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, target, 0o777
			return tw.WriteHeader(hdr)
		default:
			return nil // device, fifo, socket: not content
		}
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func addFile(tw *tar.Writer, fsys fs.FS, hdr *tar.Header, buf []byte) error {
	f, err := fsys.Open(hdr.Name)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, fi.Size(), 0o644
	if fi.Mode()&0o111 != 0 {
		hdr.Mode = 0o755
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	// A file that changes size while being read fails here rather than
	// producing an archive that disagrees with its own headers.
	n, err := io.CopyBuffer(tw, io.LimitReader(f, hdr.Size), buf)
	if err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	if n != hdr.Size {
		return fmt.Errorf("%s: file shrank while being archived", hdr.Name)
	}
	return nil
}

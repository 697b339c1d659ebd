// Package kustomize renders the manifests at a path of a source artifact with
// kustomize, in memory: the spec's overlays (namespace, prefix/suffix,
// metadata, patches, images, components) are applied on top of the user's
// kustomization, and post-build variables are substituted afterwards.
//
// The reconciler and the CLI (tether build/diff) both render with this
// package, so what the CLI shows is what the reconciler applies.
package kustomize

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Limits of LoadDir: an artifact larger than this is refused rather than
// held in memory. Artifacts are already bounded when they are extracted;
// these are a second line of defence for directories from elsewhere (CLI).
const (
	DefaultMaxFiles       = 50_000
	DefaultMaxBytes int64 = 512 << 20
)

// root is where LoadDir puts the directory in the in-memory filesystem.
const root = "/"

// LoadDir loads the directory dir, typically an extracted artifact, into an
// in-memory filesystem rooted at "/", within DefaultMaxFiles and
// DefaultMaxBytes. Building from that filesystem can never read outside dir.
func LoadDir(dir string) (filesys.FileSystem, error) {
	return LoadDirLimited(dir, DefaultMaxFiles, DefaultMaxBytes)
}

// LoadDirLimited is LoadDir with explicit limits on the number of regular
// files and their total size.
//
// Symbolic links are followed only when they resolve inside dir: the file (or
// directory) they point to is loaded under the link's name. Links that point
// outside dir, or nowhere, make LoadDirLimited fail with an error naming
// each of them: silently dropping a manifest would make a later prune delete
// its objects. ".git" directories are skipped.
func LoadDirLimited(dir string, maxFiles int, maxBytes int64) (filesys.FileSystem, error) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	if fi, err := os.Stat(real); err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("load %s: not a directory", dir)
	}
	l := &dirLoader{
		root: real, fsys: filesys.MakeFsInMemory(),
		maxFiles: maxFiles, maxBytes: maxBytes,
	}
	if err := l.walk(real, "", map[string]bool{real: true}); err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	if len(l.badLinks) > 0 {
		return nil, fmt.Errorf("load %s: %w", dir, errors.Join(l.badLinks...))
	}
	return l.fsys, nil
}

type dirLoader struct {
	root     string
	fsys     filesys.FileSystem
	maxFiles int
	maxBytes int64
	files    int
	bytes    int64
	badLinks []error
}

// walk loads the real directory realDir as rel (slash-separated, relative to
// the root). ancestors holds the real paths of the directories being walked,
// so that a link to one of them does not loop forever.
func (l *dirLoader) walk(realDir, rel string, ancestors map[string]bool) error {
	entries, err := os.ReadDir(realDir)
	if err != nil {
		return err
	}
	if err := l.fsys.MkdirAll(path.Join(root, rel)); err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		relName := path.Join(rel, name)
		realName := filepath.Join(realDir, name)
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			target, err := l.resolveLink(realName)
			if err != nil {
				l.badLinks = append(l.badLinks, fmt.Errorf("%s: %w", relName, err))
				continue
			}
			fi, err := os.Stat(target)
			if err != nil {
				l.badLinks = append(l.badLinks, fmt.Errorf("%s: %w", relName, err))
				continue
			}
			realName, mode = target, fi.Mode().Type()
		}
		switch {
		case mode.IsDir():
			if name == ".git" {
				continue
			}
			if ancestors[realName] {
				return fmt.Errorf("%s: link loops back to a parent directory", relName)
			}
			ancestors[realName] = true
			err := l.walk(realName, relName, ancestors)
			delete(ancestors, realName)
			if err != nil {
				return err
			}
		case mode.IsRegular():
			if err := l.loadFile(realName, relName); err != nil {
				return err
			}
		default:
			// Sockets, devices and pipes are not manifests.
		}
	}
	return nil
}

// resolveLink returns the real path a link points to, if it is inside the
// root.
func (l *dirLoader) resolveLink(link string) (string, error) {
	target, err := filepath.EvalSymlinks(link)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", errors.New("link points to a file that does not exist")
		}
		return "", err
	}
	if !within(l.root, target) {
		dest, _ := os.Readlink(link)
		return "", fmt.Errorf("link points outside the directory (to %q)", dest)
	}
	return target, nil
}

func (l *dirLoader) loadFile(realName, rel string) error {
	l.files++
	if l.files > l.maxFiles {
		return fmt.Errorf("more than %d files", l.maxFiles)
	}
	data, err := os.ReadFile(realName)
	if err != nil {
		return err
	}
	l.bytes += int64(len(data))
	if l.bytes > l.maxBytes {
		return fmt.Errorf("more than %d bytes", l.maxBytes)
	}
	return l.fsys.WriteFile(path.Join(root, rel), data)
}

// within reports whether p is dir or below it; both are clean absolute paths.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// decryptFS hands every file kustomize reads to a decrypt function first, so
// only the files the build actually uses are decrypted, each when it is read.
type decryptFS struct {
	filesys.FileSystem
	decrypt func(path string, data []byte) ([]byte, error)
	skip    string // the kustomization file Build generated
	// failed is the first file that could not be decrypted: kustomize's
	// errors do not wrap the cause, so Build finds it here.
	failed *decryptError
}

func (d *decryptFS) ReadFile(p string) ([]byte, error) {
	data, err := d.FileSystem.ReadFile(p)
	if err != nil || p == d.skip {
		return data, err
	}
	name := strings.TrimPrefix(path.Clean(p), root)
	out, err := d.decrypt(name, data)
	if err != nil {
		de := &decryptError{name: name, err: err}
		if d.failed == nil {
			d.failed = de
		}
		return nil, de
	}
	return out, nil
}

// decryptError is a file that could not be decrypted. Build reports it as
// it is, without the layers kustomize puts around it.
type decryptError struct {
	name string
	err  error
}

func (e *decryptError) Error() string {
	// The SOPS decryptor's errors start with the file's name already.
	return e.name + ": cannot decrypt: " + strings.TrimPrefix(e.err.Error(), e.name+": ")
}

func (e *decryptError) Unwrap() error { return e.err }

package git

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// SourceIgnoreFile is the name of the per-directory ignore files LoadIgnore
// reads; each applies to its directory and below.
const SourceIgnoreFile = ".sourceignore"

// DefaultIgnore is what an artifact never contains unless a later rule
// re-includes it: Git metadata, CI configuration and binary media.
var DefaultIgnore = []string{
	// version control
	".git/",
	// CI
	".github/", ".gitlab/", ".gitlab-ci.yml", ".circleci/", ".travis.yml", ".drone.yml",
	".buildkite/", "appveyor.yml", "azure-pipelines.yml", "Jenkinsfile",
	// images, video and archives
	"*.jpg", "*.jpeg", "*.gif", "*.png", "*.wmv", "*.flv", "*.tar.gz", "*.zip",
}

// LoadIgnore returns a predicate saying whether a path of the tree at dir is
// excluded from the artifact. Rules, in increasing priority (gitignore
// syntax, later rules win, "!" re-includes): DefaultIgnore, then every
// .sourceignore in the tree (shallower first; each scoped to its directory),
// then specIgnore (if not nil), scoped to the root. rel is slash- or
// OS-separated and relative to dir.
func LoadIgnore(dir string, specIgnore *string) (func(rel string, isDir bool) bool, error) {
	ps := parsePatterns(strings.Join(DefaultIgnore, "\n"), nil)
	var spec []gitignore.Pattern
	if specIgnore != nil {
		spec = parsePatterns(*specIgnore, nil)
	}
	// The tree is a checkout: a .sourceignore may be a symlink committed to
	// the repository. Reading through a Root keeps it inside the tree (no
	// /proc/self/environ), and the cap keeps /dev/zero-like files out of memory.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("load ignore rules from %s: %w", dir, err)
	}
	defer root.Close()
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		var domain []string
		if rel != "." {
			domain = strings.Split(filepath.ToSlash(rel), "/")
			all := append(append([]gitignore.Pattern(nil), ps...), spec...)
			if gitignore.NewMatcher(all).Match(domain, true) {
				return fs.SkipDir // excluded: its .sourceignore files do not matter
			}
		}
		data, err := readIgnoreFile(root, filepath.Join(rel, SourceIgnoreFile))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", filepath.Join(rel, SourceIgnoreFile), err)
		}
		ps = append(ps, parsePatterns(string(data), domain)...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load ignore rules from %s: %w", dir, err)
	}
	ps = append(ps, spec...)
	m := gitignore.NewMatcher(ps)
	return func(rel string, isDir bool) bool {
		rel = path.Clean(filepath.ToSlash(rel))
		rel = strings.TrimPrefix(rel, "/")
		if rel == "." || rel == "" {
			return false
		}
		return m.Match(strings.Split(rel, "/"), isDir)
	}, nil
}

// maxIgnoreFileSize bounds one .sourceignore: rules, not content.
const maxIgnoreFileSize = 1 << 20

func readIgnoreFile(root *os.Root, name string) ([]byte, error) {
	// Stat before Open: opening a fifo would block.
	fi, err := root.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s): a .sourceignore holds ignore rules", fi.Mode().Type())
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxIgnoreFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxIgnoreFileSize {
		return nil, fmt.Errorf("larger than %d bytes: a .sourceignore holds ignore rules", maxIgnoreFileSize)
	}
	return data, nil
}

func parsePatterns(text string, domain []string) []gitignore.Pattern {
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps
}

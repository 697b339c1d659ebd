package artifact

import (
	"net/http"
	"os"
	"path"
	"strings"
)

// Handler serves the store read-only: GET and HEAD of an artifact's Path
// (the request path is taken as relative to the root; mount it at "/" or
// wrap it in http.StripPrefix). Anything that is not a plain store path (dot
// segments, "..", dot-files such as temp files) is a 400, directories and
// missing files are 404s, and symlinks are only followed while they stay
// inside the root. Range requests and conditional GETs are served by
// http.ServeContent; the ETag is the digest, which the file name already is.
func (s *Store) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Store) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// r.URL.Path is already percent-decoded, so "%2e%2e" arrives as "..".
	rel := strings.TrimPrefix(r.URL.Path, "/")
	if rel == "" {
		http.NotFound(w, r)
		return
	}
	if !validRel(rel) {
		http.Error(w, "invalid artifact path", http.StatusBadRequest)
		return
	}
	root, err := os.OpenRoot(s.root)
	if err != nil {
		http.Error(w, "artifact storage unavailable", http.StatusInternalServerError)
		return
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		// Missing, or a symlink leading out of the root: the same to a client.
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r) // no directory listings
		return
	}

	h := w.Header()
	h.Set("Content-Type", contentType(rel))
	h.Set("X-Content-Type-Options", "nosniff")
	base := path.Base(rel)
	if hx, _, ok := strings.Cut(base, "."); ok && isSHA256Hex(hx) {
		h.Set("ETag", `"`+digestPrefix+hx+`"`)
	}
	http.ServeContent(w, r, base, fi.ModTime(), f)
}

// contentType is set explicitly so clients never get a sniffed type.
func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".tar.gz"), strings.HasSuffix(name, ".tgz"), strings.HasSuffix(name, ".gz"):
		return "application/gzip"
	case strings.HasSuffix(name, ".tar"):
		return "application/x-tar"
	case strings.HasSuffix(name, ".yaml"), strings.HasSuffix(name, ".yml"):
		return "application/yaml"
	case strings.HasSuffix(name, ".json"):
		return "application/json"
	default:
		return "application/octet-stream"
	}
}

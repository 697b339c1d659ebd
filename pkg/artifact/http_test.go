package artifact

import (
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	s := newTestStore(t)
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a.yaml": "a"}, 0o644)
	a, err := s.ArchiveDir(gitRepo, src, "r", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(filepath.Join(s.Root(), filepath.FromSlash(a.Path)))
	dir := filepath.Join(s.Root(), "gitrepository", "flux-system", "podinfo")
	if err := os.WriteFile(filepath.Join(dir, tempPrefix+"x"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("s3cr3t"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "leak.tar.gz")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, method, target string
		header               map[string]string
		code                 int
		body                 string
	}{
		{name: "serves artifact", method: "GET", target: "/" + a.Path, code: 200, body: string(body)},
		{name: "HEAD has no body", method: "HEAD", target: "/" + a.Path, code: 200},
		{name: "conditional GET", method: "GET", target: "/" + a.Path, header: map[string]string{"If-None-Match": `"` + a.Digest + `"`}, code: 304},
		{name: "unknown file", method: "GET", target: "/gitrepository/flux-system/podinfo/nope.tar.gz", code: 404},
		{name: "no listing of object dir", method: "GET", target: "/gitrepository/flux-system/podinfo/", code: 400},
		{name: "no listing of object dir without slash", method: "GET", target: "/gitrepository/flux-system/podinfo", code: 404},
		{name: "no listing of root", method: "GET", target: "/", code: 404},
		{name: "dot-dot", method: "GET", target: "/gitrepository/../../etc/passwd", code: 400},
		{name: "encoded dot-dot", method: "GET", target: "/gitrepository/%2e%2e/%2e%2e/etc/passwd", code: 400},
		{name: "temp file hidden", method: "GET", target: "/gitrepository/flux-system/podinfo/" + tempPrefix + "x", code: 400},
		{name: "symlink out of root", method: "GET", target: "/gitrepository/flux-system/podinfo/leak.tar.gz", code: 404},
		{name: "no writes", method: "PUT", target: "/" + a.Path, code: 405},
		{name: "no deletes", method: "DELETE", target: "/" + a.Path, code: 405},
	}
	h := s.Handler()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.target, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				t.Fatalf("%s %s = %d, want %d", tc.method, tc.target, rec.Code, tc.code)
			}
			if strings.Contains(rec.Body.String(), "s3cr3t") {
				t.Fatal("served a file from outside the root")
			}
			if tc.code != 200 {
				return
			}
			if got := rec.Body.String(); got != tc.body {
				t.Errorf("body of %d bytes, want %d", len(got), len(tc.body))
			}
			res := rec.Result()
			if ct := res.Header.Get("Content-Type"); ct != "application/gzip" {
				t.Errorf("Content-Type = %q", ct)
			}
			if et := res.Header.Get("ETag"); et != `"`+a.Digest+`"` {
				t.Errorf("ETag = %q, want the digest", et)
			}
			if cl := res.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length = %q, want %d", cl, len(body))
			}
		})
	}
}

// TestHandler_OverTheWire checks that a real client request for a raw
// "../" path, which no client library cleans for us, is refused.
func TestHandler_OverTheWire(t *testing.T) {
	s := newTestStore(t)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, _ := io.ReadAll(conn)
	if !strings.HasPrefix(string(resp), "HTTP/1.1 400") {
		t.Errorf("raw dot-dot request answered %q", strings.SplitN(string(resp), "\r\n", 2)[0])
	}
}

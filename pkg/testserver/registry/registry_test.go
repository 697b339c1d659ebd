package registry

import (
	"net/http/httptest"
	"testing"
)

func TestCount_ClassifiesByTheLastPathPart(t *testing.T) {
	r := &Registry{requests: map[string]int{}}
	for _, p := range []string{
		"/v2/", "/v2/manifests/manifests/1.0.0", "/v2/manifests/tags/list", "/v2/a/blobs/sha256:0",
		"/v2/blobs/blobs/uploads/", "/v2/a/b/blobs/uploads/123",
	} {
		r.count(httptest.NewRequest("GET", p, nil))
	}
	want := map[string]int{"GET other": 1, "GET manifests": 1, "GET tags": 1, "GET blobs": 1, "GET blobs/uploads": 2}
	got := r.Requests()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

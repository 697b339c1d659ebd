package helmchart

import "testing"

func TestShortRevision(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"main@sha1:0123456789abcdef0123", "0123456789ab"},
		{"sha256:fedcba9876543210aaaa", "fedcba987654"},
		{"v1.0.0@sha1:abc", "abc"},
		{"plain_rev.1", "plain-rev-1"},
	} {
		if got := shortRevision(tc.in); got != tc.want {
			t.Errorf("shortRevision(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

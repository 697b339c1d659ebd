package git

import (
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

func TestSameServer_DefaultPortsAndHostCase(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"ssh://git@github.com/org/app.git", "git@github.com:org/lib.git", true},
		{"ssh://git@GitHub.com:22/org/app.git", "git@github.com:org/lib.git", true},
		{"https://git.example.com/org/app.git", "https://git.example.com:443/org/lib.git", true},
		{"http://127.0.0.1:8080/app.git", "http://127.0.0.1:8080/lib.git", true},
		{"http://127.0.0.1:8080/app.git", "http://127.0.0.1:8081/lib.git", false},
		{"https://git.example.com/org/app.git", "http://git.example.com/org/lib.git", false},
		{"ssh://git@github.com/org/app.git", "git@gitlab.com:org/lib.git", false},
		{"ssh://git@github.com:2222/org/app.git", "git@github.com:org/lib.git", false},
	} {
		a, err := transport.NewEndpoint(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := transport.NewEndpoint(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := sameServer(a, b); got != tc.want {
			t.Errorf("sameServer(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

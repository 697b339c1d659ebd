package sshhosts

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestFingerprints_AsSSHKeygenPrintsThem(t *testing.T) {
	var keys []gossh.PublicKey
	var kh strings.Builder
	for range 2 {
		pk, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k, err := gossh.NewPublicKey(pk)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		kh.WriteString(knownhosts.Line([]string{"[git.example.com]:2222"}, k) + "\n")
	}
	got := Fingerprints([]byte(kh.String()))
	if len(got) != 2 {
		t.Fatalf("fingerprints = %q", got)
	}
	for i, k := range keys {
		if want := "ssh-ed25519 " + gossh.FingerprintSHA256(k); got[i] != want || !strings.HasPrefix(gossh.FingerprintSHA256(k), "SHA256:") {
			t.Errorf("fingerprint %d = %q, want %q", i, got[i], want)
		}
	}
	if got := Fingerprints([]byte("not a known_hosts line\n")); len(got) != 0 {
		t.Errorf("garbage: %q", got)
	}
}

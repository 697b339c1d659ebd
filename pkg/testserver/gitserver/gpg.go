package gitserver

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// GPGKey is an OpenPGP key pair made for a test.
type GPGKey struct {
	Entity *openpgp.Entity
	// PublicKey is the armored public key, as a verification Secret holds it.
	PublicKey string
	// KeyID is the primary key's 16-hex-digit ID (upper case).
	KeyID string
}

// NewGPGKey generates an Ed25519 OpenPGP key.
func NewGPGKey(t testing.TB) *GPGKey {
	t.Helper()
	e, err := openpgp.NewEntity("Tether Test", "", "test@tether.invalid", &packet.Config{
		Algorithm: packet.PubKeyAlgoEdDSA,
	})
	if err != nil {
		t.Fatalf("generate OpenPGP key: %v", err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &GPGKey{Entity: e, PublicKey: buf.String() + "\n", KeyID: e.PrimaryKey.KeyIdString()}
}

// SignedCommit writes files and creates a commit on the current branch whose
// gpgsig header is a real detached OpenPGP signature by key (built the way
// git does: the commit object without the header is signed), pushes it and
// returns its hash.
func (r *Repo) SignedCommit(t testing.TB, key *GPGKey, files map[string]string, msg string) string {
	t.Helper()
	r.WriteFiles(t, files)
	tree := r.git(t, "write-tree")
	parent := r.Head(t)
	when := fmt.Sprintf("%d +0000", time.Now().Unix())
	who := "Tether Test <test@tether.invalid> " + when
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	headers := fmt.Sprintf("tree %s\nparent %s\nauthor %s\ncommitter %s\n", tree, parent, who, who)
	payload := headers + "\n" + msg

	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, key.Entity, strings.NewReader(payload), nil); err != nil {
		t.Fatalf("sign commit: %v", err)
	}
	armored := strings.TrimRight(sig.String(), "\n")
	object := headers + "gpgsig " + strings.ReplaceAll(armored, "\n", "\n ") + "\n\n" + msg

	hash, err := runGit(r.Work, []byte(object), "hash-object", "-t", "commit", "-w", "--stdin")
	if err != nil {
		t.Fatalf("write signed commit: %v", err)
	}
	r.git(t, "update-ref", "HEAD", hash)
	r.git(t, "push", "-q", "origin", "HEAD")
	return hash
}

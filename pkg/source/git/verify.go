package git

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// VerifyCommit checks c's OpenPGP signature against the armored public key
// rings (each may hold several keys) and returns the primary key ID (16 hex
// digits, upper case) of the key that made it. Errors wrap ErrUnverified.
func VerifyCommit(c Commit, armoredKeyRings ...string) (keyID string, err error) {
	if c.Signature == "" {
		return "", fmt.Errorf("commit %s is not signed: %w", c.Hash, ErrUnverified)
	}
	if len(c.Encoded) == 0 {
		return "", fmt.Errorf("commit %s has no encoded content to verify: %w", c.Hash, ErrUnverified)
	}
	var keyring openpgp.EntityList
	for i, kr := range armoredKeyRings {
		el, err := openpgp.ReadArmoredKeyRing(strings.NewReader(kr))
		if err != nil {
			return "", fmt.Errorf("verify commit %s: public key ring %d is not an armored OpenPGP key: %v: %w",
				c.Hash, i+1, err, ErrUnverified)
		}
		keyring = append(keyring, el...)
	}
	if len(keyring) == 0 {
		return "", fmt.Errorf("verify commit %s: no public keys given: %w", c.Hash, ErrUnverified)
	}
	signer, err := openpgp.CheckArmoredDetachedSignature(keyring, bytes.NewReader(c.Encoded),
		strings.NewReader(c.Signature), nil)
	if err != nil {
		return "", fmt.Errorf("commit %s signature does not match any of the given keys (%v): %w",
			c.Hash, err, ErrUnverified)
	}
	return signer.PrimaryKey.KeyIdString(), nil
}

package bootstrap

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// LoadSigningKey picks the OpenPGP key that signs bootstrap commits from a
// key ring (armored or binary, as `gpg --export-secret-keys [--armor]`
// writes it): the key whose ID ends with keyID (any case), or the first key
// with a private part when keyID is empty. An encrypted key is decrypted
// with passphrase.
func LoadSigningKey(keyRing []byte, passphrase, keyID string) (*openpgp.Entity, error) {
	list, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(keyRing))
	if err != nil {
		list, err = openpgp.ReadKeyRing(bytes.NewReader(keyRing))
	}
	if err != nil {
		return nil, fmt.Errorf("reading the GPG key ring: %w", err)
	}
	keyID = strings.ToUpper(strings.TrimPrefix(strings.TrimSpace(keyID), "0x"))
	var e *openpgp.Entity
	for _, cand := range list {
		if cand.PrivateKey == nil {
			continue
		}
		if keyID == "" || strings.HasSuffix(cand.PrimaryKey.KeyIdString(), keyID) {
			e = cand
			break
		}
	}
	if e == nil {
		if keyID != "" {
			return nil, fmt.Errorf("the GPG key ring has no private key with ID %s", keyID)
		}
		return nil, errors.New("the GPG key ring holds no private key")
	}
	if e.PrivateKey.Encrypted {
		if passphrase == "" {
			return nil, fmt.Errorf("the GPG key %s is encrypted: give its passphrase (TETHER_GPG_PASSPHRASE)", e.PrimaryKey.KeyIdString())
		}
		if err := e.PrivateKey.Decrypt([]byte(passphrase)); err != nil {
			return nil, fmt.Errorf("decrypting the GPG key %s: wrong passphrase", e.PrimaryKey.KeyIdString())
		}
		for _, sub := range e.Subkeys {
			if sub.PrivateKey != nil && sub.PrivateKey.Encrypted {
				_ = sub.PrivateKey.Decrypt([]byte(passphrase))
			}
		}
	}
	return e, nil
}

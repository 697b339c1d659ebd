// Package sops decrypts SOPS-encrypted YAML, JSON, dotenv and binary files
// whose data key is encrypted for age recipients.
//
// It deliberately does not import github.com/getsops/sops/v3: every package
// of that module links all cloud KMS SDKs, which would almost double the size
// of the binary. Instead it reads the SOPS file format directly (the age
// entries, the AES-256-GCM encrypted values and the MAC) using filippo.io/age
// and the standard library. Its tests encrypt fixtures with the real SOPS
// library to prove both agree.
package sops

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"

	"filippo.io/age"
)

// Decryptor decrypts SOPS files for which one of its age identities is a
// recipient. It is safe for concurrent use.
type Decryptor struct {
	ids         []age.Identity
	byRecipient map[string]age.Identity
}

// NewDecryptor parses age identities (AGE-SECRET-KEY-... lines, comments
// allowed) from key material, e.g. the values of the `*.agekey` entries of a
// Kubernetes Secret. Errors never include key material.
func NewDecryptor(keys ...[]byte) (*Decryptor, error) {
	d := &Decryptor{byRecipient: map[string]age.Identity{}}
	for i, k := range keys {
		for n, line := range strings.Split(string(k), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			id, recipient, err := parseIdentity(line)
			if err != nil {
				// The parse error is not wrapped: it could quote the key.
				return nil, fmt.Errorf("age key material %d, line %d: not a valid age identity (expected AGE-SECRET-KEY-1...)", i+1, n+1)
			}
			d.ids = append(d.ids, id)
			d.byRecipient[recipient] = id
		}
	}
	if len(d.ids) == 0 {
		return nil, errors.New("no age identity (AGE-SECRET-KEY-1...) found in the key material")
	}
	return d, nil
}

func parseIdentity(s string) (age.Identity, string, error) {
	if strings.HasPrefix(s, "AGE-SECRET-KEY-PQ-1") {
		id, err := age.ParseHybridIdentity(s)
		if err != nil {
			return nil, "", err
		}
		return id, id.Recipient().String(), nil
	}
	id, err := age.ParseX25519Identity(s)
	if err != nil {
		return nil, "", err
	}
	return id, id.Recipient().String(), nil
}

type format int

const (
	formatUnknown format = iota
	formatYAML
	formatJSON
	formatDotenv
	formatBinary // a JSON document with a single "data" string
)

func formatFor(name string) format {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml":
		return formatYAML
	case ".json":
		return formatJSON
	case ".env":
		return formatDotenv
	}
	return formatUnknown
}

// document is a parsed file that can be walked in SOPS tree order and
// written back without its metadata.
type document interface {
	walk(w *walker) error
	encode() ([]byte, error)
}

// maybeEncrypted is the cheap check: every SOPS file spells these words.
func maybeEncrypted(data []byte) bool {
	return bytes.Contains(data, []byte("sops")) && bytes.Contains(data, []byte("mac")) &&
		bytes.Contains(data, []byte("version"))
}

// IsEncrypted reports whether data is a SOPS document: YAML or JSON with a
// top-level "sops" mapping holding a "mac" and a "version" (or a dotenv file
// with sops_mac and sops_version entries).
func IsEncrypted(data []byte) bool {
	if !maybeEncrypted(data) {
		return false
	}
	for _, f := range []format{formatJSON, formatYAML, formatDotenv} {
		if _, md, err := load(f, "", data); md != nil || err != nil {
			return true // an error here means SOPS metadata in the wrong place
		}
	}
	return false
}

// load parses data in format f. A nil metadata map means the data is not
// SOPS-encrypted (or does not parse, which is left to the file's consumer).
func load(f format, name string, data []byte) (document, map[string]any, error) {
	switch f {
	case formatYAML:
		return loadYAML(name, data)
	case formatJSON, formatBinary:
		return loadJSON(data, f == formatBinary)
	case formatDotenv:
		return loadDotenv(data)
	}
	// Unknown extension: SOPS would have used its binary format (JSON), but
	// be lenient and accept any format this package reads.
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		if doc, md, err := loadJSON(data, true); md != nil || err != nil {
			return doc, md, err
		}
	}
	if doc, md, err := loadYAML(name, data); md != nil || err != nil {
		return doc, md, err
	}
	return loadDotenv(data)
}

// DecryptFile returns data unchanged when it is not SOPS-encrypted, else the
// decrypted document in the same format (YAML stays YAML, without the sops
// key). name (the file path) selects the format by extension (.yaml/.yml,
// .json, .env; SOPS's binary format otherwise) and appears in errors.
func (d *Decryptor) DecryptFile(name string, data []byte) ([]byte, error) {
	if !maybeEncrypted(data) {
		return data, nil
	}
	doc, md, err := load(formatFor(name), name, data)
	if err != nil {
		return nil, err
	}
	if md == nil {
		return data, nil
	}
	if d == nil {
		return nil, fmt.Errorf("%s: SOPS-encrypted but spec.decryption is not set", name)
	}
	meta, err := parseMetadata(name, md)
	if err != nil {
		return nil, err
	}
	key, err := d.dataKey(name, meta)
	if err != nil {
		return nil, err
	}
	w, err := newWalker(name, meta, key)
	if err != nil {
		return nil, err
	}
	if err := doc.walk(w); err != nil {
		return nil, err
	}
	// Nothing decrypted leaves this function before the MAC is verified.
	if err := w.verifyMAC(); err != nil {
		return nil, err
	}
	out, err := doc.encode()
	if err != nil {
		return nil, fmt.Errorf("%s: writing the decrypted document: %w", name, err)
	}
	return out, nil
}

package sops

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"
)

// commentValue is the plaintext of a value encrypted with type:comment. It is
// kept distinct from string because SOPS leaves comments out of the MAC.
type commentValue string

// walker holds the state SOPS keeps while walking a tree: the path of keys
// (the AES-GCM additional data), the stack of comments seen in each enclosing
// container (for the comment regexes) and the running MAC. The format
// front-ends (yaml.go, json.go, dotenv.go) call into it in exactly the order
// the SOPS stores lay out their trees, because the MAC covers that order.
type walker struct {
	name  string
	meta  *metadata
	block cipher.Block
	gcms  map[int]cipher.AEAD // by nonce size; SOPS writes 32-byte IVs
	mac   hash.Hash
	path  []string
	stack [][]string
}

func newWalker(name string, meta *metadata, dataKey []byte) (*walker, error) {
	block, err := aes.NewCipher(dataKey)
	if err != nil {
		return nil, fmt.Errorf("%s: the decrypted SOPS data key is not a valid AES key", name)
	}
	w := &walker{name: name, meta: meta, block: block, gcms: map[int]cipher.AEAD{}, mac: sha512.New()}
	if meta.macOnlyEncrypted {
		// SOPS seeds this MAC variant with sha256("sops") so that it never
		// equals the MAC over all values.
		w.mac.Write(macOnlyEncryptedInit)
	}
	return w, nil
}

var macOnlyEncryptedInit = []byte{0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0xb, 0xb, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69}

// enter and leave bracket a mapping or sequence: each has its own comment frame.
func (w *walker) enter() { w.stack = append(w.stack, nil) }
func (w *walker) leave() { w.stack = w.stack[:len(w.stack)-1] }

// settle forgets the comments of the current container once a real item
// (not a comment) has been walked, as SOPS does.
func (w *walker) settle() { w.stack[len(w.stack)-1] = nil }

func (w *walker) push(key string) { w.path = append(w.path, key) }
func (w *walker) pop()            { w.path = w.path[:len(w.path)-1] }

func (w *walker) pathString() string {
	if len(w.path) == 0 {
		return "(top level)"
	}
	return strings.Join(w.path, ".")
}

// leaf handles a scalar value v (string, int, float64, bool or nil as
// decoded by the store). It returns the plaintext and whether v was
// encrypted (else the caller keeps v as written). The plaintext is a
// commentValue for a comment stored as a sequence item.
func (w *walker) leaf(v any) (any, bool, error) {
	if v == nil {
		return nil, false, nil // SOPS neither encrypts nor hashes null
	}
	encrypted := w.meta.shouldBeEncrypted(w.path, w.stack, false)
	out := v
	if encrypted {
		s, ok := v.(string)
		if !ok {
			return nil, false, fmt.Errorf("%s: value at %s should be encrypted but is a plain %s (file modified after encryption?)", w.name, w.pathString(), typeName(v))
		}
		var err error
		if out, err = w.decrypt(s); err != nil {
			return nil, false, fmt.Errorf("%s: value at %s: %w", w.name, w.pathString(), err)
		}
		if _, isComment := out.(commentValue); isComment {
			// SOPS writes encrypted comments inside sequences as items; they
			// decrypt back to comments, which the MAC does not cover.
			return out, true, nil
		}
	}
	if !w.meta.macOnlyEncrypted || encrypted {
		b, err := macBytes(out)
		if err != nil {
			return nil, false, fmt.Errorf("%s: value at %s: %w", w.name, w.pathString(), err)
		}
		w.mac.Write(b)
	}
	return out, encrypted, nil
}

// comment handles one comment line (without its leading '#') in the current
// container and returns the text to keep. Like SOPS, a comment that fails to
// decrypt is assumed to have been written in clear and is kept as is.
func (w *walker) comment(c string) (string, error) {
	w.stack[len(w.stack)-1] = append(w.stack[len(w.stack)-1], c)
	if !w.meta.shouldBeEncrypted(w.path, w.stack, true) {
		return c, nil
	}
	v, err := w.decrypt(c)
	if err != nil {
		return c, nil
	}
	switch v := v.(type) {
	case commentValue:
		return string(v), nil
	case string:
		// Only the empty comment or a str-typed one; SOPS hashes those.
		w.mac.Write([]byte(v))
		return v, nil
	}
	return "", fmt.Errorf("%s: comment in %s: malformed ENC value (type %s)", w.name, w.pathString(), typeName(v))
}

var errMalformed = errors.New("malformed ENC value")

// decrypt opens ENC[AES256_GCM,data:..,iv:..,tag:..,type:..] with the path as
// additional data (keys joined and terminated by ':').
func (w *walker) decrypt(s string) (any, error) {
	return w.open(s, strings.Join(w.path, ":")+":")
}

func (w *walker) open(s, aad string) (any, error) {
	if s == "" {
		return "", nil // SOPS stores empty strings unencrypted
	}
	data, iv, tag, typ, ok := parseEnc(s)
	if !ok {
		return nil, errMalformed
	}
	gcm := w.gcms[len(iv)]
	if gcm == nil {
		var err error
		if gcm, err = cipher.NewGCMWithNonceSize(w.block, len(iv)); err != nil {
			return nil, errMalformed
		}
		w.gcms[len(iv)] = gcm
	}
	if len(tag) != gcm.Overhead() {
		return nil, errMalformed
	}
	plain, err := gcm.Open(nil, iv, append(data, tag...), []byte(aad))
	if err != nil {
		return nil, errors.New("authentication failed (value tampered with, moved, or encrypted with another data key)")
	}
	return typed(typ, plain)
}

const encPrefix = "ENC[AES256_GCM,data:"

// parseEnc splits an encrypted value. Base64 never contains ',' so the
// fields are found by their markers, in the order SOPS writes them.
func parseEnc(s string) (data, iv, tag []byte, typ string, ok bool) {
	rest, found := strings.CutPrefix(s, encPrefix)
	if !found || !strings.HasSuffix(rest, "]") {
		return nil, nil, nil, "", false
	}
	rest = rest[:len(rest)-1]
	d, rest, ok1 := strings.Cut(rest, ",iv:")
	i, rest, ok2 := strings.Cut(rest, ",tag:")
	t, typ, ok3 := strings.Cut(rest, ",type:")
	if !ok1 || !ok2 || !ok3 || d == "" || i == "" || t == "" {
		return nil, nil, nil, "", false
	}
	var err1, err2, err3 error
	data, err1 = base64.StdEncoding.DecodeString(d)
	iv, err2 = base64.StdEncoding.DecodeString(i)
	tag, err3 = base64.StdEncoding.DecodeString(t)
	if err1 != nil || err2 != nil || err3 != nil || len(iv) == 0 {
		return nil, nil, nil, "", false
	}
	return data, iv, tag, typ, true
}

// typed converts decrypted bytes back to the type recorded by SOPS.
func typed(typ string, plain []byte) (any, error) {
	s := string(plain)
	switch typ {
	case "str", "bytes":
		return s, nil
	case "int":
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, errMalformed
		}
		return n, nil
	case "float":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, errMalformed
		}
		return f, nil
	case "bool":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, errMalformed
		}
		return b, nil
	case "time":
		var t time.Time
		if err := t.UnmarshalText(plain); err != nil {
			return nil, errMalformed
		}
		return t, nil
	case "comment":
		return commentValue(s), nil
	}
	return nil, fmt.Errorf("malformed ENC value (unknown type %q)", typ)
}

// macBytes is SOPS's ToBytes: the byte form of a value fed to the MAC.
func macBytes(v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case int:
		return []byte(strconv.Itoa(v)), nil
	case float64:
		return []byte(strconv.FormatFloat(v, 'f', -1, 64)), nil
	case bool:
		if v {
			return []byte("True"), nil // Python heritage
		}
		return []byte("False"), nil
	case time.Time:
		return v.MarshalText()
	}
	return nil, fmt.Errorf("unsupported value type %s", typeName(v))
}

// verifyMAC compares the MAC of the walked tree with the one stored in the
// file, itself encrypted with lastmodified as additional data.
func (w *walker) verifyMAC() error {
	stored, err := w.open(w.meta.mac, w.meta.lastModified)
	if err != nil {
		return fmt.Errorf("%s: cannot decrypt the SOPS MAC: %w", w.name, err)
	}
	got := fmt.Sprintf("%X", w.mac.Sum(nil))
	s, ok := stored.(string)
	if !ok || subtle.ConstantTimeCompare([]byte(s), []byte(got)) != 1 {
		return fmt.Errorf("%s: SOPS MAC mismatch: the file was modified after it was encrypted", w.name)
	}
	return nil
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int, int64, uint64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case time.Time:
		return "timestamp"
	}
	return fmt.Sprintf("%T", v)
}

package sops

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// metadata is the part of the `sops` mapping this package needs.
type metadata struct {
	lastModified     string // re-formatted as RFC 3339: the MAC's additional data
	mac              string
	macOnlyEncrypted bool

	unencryptedSuffix, encryptedSuffix             string
	unencryptedRegex, encryptedRegex               rule
	unencryptedCommentRegex, encryptedCommentRegex rule

	age   []ageKey
	other []string // key types this package cannot use (kms, pgp, ...)
}

type ageKey struct{ recipient, enc string }

// rule is an optional regular expression. SOPS ignores compile errors (the
// rule is then active but never matches); so does this.
type rule struct {
	set bool
	re  *regexp.Regexp
}

func newRule(s string) rule {
	if s == "" {
		return rule{}
	}
	re, _ := regexp.Compile(s)
	return rule{set: true, re: re}
}

func (r rule) match(s string) bool { return r.re != nil && r.re.MatchString(s) }

// otherKeyTypes are the master key types SOPS knows besides age, as spelled
// in the metadata.
var otherKeyTypes = []string{"kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "pgp"}

// parseMetadata reads the generic form of the `sops` mapping (maps, lists and
// scalars, as each format decodes it). Like SOPS it accepts weakly typed
// scalars, because dotenv stores everything as strings.
func parseMetadata(name string, m map[string]any) (*metadata, error) {
	md := &metadata{
		mac:               str(m["mac"]),
		unencryptedSuffix: str(m["unencrypted_suffix"]),
		encryptedSuffix:   str(m["encrypted_suffix"]),
		unencryptedRegex:  newRule(str(m["unencrypted_regex"])),
		encryptedRegex:    newRule(str(m["encrypted_regex"])),
	}
	md.unencryptedCommentRegex = newRule(str(m["unencrypted_comment_regex"]))
	md.encryptedCommentRegex = newRule(str(m["encrypted_comment_regex"]))
	if s := str(m["mac_only_encrypted"]); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%s: invalid SOPS metadata: mac_only_encrypted is not a boolean", name)
		}
		md.macOnlyEncrypted = b
	}
	lm, err := time.Parse(time.RFC3339, str(m["lastmodified"]))
	if err != nil {
		return nil, fmt.Errorf("%s: invalid SOPS metadata: lastmodified is not an RFC 3339 time", name)
	}
	md.lastModified = lm.Format(time.RFC3339)

	rules := 0
	for _, set := range []bool{md.unencryptedSuffix != "", md.encryptedSuffix != "", md.unencryptedRegex.set,
		md.encryptedRegex.set, md.unencryptedCommentRegex.set, md.encryptedCommentRegex.set} {
		if set {
			rules++
		}
	}
	switch rules {
	case 0:
		md.unencryptedSuffix = "_unencrypted" // SOPS's default
	case 1:
	default:
		return nil, fmt.Errorf("%s: invalid SOPS metadata: more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, unencrypted_comment_regex", name)
	}

	// As in SOPS, keys at the top level form the only group and key_groups
	// is read only when there are none.
	group := m
	if !hasKeys(m) {
		groups, _ := m["key_groups"].([]any)
		switch len(groups) {
		case 0:
			return nil, fmt.Errorf("%s: invalid SOPS metadata: no master keys", name)
		case 1:
			group, _ = groups[0].(map[string]any)
		default:
			return nil, fmt.Errorf("%s: uses %d SOPS key groups (Shamir secret sharing), which this reconciler does not support", name, len(groups))
		}
	}
	entries, _ := group["age"].([]any)
	for _, e := range entries {
		em, _ := e.(map[string]any)
		md.age = append(md.age, ageKey{recipient: str(em["recipient"]), enc: str(em["enc"])})
	}
	for _, t := range otherKeyTypes {
		if l, _ := group[t].([]any); len(l) > 0 {
			md.other = append(md.other, t)
		}
	}
	return md, nil
}

func hasKeys(m map[string]any) bool {
	for _, t := range append([]string{"age"}, otherKeyTypes...) {
		if l, _ := m[t].([]any); len(l) > 0 {
			return true
		}
	}
	return false
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case time.Time: // an unquoted YAML timestamp
		return v.Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// shouldBeEncrypted mirrors SOPS: whether the value at path (or a comment,
// given the comments seen in each enclosing container) was encrypted.
func (m *metadata) shouldBeEncrypted(path []string, stack [][]string, isComment bool) bool {
	encrypted := true
	anyKey := func(f func(string) bool) bool { return slices.ContainsFunc(path, f) }
	if m.unencryptedSuffix != "" && anyKey(func(k string) bool { return strings.HasSuffix(k, m.unencryptedSuffix) }) {
		encrypted = false
	}
	if m.encryptedSuffix != "" {
		encrypted = anyKey(func(k string) bool { return strings.HasSuffix(k, m.encryptedSuffix) })
	}
	if m.unencryptedRegex.set && anyKey(m.unencryptedRegex.match) {
		encrypted = false
	}
	if m.encryptedRegex.set {
		encrypted = anyKey(m.encryptedRegex.match)
	}
	if m.unencryptedCommentRegex.set {
		for _, frame := range stack {
			if slices.ContainsFunc(frame, m.unencryptedCommentRegex.match) {
				encrypted = false
				break
			}
		}
	}
	if m.encryptedCommentRegex.set {
		encrypted = false
	outer:
		for i, frame := range stack {
			for j, c := range frame {
				// A comment matching the regex is not itself encrypted, only
				// what follows it: skip the comment being decided.
				if isComment && i == len(stack)-1 && j == len(frame)-1 {
					continue
				}
				if m.encryptedCommentRegex.match(c) {
					encrypted = true
					break outer
				}
			}
		}
	}
	return encrypted
}

// dataKey recovers the SOPS data key from the age entries.
func (d *Decryptor) dataKey(name string, md *metadata) ([]byte, error) {
	if len(md.age) == 0 {
		return nil, fmt.Errorf("%s: uses %s keys; only age is supported by this reconciler", name, strings.Join(md.other, "/"))
	}
	// Entries addressed to one of our identities first, with that identity
	// only: one X25519 operation in the common case.
	tried := make([]bool, len(md.age))
	var lastErr error
	for i, k := range md.age {
		if id, ok := d.byRecipient[strings.TrimSpace(k.recipient)]; ok {
			tried[i] = true
			key, err := openAge(k.enc, id)
			if err == nil {
				return key, nil
			}
			lastErr = fmt.Errorf("%s: cannot decrypt the SOPS data key for age recipient %s: %w", name, k.recipient, err)
		}
	}
	for i, k := range md.age {
		if tried[i] {
			continue
		}
		key, err := openAge(k.enc, d.ids...)
		if err == nil {
			return key, nil
		}
		var noMatch *age.NoIdentityMatchError
		if !errors.As(err, &noMatch) {
			lastErr = fmt.Errorf("%s: cannot decrypt the SOPS data key for age recipient %s: %w", name, k.recipient, err)
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	recipients := make([]string, len(md.age))
	for i, k := range md.age {
		recipients[i] = k.recipient
	}
	msg := fmt.Sprintf("%s: no age identity in the decryption Secret matches the file's recipients (%s)", name, strings.Join(recipients, ", "))
	if len(md.other) > 0 {
		msg += fmt.Sprintf("; its %s keys are not supported by this reconciler", strings.Join(md.other, "/"))
	}
	return nil, errors.New(msg)
}

func openAge(enc string, ids ...age.Identity) ([]byte, error) {
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(strings.TrimSpace(enc))), ids...)
	if err != nil {
		return nil, err
	}
	// A data key is 32 bytes; the limit only guards against a hostile file.
	return io.ReadAll(io.LimitReader(r, 1024))
}

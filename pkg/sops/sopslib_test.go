package sops

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	sopslib "github.com/getsops/sops/v3"
	sopsaes "github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/stores"
	"go.yaml.in/yaml/v3"
)

// TestRoundTripWithSOPSLibrary encrypts at test time, with fresh keys, using
// the SOPS library's tree encryption, AES cipher, age key source and metadata
// serialization. Only the final YAML rendering is done here: the SOPS YAML
// store imports sops/v3/config and with it S3/GCS SDKs that this module does
// not carry (the fixtures in testdata come from the real stores).
func TestRoundTripWithSOPSLibrary(t *testing.T) {
	ours, other := newIdentity(t), newIdentity(t)
	d, err := NewDecryptor([]byte(ours.String()))
	if err != nil {
		t.Fatal(err)
	}
	tree := func() sopslib.TreeBranch {
		return sopslib.TreeBranch{
			{Key: "apiVersion", Value: "v1"},
			{Key: "kind", Value: "Secret"},
			{Key: "metadata", Value: sopslib.TreeBranch{{Key: "name", Value: "app"}}},
			{Key: "stringData", Value: sopslib.TreeBranch{
				{Key: "password", Value: "hunter2"},
				{Key: "multi", Value: "a\nb\n"},
				{Key: "looks_like_int", Value: "007"},
			}},
			{Key: "spec", Value: sopslib.TreeBranch{
				{Key: "replicas", Value: 3},
				{Key: "ratio", Value: 0.5},
				{Key: "big", Value: 1e21},
				{Key: "on", Value: true},
				{Key: "none", Value: nil},
				{Key: "empty", Value: ""},
				{Key: "list", Value: []any{1, "two", sopslib.TreeBranch{{Key: "k", Value: false}}, []any{1.25}}},
				{Key: "token_unencrypted", Value: "visible"},
			}},
		}
	}
	tests := []struct {
		name       string
		meta       sopslib.Metadata
		recipients []string
	}{
		{"all values", sopslib.Metadata{UnencryptedSuffix: "_unencrypted"}, nil},
		{"flux regex", sopslib.Metadata{EncryptedRegex: "^(data|stringData)$"}, nil},
		{"mac only encrypted", sopslib.Metadata{EncryptedRegex: "^stringData$", MACOnlyEncrypted: true}, nil},
		{"two recipients", sopslib.Metadata{UnencryptedSuffix: "_unencrypted"}, []string{other.Recipient().String(), ours.Recipient().String()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plain := emitYAML(t, tree())
			recipients := tc.recipients
			if recipients == nil {
				recipients = []string{ours.Recipient().String()}
			}
			var group sopslib.KeyGroup
			for _, r := range recipients {
				k, err := sopsage.MasterKeyFromRecipient(r)
				if err != nil {
					t.Fatal(err)
				}
				group = append(group, k)
			}
			tr := sopslib.Tree{Branches: sopslib.TreeBranches{tree()}, Metadata: tc.meta}
			tr.Metadata.KeyGroups = []sopslib.KeyGroup{group}
			tr.Metadata.Version = "3.13.3"
			dataKey, errs := tr.GenerateDataKey()
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			cipher := sopsaes.NewCipher()
			mac, err := tr.Encrypt(dataKey, cipher)
			if err != nil {
				t.Fatal(err)
			}
			tr.Metadata.LastModified = time.Now().UTC()
			if tr.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tr.Metadata.LastModified.Format(time.RFC3339)); err != nil {
				t.Fatal(err)
			}
			withMeta, err := stores.SerializeMetadata(tr, stores.MetadataOpts{Flatten: stores.MetadataFlattenNone})
			if err != nil {
				t.Fatal(err)
			}
			enc := emitYAML(t, withMeta[0])
			if bytes.Contains(enc, []byte("hunter2")) || !IsEncrypted(enc) {
				t.Fatalf("not encrypted:\n%s", enc)
			}
			got, err := d.DecryptFile("secret.yaml", enc)
			if err != nil {
				t.Fatalf("%v\n%s", err, enc)
			}
			if w, g := semantic(t, ".yaml", plain), semantic(t, ".yaml", got); !reflect.DeepEqual(w, g) {
				t.Errorf("want:\n%s\ngot:\n%s", plain, got)
			}
			// A changed clear value must break the MAC unless it is outside it.
			tampered := bytes.Replace(enc, []byte("token_unencrypted: visible"), []byte("token_unencrypted: changed"), 1)
			_, err = d.DecryptFile("secret.yaml", tampered)
			if tc.meta.MACOnlyEncrypted != (err == nil) {
				t.Errorf("tampered clear value: err = %v", err)
			}
		})
	}
}

// emitYAML renders a SOPS tree as the SOPS YAML store does (comments aside).
func emitYAML(t *testing.T, b sopslib.TreeBranch) []byte {
	t.Helper()
	var conv func(v any) *yaml.Node
	conv = func(v any) *yaml.Node {
		switch v := v.(type) {
		case sopslib.TreeBranch:
			m := &yaml.Node{Kind: yaml.MappingNode}
			for _, it := range v {
				k := &yaml.Node{}
				if err := k.Encode(it.Key); err != nil {
					t.Fatal(err)
				}
				m.Content = append(m.Content, k, conv(it.Value))
			}
			return m
		case []any:
			s := &yaml.Node{Kind: yaml.SequenceNode}
			for _, it := range v {
				s.Content = append(s.Content, conv(it))
			}
			return s
		}
		n := &yaml.Node{}
		if err := n.Encode(v); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(4)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{conv(b)}}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

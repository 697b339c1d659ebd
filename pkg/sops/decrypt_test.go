package sops

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The fixtures in testdata were encrypted by the real SOPS library (its
// stores, AES cipher and age key source); see testdata/gen. Each case has the
// plaintext <name><ext> and the SOPS output <name>.enc<ext>.

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testDecryptor(t testing.TB) *Decryptor {
	t.Helper()
	d, err := NewDecryptor(readFixture(t, "identity.agekey"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDecryptFileRoundTrip(t *testing.T) {
	d := testDecryptor(t)
	tests := []struct {
		name, ext string
		// the encrypted file must (not) contain these: what SOPS encrypted
		inCipher, notInCipher []string
		// the output must contain these (comments, types, formatting)
		inOutput []string
	}{
		{name: "secret", ext: ".yaml", inCipher: []string{"name: db", "kind: Secret", "encrypted_regex: ^(data|stringData)$"},
			notInCipher: []string{"c2VjcmV0LXB3", "hunter2"}, inOutput: []string{"apiVersion: v1\nkind: Secret\n", "config: |\n"}},
		{name: "full", ext: ".yml", notInCipher: []string{"Secret", "c2VjcmV0LXB3", "hunter2", "Opaque"}},
		{name: "types", ext: ".yaml", inCipher: []string{"type:int]", "type:float]", "type:bool]"},
			inOutput: []string{"replicas: 3\n", "ratio: 0.25\n", "whole: 2.0\n", "enabled: true\n", `quoted_number: "42"`, `quoted_bool: "true"`, "nothing: null\n", `empty: ""`}},
		{name: "nested", ext: ".yaml", notInCipher: []string{"s3cr3t", "8080", "TOKEN"}},
		{name: "comments", ext: ".yaml", notInCipher: []string{"about the key", "before the first item"},
			inOutput: []string{"# head of the file", "# about the key", "# before the first item", "# after one", "# file foot"}},
		{name: "comment-regex-enc", ext: ".yaml", inCipher: []string{"apiVersion: v1", "# sops:enc", "key: value"}, notInCipher: []string{"s3cr3t"}},
		{name: "comment-regex-unenc", ext: ".yaml", inCipher: []string{"public: visible", "# plain"}, notInCipher: []string{"ConfigMap"}},
		{name: "multidoc", ext: ".yaml", inCipher: []string{"name: first", "name: second"}, notInCipher: []string{"one", "two"}},
		{name: "two-recipients", ext: ".yaml"},
		{name: "unencrypted-suffix", ext: ".yaml", inCipher: []string{"host_unencrypted: db.local"}, notInCipher: []string{"hunter2"}},
		{name: "custom-suffix", ext: ".yaml", inCipher: []string{"host_pub: db.local", `deep: "yes"`}, notInCipher: []string{"hunter2"}},
		{name: "encrypted-suffix", ext: ".yaml", inCipher: []string{"host: db.local"}, notInCipher: []string{"hunter2"}},
		{name: "unencrypted-regex", ext: ".yaml", inCipher: []string{"name: x"}, notInCipher: []string{"hunter2"}},
		{name: "mac-only", ext: ".yaml", inCipher: []string{"mac_only_encrypted: true", "name: db"}, notInCipher: []string{"hunter2"}},
		{name: "json", ext: ".json", notInCipher: []string{"hunter2", "Secret"}, inOutput: []string{`"<a&b>"`, `"big": 1000`, `"nothing": null`}},
		{name: "json-regex", ext: ".json", inCipher: []string{`"replicas": 3`, `"big": 1000`}, notInCipher: []string{"hunter2"}, inOutput: []string{`"big": 1000`}},
		{name: "dotenv", ext: ".env", notInCipher: []string{"hunter2", "database settings"}},
		{name: "binary", ext: ".crt", notInCipher: []string{"MIIB"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plain := readFixture(t, tc.name+tc.ext)
			file := tc.name + ".enc" + tc.ext
			enc := readFixture(t, file)
			if !IsEncrypted(enc) {
				t.Fatalf("IsEncrypted = false")
			}
			for _, s := range tc.inCipher {
				if !bytes.Contains(enc, []byte(s)) {
					t.Errorf("encrypted file lacks %q", s)
				}
			}
			for _, s := range tc.notInCipher {
				if bytes.Contains(enc, []byte(s)) {
					t.Errorf("encrypted file shows %q", s)
				}
			}
			got, err := d.DecryptFile(file, enc)
			if err != nil {
				t.Fatalf("DecryptFile: %v", err)
			}
			if IsEncrypted(got) || bytes.Contains(got, []byte("ENC[")) || bytes.Contains(got, []byte("AGE ENCRYPTED")) {
				t.Errorf("output still holds SOPS data:\n%s", got)
			}
			if w, g := semantic(t, tc.ext, plain), semantic(t, tc.ext, got); !reflect.DeepEqual(w, g) {
				t.Errorf("output differs from the plaintext\nwant:\n%s\ngot:\n%s", plain, got)
			}
			for _, s := range tc.inOutput {
				if !bytes.Contains(got, []byte(s)) {
					t.Errorf("output lacks %q:\n%s", s, got)
				}
			}
		})
	}
}

// semantic decodes a file into plain Go values (every document of a YAML
// stream), so that layout differences do not matter. Other formats compare
// byte for byte.
func semantic(t *testing.T, ext string, data []byte) any {
	t.Helper()
	switch ext {
	case ".json":
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%v\n%s", err, data)
		}
		return v
	case ".yaml", ".yml":
		var docs []any
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var v any
			if err := dec.Decode(&v); err == io.EOF {
				return docs
			} else if err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			docs = append(docs, v)
		}
	}
	return string(data)
}

func TestDecryptFileKeepsComments(t *testing.T) {
	got, err := testDecryptor(t).DecryptFile("cm.yaml", readFixture(t, "comments.enc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := "# head of the file\napiVersion: v1 # inline on a scalar\n"
	if !strings.HasPrefix(string(got), want) {
		t.Errorf("got:\n%s\nwant prefix:\n%s", got, want)
	}
}

func BenchmarkDecryptSecret20Keys(b *testing.B) {
	d := testDecryptor(b)
	enc := readFixture(b, "bench20.enc.yaml")
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.DecryptFile("secret.yaml", enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPassThrough(b *testing.B) {
	data := readFixture(b, "bench20.yaml")
	d := testDecryptor(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.DecryptFile("secret.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// Command gen writes the SOPS fixtures of pkg/sops/testdata with the real
// SOPS library (its YAML, JSON, dotenv and binary stores, AES cipher and age
// key source), so the tests prove pkg/sops decrypts what SOPS writes.
//
// The SOPS stores import sops/v3/config, hence sops/v3/publish and the S3/GCS
// SDKs, whose go.sum entries the tether module deliberately lacks (nothing in
// the product links SOPS). Run it from a scratch copy of the repository:
//
//	cp -r . /tmp/gen && cd /tmp/gen && go run -mod=mod ./pkg/sops/testdata/gen -out "$OLDPWD/pkg/sops/testdata"
//
// It encrypts for testdata/identity.agekey (a test-only key) and, for the
// multi-recipient and wrong-key cases, for a throwaway key.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	sopslib "github.com/getsops/sops/v3"
	sopsaes "github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	sopsdotenv "github.com/getsops/sops/v3/stores/dotenv"
	sopsjson "github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
)

type rules struct {
	UnencryptedSuffix, EncryptedSuffix             string
	UnencryptedRegex, EncryptedRegex               string
	UnencryptedCommentRegex, EncryptedCommentRegex string
	MACOnlyEncrypted                               bool
}

var k8s = rules{EncryptedRegex: "^(data|stringData)$"}

type fixture struct {
	name, ext, plain string
	rules            rules
	who              string // "ours" (default), "stranger" or "both"
}

func fixtures() []fixture {
	return []fixture{
		{name: "secret", ext: ".yaml", plain: secretYAML, rules: k8s},
		{name: "full", ext: ".yml", plain: secretYAML},
		{name: "types", ext: ".yaml", plain: typesYAML},
		{name: "nested", ext: ".yaml", plain: nestedYAML},
		{name: "comments", ext: ".yaml", plain: commentsYAML},
		{name: "comment-regex-enc", ext: ".yaml", plain: commentsYAML + "# sops:enc\nsecret: s3cr3t\n", rules: rules{EncryptedCommentRegex: "sops:enc"}},
		{name: "comment-regex-unenc", ext: ".yaml", plain: commentsYAML + "# plain\npublic: visible\n", rules: rules{UnencryptedCommentRegex: "plain"}},
		{name: "multidoc", ext: ".yaml", plain: multiDocYAML, rules: k8s},
		{name: "two-recipients", ext: ".yaml", plain: secretYAML, rules: k8s, who: "both"},
		{name: "stranger", ext: ".yaml", plain: secretYAML, rules: k8s, who: "stranger"},
		{name: "unencrypted-suffix", ext: ".yaml", plain: "host_unencrypted: db.local\npassword: hunter2\n"},
		{name: "custom-suffix", ext: ".yaml", plain: "host_pub: db.local\nnested_pub:\n  deep: yes\npassword: hunter2\n", rules: rules{UnencryptedSuffix: "_pub"}},
		{name: "encrypted-suffix", ext: ".yaml", plain: "host: db.local\npassword_enc: hunter2\n", rules: rules{EncryptedSuffix: "_enc"}},
		{name: "unencrypted-regex", ext: ".yaml", plain: "metadata:\n  name: x\npassword: hunter2\n", rules: rules{UnencryptedRegex: "^metadata$"}},
		{name: "mac-only", ext: ".yaml", plain: secretYAML, rules: rules{EncryptedRegex: "^(data|stringData)$", MACOnlyEncrypted: true}},
		{name: "json", ext: ".json", plain: secretJSON},
		{name: "json-regex", ext: ".json", plain: secretJSON, rules: rules{EncryptedRegex: "^stringData$"}},
		{name: "dotenv", ext: ".env", plain: envFile},
		{name: "binary", ext: ".crt", plain: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
		{name: "bench20", ext: ".yaml", plain: benchSecret(20), rules: k8s},
	}
}

func main() {
	out := flag.String("out", "pkg/sops/testdata", "fixture directory")
	flag.Parse()
	keyFile := filepath.Join(*out, "identity.agekey")
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		log.Fatal(err)
	}
	ids, err := age.ParseIdentities(strings.NewReader(string(raw)))
	if err != nil {
		log.Fatal(err)
	}
	ours := ids[0].(*age.X25519Identity).Recipient().String()
	strangerID, _ := age.GenerateX25519Identity()
	stranger := strangerID.Recipient().String()
	os.Setenv(sopsage.SopsAgeKeyEnv, strings.TrimSpace(string(raw)))
	for _, f := range fixtures() {
		recipients := map[string][]string{"": {ours}, "stranger": {stranger}, "both": {stranger, ours}}[f.who]
		enc := encrypt(f.ext, []byte(f.plain), f.rules, recipients)
		if f.who != "stranger" {
			check(f, enc) // SOPS itself must read its output back
		}
		write(filepath.Join(*out, f.name+f.ext), f.plain)
		write(filepath.Join(*out, f.name+".enc"+f.ext), string(enc))
	}
}

func write(path, data string) {
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		log.Fatal(err)
	}
}

func store(ext string) sopslib.Store {
	switch ext {
	case ".yaml", ".yml":
		return sopsyaml.NewStore(&config.YAMLStoreConfig{})
	case ".json":
		return sopsjson.NewStore(&config.JSONStoreConfig{Indent: -1})
	case ".env":
		return sopsdotenv.NewStore(&config.DotenvStoreConfig{})
	}
	return sopsjson.NewBinaryStore(&config.JSONBinaryStoreConfig{Indent: -1})
}

// encrypt follows the sops CLI: load, generate and wrap the data key,
// EncryptTree (values, then the MAC with lastmodified as additional data).
func encrypt(ext string, plain []byte, r rules, recipients []string) []byte {
	s := store(ext)
	branches, err := s.LoadPlainFile(plain)
	if err != nil {
		log.Fatal(err)
	}
	var group sopslib.KeyGroup
	for _, rcp := range recipients {
		k, err := sopsage.MasterKeyFromRecipient(rcp)
		if err != nil {
			log.Fatal(err)
		}
		group = append(group, k)
	}
	if r == (rules{}) || r == (rules{MACOnlyEncrypted: true}) {
		r.UnencryptedSuffix = sopslib.DefaultUnencryptedSuffix // as the CLI
	}
	tree := sopslib.Tree{Branches: branches, Metadata: sopslib.Metadata{
		KeyGroups:               []sopslib.KeyGroup{group},
		UnencryptedSuffix:       r.UnencryptedSuffix,
		EncryptedSuffix:         r.EncryptedSuffix,
		UnencryptedRegex:        r.UnencryptedRegex,
		EncryptedRegex:          r.EncryptedRegex,
		UnencryptedCommentRegex: r.UnencryptedCommentRegex,
		EncryptedCommentRegex:   r.EncryptedCommentRegex,
		MACOnlyEncrypted:        r.MACOnlyEncrypted,
		Version:                 "3.13.3",
	}}
	dataKey, errs := tree.GenerateDataKey()
	if len(errs) > 0 {
		log.Fatal(errs)
	}
	cipher := sopsaes.NewCipher()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		log.Fatal(err)
	}
	tree.Metadata.LastModified = time.Now().UTC()
	tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		log.Fatal(err)
	}
	out, err := s.EmitEncryptedFile(tree)
	if err != nil {
		log.Fatal(err)
	}
	return out
}

// check decrypts with SOPS (decrypt.DataWithFormat's steps).
func check(f fixture, enc []byte) {
	s := store(f.ext)
	tree, err := s.LoadEncryptedFile(enc)
	if err != nil {
		log.Fatalf("%s: %v", f.name, err)
	}
	key, err := tree.Metadata.GetDataKey()
	if err != nil {
		log.Fatalf("%s: %v", f.name, err)
	}
	cipher := sopsaes.NewCipher()
	mac, err := tree.Decrypt(key, cipher)
	if err != nil {
		log.Fatalf("%s: %v", f.name, err)
	}
	stored, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, key, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil || stored != mac {
		log.Fatalf("%s: SOPS rejects its own MAC: %v", f.name, err)
	}
}

func benchSecret(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Secret\nmetadata:\n  name: bench\n  namespace: apps\ntype: Opaque\ndata:\n")
	for i := range n {
		fmt.Fprintf(&b, "  key%02d: %s\n", i, strings.Repeat("c2VjcmV0", 4))
	}
	return b.String()
}

const secretYAML = `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: apps
type: Opaque
data:
  password: c2VjcmV0LXB3
  user: YWRtaW4=
stringData:
  url: postgres://admin:hunter2@db:5432/app
  config: |
    line one
    line two
`

const typesYAML = `replicas: 3
ratio: 0.25
whole: 2.0
negative: -17
enabled: true
disabled: false
empty: ""
nothing: null
quoted_number: "42"
quoted_bool: "true"
date_like: 2024-01-02
text: hello world
`

const nestedYAML = `spec:
  containers:
    - name: app
      env:
        - name: TOKEN
          value: s3cr3t
        - name: PORT
          value: 8080
      args: [--verbose, --level, 3]
  matrix:
    - [1, 2]
    - [a, b]
  empty_map: {}
  empty_list: []
`

const commentsYAML = `# head of the file
apiVersion: v1 # inline on a scalar
kind: ConfigMap
data:
  # about the key
  key: value
  list:
    # before the first item
    - one # after one
    - two
  # a foot comment
other: x
# file foot
`

const multiDocYAML = `apiVersion: v1
kind: Secret
metadata:
  name: first
stringData:
  token: one
---
apiVersion: v1
kind: Secret
metadata:
  name: second
stringData:
  token: two
`

const secretJSON = `{
  "apiVersion": "v1",
  "kind": "Secret",
  "metadata": {"name": "db", "labels": {"a": "b"}},
  "stringData": {"password": "hunter2", "html": "<a&b>"},
  "replicas": 3,
  "ratio": 1.5,
  "big": 1e3,
  "enabled": true,
  "nothing": null,
  "list": [1, "two", {"three": 3}, [4]]
}
`

const envFile = "# database settings\nDB_USER=admin\nDB_PASSWORD=hunter2\nMULTI=a\\nb\nEMPTY=\n"

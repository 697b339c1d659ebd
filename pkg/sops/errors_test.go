package sops

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"
	"go.yaml.in/yaml/v3"
)

func TestDecryptFileErrors(t *testing.T) {
	d := testDecryptor(t)
	ours := strings.TrimSpace(string(regexp.MustCompile(`(?m)^AGE-SECRET-KEY-.*$`).Find(readFixture(t, "identity.agekey"))))
	secret := readFixture(t, "secret.enc.yaml")
	full := readFixture(t, "full.enc.yml")
	forStranger := readFixture(t, "stranger.enc.yaml")
	stranger := regexp.MustCompile(`recipient: (age1\w+)`).FindSubmatch(forStranger)[1]
	encValue := regexp.MustCompile(`ENC\[AES256_GCM,data:([^,]+),iv:[^\]]+\]`)

	// swap the ciphertexts of data.password and data.user
	swapped := func() []byte {
		m := encValue.FindAll(secret, 2)
		s := bytes.Replace(secret, m[0], []byte("@@0"), 1)
		s = bytes.Replace(s, m[1], m[0], 1)
		return bytes.Replace(s, []byte("@@0"), m[1], 1)
	}()
	tests := []struct {
		name string
		d    *Decryptor
		data []byte
		want string // regexp
	}{
		{"nil decryptor", nil, secret, `^apps/secret\.yaml: SOPS-encrypted but spec\.decryption is not set$`},
		{"wrong key", d, forStranger, `^apps/secret\.yaml: no age identity in the decryption Secret matches the file's recipients \(` +
			regexp.QuoteMeta(string(stranger)) + `\)$`},
		{"tampered clear value", d, bytes.Replace(secret, []byte("namespace: apps"), []byte("namespace: kube-system"), 1),
			`^apps/secret\.yaml: SOPS MAC mismatch: the file was modified after it was encrypted$`},
		// The type is not authenticated by AES-GCM, but must parse.
		{"tampered type", d, bytes.Replace(full, []byte("type:str]"), []byte("type:int]"), 1), `value at apiVersion: malformed ENC value`},
		{"removed key", d, regexp.MustCompile(`(?m)^    user: .*\n`).ReplaceAll(secret, nil), `SOPS MAC mismatch`},
		{"swapped values", d, swapped, `^apps/secret\.yaml: value at data\.password: authentication failed`},
		{"tampered ciphertext", d, encValue.ReplaceAll(secret, []byte("ENC[AES256_GCM,data:AAAA,iv:${1},tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]")),
			`^apps/secret\.yaml: value at data\.password: (malformed ENC value|authentication failed)`},
		{"malformed ENC", d, encValue.ReplaceAllLiteral(secret, []byte("ENC[AES256_GCM,data:!!!")), `value at data\.password: malformed ENC value`},
		{"value in clear where encryption expected", d, encValue.ReplaceAllLiteral(secret, []byte("hunter2")), `value at data\.password: malformed ENC value`},
		{"tampered MAC", d, regexp.MustCompile(`mac: ENC\[[^\]]+\]`).ReplaceAll(secret, []byte("mac: ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]")),
			`cannot decrypt the SOPS MAC`},
		{"kms and pgp only", d, []byte(kmsPGPOnly), `^apps/secret\.yaml: uses kms/pgp keys; only age is supported by this reconciler$`},
		{"shamir key groups", d, []byte(shamirGroups), `2 SOPS key groups`},
		{"metadata only in second document", d, append([]byte("kind: ConfigMap\n---\n"), secret...), `document 2 has SOPS metadata`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.d.DecryptFile("apps/secret.yaml", tc.data)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			if !regexp.MustCompile(tc.want).MatchString(err.Error()) {
				t.Errorf("error %q does not match %q", err, tc.want)
			}
			assertNoSecrets(t, err, "hunter2", "c2VjcmV0LXB3", ours)
		})
	}
}

const kmsPGPOnly = `data:
    password: ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]
sops:
    kms:
        - arn: arn:aws:kms:us-east-1:123456789012:key/abc
          created_at: "2024-01-01T00:00:00Z"
          enc: AQICAHh
    pgp:
        - created_at: "2024-01-01T00:00:00Z"
          enc: |-
            -----BEGIN PGP MESSAGE-----
            -----END PGP MESSAGE-----
          fp: 0123456789ABCDEF
    lastmodified: "2024-01-01T00:00:00Z"
    mac: ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]
    version: 3.13.3
`

const shamirGroups = `data:
    password: ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]
sops:
    shamir_threshold: 2
    key_groups:
        - age:
            - recipient: age1a
              enc: x
        - age:
            - recipient: age1b
              enc: y
    lastmodified: "2024-01-01T00:00:00Z"
    mac: ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]
    version: 3.13.3
`

func TestNotEncryptedPassesThrough(t *testing.T) {
	d := testDecryptor(t)
	for name, data := range map[string]string{
		"plain.yaml":      string(readFixture(t, "secret.yaml")),
		"mentions.yaml":   "# sops mac version\nsops: is a word\nmac: x\nversion: 1\n",
		"no-mac.yaml":     "sops:\n  version: 3.13.3\n  age: []\n",
		"nested.yaml":     "spec:\n  sops:\n    mac: x\n    version: y\n",
		"invalid.yaml":    "sops: [mac, version\n",
		"list.yaml":       "- sops\n- mac\n- version\n",
		"plain.json":      `{"sops": "mac version"}`,
		"plain.env":       "sops_enabled=true\nmac=1\nversion=2\n",
		"kustomization.x": "resources: [sops, mac, version]\n",
	} {
		for _, dec := range []*Decryptor{d, nil} {
			if IsEncrypted([]byte(data)) {
				t.Errorf("%s: IsEncrypted = true", name)
			}
			out, err := dec.DecryptFile(name, []byte(data))
			if err != nil {
				t.Errorf("%s: %v", name, err)
			} else if !bytes.Equal(out, []byte(data)) {
				t.Errorf("%s: changed:\n%s", name, out)
			}
		}
	}
}

func TestNewDecryptor(t *testing.T) {
	a, b := newIdentity(t), newIdentity(t)
	tests := []struct {
		name string
		keys [][]byte
		ids  int
		err  string
	}{
		{"one key", [][]byte{[]byte(a.String())}, 1, ""},
		{"comments, CRLF and blank lines", [][]byte{[]byte("# created: 2024\r\n# public key: age1...\r\n\r\n" + a.String() + "\r\n")}, 1, ""},
		{"two entries", [][]byte{[]byte(a.String()), []byte(b.String() + "\n")}, 2, ""},
		{"two keys in one entry", [][]byte{[]byte(a.String() + "\n" + b.String())}, 2, ""},
		{"no key", [][]byte{[]byte("# nothing\n")}, 0, "no age identity"},
		{"nothing", nil, 0, "no age identity"},
		{"garbage", [][]byte{[]byte(a.String()), []byte("# c\n" + a.String()[:40] + "x")}, 0, "age key material 2, line 2: not a valid age identity"},
		{"ssh key", [][]byte{[]byte("-----BEGIN OPENSSH PRIVATE KEY-----")}, 0, "age key material 1, line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDecryptor(tc.keys...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				assertNoSecrets(t, err, a.String()[20:40])
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(d.ids) != tc.ids {
				t.Errorf("%d identities, want %d", len(d.ids), tc.ids)
			}
		})
	}
}

func newIdentity(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func assertNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error leaks %q: %v", s, err)
		}
	}
	if regexp.MustCompile(`AGE-SECRET-KEY-1[0-9A-Z]{8}`).MatchString(err.Error()) {
		t.Errorf("error leaks an age identity: %v", err)
	}
}

// The point of this package: production code must not link SOPS (and with
// it every cloud KMS SDK).
func TestNoSOPSDependency(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/getsops/sops") || strings.Contains(pkg, "aws-sdk") || strings.HasPrefix(pkg, "cloud.google.com") {
			t.Errorf("pkg/sops depends on %s", pkg)
		}
	}
}

// SOPS writes key_groups instead of top-level keys when .sops.yaml uses
// key_groups; a single group needs no Shamir splitting.
func TestSingleKeyGroup(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal(readFixture(t, "secret.enc.yaml"), &doc); err != nil {
		t.Fatal(err)
	}
	meta := sopsNode(&doc)
	for i := 0; i < len(meta.Content); i += 2 {
		if meta.Content[i].Value == "age" {
			group := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{meta.Content[i], meta.Content[i+1]}}
			meta.Content[i] = &yaml.Node{Kind: yaml.ScalarNode, Value: "key_groups"}
			meta.Content[i+1] = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{group}}
		}
	}
	enc, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(enc, []byte("key_groups:")) {
		t.Fatalf("no key_groups:\n%s", enc)
	}
	got, err := testDecryptor(t).DecryptFile("secret.yaml", enc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte("hunter2")) {
		t.Errorf("not decrypted:\n%s", got)
	}
}

package bootstrap

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/tether-gitops/tether/pkg/sshhosts"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Credentials reach the repository: HTTP basic auth or a bearer token, a CA
// bundle for HTTPS, or an SSH key and the server's known_hosts. The same
// values go into the auth Secret under the keys the GitRepository reconciler
// reads (username, password, bearerToken, ca.crt, identity, known_hosts).
type Credentials struct {
	Username    string
	Password    string
	BearerToken string
	CAFile      []byte
	Identity    []byte // PEM/OpenSSH private key, unencrypted
	KnownHosts  []byte
}

// Empty reports whether there is nothing to store in a Secret.
func (c Credentials) Empty() bool {
	return c.Username == "" && c.Password == "" && c.BearerToken == "" && len(c.CAFile) == 0 &&
		len(c.Identity) == 0 && len(c.KnownHosts) == 0
}

// SecretData returns the auth Secret's data. For an SSH key it adds
// identity.pub (the public key in authorized_keys form) for the user's
// convenience; the reconciler ignores it.
func (c Credentials) SecretData() (map[string][]byte, error) {
	d := map[string][]byte{}
	set := func(k string, v []byte) {
		if len(v) > 0 {
			d[k] = v
		}
	}
	set("username", []byte(c.Username))
	set("password", []byte(c.Password))
	set("bearerToken", []byte(c.BearerToken))
	set("ca.crt", c.CAFile)
	set("identity", c.Identity)
	set("known_hosts", c.KnownHosts)
	if len(c.Identity) > 0 {
		pub, err := PublicKey(c.Identity)
		if err != nil {
			return nil, err
		}
		d["identity.pub"] = []byte(pub + "\n")
	}
	return d, nil
}

// CredentialsFromSecret reads back what SecretData stored.
func CredentialsFromSecret(d map[string][]byte) Credentials {
	return Credentials{
		Username: string(d["username"]), Password: string(d["password"]), BearerToken: string(d["bearerToken"]),
		CAFile: d["ca.crt"], Identity: d["identity"], KnownHosts: d["known_hosts"],
	}
}

// authMethod returns go-git's auth for rawURL.
func (c Credentials) authMethod(rawURL string) (transport.AuthMethod, error) {
	if IsSSH(rawURL) {
		if len(c.Identity) == 0 {
			return nil, fmt.Errorf("%s is an SSH URL: a private key is required (--private-key-file)", rawURL)
		}
		signer, err := gossh.ParsePrivateKey(c.Identity)
		if err != nil {
			return nil, fmt.Errorf("cannot parse the SSH private key: it must be an unencrypted PEM or OpenSSH key")
		}
		cb, err := hostKeyCallback(c.KnownHosts)
		if err != nil {
			return nil, err
		}
		user := "git"
		if u, err := url.Parse(rawURL); err == nil && u.User.Username() != "" {
			user = u.User.Username()
		}
		return &gitssh.PublicKeys{User: user, Signer: signer,
			HostKeyCallbackHelper: gitssh.HostKeyCallbackHelper{HostKeyCallback: cb}}, nil
	}
	switch {
	case c.BearerToken != "":
		return &githttp.TokenAuth{Token: c.BearerToken}, nil
	case c.Username != "" || c.Password != "":
		return &githttp.BasicAuth{Username: c.Username, Password: c.Password}, nil
	}
	return nil, nil
}

func hostKeyCallback(knownHosts []byte) (gossh.HostKeyCallback, error) {
	if len(knownHosts) == 0 {
		return nil, errors.New("no known_hosts for the SSH server")
	}
	var keys []struct {
		hosts []string
		key   gossh.PublicKey
	}
	rest := knownHosts
	for len(rest) > 0 {
		_, hosts, key, _, r, err := gossh.ParseKnownHosts(rest)
		if err != nil {
			break
		}
		keys = append(keys, struct {
			hosts []string
			key   gossh.PublicKey
		}{hosts, key})
		rest = r
	}
	if len(keys) == 0 {
		return nil, errors.New("known_hosts holds no host key")
	}
	return func(hostname string, remote net.Addr, key gossh.PublicKey) error {
		want := knownhosts.Normalize(hostname)
		for _, k := range keys {
			for _, h := range k.hosts {
				if knownhosts.Normalize(h) == want && string(k.key.Marshal()) == string(key.Marshal()) {
					return nil
				}
			}
		}
		return fmt.Errorf("ssh host key of %s (%s) is not in known_hosts", hostname, gossh.FingerprintSHA256(key))
	}, nil
}

// IsSSH reports whether rawURL is an ssh:// URL.
func IsSSH(rawURL string) bool { return strings.HasPrefix(strings.ToLower(rawURL), "ssh://") }

// sshAddr returns host:port of an ssh:// URL.
func sshAddr(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("invalid SSH URL %q: want ssh://[user@]host[:port]/path", rawURL)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "22"), nil
	}
	return u.Host, nil
}

// NormalizeURL turns the scp-like form git@host:owner/repo.git into
// ssh://git@host/owner/repo.git, which the GitRepository API accepts.
func NormalizeURL(raw string) string {
	if strings.Contains(raw, "://") {
		return raw
	}
	at := strings.Index(raw, "@")
	colon := strings.Index(raw, ":")
	if colon > 0 && (at < 0 || at < colon) {
		return "ssh://" + raw[:colon] + "/" + strings.TrimPrefix(raw[colon+1:], "/")
	}
	return raw
}

// GenerateDeployKey returns a new Ed25519 private key in OpenSSH PEM form.
func GenerateDeployKey() ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(block), nil
}

// PublicKey returns the authorized_keys form ("ssh-ed25519 AAAA...") of a
// private key's public half.
func PublicKey(identity []byte) (string, error) {
	signer, err := gossh.ParsePrivateKey(identity)
	if err != nil {
		return "", fmt.Errorf("cannot parse the SSH private key: it must be an unencrypted PEM or OpenSSH key")
	}
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey()))), nil
}

// ScanKnownHosts returns known_hosts lines for the host keys the SSH server
// of rawURL presents, trusted on first use as ssh-keyscan does: check their
// fingerprints (sshhosts.Fingerprints) where that matters.
func ScanKnownHosts(ctx context.Context, rawURL string) ([]byte, error) {
	addr, err := sshAddr(rawURL)
	if err != nil {
		return nil, err
	}
	return sshhosts.Scan(ctx, addr)
}

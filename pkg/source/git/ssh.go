package git

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/skeema/knownhosts"
	gossh "golang.org/x/crypto/ssh"
)

// sshAuth is a go-git SSH AuthMethod that authenticates with one private key
// and accepts only host keys listed in the caller's known_hosts.
type sshAuth struct {
	user    string
	host    string // host:port, to pick host key algorithms known_hosts can verify
	signer  gossh.Signer
	hosts   *knownhosts.HostKeyDB
	timeout time.Duration
}

func newSSHAuth(safeURL, user, host string, a Auth) (*sshAuth, error) {
	if len(a.SSHIdentity) == 0 {
		return nil, fmt.Errorf("%w: %s is an SSH URL: a private key (identity) is required", ErrAuthentication, safeURL)
	}
	if len(a.KnownHosts) == 0 {
		return nil, fmt.Errorf("%w: %s is an SSH URL: known_hosts is required to verify the server's host key",
			ErrHostKey, safeURL)
	}
	signer, err := gossh.ParsePrivateKey(a.SSHIdentity)
	var missing *gossh.PassphraseMissingError
	if errors.As(err, &missing) {
		if a.SSHPassword == "" {
			return nil, fmt.Errorf("%w: the SSH private key (identity) is encrypted and no passphrase was given",
				ErrAuthentication)
		}
		signer, err = gossh.ParsePrivateKeyWithPassphrase(a.SSHIdentity, []byte(a.SSHPassword))
	}
	if err != nil {
		// The parser's message does not echo key material, but keep it generic.
		return nil, fmt.Errorf("%w: cannot parse the SSH private key (identity): it must be a PEM or OpenSSH private key, with the right passphrase if encrypted",
			ErrAuthentication)
	}
	db, err := parseKnownHosts(a.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot parse known_hosts: %v", ErrHostKey, err)
	}
	return &sshAuth{user: user, host: host, signer: signer, hosts: db}, nil
}

// parseKnownHosts goes through a temporary file because the known_hosts
// parsers only read files; the file is read at once and removed.
func parseKnownHosts(data []byte) (*knownhosts.HostKeyDB, error) {
	f, err := os.CreateTemp("", "known_hosts-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return knownhosts.NewDB(f.Name())
}

// withTimeout returns a copy whose TCP dial and SSH handshake are bounded by
// d (go-git's SSH dial does not take a context).
func (a *sshAuth) withTimeout(d time.Duration) *sshAuth {
	b := *a
	b.timeout = d
	return &b
}

func (a *sshAuth) Name() string   { return "ssh-public-keys" }
func (a *sshAuth) String() string { return "user: " + a.user + ", name: ssh-public-keys" }

func (a *sshAuth) ClientConfig() (*gossh.ClientConfig, error) {
	return &gossh.ClientConfig{
		User:              a.user,
		Auth:              []gossh.AuthMethod{gossh.PublicKeys(a.signer)},
		HostKeyCallback:   a.checkHostKey,
		HostKeyAlgorithms: a.hosts.HostKeyAlgorithms(a.host),
		Timeout:           a.timeout,
	}, nil
}

// HostKeyError says why a server's host key was refused.
type HostKeyError struct {
	Host        string // as dialled, host:port
	Fingerprint string // SHA256 fingerprint of the key the server presented
	Unknown     bool   // true: host absent from known_hosts; false: key differs
}

func (e *HostKeyError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("ssh host %s is not in known_hosts (server key %s)", e.Host, e.Fingerprint)
	}
	return fmt.Sprintf("ssh host key of %s (%s) does not match known_hosts: the key changed or known_hosts is wrong",
		e.Host, e.Fingerprint)
}

func (e *HostKeyError) Unwrap() error { return ErrHostKey }

func (a *sshAuth) checkHostKey(hostname string, remote net.Addr, key gossh.PublicKey) error {
	err := a.hosts.HostKeyCallback()(hostname, remote, key)
	if err == nil {
		return nil
	}
	return &HostKeyError{
		Host:        hostname,
		Fingerprint: gossh.FingerprintSHA256(key),
		Unknown:     knownhosts.IsHostUnknown(err),
	}
}

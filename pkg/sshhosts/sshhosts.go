// Package sshhosts records the host keys of SSH servers as known_hosts lines,
// as ssh-keyscan does, and prints their fingerprints, as ssh-keygen -l does.
package sshhosts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeyAlgorithms are asked for one at a time, so that known_hosts holds a
// line for each kind of key the server has; the Git client only offers the
// algorithms that known_hosts can verify.
var hostKeyAlgorithms = [][]string{
	{gossh.KeyAlgoED25519},
	{gossh.KeyAlgoECDSA256, gossh.KeyAlgoECDSA384, gossh.KeyAlgoECDSA521},
	{gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256, gossh.KeyAlgoRSA},
}

var errGotKey = errors.New("host key recorded")

// Scan connects to the SSH server at addr (host:port) once per kind
// of host key and returns known_hosts lines for the keys it presents, like
// ssh-keyscan. The handshake stops at the host key: nothing is
// authenticated. Trust on first use: check the fingerprints printed if the
// network between here and the server is not trusted.
func Scan(ctx context.Context, addr string) ([]byte, error) {
	var lines []string
	var lastErr error
	for _, algos := range hostKeyAlgorithms {
		key, err := hostKey(ctx, addr, algos)
		if err != nil {
			lastErr = err
			var ne net.Error
			if errors.As(err, &ne) || ctx.Err() != nil {
				break // the server is unreachable: no point in asking again
			}
			continue
		}
		lines = append(lines, knownhosts.Line([]string{knownhosts.Normalize(addr)}, key))
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("scanning the SSH host keys of %s: %w: check the URL's host and port", addr, lastErr)
	}
	return []byte(strings.Join(lines, "\n") + "\n"), nil
}

func hostKey(ctx context.Context, addr string, algos []string) (gossh.PublicKey, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	}
	var key gossh.PublicKey
	cfg := &gossh.ClientConfig{
		User:              "git",
		HostKeyAlgorithms: algos,
		HostKeyCallback: func(_ string, _ net.Addr, k gossh.PublicKey) error {
			key = k
			return errGotKey
		},
	}
	_, _, _, err = gossh.NewClientConn(conn, addr, cfg)
	if key != nil {
		return key, nil
	}
	if err == nil {
		err = errors.New("the server presented no host key")
	}
	return nil, err
}

// Fingerprints returns "<type> SHA256:<hash>" for each key of a
// known_hosts file, as `ssh-keygen -lf` prints them: a key scanned on first
// contact is trusted only once its fingerprint matches the one the server's
// operator publishes (GitHub, GitLab and others list theirs).
func Fingerprints(knownHosts []byte) []string {
	var out []string
	rest := knownHosts
	for len(rest) > 0 {
		_, _, key, _, next, err := gossh.ParseKnownHosts(rest)
		if err != nil {
			break
		}
		out = append(out, key.Type()+" "+gossh.FingerprintSHA256(key))
		rest = next
	}
	return out
}

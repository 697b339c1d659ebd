package gitserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHServer serves the bare repositories under a root over SSH, running
// git-upload-pack / git-receive-pack for exec requests. Only public keys
// added with AuthorizedKey may log in.
type SSHServer struct {
	root    string
	srv     *ssh.Server
	addr    string
	hostKey gossh.PublicKey

	mu   sync.Mutex
	keys []gossh.PublicKey
}

// NewSSH starts an SSH server on 127.0.0.1 with a new Ed25519 host key,
// serving repositories under root. It stops when the test ends.
func NewSSH(t testing.TB, root string) *SSHServer {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	s := &SSHServer{root: root, hostKey: signer.PublicKey()}
	s.srv = &ssh.Server{
		Handler: s.handle,
		PublicKeyHandler: func(_ ssh.Context, key ssh.PublicKey) bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, k := range s.keys {
				if ssh.KeysEqual(k, key) {
					return true
				}
			}
			return false
		},
	}
	s.srv.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(s.Stop)
	return s
}

func (s *SSHServer) handle(sess ssh.Session) {
	exit := func(code int, msg string) {
		if msg != "" {
			_, _ = io.WriteString(sess.Stderr(), msg+"\n")
		}
		_ = sess.Exit(code)
	}
	args := sess.Command()
	if len(args) != 2 || (args[0] != "git-upload-pack" && args[0] != "git-receive-pack") {
		exit(128, "gitserver: only git-upload-pack and git-receive-pack are served")
		return
	}
	rel := path.Clean("/" + args[1])
	dir := filepath.Join(s.root, filepath.FromSlash(rel))
	cmd := exec.Command("git", strings.TrimPrefix(args[0], "git-"), dir)
	cmd.Env = []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}
	cmd.Stdout = sess
	cmd.Stderr = sess.Stderr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		exit(1, err.Error())
		return
	}
	if err := cmd.Start(); err != nil {
		exit(1, err.Error())
		return
	}
	go func() {
		_, _ = io.Copy(stdin, sess)
		_ = stdin.Close()
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		exit(ee.ExitCode(), "")
	case err != nil:
		exit(1, err.Error())
	default:
		exit(0, "")
	}
}

// Addr is the server's host:port.
func (s *SSHServer) Addr() string { return s.addr }

// URL returns ssh://git@127.0.0.1:PORT/<repo>.git.
func (s *SSHServer) URL(repo string) string {
	return "ssh://git@" + s.addr + "/" + repoDir(repo)
}

// HostKey is the server's public host key.
func (s *SSHServer) HostKey() gossh.PublicKey { return s.hostKey }

// KnownHosts returns a known_hosts line for this server's address and key.
func (s *SSHServer) KnownHosts() []byte {
	return []byte(knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, s.hostKey) + "\n")
}

// AuthorizedKey lets the holder of pub's private key log in.
func (s *SSHServer) AuthorizedKey(pub gossh.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, pub)
}

// Stop closes the server; it is also registered with t.Cleanup.
func (s *SSHServer) Stop() { _ = s.srv.Close() }

// NewClientKey generates an Ed25519 key pair and returns the private key as
// an OpenSSH PEM block (what a Secret's "identity" holds) and the public key.
func NewClientKey(t testing.TB) (privatePEM []byte, pub gossh.PublicKey) {
	t.Helper()
	pubKey, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := gossh.NewPublicKey(pubKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), sshPub
}

// KnownHostsLine returns a known_hosts line binding addr (host:port) to key.
// Tests use it with another key to build a known_hosts that must not match.
func KnownHostsLine(addr string, key gossh.PublicKey) []byte {
	return []byte(fmt.Sprintf("%s\n", knownhosts.Line([]string{knownhosts.Normalize(addr)}, key)))
}

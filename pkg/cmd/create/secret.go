package create

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/sshhosts"
)

// Keys of the Secrets, as the reconcilers read them (gitrepository's auth,
// helmrepository's Options, sourcectl.TLS, the OCI dockerconfigjson).
const (
	keyUsername    = "username"
	keyPassword    = "password"
	keyBearerToken = "bearerToken"
	keyIdentity    = "identity"
	keyIdentityPub = "identity.pub"
	keyKnownHosts  = "known_hosts"
	keyCA          = "ca.crt"
	keyCert        = "tls.crt"
	keyKey         = "tls.key"
)

func (o *Options) secret(typ corev1.SecretType, data map[string][]byte) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: o.objectMeta(), Type: typ, Data: data}
	s.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return s
}

// readFiles reads the files of the flags that are set into data.
func readFiles(data map[string][]byte, files map[string]string) error {
	for _, key := range sortedKeys(files) {
		path := files[key]
		if path == "" {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading the file for %s: %w", key, err)
		}
		data[key] = b
	}
	return nil
}

func newCmdSecretGit(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := newOptions(f, nil)
	var rawURL, username, password, bearerToken, privateKeyFile, caFile string
	cmd := leaf(f, o, "git", "Create or update a Secret with Git credentials", `  # HTTPS with a username and a token as password
  tether create secret git app-git --url=https://git.example.com/app --username=bot --password="$TOKEN"

  # SSH: a new Ed25519 key pair; add the printed public key as a deploy key
  tether create secret git app-git --url=ssh://git@git.example.com/org/app

  # SSH with an existing key
  tether create secret git app-git --url=ssh://git@git.example.com/org/app --private-key-file=./id_ed25519`, runF)
	fl := cmd.Flags()
	fl.StringVar(&rawURL, "url", "", "repository URL: https:// for basic auth or a bearer token, ssh:// for a key pair (required)")
	fl.StringVar(&username, "username", "", "HTTPS user name")
	fl.StringVar(&password, "password", "", "HTTPS password, or the passphrase of --private-key-file")
	fl.StringVar(&bearerToken, "bearer-token", "", "HTTPS bearer token")
	fl.StringVar(&privateKeyFile, "private-key-file", "", "SSH private key (PEM or OpenSSH) instead of a generated Ed25519 key")
	fl.StringVar(&caFile, "ca-file", "", "CA certificate (PEM) of an HTTPS server with a private CA")
	_ = cmd.MarkFlagRequired("url")
	_ = cmd.MarkFlagFilename("private-key-file")
	_ = cmd.MarkFlagFilename("ca-file")
	o.Objects = func(ctx context.Context) ([]client.Object, error) {
		u, err := url.Parse(rawURL)
		if err != nil || u.Host == "" {
			return nil, cmdutil.UsageErrorf("invalid --url %q: use an https:// or ssh:// URL", rawURL)
		}
		data := map[string][]byte{}
		switch u.Scheme {
		case "http", "https":
			if privateKeyFile != "" {
				return nil, cmdutil.UsageErrorf("--private-key-file is for ssh:// URLs")
			}
			if bearerToken != "" && (username != "" || password != "") {
				return nil, cmdutil.UsageErrorf("--bearer-token excludes --username and --password")
			}
			if (username == "") != (password == "") {
				return nil, cmdutil.UsageErrorf("pass both --username and --password")
			}
			if username == "" && bearerToken == "" && caFile == "" {
				return nil, cmdutil.UsageErrorf("pass --username and --password, --bearer-token or --ca-file")
			}
			if username != "" {
				data[keyUsername], data[keyPassword] = []byte(username), []byte(password)
			}
			if bearerToken != "" {
				data[keyBearerToken] = []byte(bearerToken)
			}
			if err := readFiles(data, map[string]string{keyCA: caFile}); err != nil {
				return nil, err
			}
		case "ssh":
			if username != "" || bearerToken != "" || caFile != "" {
				return nil, cmdutil.UsageErrorf("--username, --bearer-token and --ca-file are for https:// URLs")
			}
			identity, pub, err := sshIdentity(privateKeyFile, password)
			if err != nil {
				return nil, err
			}
			port := u.Port()
			if port == "" {
				port = "22"
			}
			addr := net.JoinHostPort(u.Hostname(), port)
			o.IO.Step("scanning the SSH host keys of %s", addr)
			knownHosts, err := o.ScanHostKeys(ctx, addr)
			if err != nil {
				return nil, err
			}
			for _, fp := range sshhosts.Fingerprints(knownHosts) {
				o.IO.Success("host key of %s: %s (check it against the server's published fingerprint)", addr, fp)
			}
			data[keyIdentity], data[keyIdentityPub], data[keyKnownHosts] = identity, pub, knownHosts
			if password != "" {
				data[keyPassword] = []byte(password)
			}
			if privateKeyFile == "" {
				o.Notes = append(o.Notes, strings.TrimSpace(string(pub)))
			}
		default:
			return nil, cmdutil.UsageErrorf("invalid --url %q: use an https:// or ssh:// URL", rawURL)
		}
		return []client.Object{o.secret(corev1.SecretTypeOpaque, data)}, nil
	}
	return cmd
}

// sshIdentity reads the private key file (decrypting it with passphrase to
// derive its public key) or, without a file, generates an Ed25519 key pair.
// It returns the private key as stored and the authorized_keys line.
func sshIdentity(file, passphrase string) (identity, pub []byte, err error) {
	if file == "" {
		if passphrase != "" {
			return nil, nil, cmdutil.UsageErrorf("--password with an ssh:// URL is the passphrase of --private-key-file")
		}
		pk, sk, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("generating an Ed25519 key: %w", err)
		}
		block, err := gossh.MarshalPrivateKey(sk, "")
		if err != nil {
			return nil, nil, err
		}
		sshPub, err := gossh.NewPublicKey(pk)
		if err != nil {
			return nil, nil, err
		}
		return pem.EncodeToMemory(block), gossh.MarshalAuthorizedKey(sshPub), nil
	}
	identity, err = os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("reading --private-key-file: %w", err)
	}
	var signer gossh.Signer
	if passphrase != "" {
		signer, err = gossh.ParsePrivateKeyWithPassphrase(identity, []byte(passphrase))
	} else {
		signer, err = gossh.ParsePrivateKey(identity)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--private-key-file %s is not a usable SSH private key (encrypted keys need --password): %w", file, err)
	}
	return identity, gossh.MarshalAuthorizedKey(signer.PublicKey()), nil
}

func newCmdSecretHelm(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := newOptions(f, nil)
	var username, password, caFile, certFile, keyFile string
	cmd := leaf(f, o, "helm", "Create or update a Secret with Helm repository credentials", `  # Basic auth for an HTTP chart repository
  tether create secret helm charts --username=bot --password="$TOKEN"`, runF)
	fl := cmd.Flags()
	fl.StringVar(&username, "username", "", "user name")
	fl.StringVar(&password, "password", "", "password")
	fl.StringVar(&caFile, "ca-file", "", "CA certificate (PEM) of the repository's server")
	fl.StringVar(&certFile, "cert-file", "", "client certificate (PEM)")
	fl.StringVar(&keyFile, "key-file", "", "private key (PEM) of the client certificate")
	o.Objects = func(context.Context) ([]client.Object, error) {
		if (username == "") != (password == "") {
			return nil, cmdutil.UsageErrorf("pass both --username and --password")
		}
		data := map[string][]byte{}
		if username != "" {
			data[keyUsername], data[keyPassword] = []byte(username), []byte(password)
		}
		if err := tlsData(data, caFile, certFile, keyFile); err != nil {
			return nil, err
		}
		if len(data) == 0 {
			return nil, cmdutil.UsageErrorf("pass --username and --password, or TLS files")
		}
		return []client.Object{o.secret(corev1.SecretTypeOpaque, data)}, nil
	}
	return cmd
}

func newCmdSecretOCI(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := newOptions(f, nil)
	var rawURL, username, password string
	cmd := leaf(f, o, "oci", "Create or update a registry Secret (kubernetes.io/dockerconfigjson)", `  # Credentials for ghcr.io, for an OCIRepository or an OCI HelmRepository
  tether create secret oci ghcr --url=ghcr.io --username=bot --password="$TOKEN"`, runF)
	fl := cmd.Flags()
	fl.StringVar(&rawURL, "url", "", "registry host, or an oci:// URL on it (required)")
	fl.StringVar(&username, "username", "", "user name (required)")
	fl.StringVar(&password, "password", "", "password or token (required)")
	_ = cmd.MarkFlagRequired("url")
	_ = cmd.MarkFlagRequired("username")
	_ = cmd.MarkFlagRequired("password")
	o.Objects = func(context.Context) ([]client.Object, error) {
		host := rawURL
		if strings.Contains(host, "://") {
			u, err := url.Parse(host)
			if err != nil || u.Host == "" {
				return nil, cmdutil.UsageErrorf("invalid --url %q: use a registry host such as ghcr.io", rawURL)
			}
			host = u.Host
		}
		host, _, _ = strings.Cut(host, "/")
		if host == "" {
			return nil, cmdutil.UsageErrorf("invalid --url %q: use a registry host such as ghcr.io", rawURL)
		}
		cfg := map[string]any{"auths": map[string]any{host: map[string]string{
			"username": username,
			"password": password,
			"auth":     base64.StdEncoding.EncodeToString([]byte(username + ":" + password)),
		}}}
		raw, err := json.Marshal(cfg)
		if err != nil {
			return nil, err
		}
		return []client.Object{o.secret(corev1.SecretTypeDockerConfigJson, map[string][]byte{corev1.DockerConfigJsonKey: raw})}, nil
	}
	return cmd
}

func newCmdSecretTLS(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := newOptions(f, nil)
	var caFile, certFile, keyFile string
	cmd := leaf(f, o, "tls", "Create or update a Secret with a CA and a client certificate (certSecretRef)", `  # A private CA and a client certificate
  tether create secret tls registry-tls --ca-file=ca.pem --cert-file=client.pem --key-file=client-key.pem`, runF)
	fl := cmd.Flags()
	fl.StringVar(&caFile, "ca-file", "", "CA certificate (PEM)")
	fl.StringVar(&certFile, "cert-file", "", "client certificate (PEM)")
	fl.StringVar(&keyFile, "key-file", "", "private key (PEM) of the client certificate")
	o.Objects = func(context.Context) ([]client.Object, error) {
		data := map[string][]byte{}
		if err := tlsData(data, caFile, certFile, keyFile); err != nil {
			return nil, err
		}
		if len(data) == 0 {
			return nil, cmdutil.UsageErrorf("pass --ca-file, or --cert-file with --key-file")
		}
		return []client.Object{o.secret(corev1.SecretTypeOpaque, data)}, nil
	}
	return cmd
}

// tlsData reads ca.crt, tls.crt and tls.key; a certificate goes with its key,
// and the pair must match.
func tlsData(data map[string][]byte, caFile, certFile, keyFile string) error {
	if (certFile == "") != (keyFile == "") {
		return cmdutil.UsageErrorf("pass both --cert-file and --key-file")
	}
	if err := readFiles(data, map[string]string{keyCA: caFile, keyCert: certFile, keyKey: keyFile}); err != nil {
		return err
	}
	if ca, ok := data[keyCA]; ok {
		if block, _ := pem.Decode(ca); block == nil {
			return fmt.Errorf("--ca-file %s is not PEM", caFile)
		}
	}
	if certFile != "" {
		if _, err := tls.X509KeyPair(data[keyCert], data[keyKey]); err != nil {
			return fmt.Errorf("--cert-file and --key-file are not a certificate and its key: %w", err)
		}
	}
	return nil
}

package git

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Error classes, for errors.Is. The controller maps them to condition
// reasons (ErrAuthentication → AuthenticationFailed, and so on).
var (
	// ErrAuthentication: the server refused the credentials, none were given
	// for a private repository, or the credentials given cannot be used.
	ErrAuthentication = errors.New("authentication failed")
	// ErrNotFound: the repository, branch, tag, reference or commit does not
	// exist, or no tag matches the semver constraint.
	ErrNotFound = errors.New("not found")
	// ErrHostKey: the SSH server's host key is not the one in known_hosts,
	// or known_hosts is missing.
	ErrHostKey = errors.New("ssh host key verification failed")
	// ErrTLS: the HTTPS server's certificate is not trusted (add its CA as
	// ca.crt) or the CA bundle is invalid.
	ErrTLS = errors.New("TLS certificate verification failed")
	// ErrInvalidURL: the URL is malformed or of an unsupported scheme.
	ErrInvalidURL = errors.New("invalid repository URL")
	// ErrInvalidRef: the Ref is malformed (bad commit hash, semver
	// constraint or reference name).
	ErrInvalidRef = errors.New("invalid reference")
	// ErrUnverified: a commit signature is missing or matches none of the
	// keys (VerifyCommit).
	ErrUnverified = errors.New("commit signature verification failed")
)

// wrap classifies err from go-git and returns an error that says what failed
// on which URL, is errors.Is-able to its class, to context errors and (when
// its text holds no secret) to the original error, and never contains the
// client's secrets.
func (c *Client) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	e := &opError{}
	detail := c.redact(err.Error())
	if detail == err.Error() {
		e.causes = append(e.causes, err)
	}
	for _, ce := range []error{context.DeadlineExceeded, context.Canceled} {
		if errors.Is(err, ce) {
			e.causes = append(e.causes, ce)
		}
	}
	detail = strings.TrimRight(detail, ": \n")
	kind := classify(err)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", what, c.safeURL)
	if kind != nil {
		e.causes = append(e.causes, kind)
		if kind != ErrHostKey && !strings.HasPrefix(detail, kind.Error()) { // HostKeyError says it already
			b.WriteString(kind.Error() + ": ")
		}
	}
	b.WriteString(detail)
	switch kind {
	case ErrAuthentication:
		b.WriteString(" (check the credentials)")
	case ErrTLS:
		b.WriteString(" (give the CA certificate of the server as ca.crt)")
	}
	e.msg = b.String()
	return e
}

type opError struct {
	msg    string
	causes []error
}

func (e *opError) Error() string   { return e.msg }
func (e *opError) Unwrap() []error { return e.causes }

func classify(err error) error {
	var hk *HostKeyError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &hk), errors.Is(err, ErrHostKey):
		return ErrHostKey
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod):
		return ErrAuthentication
	case errors.Is(err, transport.ErrRepositoryNotFound),
		errors.Is(err, transport.ErrEmptyRemoteRepository),
		errors.Is(err, plumbing.ErrReferenceNotFound),
		errors.Is(err, plumbing.ErrObjectNotFound):
		return ErrNotFound
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname),
		errors.As(err, &invalid), errors.As(err, &verify):
		return ErrTLS
	}
	var noMatch gogit.NoMatchingRefSpecError
	if errors.As(err, &noMatch) {
		return ErrNotFound
	}
	// Some transports flatten their errors to text.
	s := err.Error()
	switch {
	case strings.Contains(s, "ssh: unable to authenticate"):
		return ErrAuthentication
	case strings.Contains(s, "x509: "), strings.Contains(s, "tls: failed to verify certificate"):
		return ErrTLS
	case strings.Contains(s, "does not appear to be a git repository"),
		strings.Contains(s, "repository not found"),
		strings.Contains(s, "couldn't find remote ref"):
		return ErrNotFound
	}
	return nil
}

// redact replaces every secret of the client in s.
func (c *Client) redact(s string) string {
	for _, sec := range c.secrets {
		if len(sec) >= 3 && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}

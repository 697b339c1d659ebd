package oci

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors that the package's errors wrap, so that callers can pick a reason.
var (
	// ErrAuthentication: the registry refused the credentials (or there were
	// none for it).
	ErrAuthentication = errors.New("authentication failed")
	// ErrNotFound: the repository, tag or digest does not exist, or no tag
	// matches the semver range.
	ErrNotFound = errors.New("not found")
	// ErrInvalidURL: the URL is not oci://host/repository.
	ErrInvalidURL = errors.New("invalid OCI repository URL")
	// ErrInvalidConfig: the options or reference cannot work; retrying will not help.
	ErrInvalidConfig = errors.New("invalid OCI configuration")
	// ErrInsecure: plain HTTP without Options.Insecure.
	ErrInsecure = errors.New("insecure connection refused")
	// ErrLayer: the manifest has no such layer, or the layer is unusable
	// (too large, not an archive, or an archive with unsafe entries).
	ErrLayer = errors.New("layer operation failed")
)

// classify wraps a registry error with one of the package's errors.
func (c *Client) classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrInsecure) || errors.Is(err, ErrAuthentication) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s in %s: %w", op, c.url, err)
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden || hasCode(terr, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
			return fmt.Errorf("%w: %s in %s: the registry refused the credentials (%d): check the dockerconfigjson Secret in spec.secretRef",
				ErrAuthentication, op, c.url, terr.StatusCode)
		case terr.StatusCode == http.StatusNotFound || hasCode(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode):
			return fmt.Errorf("%w: %s in %s: %v", ErrNotFound, op, c.url, terr)
		}
	}
	return fmt.Errorf("%s in %s: %w", op, c.url, err)
}

func hasCode(e *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range e.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

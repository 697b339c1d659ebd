package bucket

import (
	"context"
	"errors"
	"fmt"

	"github.com/minio/minio-go/v7"
)

// Errors that the package's errors wrap, so that callers can pick a reason.
var (
	// ErrAuthentication: the credentials were refused (bad signature, unknown
	// access key, access denied).
	ErrAuthentication = errors.New("authentication failed")
	// ErrBucketNotFound: the bucket does not exist.
	ErrBucketNotFound = errors.New("bucket not found")
	// ErrInvalidConfig: the options cannot work; retrying will not help.
	ErrInvalidConfig = errors.New("invalid bucket configuration")
	// ErrUnsupported: the provider or mode is not supported.
	ErrUnsupported = errors.New("not supported")
	// ErrUnsafeKey: an object key is not a plain relative path.
	ErrUnsafeKey = errors.New("unsafe object key")
	// ErrLimit: the objects exceed the download bounds.
	ErrLimit = errors.New("bucket exceeds download limits")
	// ErrChanged: an object changed while it was being downloaded.
	ErrChanged = errors.New("object changed during download")

	errNoSuchKey = errors.New("no such key")
)

var authCodes = map[string]bool{
	"AccessDenied":                 true,
	"SignatureDoesNotMatch":        true,
	"InvalidAccessKeyId":           true,
	"InvalidClientTokenId":         true,
	"InvalidToken":                 true,
	"ExpiredToken":                 true,
	"AuthorizationHeaderMalformed": true,
	"AllAccessDisabled":            true,
	"AccountProblem":               true,
	"XAdminUserNotFound":           true, // versitygw: unknown access key
}

// classify wraps an S3 error with one of the package's errors and a hint on
// what to do. It keeps the server's code and message, which hold no secrets.
func (c *Client) classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s in bucket %q at %s: %w", op, c.bucket, c.endpoint, err)
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case authCodes[resp.Code] || resp.StatusCode == 401 || resp.StatusCode == 403:
		return fmt.Errorf("%w: %s in bucket %q at %s: %s (%s): check the accesskey and secretkey of spec.secretRef and the bucket's policy",
			ErrAuthentication, op, c.bucket, c.endpoint, resp.Message, resp.Code)
	case resp.Code == "NoSuchBucket":
		return fmt.Errorf("%w: bucket %q does not exist at %s: create it or fix spec.bucketName", ErrBucketNotFound, c.bucket, c.endpoint)
	case resp.Code == "NoSuchKey":
		return fmt.Errorf("%s in bucket %q: %w", op, c.bucket, errNoSuchKey)
	case resp.Code == "PreconditionFailed":
		return fmt.Errorf("%w: %s in bucket %q: the next reconcile retries", ErrChanged, op, c.bucket)
	case resp.Code != "":
		return fmt.Errorf("%s in bucket %q at %s: %s (%s)", op, c.bucket, c.endpoint, resp.Message, resp.Code)
	}
	return fmt.Errorf("%s in bucket %q at %s: %w", op, c.bucket, c.endpoint, err)
}

func isNoSuchKey(err error) bool { return errors.Is(err, errNoSuchKey) }

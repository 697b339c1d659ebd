// Package bucket fetches the objects of an S3-compatible bucket: it lists a
// prefix, digests the (key, ETag) list into a revision so that an unchanged
// bucket costs one listing and no download, applies ignore rules before
// downloading, and downloads only what changed, within size bounds.
//
// Providers: generic (any S3 API, static keys), aws (static keys or the AWS
// credential chain: environment, shared credentials file, IAM/web identity),
// gcp (Cloud Storage's S3-compatible XML API with HMAC keys). azure is not
// S3-compatible and is refused with an error that says so.
package bucket

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Providers of object storage.
const (
	ProviderGeneric = "generic"
	ProviderAWS     = "aws"
	ProviderGCP     = "gcp"
	ProviderAzure   = "azure"
)

// Default endpoints of the cloud providers.
const (
	AWSEndpoint = "s3.amazonaws.com"
	GCPEndpoint = "storage.googleapis.com"
)

// Options say how to reach a bucket. None of its values ever appears in an error.
type Options struct {
	// Provider is generic (the default), aws, gcp or azure.
	Provider string
	// Endpoint is host[:port]; an http:// or https:// prefix sets Insecure.
	// Defaults to the provider's endpoint for aws and gcp.
	Endpoint string
	// Insecure uses plain HTTP.
	Insecure bool
	// Region of the bucket; empty lets the client discover it.
	Region string
	// AccessKey and SecretKey are static credentials (HMAC keys for gcp).
	AccessKey, SecretKey string
	// CA is a PEM bundle of extra certificate authorities to trust.
	CA []byte
	// CertPEM and KeyPEM are a TLS client certificate.
	CertPEM, KeyPEM []byte
	// Proxy is an HTTP(S) proxy URL, with user info for basic auth.
	Proxy *url.URL
	// MaxRetries of the S3 client for retryable errors; 0 means 3.
	MaxRetries int
}

// Client reads one bucket.
type Client struct {
	mc       *minio.Client
	bucket   string
	endpoint string
}

// New returns a client for bucketName. It makes no request.
func New(bucketName string, o Options) (*Client, error) {
	if bucketName == "" {
		return nil, fmt.Errorf("%w: the bucket name is empty", ErrInvalidConfig)
	}
	endpoint, secure, err := endpointOf(o)
	if err != nil {
		return nil, err
	}
	creds, err := credentialsFor(o)
	if err != nil {
		return nil, err
	}
	tr, err := transport(o, secure)
	if err != nil {
		return nil, err
	}
	retries := o.MaxRetries
	if retries == 0 {
		retries = 3
	}
	mc, err := minio.New(endpoint, &minio.Options{
		Creds:      creds,
		Secure:     secure,
		Region:     o.Region,
		Transport:  tr,
		MaxRetries: retries,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: endpoint %q: %v", ErrInvalidConfig, endpoint, err)
	}
	return &Client{mc: mc, bucket: bucketName, endpoint: endpoint}, nil
}

// Endpoint is the host[:port] the client talks to.
func (c *Client) Endpoint() string { return c.endpoint }

// Bucket is the bucket's name.
func (c *Client) Bucket() string { return c.bucket }

func endpointOf(o Options) (string, bool, error) {
	endpoint, secure := o.Endpoint, !o.Insecure
	switch {
	case strings.HasPrefix(endpoint, "http://"):
		endpoint, secure = strings.TrimPrefix(endpoint, "http://"), false
	case strings.HasPrefix(endpoint, "https://"):
		endpoint = strings.TrimPrefix(endpoint, "https://")
	}
	endpoint = strings.TrimSuffix(endpoint, "/")
	if strings.Contains(endpoint, "/") {
		return "", false, fmt.Errorf("%w: endpoint %q must be host[:port], without a path", ErrInvalidConfig, o.Endpoint)
	}
	switch provider(o) {
	case ProviderGeneric:
		if endpoint == "" {
			return "", false, fmt.Errorf("%w: the generic provider needs spec.endpoint (host[:port] of the S3 API)", ErrInvalidConfig)
		}
	case ProviderAWS:
		if endpoint == "" {
			endpoint = AWSEndpoint
		}
	case ProviderGCP:
		if endpoint == "" {
			endpoint = GCPEndpoint
		}
	case ProviderAzure:
		return "", false, fmt.Errorf("%w: the azure provider needs the Azure Blob API, which is not S3-compatible; "+
			"put an S3 gateway in front of the storage account and use the generic provider", ErrUnsupported)
	default:
		return "", false, fmt.Errorf("%w: unknown provider %q: use generic, aws or gcp", ErrInvalidConfig, o.Provider)
	}
	return endpoint, secure, nil
}

func provider(o Options) string {
	if o.Provider == "" {
		return ProviderGeneric
	}
	return o.Provider
}

func credentialsFor(o Options) (*credentials.Credentials, error) {
	if (o.AccessKey == "") != (o.SecretKey == "") {
		return nil, fmt.Errorf("%w: the credentials need both accesskey and secretkey", ErrInvalidConfig)
	}
	if o.AccessKey != "" {
		return credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""), nil
	}
	switch provider(o) {
	case ProviderAWS:
		// The AWS chain: environment, shared credentials file, then IAM
		// (web identity token, ECS task role or EC2 instance profile).
		return credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
			&credentials.IAM{},
		}), nil
	case ProviderGCP:
		return nil, fmt.Errorf("%w: the gcp provider reads buckets through Cloud Storage's S3-compatible API, "+
			"which needs HMAC keys: put them in spec.secretRef as accesskey and secretkey "+
			"(workload identity needs the Cloud Storage SDK, which is not supported yet)", ErrUnsupported)
	}
	// Anonymous access, for public buckets.
	return credentials.NewStatic("", "", "", credentials.SignatureAnonymous), nil
}

func transport(o Options, secure bool) (http.RoundTripper, error) {
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	if secure && (len(o.CA) > 0 || len(o.CertPEM) > 0) {
		cfg := tr.TLSClientConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if len(o.CA) > 0 {
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(o.CA) {
				return nil, fmt.Errorf("%w: ca.crt holds no PEM certificate", ErrInvalidConfig)
			}
			cfg.RootCAs = pool
		}
		if len(o.CertPEM) > 0 || len(o.KeyPEM) > 0 {
			cert, err := tls.X509KeyPair(o.CertPEM, o.KeyPEM)
			if err != nil {
				return nil, fmt.Errorf("%w: tls.crt and tls.key are not a valid key pair", ErrInvalidConfig)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		tr.TLSClientConfig = cfg
	}
	if o.Proxy != nil {
		if o.Proxy.Host == "" {
			return nil, fmt.Errorf("%w: the proxy address has no host", ErrInvalidConfig)
		}
		tr.Proxy = http.ProxyURL(o.Proxy)
	}
	return tr, nil
}

package sourcectl

import (
	"context"
	"fmt"
	"net/url"

	"github.com/tether-gitops/tether/pkg/secretref"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Keys of the TLS (certSecretRef) and proxy (proxySecretRef) Secrets that
// several source kinds refer to.
const (
	CAKey        = "ca.crt"
	CertKey      = "tls.crt"
	KeyKey       = "tls.key"
	ProxyAddress = "address"
	ProxyUser    = "username"
	ProxyPass    = "password"
)

// Secret reads a Secret in namespace ns; field names the spec field that
// refers to it, for the error. Errors never hold the Secret's data.
func Secret(ctx context.Context, c client.Reader, ns, name, field string) (*corev1.Secret, error) {
	return secretref.Get(ctx, c, ns, name, field)
}

// TLS returns the CA and client certificate of a certSecretRef Secret,
// which must hold at least one of them.
func TLS(s *corev1.Secret) (ca, certPEM, keyPEM []byte, err error) {
	ca, certPEM, keyPEM = s.Data[CAKey], s.Data[CertKey], s.Data[KeyKey]
	if len(ca) == 0 && len(certPEM) == 0 {
		return nil, nil, nil, fmt.Errorf("secret %q holds neither %q nor %q", s.Name, CAKey, CertKey)
	}
	return ca, certPEM, keyPEM, nil
}

// Proxy returns the proxy URL of a proxySecretRef Secret, with its credentials.
func Proxy(s *corev1.Secret) (*url.URL, error) {
	u, err := url.Parse(string(s.Data[ProxyAddress]))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("secret %q: %q must be a proxy URL such as http://proxy:3128", s.Name, ProxyAddress)
	}
	if user := string(s.Data[ProxyUser]); user != "" {
		u.User = url.UserPassword(user, string(s.Data[ProxyPass]))
	}
	return u, nil
}

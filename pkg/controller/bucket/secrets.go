package bucket

import (
	"context"
	"fmt"

	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/controller/sourcectl"
	"github.com/tether-gitops/tether/pkg/source/bucket"
)

// Keys of the Secrets a Bucket refers to.
const (
	AccessKeyKey = "accesskey"
	SecretKeyKey = "secretkey"
)

// options builds the bucket client's options from the spec and its Secrets:
// spec.secretRef (accesskey, secretkey), spec.certSecretRef (ca.crt, and
// tls.crt with tls.key) and spec.proxySecretRef (address, username, password).
// Errors name Secrets and keys, never their values.
func (r *Reconciler) options(ctx context.Context, obj *sourcev1.Bucket) (bucket.Options, error) {
	o := bucket.Options{
		Provider: obj.GetProvider(),
		Endpoint: obj.Spec.Endpoint,
		Insecure: obj.Spec.Insecure,
		Region:   obj.Spec.Region,
	}
	if ref := obj.Spec.SecretRef; ref != nil {
		s, err := sourcectl.Secret(ctx, r.Client, obj.Namespace, ref.Name, "spec.secretRef")
		if err != nil {
			return o, err
		}
		o.AccessKey, o.SecretKey = string(s.Data[AccessKeyKey]), string(s.Data[SecretKeyKey])
		if o.AccessKey == "" || o.SecretKey == "" {
			return o, fmt.Errorf("secret %q must hold both %q and %q", ref.Name, AccessKeyKey, SecretKeyKey)
		}
	}
	if ref := obj.Spec.CertSecretRef; ref != nil {
		s, err := sourcectl.Secret(ctx, r.Client, obj.Namespace, ref.Name, "spec.certSecretRef")
		if err != nil {
			return o, err
		}
		if o.CA, o.CertPEM, o.KeyPEM, err = sourcectl.TLS(s); err != nil {
			return o, err
		}
	}
	if ref := obj.Spec.ProxySecretRef; ref != nil {
		s, err := sourcectl.Secret(ctx, r.Client, obj.Namespace, ref.Name, "spec.proxySecretRef")
		if err != nil {
			return o, err
		}
		if o.Proxy, err = sourcectl.Proxy(s); err != nil {
			return o, err
		}
	}
	return o, nil
}

package bucket

import (
	"context"
	"fmt"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/source/bucket"
)

// Keys of the Secrets a Bucket refers to.
const (
	AccessKeyKey = "accesskey"
	SecretKeyKey = "secretkey"
	CAKey        = "ca.crt"
	CertKey      = "tls.crt"
	KeyKey       = "tls.key"
	ProxyAddress = "address"
	ProxyUser    = "username"
	ProxyPass    = "password"
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
		s, err := r.secret(ctx, obj, ref.Name, "spec.secretRef")
		if err != nil {
			return o, err
		}
		o.AccessKey, o.SecretKey = string(s.Data[AccessKeyKey]), string(s.Data[SecretKeyKey])
		if o.AccessKey == "" || o.SecretKey == "" {
			return o, fmt.Errorf("secret %q must hold both %q and %q", ref.Name, AccessKeyKey, SecretKeyKey)
		}
	}
	if ref := obj.Spec.CertSecretRef; ref != nil {
		s, err := r.secret(ctx, obj, ref.Name, "spec.certSecretRef")
		if err != nil {
			return o, err
		}
		o.CA, o.CertPEM, o.KeyPEM = s.Data[CAKey], s.Data[CertKey], s.Data[KeyKey]
		if len(o.CA) == 0 && len(o.CertPEM) == 0 {
			return o, fmt.Errorf("secret %q holds neither %q nor %q", ref.Name, CAKey, CertKey)
		}
	}
	if ref := obj.Spec.ProxySecretRef; ref != nil {
		s, err := r.secret(ctx, obj, ref.Name, "spec.proxySecretRef")
		if err != nil {
			return o, err
		}
		u, err := url.Parse(string(s.Data[ProxyAddress]))
		if err != nil || u.Host == "" {
			return o, fmt.Errorf("secret %q: %q must be a proxy URL such as http://proxy:3128", ref.Name, ProxyAddress)
		}
		if user := string(s.Data[ProxyUser]); user != "" {
			u.User = url.UserPassword(user, string(s.Data[ProxyPass]))
		}
		o.Proxy = u
	}
	return o, nil
}

// secret reads a Secret in the object's namespace; the error never holds its data.
func (r *Reconciler) secret(ctx context.Context, obj *sourcev1.Bucket, name, field string) (*corev1.Secret, error) {
	var s corev1.Secret
	if err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("secret %q not found in namespace %q: create it or fix %s", name, obj.Namespace, field)
		}
		return nil, fmt.Errorf("reading secret %q: %w", name, err)
	}
	return &s, nil
}

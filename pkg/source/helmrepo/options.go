// Package helmrepo connects a HelmRepository object to the clients of
// pkg/source/helm: it builds their options from the spec and the Secrets it
// names, and fetches a chart as the HelmChart reconciler does. The
// reconcilers and the CLI share it, so that `tether diff helmrelease` fetches
// with the credentials and rules the reconciler uses.
package helmrepo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/secretref"
	"github.com/tether-gitops/tether/pkg/source/helm"
)

// Options builds the client options of a HelmRepository from its spec and
// secrets: spec.secretRef holds "username"/"password" (or, for type oci, a
// kubernetes.io/dockerconfigjson Secret) and may hold TLS data;
// spec.certSecretRef holds "ca.crt", "tls.crt" and "tls.key" and wins over
// TLS data in secretRef. The HelmRepository and HelmChart reconcilers and the
// CLI use it to fetch with the repository's credentials. Errors never hold
// secret data.
func Options(ctx context.Context, c client.Reader, obj *sourcev1.HelmRepository) (helm.Options, error) {
	opts := helm.Options{Timeout: obj.GetTimeout(), PlainHTTP: obj.Spec.Insecure}
	opts.PassCredentials = obj.Spec.PassCredentials
	if ref := obj.Spec.SecretRef; ref != nil {
		s, err := secretref.Get(ctx, c, obj.Namespace, ref.Name, "spec.secretRef")
		if err != nil {
			return opts, err
		}
		if s.Type == corev1.SecretTypeDockerConfigJson {
			if opts.Username, opts.Password, err = dockerCredentials(s, obj.Spec.URL); err != nil {
				return opts, err
			}
		} else {
			opts.Username, opts.Password = string(s.Data["username"]), string(s.Data["password"])
			if (opts.Username == "") != (opts.Password == "") {
				return opts, fmt.Errorf("secret %q must hold both 'username' and 'password', or neither", ref.Name)
			}
		}
		setTLS(&opts.Auth, s)
	}
	if ref := obj.Spec.CertSecretRef; ref != nil {
		s, err := secretref.Get(ctx, c, obj.Namespace, ref.Name, "spec.certSecretRef")
		if err != nil {
			return opts, err
		}
		opts.CAPEM, opts.CertPEM, opts.KeyPEM = nil, nil, nil
		setTLS(&opts.Auth, s)
	}
	return opts, nil
}

func setTLS(a *helm.Auth, s *corev1.Secret) {
	if v := s.Data["ca.crt"]; len(v) > 0 {
		a.CAPEM = v
	}
	if v := s.Data["tls.crt"]; len(v) > 0 {
		a.CertPEM = v
	}
	if v := s.Data["tls.key"]; len(v) > 0 {
		a.KeyPEM = v
	}
}

// dockerCredentials picks the entry of a .dockerconfigjson for the registry host.
func dockerCredentials(s *corev1.Secret, rawURL string) (user, pass string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", "", fmt.Errorf("invalid URL: %w", err)
	}
	var cfg struct {
		Auths map[string]struct {
			Username string `json:"username"`
			Password string `json:"password"`
			Auth     string `json:"auth"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
		return "", "", fmt.Errorf("secret %q: .dockerconfigjson is not valid JSON", s.Name)
	}
	for host, e := range cfg.Auths {
		h := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://"), "/")
		if h != u.Host {
			continue
		}
		if e.Username != "" {
			return e.Username, e.Password, nil
		}
		raw, err := base64.StdEncoding.DecodeString(e.Auth)
		if user, pass, ok := strings.Cut(string(raw), ":"); err == nil && ok {
			return user, pass, nil
		}
		return "", "", fmt.Errorf("secret %q: the entry for %s has no usable credentials", s.Name, u.Host)
	}
	return "", "", fmt.Errorf("secret %q has no credentials for %s in .dockerconfigjson", s.Name, u.Host)
}

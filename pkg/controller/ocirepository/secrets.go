package ocirepository

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/controller/sourcectl"
	"github.com/tether-gitops/tether/pkg/source/oci"
)

// options builds the registry client's options from the spec and its
// Secrets: spec.secretRef and the image pull secrets of
// spec.serviceAccountName (kubernetes.io/dockerconfigjson, merged, the
// former first), spec.certSecretRef (ca.crt, tls.crt with tls.key) and
// spec.proxySecretRef (address, username, password). Errors name Secrets
// and keys, never their values.
func (r *Reconciler) options(ctx context.Context, obj *sourcev1.OCIRepository) (oci.Options, error) {
	o := oci.Options{Insecure: obj.Spec.Insecure, UserAgent: r.UserAgent}
	var configs []namedConfig
	if ref := obj.Spec.SecretRef; ref != nil {
		s, err := sourcectl.Secret(ctx, r.Client, obj.Namespace, ref.Name, "spec.secretRef")
		if err != nil {
			return o, err
		}
		data, ok := s.Data[corev1.DockerConfigJsonKey]
		if !ok {
			return o, fmt.Errorf("secret %q has no %q key: create it with `kubectl create secret docker-registry`", ref.Name, corev1.DockerConfigJsonKey)
		}
		configs = append(configs, namedConfig{ref.Name, data})
	}
	if sa := obj.Spec.ServiceAccountName; sa != "" {
		var acct corev1.ServiceAccount
		if err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: sa}, &acct); err != nil {
			if apierrors.IsNotFound(err) {
				return o, fmt.Errorf("service account %q not found in namespace %q: create it or fix spec.serviceAccountName", sa, obj.Namespace)
			}
			return o, fmt.Errorf("reading service account %q (spec.serviceAccountName): %w", sa, err)
		}
		for _, ps := range acct.ImagePullSecrets {
			s, err := sourcectl.Secret(ctx, r.Client, obj.Namespace, ps.Name, "the imagePullSecrets of service account "+sa)
			if err != nil {
				return o, err
			}
			if data, ok := s.Data[corev1.DockerConfigJsonKey]; ok {
				configs = append(configs, namedConfig{ps.Name, data})
			}
		}
	}
	if len(configs) > 0 {
		merged, err := mergeDockerConfigs(configs)
		if err != nil {
			return o, err
		}
		o.DockerConfigJSON = merged
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

type namedConfig struct {
	secret string
	data   []byte
}

// mergeDockerConfigs joins the "auths" of several Docker configs; for a host
// in more than one, the first wins.
func mergeDockerConfigs(cs []namedConfig) ([]byte, error) {
	auths := map[string]json.RawMessage{}
	for _, c := range cs {
		var cfg struct {
			Auths map[string]json.RawMessage `json:"auths"`
		}
		if err := json.Unmarshal(c.data, &cfg); err != nil {
			return nil, fmt.Errorf("secret %q: %q is not a Docker config (JSON with \"auths\")", c.secret, corev1.DockerConfigJsonKey)
		}
		for host, v := range cfg.Auths {
			if _, ok := auths[host]; !ok {
				auths[host] = v
			}
		}
	}
	return json.Marshal(map[string]any{"auths": auths})
}

package kustomize

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/sops"
)

// AgeKeySuffix ends the keys of a spec.decryption.secretRef Secret that hold
// age identities.
const AgeKeySuffix = ".agekey"

// OptionsFor returns the Options of a Kustomization's build with what it
// needs from the cluster, read with r: the SOPS decryptor of
// spec.decryption and the variables of spec.postBuild. The reconciler and
// `tether build` use it alike, so that both render the same objects.
func OptionsFor(ctx context.Context, r client.Reader, ks *kustomizev1.Kustomization) (Options, error) {
	opts := OptionsFromSpec(&ks.Spec)
	dec, err := decryptor(ctx, r, ks)
	if err != nil {
		return opts, err
	}
	opts.Decrypt = dec.DecryptFile
	if opts.Vars, err = variables(ctx, r, ks); err != nil {
		return opts, err
	}
	return opts, nil
}

// decryptor returns the SOPS decryptor of spec.decryption; nil without one,
// and then an encrypted file fails the build with a clear message.
func decryptor(ctx context.Context, r client.Reader, ks *kustomizev1.Kustomization) (*sops.Decryptor, error) {
	d := ks.Spec.Decryption
	if d == nil || d.SecretRef == nil {
		return nil, nil
	}
	var s corev1.Secret
	if err := r.Get(ctx, client.ObjectKey{Namespace: ks.Namespace, Name: d.SecretRef.Name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("secret %q not found in namespace %q: create it or fix spec.decryption.secretRef", d.SecretRef.Name, ks.Namespace)
		}
		return nil, fmt.Errorf("reading secret %q of spec.decryption.secretRef: %w", d.SecretRef.Name, err)
	}
	var keys [][]byte
	for k, v := range s.Data {
		if strings.HasSuffix(k, AgeKeySuffix) {
			keys = append(keys, v)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("secret %q of spec.decryption.secretRef holds no age key: add one under a key ending in %s", s.Name, AgeKeySuffix)
	}
	dec, err := sops.NewDecryptor(keys...)
	if err != nil {
		return nil, fmt.Errorf("secret %q of spec.decryption.secretRef: %w", s.Name, err)
	}
	return dec, nil
}

// variables reads spec.postBuild: the data of substituteFrom in order, then
// substitute, later entries winning. Nil without spec.postBuild.
func variables(ctx context.Context, r client.Reader, ks *kustomizev1.Kustomization) (map[string]string, error) {
	pb := ks.Spec.PostBuild
	if pb == nil {
		return nil, nil
	}
	var from []map[string]string
	for _, ref := range pb.SubstituteFrom {
		key := client.ObjectKey{Namespace: ks.Namespace, Name: ref.Name}
		var (
			obj  client.Object
			data func() map[string]string
		)
		switch ref.Kind {
		case "ConfigMap":
			cm := &corev1.ConfigMap{}
			obj, data = cm, func() map[string]string { return cm.Data }
		case "Secret":
			s := &corev1.Secret{}
			obj, data = s, func() map[string]string {
				m := make(map[string]string, len(s.Data))
				for k, v := range s.Data {
					m[k] = string(v)
				}
				return m
			}
		default:
			return nil, fmt.Errorf("spec.postBuild.substituteFrom: kind %q must be ConfigMap or Secret", ref.Kind)
		}
		if err := r.Get(ctx, key, obj); err != nil {
			if apierrors.IsNotFound(err) {
				if ref.Optional {
					continue
				}
				return nil, fmt.Errorf("spec.postBuild.substituteFrom: %s %q not found: create it or mark it optional", ref.Kind, ref.Name)
			}
			return nil, fmt.Errorf("spec.postBuild.substituteFrom: reading %s %q: %w", ref.Kind, ref.Name, err)
		}
		from = append(from, data())
	}
	return VarsFrom(from, pb.Substitute), nil
}

// SetLabels sets labels on every object, as the reconciler does before it
// applies (the owner labels), so that `tether build` shows what is applied.
func SetLabels(objs []*unstructured.Unstructured, labels map[string]string) {
	for _, u := range objs {
		l := u.GetLabels()
		if l == nil {
			l = make(map[string]string, len(labels))
		}
		for k, v := range labels {
			l[k] = v
		}
		u.SetLabels(l)
	}
}

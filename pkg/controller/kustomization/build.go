package kustomization

import (
	"context"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/controller/sourcectl"
	"github.com/tether-gitops/tether/pkg/kustomize"
	"github.com/tether-gitops/tether/pkg/sops"
)

// build renders spec.path of the source's artifact: decrypts SOPS files,
// runs kustomize with the spec's overlays, then substitutes variables.
func (r *Reconciler) build(ctx context.Context, ks *kustomizev1.Kustomization, src meta.Source) ([]*unstructured.Unstructured, error) {
	dec, err := r.decryptor(ctx, ks)
	if err != nil {
		return nil, err
	}
	vars, err := r.substitutions(ctx, ks)
	if err != nil {
		return nil, err
	}
	dir, release, err := r.workspace.acquire(*src.GetArtifact())
	if err != nil {
		return nil, err
	}
	fsys, err := kustomize.LoadDir(dir)
	release()
	if err != nil {
		return nil, err
	}
	opts := kustomize.OptionsFromSpec(&ks.Spec)
	opts.Decrypt = dec.DecryptFile
	opts.Vars = vars
	return kustomize.Build(fsys, opts)
}

// decryptor returns the SOPS decryptor of spec.decryption, nil without one
// (an encrypted file then fails the build with a clear message).
func (r *Reconciler) decryptor(ctx context.Context, ks *kustomizev1.Kustomization) (*sops.Decryptor, error) {
	d := ks.Spec.Decryption
	if d == nil || d.SecretRef == nil {
		return nil, nil
	}
	s, err := sourcectl.Secret(ctx, r.Client, ks.Namespace, d.SecretRef.Name, "spec.decryption.secretRef")
	if err != nil {
		return nil, err
	}
	var keys [][]byte
	for k, v := range s.Data {
		if strings.HasSuffix(k, ".agekey") {
			keys = append(keys, v)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("secret %q of spec.decryption.secretRef holds no age key: add one under a key ending in .agekey", s.Name)
	}
	dec, err := sops.NewDecryptor(keys...)
	if err != nil {
		return nil, fmt.Errorf("secret %q of spec.decryption.secretRef: %w", s.Name, err)
	}
	return dec, nil
}

// substitutions reads spec.postBuild: the data of substituteFrom in order,
// then substitute, later entries winning.
func (r *Reconciler) substitutions(ctx context.Context, ks *kustomizev1.Kustomization) (map[string]string, error) {
	pb := ks.Spec.PostBuild
	if pb == nil {
		return nil, nil
	}
	vars := map[string]string{}
	for _, ref := range pb.SubstituteFrom {
		key := client.ObjectKey{Namespace: ks.Namespace, Name: ref.Name}
		var data map[string]string
		switch ref.Kind {
		case "ConfigMap":
			var cm corev1.ConfigMap
			if err := r.Get(ctx, key, &cm); err != nil {
				if apierrors.IsNotFound(err) && ref.Optional {
					continue
				}
				return nil, substituteFromError(ref, err)
			}
			data = cm.Data
		case "Secret":
			var s corev1.Secret
			if err := r.Get(ctx, key, &s); err != nil {
				if apierrors.IsNotFound(err) && ref.Optional {
					continue
				}
				return nil, substituteFromError(ref, err)
			}
			data = make(map[string]string, len(s.Data))
			for k, v := range s.Data {
				data[k] = string(v)
			}
		default:
			return nil, fmt.Errorf("spec.postBuild.substituteFrom: kind %q must be ConfigMap or Secret", ref.Kind)
		}
		maps.Copy(vars, data)
	}
	maps.Copy(vars, pb.Substitute)
	return vars, nil
}

func substituteFromError(ref kustomizev1.SubstituteReference, err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("spec.postBuild.substituteFrom: %s %q not found: create it or mark it optional", ref.Kind, ref.Name)
	}
	return fmt.Errorf("spec.postBuild.substituteFrom: reading %s %q: %w", ref.Kind, ref.Name, err)
}

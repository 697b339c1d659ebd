package kustomization

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/kustomize"
)

// build renders spec.path of the source's artifact: SOPS files decrypted in
// memory, kustomize with the spec's overlays, variables substituted.
// It also returns the file each object came from, for error messages.
func (r *Reconciler) build(ctx context.Context, ks *kustomizev1.Kustomization, src meta.Source) ([]*unstructured.Unstructured, map[string]string, error) {
	opts, err := kustomize.OptionsFor(ctx, r.Client, ks)
	if err != nil {
		return nil, nil, err
	}
	opts.AllowRemoteBases = r.AllowRemoteBases
	dir, release, err := r.workspace.acquire(*src.GetArtifact())
	if err != nil {
		return nil, nil, err
	}
	// Each build gets its own in-memory copy: Build rewrites the
	// kustomization in it, and the extraction is shared.
	fsys, err := kustomize.LoadDir(dir)
	release()
	if err != nil {
		return nil, nil, err
	}
	return kustomize.BuildWithOrigins(fsys, opts)
}

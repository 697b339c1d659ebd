package build

import (
	"bytes"
	"context"
	"fmt"
	"os"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/artifact"
)

// source reads the Kustomization's source, which must have an artifact.
func (o *Options) source(ctx context.Context, c client.Client, ks *kustomizev1.Kustomization) (src meta.Source, what string, err error) {
	ref := ks.Spec.SourceRef
	src, ok := sourcev1.NewKustomizationSource(ref.Kind)
	if !ok {
		return nil, "", fmt.Errorf("kustomization %s/%s: source kind %q is not supported: use GitRepository, OCIRepository or Bucket", ks.Namespace, ks.Name, ref.Kind)
	}
	ns := ref.NamespaceOr(ks.Namespace)
	what = fmt.Sprintf("%s %s/%s", ref.Kind, ns, ref.Name)
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, src); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", fmt.Errorf("%s %s/%s (spec.sourceRef of kustomization %s) not found: create it, or build a local directory with --path", ref.Kind, ns, ref.Name, ks.Name)
		}
		return nil, "", fmt.Errorf("reading %s: %w", what, err)
	}
	if src.GetArtifact() == nil {
		return nil, "", fmt.Errorf("%s has no artifact yet: wait until it is Ready (tether get sources all -n %s), or build a local directory with --path", what, ns)
	}
	return src, what, nil
}

// extract downloads the source's artifact and unpacks it, with the limits
// and checks the reconciler applies, into a new temporary directory that the
// caller removes.
func (o *Options) extract(ctx context.Context, src meta.Source, what string) (string, error) {
	limits := artifact.DefaultLimits()
	data, err := o.Factory.DownloadArtifact(ctx, what, src.GetArtifact(), limits.MaxBytes)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "tether-build-")
	if err != nil {
		return "", err
	}
	if err := artifact.Extract(bytes.NewReader(data), dir, limits); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("the artifact of %s, revision %s: %w", what, src.GetArtifact().Revision, err)
	}
	return dir, nil
}

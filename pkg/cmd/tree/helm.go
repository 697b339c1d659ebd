package tree

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/helm"
)

// HelmReleaseObjects reads the manifest of a HelmRelease's last release from
// Helm's release records (Secrets in the storage namespace), with the CLI's
// credentials, as the reconciler's Helm code stores them.
func HelmReleaseObjects(f *cmdutil.Factory) ReleaseObjectsFunc {
	return func(_ context.Context, hr *helmv1.HelmRelease) ([]*unstructured.Unstructured, error) {
		cfg, err := f.RESTConfig()
		if err != nil {
			return nil, err
		}
		getter := helm.NewClientGetter(cfg, hr.GetReleaseNamespace())
		acfg, err := helm.NewConfiguration(getter, hr.GetReleaseNamespace(), hr.GetStorageNamespace(), nil)
		if err != nil {
			return nil, err
		}
		rel, err := helm.NewRunner(acfg, hr.GetReleaseName(), hr.GetReleaseNamespace()).Last()
		if err != nil {
			return nil, err
		}
		if rel == nil {
			return nil, fmt.Errorf("release %s not found in namespace %s", hr.GetReleaseName(), hr.GetStorageNamespace())
		}
		return helm.ParseManifest(rel.Manifest)
	}
}

// Package apis registers all Tether API groups.
package apis

import (
	"k8s.io/apimachinery/pkg/runtime"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
)

// AddToScheme registers the types of the source.tether.dev,
// kustomize.tether.dev and helm.tether.dev groups with s.
func AddToScheme(s *runtime.Scheme) error {
	for _, add := range []func(*runtime.Scheme) error{
		sourcev1.AddToScheme,
		kustomizev1.AddToScheme,
		helmv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return err
		}
	}
	return nil
}

package helmrepo

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/source/helm"
)

// ChartRef names a chart in a HelmRepository, as a HelmChart's spec does.
type ChartRef struct {
	// Name of the chart in the repository.
	Name string
	// Version is a semver range (or an exact version); "" means the latest
	// stable version.
	Version string
	// ValuesFiles, inside the chart, are merged in order into values.yaml.
	ValuesFiles              []string
	IgnoreMissingValuesFiles bool
}

// Fetch resolves ref in repo and downloads the chart (pulls it, from an OCI
// repository) with the repository's credentials read through c, then merges
// ref's values files into it, as the HelmChart reconciler does. Unlike the
// reconciler, which resolves against the index stored at the repository's
// last reconcile, Fetch reads the repository's index now. dir receives a
// repackaged chart; cache may be nil (see helm.NewRepository).
func Fetch(ctx context.Context, c client.Reader, repo *sourcev1.HelmRepository, ref ChartRef, cache *helm.Cache, dir string) (*helm.Chart, error) {
	opts, err := Options(ctx, c, repo)
	if err != nil {
		return nil, fmt.Errorf("HelmRepository %s/%s: %w", repo.Namespace, repo.Name, err)
	}
	var ch *helm.Chart
	if repo.IsOCI() {
		ch, err = pull(ctx, repo, opts, ref, cache)
	} else {
		ch, err = download(ctx, repo, opts, ref, cache)
	}
	if err != nil {
		return nil, err
	}
	ch, err = helm.Repackage(ch, helm.PackageOptions{ValuesFiles: ref.ValuesFiles,
		IgnoreMissingValuesFiles: ref.IgnoreMissingValuesFiles, OutDir: dir})
	if err != nil {
		return nil, fmt.Errorf("chart %s %s: %w", ref.Name, ref.Version, err)
	}
	return ch, nil
}

func download(ctx context.Context, repo *sourcev1.HelmRepository, opts helm.Options, ref ChartRef, cache *helm.Cache) (*helm.Chart, error) {
	r, err := helm.NewRepository(repo.Spec.URL, opts, cache)
	if err != nil {
		return nil, fmt.Errorf("HelmRepository %s/%s: %w", repo.Namespace, repo.Name, err)
	}
	idx, err := r.FetchIndex(ctx)
	if err != nil {
		return nil, fmt.Errorf("HelmRepository %s/%s: %w", repo.Namespace, repo.Name, err)
	}
	cv, err := idx.Resolve(ref.Name, ref.Version)
	if err != nil {
		return nil, fmt.Errorf("HelmRepository %s/%s: %w", repo.Namespace, repo.Name, err)
	}
	return r.DownloadChart(ctx, cv)
}

func pull(ctx context.Context, repo *sourcev1.HelmRepository, opts helm.Options, ref ChartRef, cache *helm.Cache) (*helm.Chart, error) {
	if p := repo.Spec.Provider; p != "" && p != sourcev1.GenericProvider {
		return nil, fmt.Errorf("HelmRepository %s/%s: provider %q is not supported yet: use provider generic with spec.secretRef", repo.Namespace, repo.Name, p)
	}
	o, err := helm.NewOCIRepository(repo.Spec.URL, opts, cache)
	if err != nil {
		return nil, fmt.Errorf("HelmRepository %s/%s: %w", repo.Namespace, repo.Name, err)
	}
	version, err := o.Resolve(ctx, ref.Name, ref.Version)
	if err != nil {
		return nil, fmt.Errorf("HelmRepository %s/%s: %w", repo.Namespace, repo.Name, err)
	}
	return o.Pull(ctx, ref.Name, version)
}

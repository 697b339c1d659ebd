package diff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/source/helm"
	"github.com/tether-gitops/tether/pkg/source/helmrepo"
)

// maxArtifactSize bounds a chart artifact downloaded from the reconciler.
const maxArtifactSize = helm.DefaultMaxChartSize

// fetchChart returns the chart the reconciler would release for hr. A chart
// from a HelmRepository is fetched from the repository, as the HelmChart
// reconciler fetches it; any other (packaged from a GitRepository or Bucket,
// or an OCIRepository's) is the artifact the reconciler stored.
func (o *HelmReleaseOptions) fetchChart(ctx context.Context, c client.Client, hr *helmv1.HelmRelease) (*chart.Chart, error) {
	switch {
	case hr.Spec.ChartRef != nil:
		ref := hr.Spec.ChartRef
		ns := ref.NamespaceOr(hr.Namespace)
		switch ref.Kind {
		case sourcev1.HelmChartKind:
			hc := &sourcev1.HelmChart{}
			if err := getSource(ctx, c, "spec.chartRef", sourcev1.HelmChartKind, ns, ref.Name, hc); err != nil {
				return nil, err
			}
			return o.fromHelmChartSpec(ctx, c, ns, ref.Name, hc.Spec)
		case sourcev1.OCIRepositoryKind:
			if o.ChartVersion != "" {
				return nil, fmt.Errorf("--chart-version needs spec.chart (or a spec.chartRef HelmChart) from a HelmRepository: HelmRelease %s/%s uses OCIRepository %s/%s: change its spec.ref instead", hr.Namespace, hr.Name, ns, ref.Name)
			}
			src := &sourcev1.OCIRepository{}
			if err := getSource(ctx, c, "spec.chartRef", sourcev1.OCIRepositoryKind, ns, ref.Name, src); err != nil {
				return nil, err
			}
			return o.fromArtifact(ctx, sourcev1.OCIRepositoryKind, src)
		default:
			return nil, fmt.Errorf("HelmRelease %s/%s: spec.chartRef.kind %q is not supported: use OCIRepository or HelmChart", hr.Namespace, hr.Name, ref.Kind)
		}
	case hr.Spec.Chart != nil:
		tpl := hr.Spec.Chart.Spec
		spec := sourcev1.HelmChartSpec{
			Chart: tpl.Chart, Version: tpl.Version, ValuesFiles: tpl.ValuesFiles, IgnoreMissingValuesFiles: tpl.IgnoreMissingValuesFiles,
			SourceRef: sourcev1.LocalHelmChartSourceReference{APIVersion: tpl.SourceRef.APIVersion, Kind: tpl.SourceRef.Kind, Name: tpl.SourceRef.Name},
		}
		return o.fromHelmChartSpec(ctx, c, hr.Spec.Chart.GetNamespace(hr.Namespace), hr.GetHelmChartName(), spec)
	}
	return nil, fmt.Errorf("HelmRelease %s/%s has neither spec.chart nor spec.chartRef", hr.Namespace, hr.Name)
}

// fromHelmChartSpec fetches the chart of a HelmChart's spec: from its
// HelmRepository, else the artifact of the HelmChart hcName.
func (o *HelmReleaseOptions) fromHelmChartSpec(ctx context.Context, c client.Client, ns, hcName string, spec sourcev1.HelmChartSpec) (*chart.Chart, error) {
	if spec.SourceRef.Kind != sourcev1.HelmRepositoryKind {
		if o.ChartVersion != "" {
			return nil, fmt.Errorf("--chart-version needs a chart from a HelmRepository: the chart %q comes from %s %s/%s, whose files give its version",
				spec.Chart, spec.SourceRef.Kind, ns, spec.SourceRef.Name)
		}
		hc := &sourcev1.HelmChart{}
		if err := getSource(ctx, c, "the HelmChart made for the HelmRelease", sourcev1.HelmChartKind, ns, hcName, hc); err != nil {
			return nil, err
		}
		return o.fromArtifact(ctx, sourcev1.HelmChartKind, hc)
	}
	repo := &sourcev1.HelmRepository{}
	if err := getSource(ctx, c, "the chart's sourceRef", sourcev1.HelmRepositoryKind, ns, spec.SourceRef.Name, repo); err != nil {
		return nil, err
	}
	version := spec.Version
	if o.ChartVersion != "" {
		version = o.ChartVersion
	}
	dir, err := os.MkdirTemp("", "tether-diff-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cache, err := helm.NewCache(filepath.Join(dir, "cache"), 0)
	if err != nil {
		return nil, err
	}
	fetched, err := helmrepo.Fetch(ctx, c, repo, helmrepo.ChartRef{Name: spec.Chart, Version: version,
		ValuesFiles: spec.ValuesFiles, IgnoreMissingValuesFiles: spec.IgnoreMissingValuesFiles}, cache, dir)
	switch {
	case err == nil:
	case errors.Is(err, helm.ErrChartNotFound), errors.Is(err, helm.ErrNoMatchingVersion), errors.Is(err, helm.ErrInvalidReference):
		if o.ChartVersion != "" {
			return nil, fmt.Errorf("--chart-version %s: %w", o.ChartVersion, err)
		}
		return nil, err
	default:
		return nil, cmdutil.Summarize(err, "cannot fetch chart %q version %q from %s: %s: diff fetches the chart from the repository itself; check that it is reachable from here and that the HelmRepository's secrets are right",
			spec.Chart, orLatest(version), repo.Spec.URL, cmdutil.NetCause(err))
	}
	return loadChart(fetched.Path, fmt.Sprintf("HelmRepository %s/%s", ns, repo.Name))
}

// fromArtifact downloads and loads the chart artifact that the reconciler
// stored for src (kind is its kind).
func (o *HelmReleaseOptions) fromArtifact(ctx context.Context, kind string, src interface {
	client.Object
	GetArtifact() *meta.Artifact
}) (*chart.Chart, error) {
	what := fmt.Sprintf("%s %s/%s", kind, src.GetNamespace(), src.GetName())
	data, err := o.Factory.DownloadArtifact(ctx, what, src.GetArtifact(), maxArtifactSize)
	if err != nil {
		return nil, err
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("the artifact of %s, revision %s, is not a Helm chart: %w", what, src.GetArtifact().Revision, err)
	}
	return ch, nil
}

// getSource reads a source object; field says which spec field led to it,
// for the error.
func getSource(ctx context.Context, c client.Client, field, kind, ns, name string, obj client.Object) error {
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%s %s/%s (%s) not found: create it, or wait for the reconciler to", kind, ns, name, field)
		}
		return fmt.Errorf("reading %s %s/%s: %w", kind, ns, name, err)
	}
	return nil
}

func orLatest(version string) string {
	if version == "" {
		return "*"
	}
	return version
}

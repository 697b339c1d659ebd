package helmchart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"

	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/controller/sourcectl"
	"github.com/tether-gitops/tether/pkg/source/helm"
	"github.com/tether-gitops/tether/pkg/source/helmrepo"
)

// fromHelmRepository resolves the chart in the repository's stored index
// (no HTTP request for the index) and downloads it when its version changed.
func (r *Reconciler) fromHelmRepository(ctx context.Context, obj *sourcev1.HelmChart) error {
	repo := &sourcev1.HelmRepository{}
	if err := r.getSource(ctx, obj, repo); err != nil {
		return r.sourceNotReady(obj, err)
	}
	if repo.IsOCI() {
		return r.fromOCI(ctx, obj, repo)
	}
	a := repo.Status.Artifact
	if a == nil || !r.Store.Exists(*a) {
		return r.sourceNotReady(obj, fmt.Errorf("HelmRepository %q has no stored index yet: %s", repo.Name, readyMessage(repo)))
	}
	path, err := r.Store.LocalPath(*a)
	if err != nil {
		return r.sourceNotReady(obj, fmt.Errorf("reading the index of HelmRepository %q: %w", repo.Name, err))
	}
	idx, err := helm.LoadIndex(path, a.Digest, r.Cache)
	if err != nil {
		return r.sourceNotReady(obj, fmt.Errorf("loading the index of HelmRepository %q: %w", repo.Name, err))
	}
	cv, err := idx.Resolve(obj.Spec.Chart, obj.Spec.Version)
	if errors.Is(err, helm.ErrInvalidReference) {
		return r.invalid(obj, err)
	}
	if err != nil { // not there (yet): a new index may bring it, and reconciles this chart
		return r.failed(obj, sourcev1.ChartPullFailedReason, err)
	}
	if r.upToDate(obj, cv.Version) {
		return r.keep(obj, a.Revision)
	}

	opts, err := helmrepo.Options(ctx, r.Client, repo)
	if err != nil {
		return r.failed(obj, meta.AuthenticationFailedReason, err)
	}
	hr, err := helm.NewRepository(repo.Spec.URL, opts, r.Cache)
	if err != nil {
		return r.failed(obj, sourcev1.ChartPullFailedReason, err)
	}
	c, err := hr.DownloadChart(ctx, cv)
	if err != nil {
		return r.failed(obj, sourcev1.ChartPullFailedReason, err)
	}
	return r.withValuesAndStore(ctx, obj, c, a.Revision, "pulled")
}

// fromOCI resolves the chart among the registry's tags and pulls it when
// its version changed.
func (r *Reconciler) fromOCI(ctx context.Context, obj *sourcev1.HelmChart, repo *sourcev1.HelmRepository) error {
	opts, err := helmrepo.Options(ctx, r.Client, repo)
	if err != nil {
		return r.failed(obj, meta.AuthenticationFailedReason, err)
	}
	o, err := helm.NewOCIRepository(repo.Spec.URL, opts, r.Cache)
	if err != nil {
		return r.failed(obj, sourcev1.ChartPullFailedReason, err)
	}
	version, err := o.Resolve(ctx, obj.Spec.Chart, obj.Spec.Version)
	if errors.Is(err, helm.ErrInvalidReference) {
		return r.invalid(obj, err)
	}
	if err != nil {
		return r.failed(obj, sourcev1.ChartPullFailedReason, err)
	}
	if r.upToDate(obj, version) {
		return r.keep(obj, "")
	}
	c, err := o.Pull(ctx, obj.Spec.Chart, version)
	if err != nil {
		return r.failed(obj, sourcev1.ChartPullFailedReason, err)
	}
	return r.withValuesAndStore(ctx, obj, c, "", "pulled")
}

// withValuesAndStore merges values files found in a downloaded chart, then
// stores it.
func (r *Reconciler) withValuesAndStore(ctx context.Context, obj *sourcev1.HelmChart, c *helm.Chart, sourceRevision, verb string) error {
	if len(obj.Spec.ValuesFiles) == 0 {
		return r.store(ctx, obj, c, sourceRevision, verb)
	}
	tmp, err := os.MkdirTemp(r.TempDir, "helmchart-")
	if err != nil {
		return sourcectl.StorageFailed(obj, err)
	}
	defer os.RemoveAll(tmp)
	c, err = helm.Repackage(c, helm.PackageOptions{ValuesFiles: obj.Spec.ValuesFiles,
		IgnoreMissingValuesFiles: obj.Spec.IgnoreMissingValuesFiles, OutDir: tmp})
	if err != nil {
		return r.failed(obj, sourcev1.ChartPackageFailedReason, err)
	}
	return r.store(ctx, obj, c, sourceRevision, verb)
}

// fromSource packages spec.chart, a path in a GitRepository or Bucket
// artifact. With reconcileStrategy ChartVersion a new source revision makes
// a new artifact only when the chart's version changed; with Revision the
// version gets the source revision as build metadata.
func (r *Reconciler) fromSource(ctx context.Context, obj *sourcev1.HelmChart) error {
	chartPath := filepath.Clean(filepath.FromSlash(obj.Spec.Chart))
	if !filepath.IsLocal(chartPath) && chartPath != "." {
		return r.invalid(obj, fmt.Errorf("spec.chart %q must be a relative path inside the %s", obj.Spec.Chart, obj.Spec.SourceRef.Kind))
	}
	var src interface {
		client.Object
		GetArtifact() *meta.Artifact
	}
	if obj.Spec.SourceRef.Kind == sourcev1.GitRepositoryKind {
		src = &sourcev1.GitRepository{}
	} else {
		src = &sourcev1.Bucket{}
	}
	if err := r.getSource(ctx, obj, src); err != nil {
		return r.sourceNotReady(obj, err)
	}
	a := src.GetArtifact()
	if a == nil || !r.Store.Exists(*a) {
		return r.sourceNotReady(obj, fmt.Errorf("%s %q has no artifact yet: wait for it to become Ready", obj.Spec.SourceRef.Kind, src.GetName()))
	}
	if r.upToDate(obj, "") && obj.Status.ObservedSourceArtifactRevision == a.Revision {
		return r.keep(obj, a.Revision)
	}

	tmp, err := os.MkdirTemp(r.TempDir, "helmchart-")
	if err != nil {
		return sourcectl.StorageFailed(obj, err)
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "source")
	if err := r.Store.ExtractTo(*a, root); err != nil {
		return r.sourceNotReady(obj, fmt.Errorf("extracting the artifact of %s %q: %w", obj.Spec.SourceRef.Kind, src.GetName(), err))
	}
	opts := helm.PackageOptions{ValuesFiles: obj.Spec.ValuesFiles,
		IgnoreMissingValuesFiles: obj.Spec.IgnoreMissingValuesFiles, OutDir: tmp}
	if obj.GetReconcileStrategy() == sourcev1.ReconcileStrategyRevision {
		opts.VersionMetadata = shortRevision(a.Revision)
	} else if v := chartVersion(root, chartPath); v != "" && r.upToDate(obj, v) {
		return r.keep(obj, a.Revision) // same chart version: nothing new for consumers
	}
	c, err := helm.Package(root, chartPath, opts)
	if err != nil {
		return r.failed(obj, sourcev1.ChartPackageFailedReason, err)
	}
	return r.store(ctx, obj, c, a.Revision, "packaged")
}

// getSource reads the object spec.sourceRef names, in the chart's namespace.
func (r *Reconciler) getSource(ctx context.Context, obj *sourcev1.HelmChart, src client.Object) error {
	ref := obj.Spec.SourceRef
	if err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: ref.Name}, src); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%s %q not found in namespace %q: create it or fix spec.sourceRef", ref.Kind, ref.Name, obj.Namespace)
		}
		return fmt.Errorf("reading %s %q: %w", ref.Kind, ref.Name, err)
	}
	return nil
}

// chartVersion reads the version in Chart.yaml, "" when it cannot.
func chartVersion(root, chartPath string) string {
	md, err := chartutil.LoadChartfile(filepath.Join(root, chartPath, chartutil.ChartfileName))
	if err != nil {
		return ""
	}
	return md.Version
}

// shortRevision returns the first 12 characters of a revision's digest
// ("main@sha1:<hex>" gives the commit's first 12 hex digits), as semver
// build metadata.
func shortRevision(revision string) string {
	s := meta.RevisionDigest(revision)
	if _, hexPart, ok := strings.Cut(s, ":"); ok {
		s = hexPart
	}
	if s == "" {
		s = revision
	}
	s = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' {
			return r
		}
		return '-'
	}, s)
	if len(s) > 12 {
		s = s[:12]
	}
	return s
}

func readyMessage(obj meta.ObjectWithConditions) string {
	if c := meta.GetCondition(obj, meta.ReadyCondition); c != nil {
		return fmt.Sprintf("its Ready condition is %s: %s", c.Status, c.Message)
	}
	return "it has not been reconciled yet"
}

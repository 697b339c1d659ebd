package helmrelease

import (
	"context"
	"fmt"
	"reflect"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
)

// Labels on the HelmChart made for a HelmRelease, naming it.
const (
	NameLabel      = "helm.tether.dev/name"
	NamespaceLabel = "helm.tether.dev/namespace"
)

// chartSourceObject is a HelmChart or an OCIRepository.
type chartSourceObject interface {
	meta.Source
	client.Object
}

// chartArtifact is the chart to release and where it came from.
type chartArtifact struct {
	source   chartSourceObject
	kind     string
	artifact meta.Artifact
	// ociDigest is the OCI manifest digest, for charts from an OCIRepository.
	ociDigest string
}

// ensureHelmChart creates or updates the HelmChart of spec.chart, in the
// namespace of its source, and removes one made for an earlier spec. It
// reports whether it wrote the HelmChart: its artifact (and the cache's copy
// of it) are then those of the previous spec until it is reconciled.
func (r *Reconciler) ensureHelmChart(ctx context.Context, hr *helmv1.HelmRelease) (bool, error) {
	_, ns, name := chartSource(hr)
	want := ns + "/" + name
	if err := r.deleteStaleHelmChart(ctx, hr, want); err != nil {
		return false, err
	}
	tpl := hr.Spec.Chart
	spec := sourcev1.HelmChartSpec{
		Chart:                    tpl.Spec.Chart,
		Version:                  tpl.Spec.Version,
		SourceRef:                sourcev1.LocalHelmChartSourceReference{APIVersion: tpl.Spec.SourceRef.APIVersion, Kind: tpl.Spec.SourceRef.Kind, Name: tpl.Spec.SourceRef.Name},
		Interval:                 &metav1.Duration{Duration: tpl.GetInterval(hr.GetInterval())},
		ReconcileStrategy:        tpl.Spec.ReconcileStrategy,
		ValuesFiles:              tpl.Spec.ValuesFiles,
		IgnoreMissingValuesFiles: tpl.Spec.IgnoreMissingValuesFiles,
	}
	if v := tpl.Spec.Verify; v != nil {
		spec.Verify = &sourcev1.OCIRepositoryVerification{Provider: v.Provider, SecretRef: v.SecretRef}
	}
	labels := map[string]string{NameLabel: hr.Name, NamespaceLabel: hr.Namespace}
	var annotations map[string]string
	if m := tpl.ObjectMeta; m != nil {
		for k, v := range m.Labels {
			labels[k] = v
		}
		annotations = m.Annotations
	}

	hr.Status.HelmChart = want
	var hc sourcev1.HelmChart
	err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &hc)
	switch {
	case apierrors.IsNotFound(err):
		hc = sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, Annotations: annotations}, Spec: spec}
		if err := r.Create(ctx, &hc); err != nil && !apierrors.IsAlreadyExists(err) {
			// AlreadyExists: made by the previous reconcile, not cached yet.
			return false, fmt.Errorf("creating HelmChart %s: %w", want, err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("reading HelmChart %s: %w", want, err)
	}
	if hc.Labels[NameLabel] != hr.Name || hc.Labels[NamespaceLabel] != hr.Namespace {
		return false, fmt.Errorf("HelmChart %s exists and was not made for this HelmRelease: delete it or change spec.chart.spec.sourceRef", want)
	}
	if reflect.DeepEqual(hc.Spec, spec) && subset(labels, hc.Labels) && subset(annotations, hc.Annotations) {
		return false, nil
	}
	specChanged := !reflect.DeepEqual(hc.Spec, spec)
	patch := client.MergeFrom(hc.DeepCopy())
	hc.Spec = spec
	hc.Labels = merge(hc.Labels, labels)
	hc.Annotations = merge(hc.Annotations, annotations)
	if err := r.Patch(ctx, &hc, patch); err != nil {
		return false, fmt.Errorf("updating HelmChart %s: %w", want, err)
	}
	return specChanged, nil
}

// deleteStaleHelmChart deletes the HelmChart recorded in status when it is
// not want (spec.chart moved to another namespace, or to spec.chartRef).
func (r *Reconciler) deleteStaleHelmChart(ctx context.Context, hr *helmv1.HelmRelease, want string) error {
	ns, name := hr.Status.GetHelmChart()
	if name == "" || ns+"/"+name == want {
		return nil
	}
	hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := r.Delete(ctx, hc); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting HelmChart %s/%s: %w", ns, name, err)
	}
	hr.Status.HelmChart = ""
	return nil
}

func subset(want, have map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func merge(a, b map[string]string) map[string]string {
	if len(b) == 0 {
		return a
	}
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// chart returns the chart artifact to release, or an error that says what
// it waits for.
func (r *Reconciler) chart(ctx context.Context, hr *helmv1.HelmRelease) (*chartArtifact, error) {
	kind, ns, name := chartSource(hr)
	var src chartSourceObject
	switch kind {
	case sourcev1.HelmChartKind:
		src = &sourcev1.HelmChart{}
	case sourcev1.OCIRepositoryKind:
		src = &sourcev1.OCIRepository{}
	default:
		return nil, fmt.Errorf("spec.chartRef.kind %q is not supported: use OCIRepository or HelmChart", kind)
	}
	if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, src); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%s %s/%s not found", kind, ns, name)
		}
		return nil, fmt.Errorf("reading %s %s/%s: %w", kind, ns, name, err)
	}
	// A source that has not reconciled its current spec holds the chart of
	// the previous one (if any). One that has, but failed since (its
	// repository is down), still holds the right chart: it is used.
	status, _, msg := meta.ReadyStatus(src)
	if src.GetObservedGeneration() != src.GetGeneration() || src.GetArtifact() == nil {
		switch {
		case status == metav1.ConditionFalse && msg != "":
		case src.GetArtifact() == nil:
			msg = "no artifact yet"
		default:
			msg = "reconciling its new spec"
		}
		return nil, fmt.Errorf("%s %s/%s is not ready: %s", kind, ns, name, msg)
	}
	c := &chartArtifact{source: src, kind: kind, artifact: *src.GetArtifact()}
	if kind == sourcev1.OCIRepositoryKind {
		c.ociDigest = meta.RevisionDigest(c.artifact.Revision)
	}
	return c, nil
}

// load reads the chart from the artifact store, in process.
func (r *Reconciler) load(c *chartArtifact) (*chart.Chart, error) {
	f, err := r.Store.Open(c.artifact)
	if err != nil {
		return nil, fmt.Errorf("%s %s/%s: %w", c.kind, c.source.GetNamespace(), c.source.GetName(), err)
	}
	defer f.Close()
	ch, err := loader.LoadArchive(f)
	if err != nil {
		return nil, fmt.Errorf("%s %s/%s, revision %s: not a Helm chart: %w", c.kind, c.source.GetNamespace(), c.source.GetName(), c.artifact.Revision, err)
	}
	return ch, nil
}

// deleteHelmChart deletes the HelmChart made for hr, if any.
func (r *Reconciler) deleteHelmChart(ctx context.Context, hr *helmv1.HelmRelease) error {
	return r.deleteStaleHelmChart(ctx, hr, "")
}

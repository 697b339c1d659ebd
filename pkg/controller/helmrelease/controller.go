// Package helmrelease reconciles HelmReleases with the Helm v4 SDK: it gets
// the chart from a HelmChart it creates (spec.chart) or from an OCIRepository
// or HelmChart (spec.chartRef), loads it from the artifact store in process,
// composes the values, and installs, upgrades, tests and remediates the
// release as the spec says. When nothing changed it compares the release's
// objects with the cluster and corrects drift without a new Helm revision.
package helmrelease

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/artifact"
	"github.com/tether-gitops/tether/pkg/controller/consumer"
	"github.com/tether-gitops/tether/pkg/controller/lifecycle"
	"github.com/tether-gitops/tether/pkg/helm"
)

const (
	chartIndexKey      = ".spec.chartSource"
	dependencyIndexKey = ".spec.dependsOn"
	valuesIndexKey     = ".spec.valuesFrom"
)

// Reconciler reconciles HelmRelease objects.
type Reconciler struct {
	// Client reads Tether's kinds from the manager's cache; Secrets and
	// ConfigMaps are read directly.
	client.Client
	// Config is the reconciler's own REST config, from which the Helm
	// clients (as the reconciler or a service account) are made.
	Config   *rest.Config
	Store    *artifact.Store
	Recorder recorder.EventRecorder
	// DefaultServiceAccount is impersonated when spec.serviceAccountName is
	// empty.
	DefaultServiceAccount string
	// NoCrossNamespaceRefs refuses charts, sources and dependencies in other
	// namespaces.
	NoCrossNamespaceRefs bool
	// RetryDelay is the wait before a remediated release is tried again;
	// 0 means 2 s.
	RetryDelay time.Duration

	clients *clientCache
	applied consumer.Applied
}

// SetupWithManager registers the controller: it reconciles on spec changes,
// reconcile requests, a new chart artifact, a change of a ConfigMap or Secret
// of valuesFrom, and a dependency that becomes ready.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	ctx := context.Background()
	r.clients = newClientCache(consumer.NewTargets(r.Config, mgr.GetScheme(), mgr.GetRESTMapper(), mgr.GetHTTPClient()))
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &helmv1.HelmRelease{}, chartIndexKey, func(o client.Object) []string {
		kind, ns, name := chartSource(o.(*helmv1.HelmRelease))
		return []string{consumer.ObjectKey(kind, ns, name)}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &helmv1.HelmRelease{}, dependencyIndexKey, func(o client.Object) []string {
		hr := o.(*helmv1.HelmRelease)
		keys := make([]string, 0, len(hr.Spec.DependsOn))
		for _, d := range hr.Spec.DependsOn {
			keys = append(keys, consumer.ObjectKey(d.KindOr(helmv1.HelmReleaseKind), d.NamespaceOr(hr.Namespace), d.Name))
		}
		return keys
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &helmv1.HelmRelease{}, valuesIndexKey, func(o client.Object) []string {
		hr := o.(*helmv1.HelmRelease)
		keys := make([]string, 0, len(hr.Spec.ValuesFrom))
		for _, v := range hr.Spec.ValuesFrom {
			keys = append(keys, consumer.ObjectKey(v.Kind, hr.Namespace, v.Name))
		}
		return keys
	}); err != nil {
		return err
	}
	onChart := builder.WithPredicates(chartChangedPredicate{})
	onReady := builder.WithPredicates(consumer.ReadyChangedPredicate{})
	// ConfigMaps and Secrets are watched by metadata only: their data is not
	// held in memory, and a new resourceVersion is all that matters.
	onData := builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})
	return ctrl.NewControllerManagedBy(mgr).
		For(&helmv1.HelmRelease{}, lifecycle.ForPredicates()).
		Watches(&sourcev1.HelmChart{}, r.enqueueBy(chartIndexKey, sourcev1.HelmChartKind), onChart).
		Watches(&sourcev1.OCIRepository{}, r.enqueueBy(chartIndexKey, sourcev1.OCIRepositoryKind), onChart).
		Watches(&helmv1.HelmRelease{}, r.enqueueBy(dependencyIndexKey, helmv1.HelmReleaseKind), onReady).
		Watches(&kustomizev1.Kustomization{}, r.enqueueBy(dependencyIndexKey, kustomizev1.KustomizationKind), onReady).
		Watches(&corev1.ConfigMap{}, r.enqueueBy(valuesIndexKey, "ConfigMap"), onData, builder.OnlyMetadata).
		Watches(&corev1.Secret{}, r.enqueueBy(valuesIndexKey, "Secret"), onData, builder.OnlyMetadata).
		WithOptions(opts).
		Named("helmrelease").
		Complete(r)
}

// chartSource names the object whose artifact is hr's chart.
func chartSource(hr *helmv1.HelmRelease) (kind, namespace, name string) {
	if ref := hr.Spec.ChartRef; ref != nil {
		return ref.Kind, ref.NamespaceOr(hr.Namespace), ref.Name
	}
	if hr.Spec.Chart != nil {
		return sourcev1.HelmChartKind, hr.Spec.Chart.GetNamespace(hr.Namespace), hr.GetHelmChartName()
	}
	return "", "", ""
}

// enqueueBy maps an object of kind to the HelmReleases whose index names it.
func (r *Reconciler) enqueueBy(index, kind string) handler.EventHandler {
	return consumer.EnqueueBy(r.Client, func() meta.ReconcilableList { return &helmv1.HelmReleaseList{} }, index, kind)
}

// chartChangedPredicate passes a new artifact and a change of readiness (or of its message) of a
// chart source: a HelmChart that fails to resolve a new version range has no
// new artifact, but its HelmRelease must say why it waits.
type chartChangedPredicate struct{ predicate.Funcs }

func (chartChangedPredicate) Create(event.CreateEvent) bool { return true }
func (chartChangedPredicate) Delete(event.DeleteEvent) bool { return true }
func (chartChangedPredicate) Update(e event.UpdateEvent) bool {
	if (lifecycle.ArtifactChangedPredicate{}).Update(e) {
		return true
	}
	oldO, ok1 := e.ObjectOld.(meta.Reconcilable)
	newO, ok2 := e.ObjectNew.(meta.Reconcilable)
	if !ok1 || !ok2 {
		return false
	}
	if oldO.GetObservedGeneration() != newO.GetObservedGeneration() {
		return true
	}
	// The message of a failing chart too: one that fails for a new reason
	// (the index now has the chart, but no version in range) must not leave
	// the old one on the HelmRelease until its interval. A Ready chart's
	// message is not the release's business.
	os, or, om := meta.ReadyStatus(oldO)
	ns, nr, nm := meta.ReadyStatus(newO)
	return os != ns || or != nr || (ns != metav1.ConditionTrue && om != nm)
}

// Reconcile brings one HelmRelease's Helm release in line with its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return lifecycle.Reconcile(ctx, r.Client, req, &helmv1.HelmRelease{}, lifecycle.Steps[*helmv1.HelmRelease]{
		Finalize:  r.finalize,
		Reconcile: r.reconcile,
		Timeout:   reconcileTimeout,
	})
}

// reconcileTimeout bounds a whole reconcile: spec.timeout for the steps
// around the Helm actions (the chart, drift detection), and the deadline of
// each action that one reconcile may run in turn, each from its own timeout:
// the uninstall of a renamed release, the install or upgrade, the test, and
// the rollback or uninstall that remediates them.
func reconcileTimeout(hr *helmv1.HelmRelease) time.Duration {
	def := hr.GetTimeout()
	un := helm.ActionDeadline(hr.GetUninstall().GetTimeout(def))
	d := def + un
	d += max(helm.ActionDeadline(hr.GetInstall().GetTimeout(def)), helm.ActionDeadline(hr.GetUpgrade().GetTimeout(def)))
	if test := hr.GetTest(); test.Enable {
		d += helm.ActionDeadline(test.GetTimeout(def))
	}
	return d + max(helm.ActionDeadline(hr.GetRollback().GetTimeout(def)), un)
}

// serviceAccount is the account Helm acts as.
func (r *Reconciler) serviceAccount(hr *helmv1.HelmRelease) string {
	return consumer.ServiceAccount(hr.Spec.ServiceAccountName, r.DefaultServiceAccount)
}

func (r *Reconciler) retryDelay() time.Duration {
	if r.RetryDelay > 0 {
		return r.RetryDelay
	}
	return 2 * time.Second
}

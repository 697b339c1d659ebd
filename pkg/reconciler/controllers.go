package reconciler

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/tether-gitops/tether/pkg/controller/bucket"
	"github.com/tether-gitops/tether/pkg/controller/gitrepository"
	"github.com/tether-gitops/tether/pkg/controller/helmchart"
	"github.com/tether-gitops/tether/pkg/controller/helmrelease"
	"github.com/tether-gitops/tether/pkg/controller/helmrepository"
	"github.com/tether-gitops/tether/pkg/controller/kustomization"
	"github.com/tether-gitops/tether/pkg/controller/lifecycle"
	"github.com/tether-gitops/tether/pkg/controller/ocirepository"
	"github.com/tether-gitops/tether/pkg/source/helm"
	"github.com/tether-gitops/tether/pkg/version"
)

// setupControllers registers the artifact server and the controller of each kind.
func setupControllers(mgr manager.Manager, o Options) error {
	var err error
	if o.StorageAddr, err = fixedPort(o.StorageAddr); err != nil {
		return err
	}
	store, err := newStore(o)
	if err != nil {
		return err
	}
	if err := mgr.Add(&artifactServer{addr: o.StorageAddr, handler: store.Handler()}); err != nil {
		return err
	}
	copts := controller.Options{
		MaxConcurrentReconciles: o.Concurrent,
		// Failures retry from 250ms, doubling up to 5m: quick recovery from a
		// blip without hammering a server that is down.
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](250*time.Millisecond, 5*time.Minute),
	}
	events := lifecycle.BoundedRecorder(mgr.GetEventRecorder("tether-reconciler"))
	c := mgr.GetClient()

	// Helm indexes and charts are cached by digest outside the storage path,
	// which the artifact server exposes in full.
	helmCache, err := helm.NewCache(filepath.Join(os.TempDir(), "tether-helm-cache"), 0)
	if err != nil {
		return fmt.Errorf("creating the Helm cache: %w", err)
	}
	setups := []struct {
		kind  string
		setup func() error
	}{
		{"GitRepository", func() error {
			return (&gitrepository.Reconciler{Client: c, Store: store, Recorder: events}).SetupWithManager(mgr, copts)
		}},
		{"Bucket", func() error {
			return (&bucket.Reconciler{Client: c, Store: store, Recorder: events,
				MaxBytes: o.ArtifactMaxSize, MaxObjects: o.ArtifactMaxFiles}).SetupWithManager(mgr, copts)
		}},
		{"OCIRepository", func() error {
			return (&ocirepository.Reconciler{Client: c, Store: store, Recorder: events, Limits: o.ArtifactLimits(),
				UserAgent: "tether-reconciler/" + version.Get()}).SetupWithManager(mgr, copts)
		}},
		{"HelmRepository", func() error {
			return (&helmrepository.Reconciler{Client: c, Store: store, Recorder: events, Cache: helmCache}).SetupWithManager(mgr, copts)
		}},
		{"HelmChart", func() error {
			return (&helmchart.Reconciler{Client: c, Store: store, Recorder: events, Cache: helmCache}).SetupWithManager(mgr, copts)
		}},
		{"Kustomization", func() error {
			return (&kustomization.Reconciler{Client: c, Config: mgr.GetConfig(), Store: store, Recorder: events,
				DefaultServiceAccount: o.DefaultServiceAccount, NoCrossNamespaceRefs: o.NoCrossNamespaceRefs,
				AllowRemoteBases: o.AllowRemoteBases}).SetupWithManager(mgr, copts)
		}},
		{"HelmRelease", func() error {
			return (&helmrelease.Reconciler{Client: c, Config: mgr.GetConfig(), Store: store, Recorder: events,
				DefaultServiceAccount: o.DefaultServiceAccount, NoCrossNamespaceRefs: o.NoCrossNamespaceRefs}).SetupWithManager(mgr, copts)
		}},
	}
	for _, s := range setups {
		if err := s.setup(); err != nil {
			return fmt.Errorf("setting up the %s controller: %w", s.kind, err)
		}
	}
	return nil
}

// Package reconciler builds the reconciler process: flags, the
// controller-runtime manager with metrics, health and leader election, and the
// registration of each kind's controller.
package reconciler

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/tether-gitops/tether/pkg/apis"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/artifact"
	"github.com/tether-gitops/tether/pkg/version"
)

// LeaderElectionID names the Lease that reconciler replicas compete for.
const LeaderElectionID = "tether-reconciler-leader"

// Options are the reconciler's flags.
type Options struct {
	Kubeconfig              string
	Concurrent              int
	KubeAPIQPS              float64
	KubeAPIBurst            int
	WatchAllNamespaces      bool
	RuntimeNamespace        string
	LogLevel                string
	LogEncoding             string
	MetricsAddr             string
	HealthAddr              string
	LeaderElect             bool
	LeaderElectionNamespace string
	GracefulShutdown        time.Duration

	// Multi-tenancy lockdown.
	DefaultServiceAccount string
	NoCrossNamespaceRefs  bool

	// AllowRemoteBases lets kustomizations refer to http(s) files.
	AllowRemoteBases bool

	// Artifact storage.
	StoragePath       string
	StorageAddr       string
	StorageAdvAddr    string
	ArtifactRetention int
	// ArtifactMaxSize and ArtifactMaxFiles bound what one source may hold
	// (uncompressed bytes, entries): archiving, extraction by consumers,
	// Bucket downloads and OCI layers.
	ArtifactMaxSize  int64
	ArtifactMaxFiles int
}

// DefaultOptions returns the options an in-cluster reconciler runs with.
func DefaultOptions() Options {
	ns := os.Getenv("RUNTIME_NAMESPACE")
	if ns == "" {
		ns = "tether-system"
	}
	return Options{
		Concurrent:         10,
		WatchAllNamespaces: true,
		RuntimeNamespace:   ns,
		LogLevel:           "info",
		LogEncoding:        "json",
		MetricsAddr:        ":8080",
		HealthAddr:         ":9440",
		LeaderElect:        true,
		GracefulShutdown:   30 * time.Second,
		StoragePath:        "/data",
		StorageAddr:        ":9090",
		ArtifactRetention:  2,
		ArtifactMaxSize:    artifact.DefaultLimits().MaxBytes,
		ArtifactMaxFiles:   artifact.DefaultLimits().MaxFiles,
	}
}

// BindFlags registers the options as command-line flags.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "kubeconfig to use when running outside a cluster (default: in-cluster config, then $KUBECONFIG)")
	fs.IntVar(&o.Concurrent, "concurrent", o.Concurrent, "objects of each kind reconciled at the same time")
	fs.Float64Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "client-side limit of requests per second to the Kubernetes API; 0 or less: none, the API server's priority and fairness decide")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "burst of requests allowed above --kube-api-qps")
	fs.BoolVar(&o.WatchAllNamespaces, "watch-all-namespaces", o.WatchAllNamespaces, "watch objects in all namespaces; false limits the reconciler to --runtime-namespace")
	fs.StringVar(&o.RuntimeNamespace, "runtime-namespace", o.RuntimeNamespace, "namespace the reconciler runs in (default $RUNTIME_NAMESPACE, else tether-system)")
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "log level: debug, info or error")
	fs.StringVar(&o.LogEncoding, "log-encoding", o.LogEncoding, "log format: json or console")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", o.MetricsAddr, "address of the Prometheus metrics endpoint; 0 disables it")
	fs.StringVar(&o.HealthAddr, "health-addr", o.HealthAddr, "address of the /healthz and /readyz endpoints")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "elect a leader among replicas so that only one reconciles")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "namespace of the leader election Lease (default --runtime-namespace)")
	fs.StringVar(&o.StoragePath, "storage-path", o.StoragePath, "directory that holds source artifacts")
	fs.StringVar(&o.StorageAddr, "storage-addr", o.StorageAddr, "address the artifact HTTP server listens on")
	fs.StringVar(&o.StorageAdvAddr, "storage-adv-addr", o.StorageAdvAddr, "host[:port] advertised in status.artifact.url (default: this host's name and the --storage-addr port)")
	fs.IntVar(&o.ArtifactRetention, "artifact-retention", o.ArtifactRetention, "artifacts kept per source, the current one included")
	fs.Var(byteSize{&o.ArtifactMaxSize}, "artifact-max-size", "largest total `size` of the files of one source (uncompressed), e.g. 512Mi or 2Gi: a bigger Git revision, Bucket or OCI layer fails instead of filling the disk")
	fs.IntVar(&o.ArtifactMaxFiles, "artifact-max-files", o.ArtifactMaxFiles, "most files and directories in one source's artifact (objects for a Bucket)")
	fs.StringVar(&o.DefaultServiceAccount, "default-service-account", o.DefaultServiceAccount, "service account, in each Kustomization's namespace, impersonated when spec.serviceAccountName is empty (multi-tenancy: a tenant then cannot apply as the reconciler)")
	fs.BoolVar(&o.NoCrossNamespaceRefs, "no-cross-namespace-refs", o.NoCrossNamespaceRefs, "refuse sourceRef and dependsOn entries that name another namespace (multi-tenancy)")
	fs.BoolVar(&o.AllowRemoteBases, "allow-remote-bases", o.AllowRemoteBases, "let kustomizations refer to http(s) files outside the source (git bases stay refused); off, a build depends on its source alone")
	fs.DurationVar(&o.GracefulShutdown, "graceful-shutdown-timeout", o.GracefulShutdown, "how long running reconciles may take to finish on shutdown")
}

// Validate reports flag values that cannot work.
func (o *Options) Validate() error {
	if o.Concurrent < 1 {
		return fmt.Errorf("--concurrent must be at least 1, got %d", o.Concurrent)
	}
	if _, err := zapLevel(o.LogLevel); err != nil {
		return err
	}
	if o.ArtifactRetention < 1 {
		return fmt.Errorf("--artifact-retention must be at least 1, got %d", o.ArtifactRetention)
	}
	if o.ArtifactMaxSize < 1 {
		return fmt.Errorf("--artifact-max-size must be at least 1 byte, got %d", o.ArtifactMaxSize)
	}
	if o.ArtifactMaxFiles < 1 {
		return fmt.Errorf("--artifact-max-files must be at least 1, got %d", o.ArtifactMaxFiles)
	}
	if o.StoragePath == "" {
		return fmt.Errorf("--storage-path must not be empty")
	}
	if o.LogEncoding != "json" && o.LogEncoding != "console" {
		return fmt.Errorf("invalid --log-encoding %q: use json or console", o.LogEncoding)
	}
	return nil
}

// ArtifactLimits are the extraction limits of the store and the sources.
func (o *Options) ArtifactLimits() artifact.Limits {
	return artifact.Limits{MaxBytes: o.ArtifactMaxSize, MaxFiles: o.ArtifactMaxFiles}
}

// byteSize is a flag holding bytes, written as a Kubernetes quantity
// (512Mi, 1Gi) or a plain number.
type byteSize struct{ p *int64 }

func (b byteSize) String() string {
	if b.p == nil {
		return ""
	}
	return resource.NewQuantity(*b.p, resource.BinarySI).String()
}

func (b byteSize) Set(s string) error {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return fmt.Errorf("%q is not a size: use bytes or a quantity such as 512Mi or 2Gi", s)
	}
	*b.p = q.Value()
	return nil
}

// Scheme holds the built-in kinds and every Tether kind.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := apis.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// Run starts the manager and blocks until SIGTERM or SIGINT.
func Run(o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	level, _ := zapLevel(o.LogLevel)
	ctrl.SetLogger(zap.New(zap.Level(level), zap.UseDevMode(false), func(zo *zap.Options) {
		if o.LogEncoding == "console" {
			zo.Encoder = zapcore.NewConsoleEncoder(zapcore.EncoderConfig{
				TimeKey: "ts", LevelKey: "level", NameKey: "logger", MessageKey: "msg",
				EncodeTime: zapcore.ISO8601TimeEncoder, EncodeLevel: zapcore.CapitalLevelEncoder,
			})
		}
	}))
	log := ctrl.Log.WithName("setup")

	cfg, err := restConfig(o.Kubeconfig)
	if err != nil {
		return err
	}
	// client-go's default of 5 requests per second would throttle an apply
	// of a few hundred objects to minutes; without a client-side limit the
	// API server's priority and fairness protects it.
	cfg.QPS, cfg.Burst = -1, 0
	if o.KubeAPIQPS > 0 {
		cfg.QPS, cfg.Burst = float32(o.KubeAPIQPS), max(o.KubeAPIBurst, int(o.KubeAPIQPS))
	}
	mgr, err := NewManager(cfg, o)
	if err != nil {
		return err
	}
	log.Info("starting", "version", version.Get(), "concurrent", o.Concurrent, "watchAllNamespaces", o.WatchAllNamespaces)
	return mgr.Start(ctrl.SetupSignalHandler())
}

// NewManager builds the manager with health checks and every controller registered.
func NewManager(cfg *rest.Config, o Options) (manager.Manager, error) {
	leNS := o.LeaderElectionNamespace
	if leNS == "" {
		leNS = o.RuntimeNamespace
	}
	cacheOpts := cache.Options{}
	// Secrets and ConfigMaps are read when needed, not cached: caching them would
	// hold every one in the cluster in memory.
	clientOpts := client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}}}
	if !o.WatchAllNamespaces {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{o.RuntimeNamespace: {}}
	}
	gracefulShutdown := o.GracefulShutdown
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        Scheme(),
		Cache:                         cacheOpts,
		Client:                        clientOpts,
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:        o.HealthAddr,
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionNamespace:       leNS,
		LeaderElectionReleaseOnCancel: true,
		GracefulShutdownTimeout:       &gracefulShutdown,
		Controller:                    config.Controller{MaxConcurrentReconciles: o.Concurrent},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := checkCRDs(mgr); err != nil {
		return nil, err
	}
	if err := setupControllers(mgr, o); err != nil {
		return nil, err
	}
	return mgr, nil
}

// checkCRDs fails with one clear line when a Tether CRD is missing, instead of
// a controller failing to start with a discovery error.
func checkCRDs(mgr manager.Manager) error {
	var missing []string
	for gvk := range mgr.GetScheme().AllKnownTypes() {
		if !strings.HasSuffix(gvk.Group, ".tether.dev") {
			continue
		}
		if obj, err := mgr.GetScheme().New(gvk); err != nil {
			continue
		} else if _, ok := obj.(meta.Reconcilable); !ok {
			continue // options, lists and watch events are registered too
		}
		if _, err := mgr.GetRESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			missing = append(missing, gvk.Kind+"."+gvk.Group+"/"+gvk.Version)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("the CRDs of %s are not installed: run `tether install` (or apply manifests/crds)", strings.Join(missing, ", "))
	}
	return nil
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			cfg.UserAgent = "tether-reconciler/" + version.Get()
			return cfg, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no Kubernetes configuration: not in a cluster and %w: pass --kubeconfig", err)
	}
	cfg.UserAgent = "tether-reconciler/" + version.Get()
	return cfg, nil
}

func zapLevel(s string) (zapcore.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return zapcore.DebugLevel, nil
	case "info":
		return zapcore.InfoLevel, nil
	case "error":
		return zapcore.ErrorLevel, nil
	}
	return 0, fmt.Errorf("invalid --log-level %q: use debug, info or error", s)
}

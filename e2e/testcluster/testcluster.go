// Package testcluster starts a real Kubernetes control plane on 127.0.0.1 for e2e tests:
// etcd and kube-apiserver through controller-runtime's envtest and, with
// Options.WithNodes, kube-controller-manager, kube-scheduler and kwok with fake Nodes,
// so that Deployments become Available and Jobs complete (containers never really run).
//
// The binaries come from hack/build-controlplane.sh (see BinaryDir). A test package
// shares one cluster through TestMain:
//
//	var cluster *testcluster.Cluster
//
//	func TestMain(m *testing.M) {
//		testcluster.Main(m, testcluster.Options{WithNodes: true}, func(c *testcluster.Cluster) error {
//			cluster = c
//			return nil
//		})
//	}
//
// Child processes run in their own process groups and, on Linux, die with the test
// process (parent death signal), so a crashed or timed-out test leaves none behind.
package testcluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Options configure Start. The zero value starts etcd and kube-apiserver only.
type Options struct {
	// CRDDirs are directories (or files) of CustomResourceDefinitions to install
	// before Start returns; a missing path is an error.
	CRDDirs []string
	// Scheme for Cluster.Client. client-go's scheme and apiextensions/v1 are added to
	// it; nil means a new scheme with just those.
	Scheme *runtime.Scheme

	// WithNodes also starts kube-controller-manager, kube-scheduler and kwok, and
	// creates Nodes managed by kwok, waiting for them to be Ready.
	WithNodes bool
	// Nodes is the number of kwok Nodes (with WithNodes); default 1.
	Nodes int
	// PodsPerNode is each Node's pod capacity; default 1000.
	PodsPerNode int

	// ServiceClusterIPRange for kube-apiserver; default 10.0.0.0/16.
	ServiceClusterIPRange string
	// APIServerArgs are extra kube-apiserver flags ("--name=value"), overriding ours.
	APIServerArgs []string
	// ControllerManagerArgs are extra kube-controller-manager flags, after ours (the
	// last of a repeated flag wins), e.g. "--kube-api-qps=300".
	ControllerManagerArgs []string
	// SchedulerArgs are extra kube-scheduler flags, after ours.
	SchedulerArgs []string

	// WorkDir holds certificates, etcd's data, the kubeconfig and the components' logs
	// (WorkDir/logs). Default: a new temporary directory that Stop removes; a WorkDir
	// given here is left in place by Stop.
	WorkDir string
}

func (o Options) withDefaults() Options {
	if o.Nodes <= 0 {
		o.Nodes = 1
	}
	if o.PodsPerNode <= 0 {
		o.PodsPerNode = 1000
	}
	if o.ServiceClusterIPRange == "" {
		o.ServiceClusterIPRange = "10.0.0.0/16"
	}
	return o
}

// Cluster is a running control plane. Its fields are safe to read concurrently.
type Cluster struct {
	// Config is an admin (system:masters) client configuration with QPS 1000.
	Config *rest.Config
	// KubeconfigPath is a kubeconfig file for the same admin user, for CLI binaries
	// (--kubeconfig).
	KubeconfigPath string
	// Client is a controller-runtime client for Config with Scheme.
	Client client.Client
	// Scheme is the scheme of Client: client-go's, apiextensions/v1 and Options.Scheme's.
	Scheme *runtime.Scheme
	// BinDir holds the control plane binaries, among them a kubectl of the same
	// version as the server.
	BinDir string
	// WorkDir holds certificates, data and logs (see Options.WorkDir).
	WorkDir string
	// Env is the underlying envtest environment (for its CRD and webhook helpers).
	Env *envtest.Environment

	// APIServerReady is the time from starting the first process to kube-apiserver
	// answering (and the CRDs installed).
	APIServerReady time.Duration
	// NodesReady is the time from starting the first process to all Nodes Ready and
	// the controllers working (WithNodes only).
	NodesReady time.Duration

	opts     Options
	procs    []*proc
	pids     map[string]int
	stopOnce sync.Once
	hooksMu  sync.Mutex
	hooks    []func() error
	stopErr  error
}

const (
	nameAPIServer         = "kube-apiserver"
	nameEtcd              = "etcd"
	nameControllerManager = "kube-controller-manager"
	nameScheduler         = "kube-scheduler"
	nameKwok              = "kwok"
)

// Start starts a control plane and returns when it is ready: kube-apiserver answering
// and the CRDs installed (and past the apiserver's 2-second delay on creates of new
// kinds) and, with WithNodes, the Nodes Ready and the controllers
// working. On error nothing is left running. Call Stop when done.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	opts = opts.withDefaults()
	binDir, err := BinaryDir(ctx)
	if err != nil {
		return nil, err
	}
	required := []string{nameAPIServer, nameEtcd, "kubectl"}
	if opts.WithNodes {
		required = append(required, nameControllerManager, nameScheduler, nameKwok)
	}
	for _, name := range required {
		if _, err := os.Stat(filepath.Join(binDir, name)); err != nil {
			return nil, fmt.Errorf("control plane binary missing (%w); rebuild with `make controlplane` or fix TETHER_TEST_BINS", err)
		}
	}

	c := &Cluster{BinDir: binDir, opts: opts, WorkDir: opts.WorkDir, pids: map[string]int{}}
	if c.WorkDir == "" {
		removeStaleWorkDirs()
		if c.WorkDir, err = os.MkdirTemp("", workDirPrefix); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(c.WorkDir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return nil, err
		}
	}
	if c.WorkDir, err = filepath.Abs(c.WorkDir); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			for _, p := range c.procs {
				p.acknowledgeExit() // an early exit is already in err
			}
			if stopErr := c.Stop(); stopErr != nil {
				err = errors.Join(err, fmt.Errorf("cleaning up: %w", stopErr))
			}
		}
	}()
	for _, sub := range []string{"logs", "pki", "bin", nameAPIServer, nameEtcd} {
		if err := os.MkdirAll(c.dir(sub), 0o755); err != nil {
			return nil, err
		}
	}

	if c.Scheme, err = buildScheme(opts.Scheme); err != nil {
		return nil, err
	}

	begin := time.Now()
	if err := c.startAPIServer(opts); err != nil {
		return nil, err
	}
	c.APIServerReady = time.Since(begin)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.WithNodes {
		if err := c.startControllers(ctx, opts); err != nil {
			return nil, err
		}
		c.NodesReady = time.Since(begin)
	}
	if err := c.waitCRDsSettled(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// waitCRDsSettled waits until the installed CRDs have been Established for 2 seconds:
// before that, kube-apiserver delays every create of their objects by 2 seconds (for HA
// setups; customresource_handler.go). Waiting here costs at most that once, in parallel
// with the controllers starting, instead of once per kind in the tests.
func (c *Cluster) waitCRDsSettled(ctx context.Context) error {
	var latest time.Time
	for _, installed := range c.Env.CRDs {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := c.Client.Get(ctx, client.ObjectKey{Name: installed.Name}, &crd); err != nil {
			return err
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.LastTransitionTime.After(latest) {
				latest = cond.LastTransitionTime.Time
			}
		}
	}
	// Transition times have a resolution of a second, truncated: the server compares
	// the same truncated time with its clock (this machine's).
	wait := time.Until(latest.Add(2*time.Second + 50*time.Millisecond))
	if latest.IsZero() || wait <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return nil
	}
}

const (
	workDirPrefix = "tether-testcluster-"
	ownerFile     = "owner.pid"
)

// removeStaleWorkDirs removes the temporary work directories of test processes that
// died without Stop (a panic, a test timeout, SIGKILL): their processes died with them
// but the directories stayed.
func removeStaleWorkDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), workDirPrefix+"*"))
	for _, dir := range dirs {
		raw, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not ours, or being created
		}
		if pid := atoiOrZero(strings.TrimSpace(string(raw))); pid > 0 && !alive(pid) {
			_ = os.RemoveAll(dir)
		}
	}
}

func (c *Cluster) dir(parts ...string) string {
	return filepath.Join(append([]string{c.WorkDir}, parts...)...)
}

func buildScheme(s *runtime.Scheme) (*runtime.Scheme, error) {
	if s == nil {
		s = runtime.NewScheme()
	}
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

func (c *Cluster) startAPIServer(opts Options) error {
	apiserverBin, err := wrapWithPdeathsig(filepath.Join(c.BinDir, nameAPIServer), c.dir("bin"))
	if err != nil {
		return err
	}
	etcdBin, err := wrapWithPdeathsig(filepath.Join(c.BinDir, nameEtcd), c.dir("bin"))
	if err != nil {
		return err
	}
	apiLog, err := os.OpenFile(c.dir("logs", nameAPIServer+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer apiLog.Close() // the child keeps its own descriptor
	etcdLog, err := os.OpenFile(c.dir("logs", nameEtcd+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer etcdLog.Close()

	noExisting := false
	env := &envtest.Environment{
		BinaryAssetsDirectory: c.BinDir,
		CRDDirectoryPaths:     opts.CRDDirs,
		ErrorIfCRDPathMissing: true,
		Scheme:                c.Scheme,
		UseExistingCluster:    &noExisting,
		ControlPlane: envtest.ControlPlane{
			APIServer:   &envtest.APIServer{Path: apiserverBin, CertDir: c.dir(nameAPIServer), Out: apiLog, Err: apiLog},
			Etcd:        &envtest.Etcd{Path: etcdBin, DataDir: c.dir(nameEtcd), Out: etcdLog, Err: etcdLog},
			KubectlPath: filepath.Join(c.BinDir, "kubectl"),
		},
	}
	// envtest's own default is 20s per component, tight on 2 busy cores.
	if os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT") == "" {
		env.ControlPlaneStartTimeout = time.Minute
	}
	c.Env = env

	args := env.ControlPlane.APIServer.Configure()
	args.Set("advertise-address", "127.0.0.1")
	// No loopback errors forever about the kubernetes Service's endpoints.
	args.Set("endpoint-reconciler-type", "none")
	args.Set("service-cluster-ip-range", opts.ServiceClusterIPRange)
	args.Set("enable-priority-and-fairness", "false")
	if opts.WithNodes {
		// envtest disables the ServiceAccount admission plugin because nothing creates
		// ServiceAccounts there; with a controller-manager, behave like a real cluster.
		args.Disable("disable-admission-plugins")
	}
	if err := applyFlags(opts.APIServerArgs, args); err != nil {
		return fmt.Errorf("Options.APIServerArgs: %w", err)
	}

	err = forkThread(func() error { _, err := env.Start(); return err })
	c.pids = findChildren(c.WorkDir)
	if err != nil {
		return fmt.Errorf("starting kube-apiserver and etcd: %w\nlast lines of %s:\n%s\nlast lines of %s:\n%s", err,
			apiLog.Name(), tail(apiLog.Name(), 15), etcdLog.Name(), tail(etcdLog.Name(), 10))
	}

	user, err := env.ControlPlane.AddUser(envtest.User{Name: "e2e-admin", Groups: []string{"system:masters"}},
		&rest.Config{QPS: 1000, Burst: 2000})
	if err != nil {
		return fmt.Errorf("adding the admin user: %w", err)
	}
	c.Config = rest.CopyConfig(user.Config())
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return err
	}
	c.KubeconfigPath = c.dir("kubeconfig")
	if err := os.WriteFile(c.KubeconfigPath, kubeconfig, 0o600); err != nil {
		return err
	}
	if c.Client, err = client.New(c.Config, client.Options{Scheme: c.Scheme}); err != nil {
		return err
	}
	return nil
}

// applyFlags sets "--name=value" (or "--name", meaning true) flags on envtest arguments;
// a flag given several times keeps all its values.
func applyFlags(flags []string, args *envtest.Arguments) error {
	seen := map[string]bool{}
	for _, f := range flags {
		name, value, hasValue := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if !strings.HasPrefix(f, "--") || name == "" {
			return fmt.Errorf("%q is not a --name=value flag", f)
		}
		if !hasValue {
			value = "true"
		}
		if seen[name] {
			args.Append(name, value)
		} else {
			args.Set(name, value)
			seen[name] = true
		}
	}
	return nil
}

// Processes returns the pids of the cluster's processes by name: kube-apiserver, etcd
// and, with WithNodes, kube-controller-manager, kube-scheduler and kwok (the first two
// only on Linux, found through /proc). After Stop it still returns them, so that a test
// can check that they are gone.
func (c *Cluster) Processes() map[string]int {
	return maps.Clone(c.pids)
}

// Stop stops every process of the cluster (the components first, then kube-apiserver
// and etcd), makes sure none is left, and removes the work directory unless it was given
// in Options. It returns an error too if a component had exited on its own before. It is
// safe to call more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

// OnStop registers fn to run at the start of Stop, before the control plane
// goes away: for processes that use the cluster, such as a reconciler.
func (c *Cluster) OnStop(fn func() error) {
	c.hooksMu.Lock()
	defer c.hooksMu.Unlock()
	c.hooks = append(c.hooks, fn)
}

func (c *Cluster) stop() error {
	var errs []error
	c.hooksMu.Lock()
	hooks := c.hooks
	c.hooksMu.Unlock()
	for i := len(hooks) - 1; i >= 0; i-- {
		if err := hooks[i](); err != nil {
			errs = append(errs, err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, p := range c.procs {
		wg.Go(func() {
			if err := p.stop(10 * time.Second); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if c.Env != nil {
		if err := c.Env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping kube-apiserver and etcd: %w", err))
		}
	}
	// envtest signals process groups and kills on timeout; make sure.
	for name, pid := range c.pids {
		if alive(pid) {
			errs = append(errs, fmt.Errorf("%s (pid %d) still running after stop: killed", name, pid))
			killGroup(pid)
		}
	}
	if c.opts.WorkDir == "" && c.WorkDir != "" {
		if err := os.RemoveAll(c.WorkDir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

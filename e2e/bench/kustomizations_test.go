package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	"github.com/tether-gitops/tether/pkg/apis"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

// Cluster settings of the benchmark (issue 5): kube-controller-manager (and
// kube-scheduler) may talk to the apiserver at 300 qps, so that the
// cluster's own controllers do not hide the reconciler's cost; at their
// defaults (20 and 50 qps) Deployments become Available at a few per second.
var (
	controllerManagerArgs = []string{"--kube-api-qps=300", "--kube-api-burst=600"}
	schedulerArgs         = []string{"--kube-api-qps=300", "--kube-api-burst=600"}
)

const (
	// benchNamespace holds the GitRepository and the Kustomizations.
	benchNamespace = "bench"
	// clientWorkers is how many requests the benchmark itself sends at once
	// when it creates or patches N objects.
	clientWorkers = 16
	// progressEvery is how often a wait logs where it is.
	progressEvery = 15 * time.Second
)

// BenchmarkKustomizations measures, for each N of TETHER_BENCH_N, N
// Kustomizations of the same 4-object app from one GitRepository, each into
// its own namespace, against a reconciler at its default settings, and the
// limits of the same cluster (raw kubectl apply --server-side). See issue 5.
func BenchmarkKustomizations(b *testing.B) {
	ctrllog.SetLogger(logr.Discard()) // the benchmark's informers
	sizes, err := parseSizes(os.Getenv("TETHER_BENCH_N"))
	if err != nil {
		b.Fatal(err)
	}
	timeout, err := parseTimeout(os.Getenv("TETHER_BENCH_TIMEOUT"))
	if err != nil {
		b.Fatal(err)
	}
	var results []*result
	for _, n := range sizes {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			r := runScale(b, n, timeout)
			r.report(b)
			results = append(results, r)
		})
	}
	logf("summary (goals: ratio-wait <= 1.5, ratio-nowait <= 1.5, no-change of 1000 < 30 s with 0 writes to applied objects):\n%s", summaryTable(results))
}

// result holds the measurements of one N.
type result struct {
	n int

	rawApply, rawAvailable           time.Duration
	nowaitCreate, nowaitReady        time.Duration
	nowaitP50, nowaitDeploys         time.Duration
	waitCreate, waitReady            time.Duration
	waitP50, waitDeploys             time.Duration
	noopNowait, noopWait             noopResult
	cpuSeconds, rssMiB               float64
	phases                           []phase
	reconcileMean, reconcileQueueAvg time.Duration
}

type noopResult struct {
	duration time.Duration
	requests requestCounts
	// reconcilerRequests are the reconciler's own requests (client side).
	reconcilerRequests float64
	reconcilerByMethod string
}

// phase is the wall time and CPU of each process over one step of the run.
type phase struct {
	name string
	wall time.Duration
	cpu  map[string]float64
}

func (r *result) report(b *testing.B) {
	b.ReportMetric(r.rawApply.Seconds(), "s-raw-apply")
	b.ReportMetric(r.rawAvailable.Seconds(), "s-raw-available")
	b.ReportMetric(r.nowaitReady.Seconds(), "s-ready-nowait")
	b.ReportMetric(r.waitReady.Seconds(), "s-ready-wait")
	b.ReportMetric(ratio(r.nowaitReady, r.rawApply), "ratio-nowait")
	b.ReportMetric(ratio(r.waitReady, r.rawAvailable), "ratio-wait")
	b.ReportMetric(r.noopNowait.duration.Seconds(), "s-noop")
	b.ReportMetric(r.noopNowait.requests.total, "requests-noop")
	b.ReportMetric(r.noopNowait.requests.appliedWrites, "writes-noop")
	b.ReportMetric(r.noopNowait.requests.statusWrites, "status-writes-noop")
	b.ReportMetric(r.noopWait.duration.Seconds(), "s-noop-wait")
	b.ReportMetric(r.noopWait.requests.appliedWrites, "writes-noop-wait")
	b.ReportMetric(r.cpuSeconds, "cpu-s")
	b.ReportMetric(r.rssMiB, "rss-MiB")
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return a.Seconds() / b.Seconds()
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f", d.Seconds()) }

func summaryTable(results []*result) string {
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "N\traw apply s\traw Available s\tnowait Ready s\tratio-nowait\twait Ready s\tratio-wait\tno-change s\trequests\twrites applied\tstatus writes\tno-change(wait) s\twrites applied\tcpu s\tpeak RSS MiB\t")
	for _, r := range results {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%.2f\t%s\t%.2f\t%s\t%.0f\t%.0f\t%.0f\t%s\t%.0f\t%.1f\t%.0f\t\n", r.n,
			secs(r.rawApply), secs(r.rawAvailable), secs(r.nowaitReady), ratio(r.nowaitReady, r.rawApply),
			secs(r.waitReady), ratio(r.waitReady, r.rawAvailable),
			secs(r.noopNowait.duration), r.noopNowait.requests.total, r.noopNowait.requests.appliedWrites, r.noopNowait.requests.statusWrites,
			secs(r.noopWait.duration), r.noopWait.requests.appliedWrites, r.cpuSeconds, r.rssMiB)
	}
	w.Flush()
	return buf.String()
}

// scale is the running state of one N.
type scale struct {
	b          *testing.B
	n          int
	timeout    time.Duration
	cluster    *testcluster.Cluster
	reconciler *harness.Reconciler
	watch      *watcher
	revision   string
	procs      map[string]int
	res        *result
}

func runScale(b *testing.B, n int, timeout time.Duration) *result {
	ctx := b.Context()
	s := &scale{b: b, n: n, timeout: timeout, res: &result{n: n}}
	s.start(ctx)

	nowait, wait, raw := names("nowait", n), names("wait", n), names("raw", n)
	s.step("namespaces", func() {
		s.createNamespaces(ctx, append(append(append([]string(nil), raw...), nowait...), wait...))
	})

	s.step("raw apply", func() { s.rawApply(ctx, raw) })
	s.step("nowait", func() {
		s.res.nowaitCreate, s.res.nowaitReady, s.res.nowaitP50, s.res.nowaitDeploys = s.kustomizations(ctx, nowait, false)
	})
	s.waitIdle(ctx)
	s.step("no-change nowait", func() { s.res.noopNowait = s.noop(ctx, nowait) })
	// The first set's periodic reconciles (every minute) would compete with
	// the second set's first ones.
	s.step("suspend nowait", func() { s.suspend(ctx, nowait) })
	s.waitIdle(ctx)
	s.step("wait", func() {
		s.res.waitCreate, s.res.waitReady, s.res.waitP50, s.res.waitDeploys = s.kustomizations(ctx, wait, true)
	})
	s.waitIdle(ctx)
	s.step("no-change wait", func() { s.res.noopWait = s.noop(ctx, wait) })

	pid := s.reconciler.Pid()
	cpu, err := cpuSeconds(pid)
	if err != nil {
		b.Fatal(err)
	}
	rss, err := peakRSSBytes(pid)
	if err != nil {
		b.Fatal(err)
	}
	s.res.cpuSeconds, s.res.rssMiB = cpu, float64(rss)/(1<<20)
	if m, err := scrapeReconciler(ctx, s.reconciler.MetricsAddr); err == nil {
		if c := m.sum("controller_runtime_reconcile_time_seconds_count", isKustomizationController); c > 0 {
			s.res.reconcileMean = time.Duration(m.sum("controller_runtime_reconcile_time_seconds_sum", isKustomizationController) / c * float64(time.Second))
		}
		if c := m.sum("workqueue_queue_duration_seconds_count", isKustomizationController); c > 0 {
			s.res.reconcileQueueAvg = time.Duration(m.sum("workqueue_queue_duration_seconds_sum", isKustomizationController) / c * float64(time.Second))
		}
		logf("reconciler over the run: %.0f Kustomization reconciles (%.0f errors), mean reconcile %s, mean queue wait %s",
			m.sum("controller_runtime_reconcile_total", isKustomizationController),
			m.sum("controller_runtime_reconcile_errors_total", isKustomizationController),
			s.res.reconcileMean.Round(time.Millisecond), s.res.reconcileQueueAvg.Round(time.Millisecond))
	}
	s.logDetails()
	return s.res
}

// start starts the control plane, the git server and GitRepository, the
// reconciler at its default settings and the benchmark's informers.
func (s *scale) start(ctx context.Context) {
	b := s.b
	scheme := k8sruntime.NewScheme()
	if err := apis.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	root, err := testcluster.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	opts := testcluster.Options{
		Scheme:                scheme,
		CRDDirs:               []string{filepath.Join(root, "manifests", "crds")},
		WithNodes:             true,
		Nodes:                 3*s.n/1000 + 1, // three sets of N pods, 1000 pods a node
		PodsPerNode:           1000,
		ServiceClusterIPRange: "10.0.0.0/16",
		ControllerManagerArgs: controllerManagerArgs,
		SchedulerArgs:         schedulerArgs,
		APIServerArgs:         strings.Fields(os.Getenv("TETHER_BENCH_APISERVER_ARGS")),
	}
	begin := time.Now()
	c, err := testcluster.Start(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := c.Stop(); err != nil {
			logf("stopping the cluster: %v", err)
		}
	})
	s.cluster = c
	logf("N=%d: control plane with %d kwok nodes ready in %s", s.n, opts.Nodes, time.Since(begin).Round(100*time.Millisecond))

	srv := gitserver.NewHTTP(b)
	repo := gitserver.InitRepo(b, srv.Root(), "app", repoFiles())
	s.revision = "main@sha1:" + repo.Head(b)

	// Default settings: the harness adds only the test plumbing (kubeconfig,
	// addresses, storage path, console logs at debug level); set the log
	// level back to its default.
	r, err := harness.Start(c, b.TempDir(), "--leader-elect=false", "--log-level=info")
	if err != nil {
		b.Fatal(err)
	}
	c.OnStop(r.Stop)
	s.reconciler = r
	b.Cleanup(func() {
		if b.Failed() {
			logf("reconciler log (tail):\n%s", r.Log(8000))
		}
	})
	s.procs = c.Processes()
	s.procs["tether-reconciler"] = r.Pid()

	if err := c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}); err != nil {
		b.Fatal(err)
	}
	src := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: "app"},
		Spec: sourcev1.GitRepositorySpec{
			URL:       srv.URL("app"),
			Reference: &sourcev1.GitRepositoryRef{Branch: gitserver.DefaultBranch},
		},
	}
	if err := c.Client.Create(ctx, src); err != nil {
		b.Fatal(err)
	}
	s.poll(ctx, "GitRepository app Ready at "+s.revision, 2*time.Minute, func() (bool, error) {
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(src), src); err != nil {
			return false, err
		}
		return meta.IsReady(src) && src.Status.Artifact != nil && src.Status.Artifact.Revision == s.revision, nil
	})

	if s.watch, err = newWatcher(ctx, c.Config, c.Scheme); err != nil {
		b.Fatal(err)
	}
}

// step runs fn and records its wall time and the CPU of every process.
func (s *scale) step(name string, fn func()) {
	before := s.cpu()
	begin := time.Now()
	fn()
	p := phase{name: name, wall: time.Since(begin), cpu: map[string]float64{}}
	for proc, v := range s.cpu() {
		p.cpu[proc] = v - before[proc]
	}
	s.res.phases = append(s.res.phases, p)
}

func (s *scale) cpu() map[string]float64 {
	out := map[string]float64{}
	for name, pid := range s.procs {
		if v, err := cpuSeconds(pid); err == nil {
			out[name] = v
		}
	}
	if v, err := cpuSeconds(os.Getpid()); err == nil {
		out["benchmark"] = v
	}
	if v, err := machineCPUSeconds(); err == nil {
		out[machineKey] = v
	}
	return out
}

// createNamespaces creates the namespaces and waits for their default
// ServiceAccounts (pods need them), before anything is timed.
func (s *scale) createNamespaces(ctx context.Context, namespaces []string) {
	err := parallel(ctx, len(namespaces), func(i int) error {
		return s.cluster.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespaces[i]}})
	})
	if err != nil {
		s.b.Fatalf("creating namespaces: %v", err)
	}
	want := map[string]bool{}
	for _, ns := range namespaces {
		want[ns] = true
	}
	s.poll(ctx, fmt.Sprintf("the default ServiceAccounts of %d namespaces", len(namespaces)), s.timeout, func() (bool, error) {
		var sas corev1.ServiceAccountList
		if err := s.cluster.Client.List(ctx, &sas, client.MatchingFields{"metadata.name": "default"}); err != nil {
			return false, err
		}
		found := 0
		for _, sa := range sas.Items {
			if want[sa.Namespace] {
				found++
			}
		}
		return found == len(namespaces), nil
	})
}

// rawApply is the limit: kubectl apply --server-side of the same 4N objects
// in one invocation, then until all the Deployments are Available.
func (s *scale) rawApply(ctx context.Context, namespaces []string) {
	b := s.b
	file := filepath.Join(b.TempDir(), "raw.yaml")
	if err := os.WriteFile(file, []byte(rawManifests(namespaces)), 0o644); err != nil {
		b.Fatal(err)
	}
	deploys, err := s.watch.track(ctx, "raw Deployments Available", "Deployment", keys(namespaces, "app"), deploymentAvailable)
	if err != nil {
		b.Fatal(err)
	}
	defer s.watch.untrack(deploys)
	cmdCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmd := exec.CommandContext(cmdCtx, filepath.Join(s.cluster.BinDir, "kubectl"), "--kubeconfig", s.cluster.KubeconfigPath,
		"apply", "--server-side", "--field-manager=bench-raw", "-f", file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	begin := deploys.start
	if err := cmd.Run(); err != nil {
		b.Fatalf("kubectl apply --server-side: %v\n%s", err, stderr.String())
	}
	s.res.rawApply = time.Since(begin)
	if lines := strings.Count(stdout.String(), "\n"); lines != 4*len(namespaces) {
		b.Fatalf("kubectl apply printed %d lines for %d objects:\n%s", lines, 4*len(namespaces), stderr.String())
	}
	if s.res.rawAvailable, err = s.waitFor(ctx, deploys); err != nil {
		b.Fatal(err)
	}
	logf("raw: kubectl apply --server-side of %d objects %s (%.0f objects/s); all Deployments Available %s (p50 %s)",
		4*len(namespaces), s.res.rawApply.Round(10*time.Millisecond), float64(4*len(namespaces))/s.res.rawApply.Seconds(),
		s.res.rawAvailable.Round(10*time.Millisecond), deploys.quantile(0.5).Round(10*time.Millisecond))
}

// kustomizations creates one Kustomization per namespace and returns the
// time to create them all, the time until all are Ready at the revision, the
// median time to Ready, and the time until their Deployments are all
// Available (all from the first create).
func (s *scale) kustomizations(ctx context.Context, namespaces []string, wait bool) (create, ready, p50, deploysAvailable time.Duration) {
	b := s.b
	what := map[bool]string{false: "wait:false", true: "wait:true"}[wait]
	ks, err := s.watch.track(ctx, what+" Kustomizations Ready", "Kustomization", keys([]string{benchNamespace}, namespaces...), kustomizationReady(s.revision))
	if err != nil {
		b.Fatal(err)
	}
	defer s.watch.untrack(ks)
	deploys, err := s.watch.track(ctx, what+" Deployments Available", "Deployment", keys(namespaces, "app"), deploymentAvailable)
	if err != nil {
		b.Fatal(err)
	}
	defer s.watch.untrack(deploys)
	err = parallel(ctx, len(namespaces), func(i int) error {
		return s.cluster.Client.Create(ctx, &kustomizev1.Kustomization{
			ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: namespaces[i]},
			Spec: kustomizev1.KustomizationSpec{
				SourceRef:       meta.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: "app"},
				Path:            appPath,
				Prune:           true,
				Wait:            wait,
				TargetNamespace: namespaces[i],
			},
		})
	})
	if err != nil {
		b.Fatalf("creating Kustomizations: %v", err)
	}
	create = time.Since(ks.start)
	if ready, err = s.waitFor(ctx, ks); err != nil {
		s.diagnose(ctx, ks)
		b.Fatal(err)
	}
	if deploysAvailable, err = s.waitFor(ctx, deploys); err != nil {
		b.Fatal(err)
	}
	p50 = ks.quantile(0.5)
	logf("%s: created %d Kustomizations in %s; Ready: first %s, p50 %s, p90 %s, all %s (%.1f/s); their Deployments all Available %s",
		what, len(namespaces), create.Round(10*time.Millisecond), ks.quantile(0).Round(10*time.Millisecond), p50.Round(10*time.Millisecond),
		ks.quantile(0.9).Round(10*time.Millisecond), ready.Round(10*time.Millisecond), float64(len(namespaces))/ready.Seconds(),
		deploysAvailable.Round(10*time.Millisecond))
	return create, ready, p50, deploysAvailable
}

// noop requests a reconcile of each Kustomization (nothing changed) and
// measures the time until all have handled it and the apiserver requests
// meanwhile.
func (s *scale) noop(ctx context.Context, names []string) noopResult {
	b := s.b
	v := meta.NewReconcileRequestValue(time.Now())
	apiBefore, err := scrapeAPIServer(ctx, s.cluster.Config)
	if err != nil {
		b.Fatal(err)
	}
	recBefore, err := scrapeReconciler(ctx, s.reconciler.MetricsAddr)
	if err != nil {
		b.Fatal(err)
	}
	handled, err := s.watch.track(ctx, "no-change reconcile handled", "Kustomization", keys([]string{benchNamespace}, names...), reconcileHandled(v))
	if err != nil {
		b.Fatal(err)
	}
	defer s.watch.untrack(handled)
	patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, meta.ReconcileRequestAnnotation, v))
	err = parallel(ctx, len(names), func(i int) error {
		return s.cluster.Client.Patch(ctx, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: names[i]}}, patch)
	})
	if err != nil {
		b.Fatalf("requesting reconciles: %v", err)
	}
	res := noopResult{}
	if res.duration, err = s.waitFor(ctx, handled); err != nil {
		s.diagnose(ctx, handled)
		b.Fatal(err)
	}
	// Let the last reconciles finish their writes before counting.
	s.waitIdle(ctx)
	apiAfter, err := scrapeAPIServer(ctx, s.cluster.Config)
	if err != nil {
		b.Fatal(err)
	}
	recAfter, err := scrapeReconciler(ctx, s.reconciler.MetricsAddr)
	if err != nil {
		b.Fatal(err)
	}
	res.requests = classify(delta(apiBefore, apiAfter))
	res.reconcilerRequests, res.reconcilerByMethod = reconcilerRequests(delta(recBefore, recAfter))
	rq := res.requests
	logf("no-change reconcile of %d: all handled in %s (p50 %s); apiserver: %.0f requests (%.0f dry-run), writes: %.0f to applied objects, "+
		"%.0f Kustomization status, %.0f Kustomization (%d are the benchmark's annotation patches), %.0f other; reconciler sent %.0f (%s)\n  writes by resource: %s",
		len(names), res.duration.Round(10*time.Millisecond), handled.quantile(0.5).Round(10*time.Millisecond),
		rq.total, rq.dryRun, rq.appliedWrites, rq.statusWrites, rq.kustomizationWrites, len(names), rq.otherWrites,
		res.reconcilerRequests, res.reconcilerByMethod, rq.writesString())
	return res
}

// suspend sets spec.suspend on the Kustomizations.
func (s *scale) suspend(ctx context.Context, names []string) {
	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"suspend":true}}`))
	err := parallel(ctx, len(names), func(i int) error {
		return s.cluster.Client.Patch(ctx, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: names[i]}}, patch)
	})
	if err != nil {
		s.b.Fatalf("suspending Kustomizations: %v", err)
	}
}

// waitFor waits for a tracker within the benchmark's timeout, logging
// progress, and fails early if the reconciler exits.
func (s *scale) waitFor(ctx context.Context, t *tracker) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return t.wait(ctx, progressEvery, func() {
		done, total := t.progress()
		logf("  %s: %d/%d after %s; %s", t.what, done, total, time.Since(t.start).Round(time.Second), s.reconcilerState(ctx))
	}, func() error {
		if exited, err := s.reconciler.Exited(); exited {
			return fmt.Errorf("the reconciler exited: %v", err)
		}
		return nil
	})
}

// reconcilerState is a one-line summary of the Kustomization controller.
func (s *scale) reconcilerState(ctx context.Context) string {
	m, err := scrapeReconciler(ctx, s.reconciler.MetricsAddr)
	if err != nil {
		return err.Error()
	}
	cpu, _ := cpuSeconds(s.reconciler.Pid())
	return fmt.Sprintf("reconciler: queue depth %.0f, active workers %.0f/%.0f, reconciles %.0f (errors %.0f), requests sent %.0f, CPU %.1fs",
		m.sum("workqueue_depth", isKustomizationController),
		m.sum("controller_runtime_active_workers", isKustomizationController),
		m.sum("controller_runtime_max_concurrent_reconciles", isKustomizationController),
		m.sum("controller_runtime_reconcile_total", isKustomizationController),
		m.sum("controller_runtime_reconcile_errors_total", isKustomizationController),
		m.sum("rest_client_requests_total", nil), cpu)
}

// waitIdle waits (at most a minute) until the Kustomization controller has
// nothing queued and no reconcile running, twice in a row.
func (s *scale) waitIdle(ctx context.Context) {
	deadline := time.Now().Add(time.Minute)
	quiet := 0
	for time.Now().Before(deadline) {
		m, err := scrapeReconciler(ctx, s.reconciler.MetricsAddr)
		if err == nil && m.sum("workqueue_depth", isKustomizationController) == 0 &&
			m.sum("controller_runtime_active_workers", isKustomizationController) == 0 {
			if quiet++; quiet == 2 {
				return
			}
		} else {
			quiet = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
	}
	logf("the reconciler is still busy after a minute: %s", s.reconcilerState(ctx))
}

// diagnose logs why objects of a failed wait are not done.
func (s *scale) diagnose(ctx context.Context, t *tracker) {
	for _, key := range t.pendingKeys(5) {
		ns, name, _ := strings.Cut(key, "/")
		var ks kustomizev1.Kustomization
		if err := s.cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &ks); err != nil {
			logf("  %s: %v", key, err)
			continue
		}
		logf("  %s: generation %d observed %d, lastHandledReconcileAt %q, conditions %s", key, ks.Generation,
			ks.Status.ObservedGeneration, ks.Status.LastHandledReconcileAt, harness.Conditions(&ks))
	}
	logf("  %s", s.reconcilerState(ctx))
	logf("reconciler log (tail):\n%s", s.reconciler.Log(6000))
}

// poll calls cond until it returns true, failing the benchmark after timeout.
func (s *scale) poll(ctx context.Context, what string, timeout time.Duration, cond func() (bool, error)) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			s.b.Fatalf("waiting for %s: %v (last error: %v)", what, context.Cause(ctx), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// logDetails logs the per-phase wall and CPU table.
func (s *scale) logDetails() {
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', tabwriter.AlignRight)
	procs := make([]string, 0, len(s.procs)+1)
	for name := range s.procs {
		procs = append(procs, name)
	}
	sort.Strings(procs)
	procs = append(procs, "benchmark")
	fmt.Fprintf(w, "phase\twall s\t%s\tours CPU s\tours cores\tmachine cores\t\n", strings.Join(procs, " CPU s\t")+" CPU s")
	for _, p := range s.res.phases {
		total := 0.0
		fmt.Fprintf(w, "%s\t%s\t", p.name, secs(p.wall))
		for _, name := range procs {
			fmt.Fprintf(w, "%.1f\t", p.cpu[name])
			total += p.cpu[name]
		}
		fmt.Fprintf(w, "%.1f\t%.2f\t%.2f\t\n", total, total/p.wall.Seconds(), p.cpu[machineKey]/p.wall.Seconds())
	}
	w.Flush()
	logf("N=%d: wall time and CPU by phase (%d cores; \"machine cores\" above \"ours\" is other work on the machine):\n%s",
		s.n, runtime.NumCPU(), buf.String())
}

// keys returns namespace/name for each namespace with one name, or for one
// namespace with each name.
func keys(namespaces []string, names ...string) []string {
	var out []string
	for _, ns := range namespaces {
		for _, n := range names {
			out = append(out, ns+"/"+n)
		}
	}
	return out
}

// logf prints a line at once, with the time: b.Logf would hold it until the
// end and keep only the first 10 lines of a benchmark's output.
func logf(format string, args ...any) {
	fmt.Printf("%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// parallel runs fn(0..n-1) on clientWorkers goroutines and returns the
// errors.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	next := make(chan int)
	for range min(clientWorkers, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if len(errs) > 3 {
		errs = append(errs[:3], fmt.Errorf("and %d more errors", len(errs)-3))
	}
	return errors.Join(errs...)
}

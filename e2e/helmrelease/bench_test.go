package helmrelease

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/helm"
)

// BenchmarkHelmReleases creates N HelmReleases (TETHER_BENCH_HELM_N, default
// 100) of the 4-object test chart from one HTTP chart repository, each with
// its own HelmChart, and measures the time until all are Ready with their
// release deployed (Helm waits for each Deployment to be Available), and the
// reconciler's peak RSS and CPU. It is not run by `go test ./...`:
//
//	go test ./e2e/helmrelease/ -run '^$' -bench HelmReleases -benchtime 1x -timeout 30m
func BenchmarkHelmReleases(b *testing.B) {
	n := 100
	if v := os.Getenv("TETHER_BENCH_HELM_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("TETHER_BENCH_HELM_N=%q: %v", v, err)
		}
	}
	for range b.N {
		f := newFixture(b)
		publish(b, f.srv, "app", "1.0.0", chartOpts{})
		raw := rawBaseline(b, f.ns, n)
		pid := reconciler.Pid()
		cpuBefore := procCPU(b, pid)
		ctx := context.Background()
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		sem := make(chan struct{}, 16)
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				hr := f.release(fmt.Sprintf("app-%03d", i), "*", map[string]any{"message": fmt.Sprint(i)})
				hr.Spec.Interval = every(10 * time.Minute)
				hr.Spec.Chart.Spec.Interval = every(10 * time.Minute)
				errs <- cluster.Client.Create(ctx, hr)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		created := time.Since(start)
		var last string
		deadline := time.Now().Add(20 * time.Minute)
		for {
			var list helmv1.HelmReleaseList
			if err := cluster.Client.List(ctx, &list, client.InNamespace(f.ns)); err != nil {
				b.Fatal(err)
			}
			ready := 0
			for i := range list.Items {
				hr := &list.Items[i]
				if s := hr.Status.History.Latest(); meta.IsReady(hr) && s != nil && s.Status == "deployed" {
					ready++
				}
			}
			if p := fmt.Sprintf("%d/%d Ready", ready, n); p != last {
				last = p
				b.Logf("%6.1fs %s", time.Since(start).Seconds(), p)
			}
			if ready == n {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("only %s after %s", last, time.Since(start))
			}
			time.Sleep(250 * time.Millisecond)
		}
		allReady := time.Since(start)
		cpu := procCPU(b, pid) - cpuBefore
		noop, noopCPU := noChange(b, f.ns, n, pid)
		// The second one finds the objects remembered in line: GETs, no dry-runs.
		noop2, noop2CPU := noChange(b, f.ns, n, pid)
		rss := procStatusKB(b, pid, "VmHWM")
		cur := procStatusKB(b, pid, "VmRSS")
		b.Logf("N=%d: created in %s, all Ready in %s (%.1f releases/s; the same objects applied directly: all Available in %s, ratio %.1f); reconciler CPU %.1f s, RSS %d MiB (peak %d MiB)",
			n, created.Round(time.Millisecond), allReady.Round(time.Millisecond), float64(n)/allReady.Seconds(),
			raw.Round(time.Millisecond), allReady.Seconds()/raw.Seconds(), cpu, cur/1024, rss/1024)
		b.ReportMetric(raw.Seconds(), "s-raw-available")
		b.ReportMetric(noop.Seconds(), "s-no-change")
		b.ReportMetric(noop2.Seconds(), "s-no-change-2")
		b.Logf("no-change reconcile of all %d (drift detection, no new revision): %s, reconciler CPU %.1f s; again: %s, CPU %.1f s",
			n, noop.Round(time.Millisecond), noopCPU, noop2.Round(time.Millisecond), noop2CPU)
		b.ReportMetric(allReady.Seconds(), "s-all-ready")
		b.ReportMetric(cpu, "cpu-s")
		b.ReportMetric(float64(rss)/1024, "peak-rss-MiB")
	}
}

// noChange requests a reconcile of every HelmRelease of ns and returns the
// time until all have handled it (each runs drift detection and makes no
// new revision) and the reconciler's CPU meanwhile.
func noChange(b *testing.B, ns string, n, pid int) (time.Duration, float64) {
	b.Helper()
	ctx := context.Background()
	cpuBefore := procCPU(b, pid)
	v := meta.NewReconcileRequestValue(time.Now())
	start := time.Now()
	var list helmv1.HelmReleaseList
	if err := cluster.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	for i := range list.Items {
		hr := &list.Items[i]
		patch := client.MergeFrom(hr.DeepCopy())
		hr.Annotations = map[string]string{meta.ReconcileRequestAnnotation: v}
		if err := cluster.Client.Patch(ctx, hr, patch); err != nil {
			b.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
		if err := cluster.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		done := 0
		for i := range list.Items {
			hr := &list.Items[i]
			if hr.Status.LastHandledReconcileAt == v && meta.IsReady(hr) {
				if s := hr.Status.History.Latest(); s == nil || s.Version != 1 {
					b.Fatalf("%s: a no-change reconcile made a new revision", hr.Name)
				}
				done++
			}
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("no-change: only %d/%d handled", done, n)
		}
	}
	return time.Since(start), procCPU(b, pid) - cpuBefore
}

// rawBaseline server-side applies the chart's 4 objects n times (names
// raw-NNN), as fast as the benchmark can, and returns the time until every
// Deployment is Available: what the cluster itself takes, without Helm.
func rawBaseline(b *testing.B, ns string, n int) time.Duration {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			name := fmt.Sprintf("raw-%03d", i)
			files := chartFiles("app", "1.0.0", chartOpts{})
			for _, f := range []string{"templates/serviceaccount.yaml", "templates/service.yaml", "templates/deployment.yaml"} {
				objs, err := helm.ParseManifest(strings.NewReplacer("{{ .Release.Name }}", name, "{{ .Values.replicaCount }}", "1").Replace(files[f]))
				if err != nil {
					errs <- err
					return
				}
				for _, u := range objs {
					u.SetNamespace(ns)
					if err := cluster.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("bench-raw"), client.ForceOwnership); err != nil {
						errs <- err
						return
					}
				}
			}
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-config"}, Data: map[string]string{"message": name}}
			errs <- cluster.Client.Create(ctx, cm)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(250 * time.Millisecond) {
		var list appsv1.DeploymentList
		if err := cluster.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		available := 0
		for _, d := range list.Items {
			if strings.HasPrefix(d.Name, "raw-") && d.Status.AvailableReplicas == 1 && d.Status.ObservedGeneration == d.Generation {
				available++
			}
		}
		if available == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("raw: only %d/%d Deployments Available", available, n)
		}
	}
	d := time.Since(start)
	b.Logf("raw: %d × 4 objects applied directly, all Deployments Available in %s", n, d.Round(time.Millisecond))
	return d
}

func procCPU(b *testing.B, pid int) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

func procStatusKB(b *testing.B, pid int, field string) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// clockTicks is CLK_TCK, the unit of utime and stime in /proc/<pid>/stat
// (100 on every Linux this runs on).
const clockTicks = 100

// cpuSeconds is the CPU time (user + system) that process pid has used, from
// /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(raw))
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a /proc/<pid>/stat
// line. The command name (field 2) is in parentheses and may hold spaces and
// parentheses itself, so fields are counted from the last ')'.
func parseStatCPU(stat string) (float64, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	fields := strings.Fields(stat[end+1:])
	// fields[0] is field 3 (state): utime is field 14, stime field 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	return float64(utime+stime) / clockTicks, nil
}

// machineKey names the whole machine's CPU in phase records.
const machineKey = "machine"

// machineCPUSeconds is the CPU time that all processes of the machine have
// used (the first line of /proc/stat, less idle and iowait).
func machineCPUSeconds() (float64, error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseMachineCPU(string(raw))
}

func parseMachineCPU(stat string) (float64, error) {
	line, _, _ := strings.Cut(stat, "\n")
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	var busy uint64
	// user nice system idle iowait irq softirq steal: all but idle and iowait.
	for i, f := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected /proc/stat line %q", line)
		}
		if i != 3 && i != 4 {
			busy += v
		}
	}
	return float64(busy) / clockTicks, nil
}

// peakRSSBytes is the peak resident set size (VmHWM) of process pid.
func peakRSSBytes(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusKB(string(raw), "VmHWM")
}

// parseStatusKB reads a "Name:   1234 kB" line of /proc/<pid>/status, in bytes.
func parseStatusKB(status, name string) (int64, error) {
	for line := range strings.SplitSeq(status, "\n") {
		rest, ok := strings.CutPrefix(line, name+":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("unexpected %s line %q", name, line)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		return kb * 1024, err
	}
	return 0, fmt.Errorf("no %s in /proc status", name)
}

// sample is one sample of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// key identifies the sample's series.
func (s sample) key() string {
	names := make([]string, 0, len(s.labels))
	for n := range s.labels {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(s.name)
	for _, n := range names {
		fmt.Fprintf(&b, ",%s=%q", n, s.labels[n])
	}
	return b.String()
}

// metrics is a scrape of a /metrics endpoint.
type metrics []sample

// parseMetrics reads the samples of the Prometheus text exposition format
// whose names are in keep (all when keep is empty). Comments, and lines it
// cannot read, are skipped: scrapes are diagnostics, never the verdict.
func parseMetrics(text string, keep ...string) metrics {
	var out metrics
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		s, ok := parseSample(line)
		if !ok {
			continue
		}
		if len(keep) > 0 && !contains(keep, s.name) {
			continue
		}
		out = append(out, s)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseSample reads `name{label="value",...} value [timestamp]`.
func parseSample(line string) (sample, bool) {
	s := sample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return s, false
	}
	s.name = line[:i]
	rest := line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			rest = strings.TrimLeft(rest, " ,")
			if rest == "" {
				return s, false
			}
			if rest[0] == '}' {
				rest = rest[1:]
				break
			}
			eq := strings.IndexByte(rest, '=')
			if eq <= 0 || len(rest) < eq+2 || rest[eq+1] != '"' {
				return s, false
			}
			name := strings.TrimSpace(rest[:eq])
			rest = rest[eq+2:]
			var v strings.Builder
			closed := false
			for j := 0; j < len(rest); j++ {
				c := rest[j]
				if c == '\\' && j+1 < len(rest) {
					j++
					switch rest[j] {
					case 'n':
						v.WriteByte('\n')
					default:
						v.WriteByte(rest[j])
					}
					continue
				}
				if c == '"' {
					rest = rest[j+1:]
					closed = true
					break
				}
				v.WriteByte(c)
			}
			if !closed {
				return s, false
			}
			s.labels[name] = v.String()
		}
	}
	fields := strings.Fields(rest)
	if len(fields) < 1 {
		return s, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, false
	}
	s.value = v
	return s, true
}

// sum adds the values of the samples named name whose labels match.
func (m metrics) sum(name string, match func(map[string]string) bool) float64 {
	total := 0.0
	for _, s := range m {
		if s.name == name && (match == nil || match(s.labels)) {
			total += s.value
		}
	}
	return total
}

// delta returns, series by series, after minus before (a counter absent
// before counts from 0).
func delta(before, after metrics) metrics {
	prev := make(map[string]float64, len(before))
	for _, s := range before {
		prev[s.key()] = s.value
	}
	out := make(metrics, 0, len(after))
	for _, s := range after {
		d := s
		d.value = s.value - prev[s.key()]
		if d.value != 0 {
			out = append(out, d)
		}
	}
	return out
}

// scrapeAPIServer reads kube-apiserver's apiserver_request_total.
func scrapeAPIServer(ctx context.Context, cfg *rest.Config) (metrics, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("scraping kube-apiserver /metrics: %w", err)
	}
	return parseMetrics(string(raw), "apiserver_request_total"), nil
}

// Names of the reconciler's metrics that the benchmark reads.
var reconcilerMetricNames = []string{
	"controller_runtime_reconcile_total",
	"controller_runtime_reconcile_errors_total",
	"controller_runtime_reconcile_time_seconds_sum",
	"controller_runtime_reconcile_time_seconds_count",
	"controller_runtime_active_workers",
	"controller_runtime_max_concurrent_reconciles",
	"workqueue_depth",
	"workqueue_adds_total",
	"workqueue_queue_duration_seconds_sum",
	"workqueue_queue_duration_seconds_count",
	"rest_client_requests_total",
}

// scrapeReconciler reads the reconciler's /metrics at addr.
func scrapeReconciler(ctx context.Context, addr string) (metrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping the reconciler's /metrics: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping the reconciler's /metrics: %s", resp.Status)
	}
	return parseMetrics(string(raw), reconcilerMetricNames...), nil
}

// isKustomizationController matches the labels of the Kustomization
// controller's series (label "controller" for controller-runtime, "name" for
// the workqueue).
func isKustomizationController(l map[string]string) bool {
	return strings.EqualFold(l["controller"], "kustomization") || strings.EqualFold(l["name"], "kustomization")
}

// writeVerbs are the verbs of apiserver_request_total that change state.
var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "APPLY": true, "DELETE": true, "DELETECOLLECTION": true}

// appliedResources are the resources of the benchmark's app.
var appliedResources = map[string]bool{"configmaps": true, "serviceaccounts": true, "services": true, "deployments": true}

// requestCounts classifies the apiserver requests of a window.
type requestCounts struct {
	total        float64
	dryRun       float64 // dry-run requests (dry_run != "")
	appliedReads float64 // GET/LIST of the app's resources
	// Writes (not dry-run) to the app's objects, to Kustomization status, to
	// Kustomizations themselves (the benchmark's own annotation patches among
	// them), and to anything else (leases, events, nodes: the cluster's
	// background too).
	appliedWrites, statusWrites, kustomizationWrites, otherWrites float64
	writesByResource                                              map[string]float64
}

func classify(d metrics) requestCounts {
	c := requestCounts{writesByResource: map[string]float64{}}
	for _, s := range d {
		if s.name != "apiserver_request_total" {
			continue
		}
		l := s.labels
		c.total += s.value
		if l["dry_run"] != "" {
			c.dryRun += s.value
			continue
		}
		if !writeVerbs[l["verb"]] {
			if appliedResources[l["resource"]] {
				c.appliedReads += s.value
			}
			continue
		}
		res := l["resource"]
		if l["subresource"] != "" {
			res += "/" + l["subresource"]
		}
		c.writesByResource[l["verb"]+" "+res] += s.value
		switch {
		case appliedResources[l["resource"]]:
			c.appliedWrites += s.value
		case l["resource"] == "kustomizations" && l["subresource"] == "status":
			c.statusWrites += s.value
		case l["resource"] == "kustomizations":
			c.kustomizationWrites += s.value
		default:
			c.otherWrites += s.value
		}
	}
	return c
}

// String lists the writes by verb and resource, most first.
func (c requestCounts) writesString() string {
	type kv struct {
		k string
		v float64
	}
	var list []kv
	for k, v := range c.writesByResource {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].v > list[j].v || list[i].v == list[j].v && list[i].k < list[j].k })
	parts := make([]string, 0, len(list))
	for _, e := range list {
		parts = append(parts, fmt.Sprintf("%s=%.0f", e.k, e.v))
	}
	return strings.Join(parts, " ")
}

// reconcilerRequests sums the reconciler's own requests (client side) by
// HTTP method.
func reconcilerRequests(d metrics) (total float64, byMethod string) {
	m := map[string]float64{}
	for _, s := range d {
		if s.name == "rest_client_requests_total" {
			total += s.value
			m[s.labels["method"]] += s.value
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.0f", k, m[k]))
	}
	return total, strings.Join(parts, " ")
}

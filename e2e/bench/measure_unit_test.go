package bench

import (
	"strings"
	"testing"
)

// These tests are cheap (no cluster): `go test ./...` runs only them here.

func TestParseStatCPU_CountsFieldsAfterTheCommandName(t *testing.T) {
	stat := "4242 (tether (re)con) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 12 0 100 0 0"
	got, err := parseStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if got != 3.25 {
		t.Fatalf("cpu = %v, want 3.25 (utime 250 + stime 75 ticks)", got)
	}
	if _, err := parseStatCPU("garbage"); err == nil {
		t.Fatal("no error for a line without a command name")
	}
}

func TestParseStatusKB_ReadsVmHWM(t *testing.T) {
	status := "Name:\ttether-reconcil\nVmPeak:\t  900000 kB\nVmHWM:\t   81920 kB\nVmRSS:\t   40960 kB\n"
	got, err := parseStatusKB(status, "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	if got != 81920*1024 {
		t.Fatalf("VmHWM = %d bytes, want %d", got, 81920*1024)
	}
	if _, err := parseStatusKB(status, "VmSwap"); err == nil {
		t.Fatal("no error for a missing line")
	}
}

func TestParseMetrics_ReadsLabelsAndSkipsOthers(t *testing.T) {
	text := `# HELP apiserver_request_total Counter
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="APPLY",version="v1"} 12
apiserver_request_total{code="200",dry_run="All",resource="deployments",subresource="",verb="APPLY"} 7
apiserver_request_total{code="200",dry_run="",resource="kustomizations",subresource="status",verb="PATCH"} 5
apiserver_request_total{code="200",dry_run="",resource="kustomizations",subresource="",verb="PATCH"} 3
apiserver_request_total{code="200",dry_run="",resource="leases",subresource="",verb="PUT"} 2
apiserver_request_total{code="200",dry_run="",resource="deployments",subresource="",verb="GET"} 9
apiserver_request_total{code="200",label="with \"quotes\" and, commas",verb="WATCH"} 1
other_metric 4
`
	m := parseMetrics(text, "apiserver_request_total")
	if len(m) != 7 {
		t.Fatalf("parsed %d samples, want 7: %+v", len(m), m)
	}
	if got := m[6].labels["label"]; got != `with "quotes" and, commas` {
		t.Fatalf("escaped label = %q", got)
	}
	c := classify(m)
	if c.total != 39 || c.dryRun != 7 || c.appliedWrites != 12 || c.statusWrites != 5 || c.kustomizationWrites != 3 ||
		c.otherWrites != 2 || c.appliedReads != 9 {
		t.Fatalf("classified %+v", c)
	}
	if s := c.writesString(); !strings.HasPrefix(s, "APPLY configmaps=12 PATCH kustomizations/status=5") {
		t.Fatalf("writes by resource: %s", s)
	}
}

func TestDelta_SubtractsSeriesBySeries(t *testing.T) {
	before := parseMetrics("a{x=\"1\"} 10\na{x=\"2\"} 5\n")
	after := parseMetrics("a{x=\"1\"} 15\na{x=\"2\"} 5\na{x=\"3\"} 2\n")
	d := delta(before, after)
	if got := d.sum("a", nil); got != 7 {
		t.Fatalf("delta sum = %v, want 7", got)
	}
	if len(d) != 2 {
		t.Fatalf("delta keeps unchanged series: %+v", d)
	}
}

func TestRawManifests_PutEachObjectInItsNamespace(t *testing.T) {
	out := rawManifests([]string{"raw-0001", "raw-0002"})
	if got := strings.Count(out, "---\n"); got != 8 {
		t.Fatalf("%d documents, want 8", got)
	}
	if got := strings.Count(out, "  namespace: raw-0002\n"); got != 4 {
		t.Fatalf("%d objects in raw-0002, want 4:\n%s", got, out)
	}
	if !strings.Contains(repoFiles()["app/kustomization.yaml"], "- deployment.yaml") {
		t.Fatal("kustomization.yaml does not list the Deployment")
	}
}

func TestParseSizes(t *testing.T) {
	if got, err := parseSizes(""); err != nil || len(got) != 2 || got[0] != 100 || got[1] != 300 {
		t.Fatalf("default = %v, %v", got, err)
	}
	if got, err := parseSizes("100, 300,1000"); err != nil || len(got) != 3 || got[2] != 1000 {
		t.Fatalf("parsed %v, %v", got, err)
	}
	for _, bad := range []string{"x", "100,,300", "0", "-5"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

func TestParseMachineCPU_LeavesOutIdle(t *testing.T) {
	got, err := parseMachineCPU("cpu  100 5 50 9000 40 3 2 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
	if err != nil {
		t.Fatal(err)
	}
	if got != 1.6 {
		t.Fatalf("busy = %v s, want 1.6 (160 ticks)", got)
	}
}

package builddiff

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
)

// TestMetrics_ReportReadinessDurationsAndAppliedObjects scrapes the
// reconciler's Prometheus endpoint after a Kustomization was applied.
func TestMetrics_ReportReadinessDurationsAndAppliedObjects(t *testing.T) {
	ns := applied(t)
	resp, err := http.Get("http://" + reconciler.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	value := func(pattern string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + pattern + ` ([0-9.e+-]+)$`).FindSubmatch(body)
		if m == nil {
			t.Errorf("no sample matching %s", pattern)
			return -1
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return v
	}
	if v := value(`tether_ready\{kind="Kustomization",name="app",namespace="` + ns + `"\}`); v != 1 {
		t.Errorf("tether_ready of the Kustomization = %v, want 1", v)
	}
	if v := value(`tether_ready\{kind="GitRepository",name="app",namespace="` + ns + `"\}`); v != 1 {
		t.Errorf("tether_ready of the GitRepository = %v, want 1", v)
	}
	if v := value(`tether_reconcile_duration_seconds_count\{kind="Kustomization"\}`); v < 1 {
		t.Errorf("Kustomization reconciles counted: %v", v)
	}
	if v := value(`tether_applied_objects_total\{action="created"\}`); v < 3 {
		t.Errorf("objects created: %v, want at least the 3 of this test", v)
	}
}

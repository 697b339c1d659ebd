package cmdutil

import (
	"net/url"
	"strings"
	"testing"
)

func TestServiceAddress_OnlyClusterServiceNames(t *testing.T) {
	for _, tc := range []struct {
		raw            string
		name, ns, port string
		ok             bool
	}{
		{"http://tether-artifacts.tether-system.svc.cluster.local./helmchart/a/b/chart.tgz", "tether-artifacts", "tether-system", "80", true},
		{"http://tether-artifacts.tether-system.svc:8080/x.tgz", "tether-artifacts", "tether-system", "8080", true},
		{"https://art.ns.svc.example.internal/x.tgz", "art", "ns", "443", true},
		{"http://127.0.0.1:9090/helmchart/a/b/chart.tgz", "", "", "", false},
		{"http://artifacts.example.com/x.tgz", "", "", "", false},
		{"http://svc.local/x.tgz", "", "", "", false},
	} {
		u, err := url.Parse(tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		name, ns, port, ok := ServiceAddress(u)
		if name != tc.name || ns != tc.ns || port != tc.port || ok != tc.ok {
			t.Errorf("ServiceAddress(%s) = %q %q %q %v, want %q %q %q %v", tc.raw, name, ns, port, ok, tc.name, tc.ns, tc.port, tc.ok)
		}
	}
}

func TestReadAtMost(t *testing.T) {
	if got, err := readAtMost(strings.NewReader("12345"), 5); err != nil || string(got) != "12345" {
		t.Errorf("at the limit: %q, %v", got, err)
	}
	if _, err := readAtMost(strings.NewReader("123456"), 5); err == nil || !strings.Contains(err.Error(), "exceeds 5 bytes") {
		t.Errorf("over the limit: %v", err)
	}
}

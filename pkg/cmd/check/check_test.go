package check

import (
	"strings"
	"testing"
)

func TestCheckKubernetesVersion(t *testing.T) {
	for _, tc := range []struct {
		version string
		problem string // a substring of the problem; "" when supported
	}{
		{"v1.37.2", ""},
		{MinKubernetesVersion, ""},
		{"v1.33.0-eks-1234", ""},
		{"v1.32.9", "is too old: Tether needs " + MinKubernetesVersion},
		{"v1.20.0+k3s1", "is too old"},
		{"not-a-version", "cannot parse the Kubernetes version"},
	} {
		got := checkKubernetesVersion(tc.version)
		if tc.problem == "" && got != "" || tc.problem != "" && !strings.Contains(got, tc.problem) {
			t.Errorf("checkKubernetesVersion(%q) = %q, want %q", tc.version, got, tc.problem)
		}
	}
}

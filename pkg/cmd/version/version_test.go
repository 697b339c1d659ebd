package version

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/tether-gitops/tether/pkg/manifestgen"
)

func TestReconcilerVersion_FromTheImageThatRuns(t *testing.T) {
	deploy := func(image, label string) *appsv1.Deployment {
		d := &appsv1.Deployment{}
		if label != "" {
			d.Labels = map[string]string{manifestgen.VersionLabel: label}
		}
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "sidecar", Image: "proxy:v9"}, {Name: manifestgen.ContainerName, Image: image}}
		return d
	}
	for _, tc := range []struct {
		image, label, want string
	}{
		{"ghcr.io/tether-gitops/tether-reconciler:v0.3.0", "v0.3.0", "v0.3.0"},
		{"registry.local:5000/tether/tether-reconciler:v0.4.0-rc.1", "v0.3.0", "v0.4.0-rc.1"}, // --image with another tag
		{"registry.local:5000/tether-reconciler:v0.4.0@sha256:abcd", "", "v0.4.0"},
		{"registry.local:5000/tether-reconciler@sha256:abcd", "v0.3.0", "v0.3.0"}, // no tag: the label
		{"tether-reconciler", "", "unknown"},
	} {
		if got := reconcilerVersion(deploy(tc.image, tc.label)); got != tc.want {
			t.Errorf("image %q label %q: got %q, want %q", tc.image, tc.label, got, tc.want)
		}
	}
}

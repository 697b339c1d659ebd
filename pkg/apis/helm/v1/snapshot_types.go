package v1

import (
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Snapshot records one Helm release version.
type Snapshot struct {
	// Digest of the release object (manifest, values, chart metadata).
	// +required
	Digest string `json:"digest"`

	// Name of the release.
	// +required
	Name string `json:"name"`

	// Namespace of the release.
	// +required
	Namespace string `json:"namespace"`

	// Version of the release, incremented by Helm on each action.
	// +required
	Version int `json:"version"`

	// Status of the release, as reported by Helm (deployed, failed,
	// superseded, ...).
	// +required
	Status string `json:"status"`

	// ChartName of the released chart.
	// +required
	ChartName string `json:"chartName"`

	// ChartVersion of the released chart.
	// +required
	ChartVersion string `json:"chartVersion"`

	// AppVersion of the released chart.
	// +optional
	AppVersion string `json:"appVersion,omitempty"`

	// ConfigDigest is the digest of the release's values.
	// +required
	ConfigDigest string `json:"configDigest"`

	// FirstDeployed is when the release was first deployed.
	// +required
	FirstDeployed metav1.Time `json:"firstDeployed"`

	// LastDeployed is when this version was deployed.
	// +required
	LastDeployed metav1.Time `json:"lastDeployed"`

	// Deleted is when the release was uninstalled, if it was.
	// +optional
	Deleted metav1.Time `json:"deleted,omitempty"`

	// TestHooks are the release's test hooks by name, with their last run;
	// set once tests have run.
	// +optional
	TestHooks *map[string]*TestHookStatus `json:"testHooks,omitempty"`

	// OCIDigest is the digest of the chart's OCI artifact, for charts from an
	// OCIRepository.
	// +optional
	OCIDigest string `json:"ociDigest,omitempty"`

	// SpecDigest is the digest of the spec fields that shape the release
	// beyond its chart and values (post-renderers, release name and
	// namespaces, upgrade CRDs policy), as this version was made with them;
	// a change of them upgrades the release, a change of other fields
	// (interval, suspend, dependsOn, driftDetection, ...) does not.
	// +optional
	SpecDigest string `json:"specDigest,omitempty"`
}

// FullReleaseName returns "<namespace>/<name>.v<version>".
func (in *Snapshot) FullReleaseName() string {
	return in.Namespace + "/" + in.Name + ".v" + strconv.Itoa(in.Version)
}

// HasTestInPhase reports whether a test hook has the given phase.
func (in *Snapshot) HasTestInPhase(phase string) bool {
	if in == nil || in.TestHooks == nil {
		return false
	}
	for _, h := range *in.TestHooks {
		if h != nil && h.Phase == phase {
			return true
		}
	}
	return false
}

// TestHookStatus is the last run of a Helm test hook.
type TestHookStatus struct {
	// LastStarted is when the test last started.
	// +optional
	LastStarted metav1.Time `json:"lastStarted,omitempty"`

	// LastCompleted is when the test last completed.
	// +optional
	LastCompleted metav1.Time `json:"lastCompleted,omitempty"`

	// Phase the test was in at its last run (Succeeded, Failed, ...).
	// +optional
	Phase string `json:"phase,omitempty"`
}

// Snapshots is the release history, newest first.
type Snapshots []*Snapshot

// Latest returns the newest snapshot, or nil.
func (in Snapshots) Latest() *Snapshot {
	if len(in) == 0 {
		return nil
	}
	return in[0]
}

// Previous returns the newest snapshot before the latest that was deployed
// (status "deployed" or "superseded"), or nil. With ignoreTests false, a
// snapshot with a failed test is skipped.
func (in Snapshots) Previous(ignoreTests bool) *Snapshot {
	if len(in) < 2 {
		return nil
	}
	for _, s := range in[1:] {
		if s == nil || (s.Status != "deployed" && s.Status != "superseded") {
			continue
		}
		if !ignoreTests && s.HasTestInPhase("Failed") {
			continue
		}
		return s
	}
	return nil
}

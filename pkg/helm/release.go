package helm

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"

	"helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
)

func sortNewestFirst(rels []*release.Release) {
	sort.Slice(rels, func(i, j int) bool { return rels[i].Version > rels[j].Version })
}

// IsPending reports whether rel is in pending-install, pending-upgrade or
// pending-rollback: an action on it started and never finished.
func IsPending(rel *release.Release) bool {
	if rel == nil || rel.Info == nil {
		return false
	}
	return rel.Info.Status.IsPending()
}

// RecoverPending marks a release left in a pending state as failed, so that
// the next action can run: Helm refuses to act on a release with an operation
// in progress, and a reconciler killed mid-action never finishes it. Callers
// must know that no action on the release is running (the reconciler runs
// one at a time per release). It returns the status it recovered from, ""
// when the release was not pending.
func (r *Runner) RecoverPending() (common.Status, error) {
	rel, err := r.Last()
	if err != nil || !IsPending(rel) {
		return "", err
	}
	from := rel.Info.Status
	rel.SetStatus(common.StatusFailed, fmt.Sprintf("%s interrupted: marked failed so that the release can be acted on again", from))
	if err := r.cfg.Releases.Update(rel); err != nil {
		return "", fmt.Errorf("marking release %s v%d (%s) failed: %w", rel.Name, rel.Version, from, err)
	}
	return from, nil
}

// Digest returns a digest of what a release version is: its name, version,
// chart, values and manifest.
func Digest(rel *release.Release) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode([]any{rel.Name, rel.Namespace, rel.Version, chartName(rel), chartVersion(rel), rel.Config, rel.Manifest})
	return fmt.Sprintf("sha256:%x", h.Sum(nil))
}

func chartName(rel *release.Release) string {
	if rel.Chart == nil || rel.Chart.Metadata == nil {
		return ""
	}
	return rel.Chart.Metadata.Name
}

func chartVersion(rel *release.Release) string {
	if rel.Chart == nil || rel.Chart.Metadata == nil {
		return ""
	}
	return rel.Chart.Metadata.Version
}

// ChartName returns the name of the release's chart.
func ChartName(rel *release.Release) string { return chartName(rel) }

// ChartVersion returns the version of the release's chart.
func ChartVersion(rel *release.Release) string { return chartVersion(rel) }

// ChartValuesDigest returns the digest of the default values of the
// release's chart ("" without a chart): a chart packaged again with other
// values files keeps its version, and only its values tell it apart.
func ChartValuesDigest(rel *release.Release) string {
	if rel.Chart == nil {
		return ""
	}
	return ValuesDigest(rel.Chart.Values)
}

// AppVersion returns the appVersion of the release's chart.
func AppVersion(rel *release.Release) string {
	if rel.Chart == nil || rel.Chart.Metadata == nil {
		return ""
	}
	return rel.Chart.Metadata.AppVersion
}

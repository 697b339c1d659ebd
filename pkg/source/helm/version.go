package helm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// maxListedVersions bounds the versions an error message lists.
const maxListedVersions = 5

// SelectVersion returns the highest of versions that satisfies the semver
// range constraint. An empty constraint or "*" selects the latest stable
// version (no pre-release); a constraint equal to one of versions selects it
// as it is. Versions that are not semver are ignored otherwise.
func SelectVersion(chart, constraint string, versions []string) (string, error) {
	constraint = strings.TrimSpace(constraint)
	if constraint == "" {
		constraint = "*"
	}
	if slices.Contains(versions, constraint) {
		return constraint, nil
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return "", fmt.Errorf("%w: version %q of chart %q is not a semver range (such as \">=1.0.0 <2.0.0\" or \"1.x\"): %v",
			ErrInvalidReference, constraint, chart, err)
	}
	var best *semver.Version
	var bestRaw string
	parsed := make([]*semver.Version, 0, len(versions))
	for _, raw := range versions {
		v, err := semver.NewVersion(raw)
		if err != nil {
			continue
		}
		parsed = append(parsed, v)
		if c.Check(v) && (best == nil || v.GreaterThan(best)) {
			best, bestRaw = v, raw
		}
	}
	if best == nil {
		return "", fmt.Errorf("%w: no version of chart %q satisfies %q (latest: %s): change spec.version or publish a matching version",
			ErrNoMatchingVersion, chart, constraint, latest(parsed))
	}
	return bestRaw, nil
}

// latest lists the highest versions for an error message.
func latest(vs []*semver.Version) string {
	if len(vs) == 0 {
		return "none"
	}
	slices.SortFunc(vs, func(a, b *semver.Version) int { return b.Compare(a) })
	var out []string
	for i, v := range vs {
		if i == maxListedVersions {
			out = append(out, fmt.Sprintf("and %d more", len(vs)-i))
			break
		}
		out = append(out, v.Original())
	}
	return strings.Join(out, ", ")
}

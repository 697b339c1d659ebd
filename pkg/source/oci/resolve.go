package oci

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultTag is pulled when the reference names nothing.
const DefaultTag = "latest"

// Ref says what to pull; at most one of Digest, SemVer and Tag is set.
type Ref struct {
	Tag    string
	SemVer string
	// SemverFilter is a regular expression that tags must match to be
	// considered for SemVer.
	SemverFilter string
	Digest       string
}

// Resolved is a reference resolved to a manifest.
type Resolved struct {
	// Tag is the tag that was resolved ("" for a digest reference).
	Tag string
	// Digest of the manifest.
	Digest v1.Hash
	// MediaType of the manifest.
	MediaType string
	// Revision is "<tag>@sha256:<hex>", or "sha256:<hex>" for a digest reference.
	Revision string
}

// Resolve turns ref into a manifest digest with one HEAD request of the
// manifest (after listing the tags, for a semver range), downloading nothing.
func (c *Client) Resolve(ctx context.Context, ref Ref) (Resolved, error) {
	tag, err := c.pickTag(ctx, ref)
	if err != nil {
		return Resolved{}, err
	}
	var r name.Reference
	if ref.Digest != "" {
		if _, err := v1.NewHash(ref.Digest); err != nil {
			return Resolved{}, fmt.Errorf("%w: digest %q is not <algorithm>:<hex>", ErrInvalidConfig, ref.Digest)
		}
		r = c.repo.Digest(ref.Digest)
	} else {
		r = c.repo.Tag(tag)
	}
	desc, err := c.puller.Head(ctx, r)
	if err != nil && !errors.Is(c.classify("", err), ErrAuthentication) && !errors.Is(c.classify("", err), ErrInsecure) {
		// Some registries answer HEAD poorly; GET says why, or succeeds.
		if d, gerr := c.puller.Get(ctx, r); gerr == nil {
			desc, err = &d.Descriptor, nil
		} else {
			err = gerr
		}
	}
	if err != nil {
		return Resolved{}, c.classify("resolving "+describe(ref, tag), err)
	}
	if ref.Digest != "" && desc.Digest.String() != ref.Digest {
		return Resolved{}, fmt.Errorf("resolving %s in %s: the registry answered with digest %s", describe(ref, tag), c.url, desc.Digest)
	}
	res := Resolved{Tag: tag, Digest: desc.Digest, MediaType: string(desc.MediaType), Revision: desc.Digest.String()}
	if tag != "" {
		res.Revision = tag + "@" + desc.Digest.String()
	}
	return res, nil
}

// pickTag returns the tag to resolve: ref.Tag, the highest tag in the semver
// range, "" for a digest, or DefaultTag.
func (c *Client) pickTag(ctx context.Context, ref Ref) (string, error) {
	n := 0
	for _, s := range []string{ref.Tag, ref.SemVer, ref.Digest} {
		if s != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return "", fmt.Errorf("%w: set at most one of tag, semver and digest", ErrInvalidConfig)
	case ref.SemverFilter != "" && ref.SemVer == "":
		return "", fmt.Errorf("%w: semverFilter needs semver", ErrInvalidConfig)
	case ref.Digest != "":
		return "", nil
	case ref.Tag != "":
		return ref.Tag, nil
	case ref.SemVer == "":
		return DefaultTag, nil
	}
	constraint, err := semver.NewConstraint(ref.SemVer)
	if err != nil {
		return "", fmt.Errorf("%w: semver %q is not a version range: %v", ErrInvalidConfig, ref.SemVer, err)
	}
	var filter *regexp.Regexp
	if ref.SemverFilter != "" {
		if filter, err = regexp.Compile(ref.SemverFilter); err != nil {
			return "", fmt.Errorf("%w: semverFilter %q is not a regular expression: %v", ErrInvalidConfig, ref.SemverFilter, err)
		}
	}
	tags, err := c.puller.List(ctx, c.repo)
	if err != nil {
		return "", c.classify("listing tags", err)
	}
	tag, ok := HighestTag(tags, constraint, filter)
	if !ok {
		return "", fmt.Errorf("%w: no tag of %s matches semver %q%s (%d tags)", ErrNotFound, c.url, ref.SemVer, filterNote(ref.SemverFilter), len(tags))
	}
	return tag, nil
}

// HighestTag returns the tag with the highest version that satisfies the
// constraint (and matches filter, if not nil). Tags that are not versions are
// skipped; of two tags with the same version ("1.0" and "v1.0.0") the
// lexically greater wins, so the choice is stable.
func HighestTag(tags []string, constraint *semver.Constraints, filter *regexp.Regexp) (string, bool) {
	var best *semver.Version
	bestTag := ""
	for _, t := range tags {
		if filter != nil && !filter.MatchString(t) {
			continue
		}
		v, err := semver.NewVersion(t)
		if err != nil || !constraint.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) || v.Equal(best) && t > bestTag {
			best, bestTag = v, t
		}
	}
	return bestTag, best != nil
}

func describe(ref Ref, tag string) string {
	switch {
	case ref.Digest != "":
		return "digest " + ref.Digest
	case ref.SemVer != "":
		return fmt.Sprintf("tag %q (highest in semver %q)", tag, ref.SemVer)
	}
	return fmt.Sprintf("tag %q", tag)
}

func filterNote(f string) string {
	if f == "" {
		return ""
	}
	return " and semverFilter " + strings.TrimSpace(f)
}

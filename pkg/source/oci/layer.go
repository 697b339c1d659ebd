package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tether-gitops/tether/pkg/artifact"
)

// Layer operations.
const (
	OperationExtract = "extract"
	OperationCopy    = "copy"
)

// Layer is one layer of a resolved manifest, not yet downloaded.
type Layer struct {
	MediaType string
	Digest    v1.Hash
	Size      int64
	// Annotations of the manifest (e.g. org.opencontainers.image.revision).
	Annotations map[string]string

	layer v1.Layer
	url   string
}

// Layer fetches the manifest of res and picks the first layer with the given
// media type, or the first layer when mediaType is empty. Image indexes are
// refused: point the reference at a single manifest.
func (c *Client) Layer(ctx context.Context, res Resolved, mediaType string) (*Layer, error) {
	d := c.repo.Digest(res.Digest.String())
	desc, err := c.puller.Get(ctx, d)
	if err != nil {
		return nil, c.classify("fetching manifest "+res.Revision, err)
	}
	if desc.MediaType.IsIndex() {
		return nil, fmt.Errorf("%w: %s in %s is an image index (%s), not a single artifact: reference one of its manifests by digest",
			ErrLayer, res.Revision, c.url, desc.MediaType)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, c.classify("reading manifest "+res.Revision, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, c.classify("reading manifest "+res.Revision, err)
	}
	if len(m.Layers) == 0 {
		return nil, fmt.Errorf("%w: %s in %s has no layers", ErrLayer, res.Revision, c.url)
	}
	for _, l := range m.Layers {
		if mediaType != "" && string(l.MediaType) != mediaType {
			continue
		}
		rl, err := c.puller.Layer(ctx, c.repo.Digest(l.Digest.String()))
		if err != nil {
			return nil, c.classify("fetching layer "+l.Digest.String(), err)
		}
		return &Layer{MediaType: string(l.MediaType), Digest: l.Digest, Size: l.Size, Annotations: m.Annotations, layer: rl, url: c.url}, nil
	}
	var have []string
	for _, l := range m.Layers {
		have = append(have, string(l.MediaType))
	}
	return nil, fmt.Errorf("%w: %s in %s has no layer of media type %q (it has %s): fix spec.layerSelector.mediaType",
		ErrLayer, res.Revision, c.url, mediaType, strings.Join(have, ", "))
}

// Open streams the layer as stored in the registry. The stream is checked
// against the manifest's size and digest: reading past the size, or a digest
// mismatch at the end, is an error. maxBytes (> 0) refuses larger layers
// before any download.
func (l *Layer) Open(maxBytes int64) (io.ReadCloser, error) {
	if maxBytes > 0 && l.Size > maxBytes {
		return nil, fmt.Errorf("%w: layer %s is %d bytes, more than the %d allowed", ErrLayer, l.Digest, l.Size, maxBytes)
	}
	rc, err := l.layer.Compressed()
	if err != nil {
		return nil, fmt.Errorf("downloading layer %s from %s: %w", l.Digest, l.url, err)
	}
	return rc, nil
}

// Extract unpacks the layer (tar+gzip or tar) into dir through the artifact
// package's safe extraction, within limits, and reads the stream to its end
// so that its digest is verified.
func (l *Layer) Extract(dir string, limits artifact.Limits) error {
	max := limits.MaxBytes
	if max == 0 {
		max = artifact.DefaultLimits().MaxBytes
	}
	rc, err := l.Open(max)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := artifact.Extract(rc, dir, limits); err != nil {
		return fmt.Errorf("%w: extracting layer %s (%s) of %s: %w", ErrLayer, l.Digest, l.MediaType, l.url, err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("%w: layer %s of %s: %w", ErrLayer, l.Digest, l.url, err)
	}
	return nil
}

// FileExt is the file extension to store a copied layer with.
func (l *Layer) FileExt() string {
	mt := types.MediaType(l.MediaType)
	switch {
	case strings.HasSuffix(l.MediaType, "gzip") || mt == types.DockerLayer:
		return "tar.gz"
	case strings.HasSuffix(l.MediaType, ".tar") || mt == types.OCIUncompressedLayer:
		return "tar"
	case strings.HasSuffix(l.MediaType, "yaml"):
		return "yaml"
	case strings.HasSuffix(l.MediaType, "json"):
		return "json"
	}
	return "tar.gz" // artifacts of GitOps tools are tarballs whatever their media type says
}

// IsLayerError reports whether err is about the layer itself (rather than the
// registry), e.g. an unsafe entry refused by extraction.
func IsLayerError(err error) bool { return errors.Is(err, ErrLayer) }

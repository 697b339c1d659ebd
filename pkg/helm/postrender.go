package helm

import (
	"bytes"
	"fmt"

	"helm.sh/helm/v4/pkg/postrenderer"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/kustomize"
)

// PostRenderer returns the post-renderer of spec.postRenderers (nil when
// there is nothing to do): each kustomize entry, in order, applies its
// patches and image rewrites to the rendered manifests.
func PostRenderer(specs []helmv1.PostRenderer) postrenderer.PostRenderer {
	var steps []kustomizeRenderer
	for _, s := range specs {
		if s.Kustomize != nil && (len(s.Kustomize.Patches) > 0 || len(s.Kustomize.Images) > 0) {
			steps = append(steps, kustomizeRenderer{spec: *s.Kustomize})
		}
	}
	if len(steps) == 0 {
		return nil
	}
	return chain(steps)
}

type chain []kustomizeRenderer

func (c chain) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	out := in
	for i, s := range c {
		var err error
		if out, err = s.Run(out); err != nil {
			return nil, fmt.Errorf("spec.postRenderers[%d]: %w", i, err)
		}
	}
	return out, nil
}

type kustomizeRenderer struct{ spec helmv1.KustomizePostRenderer }

// Run builds the manifests with kustomize, in memory, with the patches and
// images of the spec.
func (k kustomizeRenderer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	fsys := filesys.MakeFsInMemory()
	if err := fsys.WriteFile("/manifests.yaml", in.Bytes()); err != nil {
		return nil, err
	}
	objs, err := kustomize.Build(fsys, kustomize.Options{Patches: k.spec.Patches, Images: k.spec.Images})
	if err != nil {
		return nil, fmt.Errorf("kustomize: %w", err)
	}
	var out bytes.Buffer
	for _, u := range objs {
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return &out, nil
}

package helm

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/postrenderer"
)

// TemplateOptions say how to render a chart without a cluster.
type TemplateOptions struct {
	ReleaseName, Namespace string
	// KubeVersion is the Kubernetes version the chart sees
	// (.Capabilities.KubeVersion, and its kubeVersion constraint), such as
	// "v1.35.4"; empty means Helm's default.
	KubeVersion string
	// APIVersions are added to .Capabilities.APIVersions ("apps/v1",
	// "apps/v1/Deployment").
	APIVersions []string
	// IncludeCRDs renders the chart's crds/ directory too.
	IncludeCRDs  bool
	PostRenderer postrenderer.PostRenderer
}

// Manifest is one rendered document and the chart file it came from.
type Manifest struct {
	// Source is the template, such as "app/templates/deployment.yaml".
	Source string
	// Content is the YAML document.
	Content string
}

// Template renders ch with values as an install of the release would, with
// no cluster (like helm template): the chart's kubeVersion constraint, its
// values schema and its templates are checked, and spec.postRenderers run as
// the reconciler runs them (not on hooks). It returns the manifests, hooks
// included, in the order Helm gives them.
func Template(ctx context.Context, ch *chart.Chart, values map[string]any, o TemplateOptions) ([]Manifest, error) {
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler))
	in := action.NewInstall(cfg)
	in.ReleaseName = o.ReleaseName
	in.Namespace = o.Namespace
	in.DryRunStrategy = action.DryRunClient
	in.Replace = true
	in.IncludeCRDs = o.IncludeCRDs
	in.PostRenderer = o.PostRenderer
	in.PostRenderStrategy = action.PostRenderStrategyNoHooks
	in.APIVersions = common.VersionSet(o.APIVersions)
	if o.KubeVersion != "" {
		kv, err := common.ParseKubeVersion(o.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("kubernetes version %q: %w", o.KubeVersion, err)
		}
		in.KubeVersion = kv
	}
	if values == nil {
		values = map[string]any{}
	}
	r, err := in.RunWithContext(ctx, ch, values)
	if err != nil {
		return nil, err
	}
	rel := asRelease(r)
	if rel == nil {
		return nil, fmt.Errorf("rendering chart %s: Helm returned no release", ch.Name())
	}
	out := SplitManifest(rel.Manifest)
	hooks := make([]Manifest, 0, len(rel.Hooks))
	for _, h := range rel.Hooks {
		if strings.TrimSpace(h.Manifest) != "" {
			hooks = append(hooks, Manifest{Source: h.Path, Content: h.Manifest})
		}
	}
	sort.SliceStable(hooks, func(i, j int) bool { return hooks[i].Source < hooks[j].Source })
	return append(out, hooks...), nil
}

var (
	docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)
	sourceLine   = regexp.MustCompile(`(?m)^# Source: (.+)$`)
)

// SplitManifest splits a release manifest into its documents, each with
// the template named by the "# Source:" comment Helm writes before it.
func SplitManifest(manifest string) []Manifest {
	var out []Manifest
	for _, doc := range docSeparator.Split(manifest, -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		m := Manifest{Content: doc}
		if s := sourceLine.FindStringSubmatch(doc); s != nil {
			m.Source = strings.TrimSpace(s[1])
		}
		out = append(out, m)
	}
	return out
}

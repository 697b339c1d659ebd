package validate

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsyaml "sigs.k8s.io/yaml"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/helm"
)

// renderedObject is an object templated from a HelmRelease's chart.
type renderedObject struct {
	release *document // the HelmRelease
	name    string    // of the HelmRelease, for messages
	source  string    // the template, such as "app/templates/deployment.yaml"
	obj     map[string]any
}

// templateReleases renders the chart of every HelmRelease that can be
// reached; the rendered objects are checked by checkRendered, and the CRDs
// among them add their schemas.
func (v *validator) templateReleases(ctx context.Context) {
	var releases []*document
	for _, d := range v.docs {
		if gvk, ok := d.gvk(); ok && gvk == helmv1.GroupVersion.WithKind("HelmRelease") && !v.patches[d.File] && d.Obj["sops"] == nil {
			releases = append(releases, d)
		}
	}
	v.res.HelmReleases = len(releases)
	if len(releases) == 0 {
		return
	}
	f, err := newFetcher(v.cfg.Charts)
	if err != nil {
		v.add(".", 0, SeverityError, fmt.Sprintf("templating HelmReleases: %v", err))
		return
	}
	defer f.close()
	apiVersions := v.apiVersions()
	for _, d := range releases {
		var hr helmv1.HelmRelease
		if err := sigsyaml.Unmarshal(d.YAML, &hr); err != nil {
			continue // the schema check reports it
		}
		v.templateRelease(ctx, f, d, &hr, apiVersions)
	}
}

func (v *validator) templateRelease(ctx context.Context, f *fetcher, d *document, hr *helmv1.HelmRelease, apiVersions []string) {
	name := objectName(d.Obj)
	ch, nr := v.chart(ctx, f, hr)
	if nr != nil {
		if nr.msg != "" {
			severity := SeverityError
			if nr.fetch && !v.cfg.Charts.Strict {
				severity = SeverityWarning
			}
			v.add(d.File, d.lineOf(nr.path), severity, fmt.Sprintf("HelmRelease %s: %s", name, nr.msg))
		}
		return
	}
	values, ok := v.releaseValues(ctx, d, hr, name)
	if !ok {
		return
	}
	namespace := hr.GetReleaseNamespace()
	if namespace == "" {
		namespace = "default"
	}
	manifests, err := helm.Template(ctx, ch, values, helm.TemplateOptions{
		ReleaseName:  hr.GetReleaseName(),
		Namespace:    namespace,
		KubeVersion:  v.kube.Version,
		APIVersions:  apiVersions,
		IncludeCRDs:  hr.GetInstall().GetCRDsPolicy() != helmv1.CRDsSkip,
		PostRenderer: helm.PostRenderer(hr.Spec.PostRenderers),
	})
	if err != nil {
		v.add(d.File, d.Line, SeverityError, fmt.Sprintf("HelmRelease %s: rendering chart %s %s: %s", name, ch.Name(), ch.Metadata.Version, oneLine(err.Error())))
		return
	}
	v.res.HelmReleasesTemplated++
	for _, m := range manifests {
		js, err := sigsyaml.YAMLToJSON([]byte(m.Content))
		if err != nil {
			v.add(d.File, d.Line, SeverityError, fmt.Sprintf("HelmRelease %s: %s: invalid YAML: %s", name, m.Source, oneLine(err.Error())))
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(js, &obj); err != nil || obj == nil {
			continue // empty, or comments only
		}
		if gvk, ok := gvkOf(obj); ok && isCRD(gvk) {
			v.addCRD(js, func(msg string) {
				v.add(d.File, d.Line, SeverityError, fmt.Sprintf("HelmRelease %s: %s: %s", name, m.Source, msg))
			})
		}
		v.rendered = append(v.rendered, renderedObject{release: d, name: name, source: m.Source, obj: obj})
	}
}

// apiVersions are what charts see as .Capabilities.APIVersions besides
// Helm's defaults: those of the Kubernetes version, Tether's and those of
// the CRDs found.
func (v *validator) apiVersions() []string {
	out := v.kube.APIVersions()
	seen := map[string]bool{}
	for gvk := range v.schemas {
		for _, s := range []string{gvk.GroupVersion().String(), gvk.GroupVersion().String() + "/" + gvk.Kind} {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}

// checkRendered checks the objects templated from charts, and reports their
// problems at the HelmRelease, naming the template.
func (v *validator) checkRendered() {
	for _, r := range v.rendered {
		c := v.check(r.obj)
		if c.object {
			v.res.RenderedObjects++
		}
		if c.unchecked != "" {
			v.res.Unchecked[c.unchecked]++
		}
		for _, p := range c.problems {
			v.add(r.release.File, r.release.Line, SeverityError, fmt.Sprintf("HelmRelease %s: %s: %s", r.name, r.source, p.Message))
		}
	}
}

// releaseValues composes the values of a HelmRelease as the reconciler does,
// with the ConfigMaps and Secrets of spec.valuesFrom that are defined under
// the directory; one that is not is left out, with a warning.
func (v *validator) releaseValues(ctx context.Context, d *document, hr *helmv1.HelmRelease, name string) (map[string]any, bool) {
	values, err := hr.GetValues()
	if err != nil {
		return nil, false // the schema check reports it
	}
	var refs []helmv1.ValuesReference
	reader := docReader{}
	for i, ref := range hr.Spec.ValuesFrom {
		rd := v.find(ref.Kind, hr.Namespace, ref.Name)
		switch {
		case rd == nil && ref.Optional:
			continue
		case rd == nil:
			v.add(d.File, d.lineOf(fmt.Sprintf("spec.valuesFrom[%d]", i)), SeverityWarning, fmt.Sprintf(
				"HelmRelease %s: valuesFrom %s %s is not defined under %s: templated without it", name, ref.Kind, ref.Name, v.root))
			continue
		case rd.Obj["sops"] != nil:
			v.add(d.File, d.lineOf(fmt.Sprintf("spec.valuesFrom[%d]", i)), SeverityWarning, fmt.Sprintf(
				"HelmRelease %s: valuesFrom %s %s is SOPS-encrypted: templated without it", name, ref.Kind, ref.Name))
			continue
		}
		reader[ref.Kind+"/"+ref.Name] = rd.Obj
		refs = append(refs, ref)
	}
	out, err := helm.ComposeValues(ctx, reader, hr.Namespace, refs, values)
	if err != nil {
		v.add(d.File, d.lineOf("spec.valuesFrom"), SeverityError, fmt.Sprintf("HelmRelease %s: %s", name, oneLine(err.Error())))
		return nil, false
	}
	return out, true
}

// docReader reads the ConfigMaps and Secrets of valuesFrom from their
// documents ("ConfigMap/NAME" to the object), for helm.ComposeValues.
type docReader map[string]map[string]any

func (r docReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	kind := ""
	switch obj.(type) {
	case *corev1.ConfigMap:
		kind = "ConfigMap"
	case *corev1.Secret:
		kind = "Secret"
	}
	m, ok := r[kind+"/"+key.Name]
	if !ok {
		return apierrors.NewNotFound(corev1.Resource(strings.ToLower(kind)+"s"), key.Name)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, obj); err != nil {
		return fmt.Errorf("%s %s: %w", kind, key.Name, err)
	}
	if s, ok := obj.(*corev1.Secret); ok {
		// The API server merges stringData into data.
		for k, val := range s.StringData {
			if s.Data == nil {
				s.Data = map[string][]byte{}
			}
			s.Data[k] = []byte(val)
		}
	}
	return nil
}

func (r docReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return fmt.Errorf("listing is not supported offline")
}

package validate

import (
	"fmt"
	"strings"
)

// objKey names an object for reference checks; an empty namespace (set
// later by kustomize or the Kustomization's targetNamespace) matches any.
type objKey struct {
	kind, namespace, name string
}

// reference is a sourceRef, chartRef or dependsOn of an object.
type reference struct {
	doc   *document
	path  string // the field, for the line
	field string // as the message names it
	objKey
}

// checkRefs checks that the references of Kustomizations and HelmReleases
// name objects under the directory.
func (v *validator) checkRefs() {
	have := map[objKey]bool{}
	var refs []reference
	for _, d := range v.docs {
		gvk, ok := d.gvk()
		if !ok || !isTetherGroup(gvk.Group) || v.patches[d.File] {
			continue
		}
		md, _ := d.Obj["metadata"].(map[string]any)
		name, _ := md["name"].(string)
		ns, _ := md["namespace"].(string)
		have[objKey{gvk.Kind, ns, name}] = true
		spec, _ := d.Obj["spec"].(map[string]any)
		ref := func(path, field string, m map[string]any, defKind string) {
			if m == nil {
				return
			}
			kind, _ := m["kind"].(string)
			if kind == "" {
				kind = defKind
			}
			rname, _ := m["name"].(string)
			rns, _ := m["namespace"].(string)
			if rns == "" {
				rns = ns
			}
			if kind != "" && rname != "" {
				refs = append(refs, reference{doc: d, path: path, field: field, objKey: objKey{kind, rns, rname}})
			}
		}
		switch gvk.Kind {
		case "Kustomization":
			ref("spec.sourceRef", "sourceRef", asMap(spec["sourceRef"]), "")
		case "HelmRelease":
			chart, _ := spec["chart"].(map[string]any)
			chartSpec, _ := chart["spec"].(map[string]any)
			ref("spec.chart.spec.sourceRef", "chart sourceRef", asMap(chartSpec["sourceRef"]), "")
			ref("spec.chartRef", "chartRef", asMap(spec["chartRef"]), "")
		case "HelmChart":
			ref("spec.sourceRef", "sourceRef", asMap(spec["sourceRef"]), "")
		default:
			continue
		}
		deps, _ := spec["dependsOn"].([]any)
		for i, dep := range deps {
			ref(fmt.Sprintf("spec.dependsOn[%d]", i), "dependsOn", asMap(dep), gvk.Kind)
		}
	}
	for _, r := range refs {
		if have[r.objKey] || have[objKey{r.kind, "", r.name}] {
			continue
		}
		severity, hint := SeverityWarning, ": it must exist in the cluster (--strict-refs makes this an error)"
		if v.cfg.StrictRefs {
			severity, hint = SeverityError, ""
		}
		target := r.kind + "/" + r.name
		if r.namespace != "" {
			target = r.kind + "/" + r.namespace + "/" + r.name
		}
		v.add(r.doc.File, r.doc.lineOf(r.path), severity, fmt.Sprintf("%s %s: %s %s is not defined under %s%s",
			strings.TrimSpace(kindOf(r.doc)), objectName(r.doc.Obj), r.field, target, v.root, hint))
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func kindOf(d *document) string {
	k, _ := d.Obj["kind"].(string)
	return k
}

package helm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/ssa"
)

// The ownership metadata Helm sets on every object it applies; drift
// correction sets it too, as the same field manager, so that it is kept.
const (
	managedByLabel           = "app.kubernetes.io/managed-by"
	releaseNameAnnotation    = "meta.helm.sh/release-name"
	releaseNamespaceAnnotion = "meta.helm.sh/release-namespace"
)

// ManifestObjects parses the release manifest into objects, with the
// release namespace set on namespaced objects that have none and Helm's
// ownership metadata, as Helm applied them. c maps kinds to scopes.
func ManifestObjects(c client.Client, rel *release.Release) ([]*unstructured.Unstructured, error) {
	objs, err := ParseManifest(rel.Manifest)
	if err != nil {
		return nil, fmt.Errorf("release %s v%d: %w", rel.Name, rel.Version, err)
	}
	for _, u := range objs {
		if u.GetNamespace() == "" {
			namespaced, err := c.IsObjectNamespaced(u)
			if err != nil {
				return nil, fmt.Errorf("release %s: %s %s: %w", rel.Name, u.GetKind(), u.GetName(), err)
			}
			if namespaced {
				u.SetNamespace(rel.Namespace)
			}
		}
		l := u.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l[managedByLabel] = "Helm"
		u.SetLabels(l)
		a := u.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		a[releaseNameAnnotation] = rel.Name
		a[releaseNamespaceAnnotion] = rel.Namespace
		u.SetAnnotations(a)
	}
	return objs, nil
}

// ParseManifest splits a multi-document YAML manifest into objects, skipping
// empty documents.
func ParseManifest(manifest string) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the manifest: %w", err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("parsing the manifest: %w", err)
		}
		if t := bytes.TrimSpace(js); len(t) == 0 || string(t) == "null" || string(t) == "{}" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("parsing the manifest: %w", err)
		}
		out = append(out, u)
	}
}

// DriftOptions configure DetectDrift.
type DriftOptions struct {
	// Ignore lists fields left out of the comparison (and of corrections).
	Ignore []helmv1.IgnoreRule
	// Correct re-applies the drifted objects.
	Correct bool
	// Applied, when set, remembers the objects found in line with the
	// release, so that the next detection skips the dry-run of those whose
	// live state still holds every field of the manifest (a GET suffices).
	// Use one per release version.
	Applied *ssa.Digests
}

// Drift is one object that differs from the release manifest.
type Drift struct {
	Subject string
	// Missing is true when the object was deleted.
	Missing bool
	// Fields are the paths that differ, such as spec.replicas.
	Fields []string
}

func (d Drift) String() string {
	if d.Missing {
		return d.Subject + " deleted"
	}
	if len(d.Fields) == 0 {
		return d.Subject + " changed"
	}
	return d.Subject + " changed: " + strings.Join(d.Fields, ", ")
}

// DriftReport says what differs and what was corrected.
type DriftReport struct {
	Drifted   []Drift
	Corrected ssa.ChangeSet
}

// String lists the drifted objects, one per line.
func (r DriftReport) String() string {
	lines := make([]string, len(r.Drifted))
	for i, d := range r.Drifted {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// DetectDrift compares the release's objects with the cluster by a
// server-side dry-run apply, as Helm's field manager, and with opts.Correct
// re-applies those that differ. No new Helm revision is made. c must read
// live state.
func DetectDrift(ctx context.Context, c client.Client, rel *release.Release, opts DriftOptions) (DriftReport, error) {
	objs, err := ManifestObjects(c, rel)
	if err != nil {
		return DriftReport{}, err
	}
	if len(opts.Ignore) > 0 {
		if err := applyIgnoreRules(ctx, c, objs, opts.Ignore); err != nil {
			return DriftReport{}, err
		}
	}
	m := ssa.New(c, FieldManager)
	diffs, err := m.Diff(ctx, objs, ssa.ApplyOptions{Applied: opts.Applied})
	if err != nil {
		return DriftReport{}, fmt.Errorf("comparing release %s with the cluster: %w", rel.Name, err)
	}
	var report DriftReport
	var drifted []*unstructured.Unstructured
	for i, d := range diffs {
		switch d.Action {
		case ssa.Created:
			report.Drifted = append(report.Drifted, Drift{Subject: d.Subject, Missing: true})
		case ssa.Configured:
			var fields []string
			if d.Live != nil && d.Merged != nil {
				fields = diffPaths("", strip(d.Live.Object), strip(d.Merged.Object))
			}
			report.Drifted = append(report.Drifted, Drift{Subject: d.Subject, Fields: fields})
		default:
			continue
		}
		drifted = append(drifted, objs[i])
	}
	if !opts.Correct || len(drifted) == 0 {
		return report, nil
	}
	report.Corrected, err = m.ApplyAllStaged(ctx, drifted, ssa.ApplyOptions{Applied: opts.Applied})
	if err != nil {
		return report, fmt.Errorf("correcting drift of release %s: %w", rel.Name, err)
	}
	return report, nil
}

func strip(obj map[string]any) map[string]any {
	u := (&unstructured.Unstructured{Object: obj}).DeepCopy()
	u.SetManagedFields(nil)
	u.SetResourceVersion("")
	u.SetGeneration(0)
	delete(u.Object, "status")
	return u.Object
}

// diffPaths lists the dotted paths at which a and b differ, at most 20.
func diffPaths(prefix string, a, b any) []string {
	var out []string
	var walk func(p string, a, b any)
	walk = func(p string, a, b any) {
		if len(out) >= 20 || reflect.DeepEqual(a, b) {
			return
		}
		am, ok1 := a.(map[string]any)
		bm, ok2 := b.(map[string]any)
		if !ok1 || !ok2 {
			out = append(out, strings.TrimPrefix(p, "."))
			return
		}
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			walk(p+"."+k, am[k], bm[k])
		}
	}
	walk(prefix, a, b)
	return out
}

// applyIgnoreRules gives the ignored fields of each matching object its live
// value (or removes them when the live object has none), so that they
// neither show as drift nor are changed by a correction.
func applyIgnoreRules(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, rules []helmv1.IgnoreRule) error {
	for _, u := range objs {
		var paths []string
		for _, rule := range rules {
			ok, err := selects(rule.Target, u)
			if err != nil {
				return err
			}
			if ok {
				paths = append(paths, rule.Paths...)
			}
		}
		if len(paths) == 0 {
			continue
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(u.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
			if client.IgnoreNotFound(err) == nil {
				continue
			}
			return fmt.Errorf("%s: %w", ssa.Subject(u), err)
		}
		for _, p := range paths {
			tokens, err := parsePointer(p)
			if err != nil {
				return fmt.Errorf("spec.driftDetection.ignore: %w", err)
			}
			if v, ok := getPointer(live.Object, tokens); ok {
				setPointer(u.Object, tokens, v)
			} else {
				removePointer(u.Object, tokens)
			}
		}
	}
	return nil
}

// selects reports whether sel (nil selects all) selects u.
func selects(sel *meta.Selector, u *unstructured.Unstructured) (bool, error) {
	if sel == nil {
		return true, nil
	}
	gvk := u.GroupVersionKind()
	if (sel.Group != "" && sel.Group != gvk.Group) || (sel.Version != "" && sel.Version != gvk.Version) ||
		(sel.Kind != "" && sel.Kind != gvk.Kind) || (sel.Namespace != "" && sel.Namespace != u.GetNamespace()) {
		return false, nil
	}
	if sel.Name != "" {
		re, err := regexp.Compile("^(?:" + sel.Name + ")$")
		if err != nil {
			return false, fmt.Errorf("spec.driftDetection.ignore: target name %q: %w", sel.Name, err)
		}
		if !re.MatchString(u.GetName()) {
			return false, nil
		}
	}
	for _, s := range []struct {
		expr string
		set  map[string]string
	}{{sel.LabelSelector, u.GetLabels()}, {sel.AnnotationSelector, u.GetAnnotations()}} {
		if s.expr == "" {
			continue
		}
		ls, err := labels.Parse(s.expr)
		if err != nil {
			return false, fmt.Errorf("spec.driftDetection.ignore: selector %q: %w", s.expr, err)
		}
		if !ls.Matches(labels.Set(s.set)) {
			return false, nil
		}
	}
	return true, nil
}

// parsePointer splits a JSON pointer (RFC 6901) into unescaped tokens.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, errors.New("empty JSON pointer")
	}
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("JSON pointer %q must start with /", p)
	}
	parts := strings.Split(p[1:], "/")
	for i, t := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

func getPointer(obj any, tokens []string) (any, bool) {
	cur := obj
	for _, t := range tokens {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[t]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func setPointer(obj map[string]any, tokens []string, value any) {
	parent, ok := getPointer(obj, tokens[:len(tokens)-1])
	last := tokens[len(tokens)-1]
	if !ok {
		// Create the missing maps on the way.
		cur := obj
		for _, t := range tokens[:len(tokens)-1] {
			next, ok := cur[t].(map[string]any)
			if !ok {
				if _, exists := cur[t]; exists {
					return
				}
				next = map[string]any{}
				cur[t] = next
			}
			cur = next
		}
		cur[last] = value
		return
	}
	switch v := parent.(type) {
	case map[string]any:
		v[last] = value
	case []any:
		if i, err := strconv.Atoi(last); err == nil && i >= 0 && i < len(v) {
			v[i] = value
		}
	}
}

func removePointer(obj map[string]any, tokens []string) {
	parent, ok := getPointer(obj, tokens[:len(tokens)-1])
	if !ok {
		return
	}
	if m, ok := parent.(map[string]any); ok {
		delete(m, tokens[len(tokens)-1])
	}
}

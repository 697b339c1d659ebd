// Package kubeschema holds the OpenAPI schemas of Kubernetes' built-in kinds
// for offline validation. A Set is the schemas of one Kubernetes version:
// which group/version/kinds it serves and, for each, its schema. Sets for a
// few versions are embedded in the binary (made by hack/genk8sschemas from
// the api/openapi-spec/v3 documents of the k8s.io/kubernetes module); any
// other version is read from its OpenAPI v3 documents (LoadDir). Schemas come
// out as apiextensions JSONSchemaProps, $refs inlined, so that built-in kinds
// are validated by the same structural, pruning and validator code as the
// objects of CustomResourceDefinitions.
package kubeschema

import (
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
)

// Set is the schemas of the kinds one Kubernetes version serves.
type Set struct {
	// Version is the Kubernetes version the schemas come from ("v1.37.2");
	// empty when the documents did not say.
	Version string `json:"version,omitempty"`
	// Kinds maps "group/version/Kind" ("v1/ConfigMap" for the core group)
	// to the definition of its schema.
	Kinds map[string]string `json:"kinds"`
	// Definitions are the schemas; a $ref names another definition.
	Definitions map[string]*apiextensionsv1.JSONSchemaProps `json:"definitions"`
}

//go:embed data/*.json.gz
var embedded embed.FS

// EmbeddedVersions returns the Kubernetes versions whose schemas are built
// into the binary ("v1.37.2"), newest first.
func EmbeddedVersions() []string {
	names, _ := fs.Glob(embedded, "data/*.json.gz")
	var out []string
	for _, n := range names {
		out = append(out, strings.TrimSuffix(path.Base(n), ".json.gz"))
	}
	sort.Slice(out, func(i, j int) bool { return compareVersions(out[i], out[j]) > 0 })
	return out
}

var (
	loadMu sync.Mutex
	loaded = map[string]*Set{}
)

// Embedded returns the embedded set for a Kubernetes version: "1.35",
// "v1.35" or "1.35.4" (only the minor version has to match); "" is the
// newest.
func Embedded(v string) (*Set, error) {
	versions := EmbeddedVersions()
	if len(versions) == 0 {
		return nil, fmt.Errorf("no Kubernetes schemas are built into this binary: run make k8s-schemas")
	}
	want := versions[0]
	if v != "" {
		major, minor, ok := MajorMinor(v)
		if !ok {
			return nil, fmt.Errorf("invalid Kubernetes version %q: use MAJOR.MINOR, such as %s", v, strings.TrimPrefix(minorOf(versions[0]), "v"))
		}
		want = ""
		for _, e := range versions {
			if ma, mi, _ := MajorMinor(e); ma == major && mi == minor {
				want = e
				break
			}
		}
		if want == "" {
			var have []string
			for _, e := range versions {
				have = append(have, strings.TrimPrefix(minorOf(e), "v"))
			}
			return nil, fmt.Errorf("no schemas for Kubernetes %s in this binary (it has %s): pass --schema-dir with the OpenAPI v3 documents of that version",
				v, strings.Join(have, ", "))
		}
	}
	loadMu.Lock()
	defer loadMu.Unlock()
	if s, ok := loaded[want]; ok {
		return s, nil
	}
	f, err := embedded.Open("data/" + want + ".json.gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("embedded schemas of Kubernetes %s: %w", want, err)
	}
	loaded[want] = s
	return s, nil
}

// Read reads a set written by Write.
func Read(r io.Reader) (*Set, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	var s Set
	if err := json.NewDecoder(zr).Decode(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Write writes the set as gzipped JSON, the same bytes for the same set.
func (s *Set) Write(w io.Writer) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(data); err != nil {
		return err
	}
	return zw.Close()
}

// MajorMinor parses "1.35", "v1.35" or "v1.35.4".
func MajorMinor(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if len(parts) == 3 {
		patch := parts[2]
		if i := strings.IndexAny(patch, "-+"); i >= 0 {
			patch = patch[:i]
		}
		if _, err := strconv.Atoi(patch); err != nil {
			return 0, 0, false
		}
	}
	return major, minor, err1 == nil && err2 == nil
}

func minorOf(v string) string {
	major, minor, ok := MajorMinor(v)
	if !ok {
		return v
	}
	return fmt.Sprintf("v%d.%d", major, minor)
}

func compareVersions(a, b string) int {
	pa := strings.FieldsFunc(strings.TrimPrefix(a, "v"), func(r rune) bool { return r == '.' })
	pb := strings.FieldsFunc(strings.TrimPrefix(b, "v"), func(r rune) bool { return r == '.' })
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x - y
		}
	}
	return len(pa) - len(pb)
}

// Name says which Kubernetes the set is: "Kubernetes 1.35" or, with no
// version, "the Kubernetes schemas".
func (s *Set) Name() string {
	if s.Version == "" {
		return "the Kubernetes schemas"
	}
	return "Kubernetes " + strings.TrimPrefix(minorOf(s.Version), "v")
}

// LoadDir reads the OpenAPI v3 documents (*.json) in dir: those of a
// release's api/openapi-spec/v3, or what `kubectl get --raw
// /openapi/v3/apis/apps/v1` prints, one file per group/version.
func LoadDir(dir string) (*Set, error) {
	var docs [][]byte
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(d.Name(), ".json") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		docs = append(docs, data)
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the schemas in %s: %w", dir, err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no OpenAPI v3 documents (*.json) in %s: save them with kubectl get --raw /openapi/v3/apis/GROUP/VERSION, or copy api/openapi-spec/v3 of a Kubernetes release", dir)
	}
	s, err := Compact(docs, names)
	if err != nil {
		return nil, err
	}
	if len(s.Kinds) == 0 {
		return nil, fmt.Errorf("the OpenAPI documents in %s define no kinds (no x-kubernetes-group-version-kind)", dir)
	}
	return s, nil
}

// Served reports whether the set has a schema for gvk.
func (s *Set) Served(gvk schema.GroupVersionKind) bool {
	_, ok := s.Kinds[key(gvk)]
	return ok
}

func key(gvk schema.GroupVersionKind) string {
	return gvk.GroupVersion().String() + "/" + gvk.Kind
}

// removedGroups are built-in API groups that no version in use serves any
// more: their kinds moved to other groups.
var removedGroups = []string{"extensions", "settings.k8s.io"}

// KnowsGroup reports whether group is one of Kubernetes' own: served by the
// set, or a built-in group that was removed.
func (s *Set) KnowsGroup(group string) bool {
	if slices.Contains(removedGroups, group) {
		return true
	}
	for k := range s.Kinds {
		if g, _ := splitKey(k); g.Group == group {
			return true
		}
	}
	return false
}

func splitKey(k string) (schema.GroupVersion, string) {
	i := strings.LastIndex(k, "/")
	gv, _ := schema.ParseGroupVersion(k[:i])
	return gv, k[i+1:]
}

// Alternatives returns the group/versions that serve a kind: those of the
// same group first, then other groups, each with the most stable version
// first.
func (s *Set) Alternatives(group, kind string) []schema.GroupVersion {
	var out []schema.GroupVersion
	for k := range s.Kinds {
		if gv, kd := splitKey(k); kd == kind {
			out = append(out, gv)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Group == group) != (b.Group == group) {
			return a.Group == group
		}
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		return version.CompareKubeAwareVersionStrings(a.Version, b.Version) > 0
	})
	return out
}

// APIVersions lists what the set serves as Helm's .Capabilities.APIVersions
// does: "apps/v1" and "apps/v1/Deployment".
func (s *Set) APIVersions() []string {
	seen := map[string]bool{}
	var out []string
	for k := range s.Kinds {
		gv, _ := splitKey(k)
		for _, v := range []string{gv.String(), k} {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Schema returns the schema of gvk with every $ref inlined, false when the
// set does not serve it. A definition that refers to itself (such as a
// CustomResourceDefinition's JSONSchemaProps) accepts anything below the
// first repetition.
func (s *Set) Schema(gvk schema.GroupVersionKind) (*apiextensionsv1.JSONSchemaProps, bool) {
	def, ok := s.Kinds[key(gvk)]
	if !ok {
		return nil, false
	}
	root := s.inline(&apiextensionsv1.JSONSchemaProps{Ref: &def}, nil)
	return &root, true
}

var preserve = true

func (s *Set) inline(p *apiextensionsv1.JSONSchemaProps, stack []string) apiextensionsv1.JSONSchemaProps {
	if p.Ref != nil {
		name := *p.Ref
		def, ok := s.Definitions[name]
		if !ok || slices.Contains(stack, name) {
			return apiextensionsv1.JSONSchemaProps{XPreserveUnknownFields: &preserve}
		}
		return s.inline(def, append(stack, name))
	}
	out := *p // shallow: every field that holds schemas is replaced below
	if p.Properties != nil {
		out.Properties = make(map[string]apiextensionsv1.JSONSchemaProps, len(p.Properties))
		for k, v := range p.Properties {
			out.Properties[k] = s.inline(&v, stack)
		}
	}
	if p.Items != nil {
		items := &apiextensionsv1.JSONSchemaPropsOrArray{}
		if p.Items.Schema != nil {
			v := s.inline(p.Items.Schema, stack)
			items.Schema = &v
		}
		for i := range p.Items.JSONSchemas {
			items.JSONSchemas = append(items.JSONSchemas, s.inline(&p.Items.JSONSchemas[i], stack))
		}
		out.Items = items
	}
	if p.AdditionalProperties != nil {
		ap := &apiextensionsv1.JSONSchemaPropsOrBool{Allows: p.AdditionalProperties.Allows}
		if p.AdditionalProperties.Schema != nil {
			v := s.inline(p.AdditionalProperties.Schema, stack)
			ap.Schema = &v
		}
		out.AdditionalProperties = ap
	}
	out.AllOf = s.inlineAll(p.AllOf, stack)
	out.OneOf = s.inlineAll(p.OneOf, stack)
	out.AnyOf = s.inlineAll(p.AnyOf, stack)
	if p.Not != nil {
		v := s.inline(p.Not, stack)
		out.Not = &v
	}
	return out
}

func (s *Set) inlineAll(in []apiextensionsv1.JSONSchemaProps, stack []string) []apiextensionsv1.JSONSchemaProps {
	if in == nil {
		return nil
	}
	out := make([]apiextensionsv1.JSONSchemaProps, len(in))
	for i := range in {
		out[i] = s.inline(&in[i], stack)
	}
	return out
}

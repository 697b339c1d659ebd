package kubeschema

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// refPrefix starts the $refs of OpenAPI v3 documents.
const refPrefix = "#/components/schemas/"

// metaPrefix starts the definitions of apimachinery's own kinds
// (DeleteOptions, WatchEvent, Status...), which every group/version lists
// but no manifest holds.
const metaPrefix = "io.k8s.apimachinery.pkg.apis.meta.v1."

// quantity is resource.Quantity, which OpenAPI gives as "string or number"
// and whose strings the API server parses with this pattern.
const (
	quantityDef     = "io.k8s.apimachinery.pkg.api.resource.Quantity"
	quantityPattern = `^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`
)

// openAPIDoc is the part of an OpenAPI v3 document that matters here.
type openAPIDoc struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Version string `json:"version"`
	} `json:"info"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

// Compact makes a set from OpenAPI v3 documents (names, for errors, are
// the documents' file names): the kinds they declare with
// x-kubernetes-group-version-kind and the definitions those reach, without
// descriptions, defaults and merge hints. Definitions of the same name in
// several documents are taken to be the same.
func Compact(docs [][]byte, names []string) (*Set, error) {
	defs := map[string]map[string]any{}
	s := &Set{Kinds: map[string]string{}, Definitions: map[string]*apiextensionsv1.JSONSchemaProps{}}
	for i, data := range docs {
		var doc openAPIDoc
		if err := json.Unmarshal(data, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
			if err == nil {
				err = fmt.Errorf("openapi is %q, want 3.x", doc.OpenAPI)
			}
			return nil, fmt.Errorf("%s is not an OpenAPI v3 document: %v", names[i], err)
		}
		if v := doc.Info.Version; v != "" && v != "unversioned" && s.Version == "" {
			s.Version = v
		}
		for name, def := range doc.Components.Schemas {
			defs[name] = def
			if strings.HasPrefix(name, metaPrefix) {
				continue
			}
			gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
			for _, g := range gvks {
				m, _ := g.(map[string]any)
				group, _ := m["group"].(string)
				ver, _ := m["version"].(string)
				kind, _ := m["kind"].(string)
				if ver == "" || kind == "" {
					continue
				}
				gv := ver
				if group != "" {
					gv = group + "/" + ver
				}
				s.Kinds[gv+"/"+kind] = name
			}
		}
	}
	// Keep the definitions the kinds reach.
	var queue []string
	for _, name := range s.Kinds {
		queue = append(queue, name)
	}
	sort.Strings(queue)
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if _, done := s.Definitions[name]; done {
			continue
		}
		def, ok := defs[name]
		if !ok {
			return nil, fmt.Errorf("the documents refer to schema %q but do not define it: add the document that does", name)
		}
		c := compactNode(def)
		if name == quantityDef {
			// A string that must match, or a number: no type, so that
			// the pattern applies to strings only.
			c = map[string]any{"pattern": quantityPattern}
		}
		refs(c, func(r string) { queue = append(queue, r) })
		props, err := toProps(c)
		if err != nil {
			return nil, fmt.Errorf("schema %q: %w", name, err)
		}
		s.Definitions[name] = props
	}
	return s, nil
}

func toProps(m map[string]any) (*apiextensionsv1.JSONSchemaProps, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var p apiextensionsv1.JSONSchemaProps
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// dropped are the keys that do not change what is valid, or that the
// validation does not use.
var dropped = []string{
	"description", "default", "example", "title", "externalDocs",
	"x-kubernetes-group-version-kind", "x-kubernetes-patch-strategy", "x-kubernetes-patch-merge-key",
	"x-kubernetes-unions", "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
}

// schemaMaps and schemaLists are the keys that hold schemas.
var (
	schemaMaps  = []string{"items", "additionalProperties", "not"}
	schemaLists = []string{"allOf", "oneOf", "anyOf"}
)

// compactNode returns a copy of an OpenAPI schema without the dropped keys,
// with `allOf: [{$ref}]` (how a field with a default or description refers
// to a definition) made a plain $ref naming the definition, int-or-string
// made x-kubernetes-int-or-string, and objects with no properties (such as
// RawExtension) made to keep any field.
func compactNode(n map[string]any) map[string]any {
	if all, ok := n["allOf"].([]any); ok && len(all) == 1 {
		if m, ok := all[0].(map[string]any); ok && m["$ref"] != nil && len(m) == 1 {
			return compactNode(m)
		}
	}
	if ref, ok := n["$ref"].(string); ok {
		return map[string]any{"$ref": strings.TrimPrefix(ref, refPrefix)}
	}
	if n["format"] == "int-or-string" {
		return map[string]any{"x-kubernetes-int-or-string": true}
	}
	out := map[string]any{}
	for k, v := range n {
		out[k] = v
	}
	for _, k := range dropped {
		delete(out, k)
	}
	if props, ok := n["properties"].(map[string]any); ok {
		cp := make(map[string]any, len(props))
		for k, v := range props {
			if m, ok := v.(map[string]any); ok {
				cp[k] = compactNode(m)
			}
		}
		out["properties"] = cp
	}
	for _, k := range schemaMaps {
		if m, ok := n[k].(map[string]any); ok {
			out[k] = compactNode(m)
		}
	}
	for _, k := range schemaLists {
		if l, ok := n[k].([]any); ok {
			cl := make([]any, 0, len(l))
			for _, v := range l {
				if m, ok := v.(map[string]any); ok {
					cl = append(cl, compactNode(m))
				}
			}
			out[k] = cl
		}
	}
	if isOpen(out) {
		out["x-kubernetes-preserve-unknown-fields"] = true
	}
	return out
}

// isOpen reports whether a schema says nothing about the fields of an
// object: any value, or an object with no properties.
func isOpen(n map[string]any) bool {
	if t, _ := n["type"].(string); t != "" && t != "object" {
		return false
	}
	for _, k := range []string{"properties", "additionalProperties", "allOf", "oneOf", "anyOf", "not", "$ref", "x-kubernetes-int-or-string"} {
		if _, ok := n[k]; ok {
			return false
		}
	}
	return true
}

// refs calls f with each definition a compacted schema refers to.
func refs(n map[string]any, f func(string)) {
	if r, ok := n["$ref"].(string); ok {
		f(r)
	}
	if props, ok := n["properties"].(map[string]any); ok {
		for _, v := range props {
			if m, ok := v.(map[string]any); ok {
				refs(m, f)
			}
		}
	}
	for _, k := range schemaMaps {
		if m, ok := n[k].(map[string]any); ok {
			refs(m, f)
		}
	}
	for _, k := range schemaLists {
		if l, ok := n[k].([]any); ok {
			for _, v := range l {
				if m, ok := v.(map[string]any); ok {
					refs(m, f)
				}
			}
		}
	}
}

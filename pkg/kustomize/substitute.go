package kustomize

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/drone/envsubst"
	"github.com/drone/envsubst/parse"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// SubstituteAnnotation, set to SubstituteDisabled on an object, leaves its
// ${...} references as they are.
const (
	SubstituteAnnotation = "kustomize.tether.dev/substitute"
	SubstituteDisabled   = "disabled"
)

// VarsFrom merges the variables of postBuild: the data of substituteFrom in
// order (later entries win), then substitute, which wins over all. The
// caller reads the ConfigMaps and Secrets. The result is never nil.
func VarsFrom(from []map[string]string, substitute map[string]string) map[string]string {
	vars := map[string]string{}
	for _, m := range from {
		maps.Copy(vars, m)
	}
	maps.Copy(vars, substitute)
	return vars
}

// Substitute replaces ${var}, ${var:=default} and the other forms of
// github.com/drone/envsubst in every object (except those annotated
// SubstituteAnnotation: disabled), on the YAML text of the object, which is
// then parsed again. A variable used without a default and missing from
// vars is an error naming the object and the variables; $${var} stays a
// literal ${var}.
//
// Objects no longer know how their source quoted a value, so here a value
// that is entirely one variable takes the type of what it becomes (3 gives
// an int). Build with Options.Vars substitutes before that is lost and keeps
// `"${PORT}"` a string as written: prefer it.
func Substitute(objs []*unstructured.Unstructured, vars map[string]string) error {
	var errs []error
	for _, u := range objs {
		if u.GetAnnotations()[SubstituteAnnotation] == SubstituteDisabled {
			continue
		}
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", objectName(u), err))
			continue
		}
		out, changed, err := substituteYAML(objectName(u), string(data), vars)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if changed {
			u.Object = out.Object
		}
	}
	return errors.Join(errs...)
}

// substituteYAML substitutes vars in the YAML data of the object name and
// parses the result. changed is false, and out nil, when data refers to no
// variable.
func substituteYAML(name, data string, vars map[string]string) (out *unstructured.Unstructured, changed bool, err error) {
	if !strings.Contains(data, "${") {
		return nil, false, nil
	}
	// envsubst unescapes \\ and \/ in plain text, which would corrupt YAML
	// escapes ("C:\\dir"); doubling them outside ${...} cancels that.
	text := escapeBackslashes(data)
	tree, err := parse.Parse(text)
	if err != nil {
		return nil, false, fmt.Errorf("%s: variable substitution: %w", name, err)
	}
	missing := map[string]bool{}
	findMissing(tree.Root, vars, missing)
	if len(missing) > 0 {
		names := slices.Sorted(maps.Keys(missing))
		return nil, false, fmt.Errorf("%s: variable(s) %s not set and without default",
			name, strings.Join(names, ", "))
	}
	result, err := envsubst.Eval(text, func(v string) string { return vars[v] })
	if err != nil {
		return nil, false, fmt.Errorf("%s: variable substitution: %w", name, err)
	}
	j, err := yaml.YAMLToJSON([]byte(result))
	if err != nil {
		return nil, false, fmt.Errorf("%s: YAML after substitution is invalid (quote the value or the reference?): %w", name, err)
	}
	out = &unstructured.Unstructured{}
	if err := out.UnmarshalJSON(j); err != nil {
		return nil, false, fmt.Errorf("%s: object after substitution is invalid: %w", name, err)
	}
	return out, true, nil
}

// findMissing adds to missing the variables that n references without a
// default and that are not in vars. The arguments of functions are walked
// too: envsubst evaluates them whether or not they are used.
func findMissing(n parse.Node, vars map[string]string, missing map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		for _, c := range n.Nodes {
			findMissing(c, vars, missing)
		}
	case *parse.FuncNode:
		if _, ok := vars[n.Param]; !ok {
			switch n.Name {
			case "=", ":=", ":-", "-", "+", ":+":
				// A default or alternative value: unset is fine.
			default:
				missing[n.Param] = true
			}
		}
		for _, a := range n.Args {
			findMissing(a, vars, missing)
		}
	}
}

// escapeBackslashes doubles the backslashes of s outside ${...}.
func escapeBackslashes(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			b.WriteString("${")
			i++
			continue
		case c == '}' && depth > 0:
			depth--
		case c == '\\' && depth == 0:
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// objectName is "Kind namespace/name", or "Kind name" when cluster-scoped.
func objectName(u *unstructured.Unstructured) string {
	return displayName(u.GetKind(), u.GetNamespace(), u.GetName())
}

func displayName(kind, namespace, name string) string {
	if namespace != "" {
		return kind + " " + namespace + "/" + name
	}
	return kind + " " + name
}

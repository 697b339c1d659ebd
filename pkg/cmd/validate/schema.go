package validate

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	runtimeschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/manifests"
)

// fieldProblem is a problem at a field path of an object ("spec.url").
type fieldProblem struct {
	Path    string
	Message string
}

// crdSchema validates objects of one version of a Tether CRD as the API
// server would: OpenAPI schema, unknown fields (pruning) and CEL rules.
type crdSchema struct {
	validator  validation.SchemaValidator
	structural *schema.Structural
	cel        *cel.Validator
}

var (
	crdOnce    sync.Once
	crdSchemas map[runtimeschema.GroupVersionKind]*crdSchema
	crdErr     error
)

// tetherSchemas loads the CRDs embedded in the binary (manifests/crds).
func tetherSchemas() (map[runtimeschema.GroupVersionKind]*crdSchema, error) {
	crdOnce.Do(func() {
		crdSchemas = map[runtimeschema.GroupVersionKind]*crdSchema{}
		files, err := fs.Glob(manifests.FS, "crds/*.yaml")
		if err != nil {
			crdErr = err
			return
		}
		for _, file := range files {
			data, err := fs.ReadFile(manifests.FS, file)
			if err != nil {
				crdErr = err
				return
			}
			var crd apiextensionsv1.CustomResourceDefinition
			if err := yaml.Unmarshal(data, &crd); err != nil || crd.Kind != "CustomResourceDefinition" {
				continue // kustomization.yaml
			}
			for _, v := range crd.Spec.Versions {
				if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
					continue
				}
				s, err := newCRDSchema(v.Schema.OpenAPIV3Schema)
				if err != nil {
					crdErr = fmt.Errorf("embedded CRD %s version %s: %w", crd.Name, v.Name, err)
					return
				}
				crdSchemas[runtimeschema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}] = s
			}
		}
	})
	return crdSchemas, crdErr
}

func newCRDSchema(v1 *apiextensionsv1.JSONSchemaProps) (*crdSchema, error) {
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1, internal, nil); err != nil {
		return nil, err
	}
	validator, _, err := validation.NewSchemaValidator(internal)
	if err != nil {
		return nil, err
	}
	structural, err := schema.NewStructural(internal)
	if err != nil {
		return nil, err
	}
	return &crdSchema{validator: validator, structural: structural, cel: cel.NewValidator(structural, true, celconfig.PerCallLimit)}, nil
}

// validate returns the problems of obj (a decoded YAML document).
func (s *crdSchema) validate(obj map[string]any) []fieldProblem {
	var out []fieldProblem
	pruned := runtime.DeepCopyJSON(obj)
	for _, p := range pruning.PruneWithOptions(pruned, s.structural, true, schema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		out = append(out, fieldProblem{Path: p, Message: fmt.Sprintf("unknown field %q", p)})
	}
	for _, e := range validation.ValidateCustomResource(nil, obj, s.validator) {
		out = append(out, fromFieldError(e))
	}
	if s.cel != nil {
		errs, _ := s.cel.Validate(context.Background(), nil, s.structural, obj, nil, celconfig.RuntimeCELCostBudget)
		for _, e := range errs {
			out = append(out, fromFieldError(e))
		}
	}
	return out
}

func fromFieldError(e *field.Error) fieldProblem {
	msg := e.ErrorBody()
	if e.Field != "" && e.Field != "<nil>" {
		msg = e.Field + ": " + msg
	}
	return fieldProblem{Path: e.Field, Message: msg}
}

// strictDecode decodes a built-in object into its client-go type, failing
// on unknown and duplicate fields and on values of the wrong type. A value
// of the wrong type stops the decoder before it reports unknown fields, so
// the field is taken out and the object decoded again, to report them all.
// It reports false when the kind is not a built-in one.
func strictDecode(data []byte, gvk runtimeschema.GroupVersionKind) ([]fieldProblem, bool) {
	if _, err := clientgoscheme.Scheme.New(gvk); err != nil {
		return nil, false
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return []fieldProblem{{Message: err.Error()}}, true
	}
	var out []fieldProblem
	for range 20 {
		obj, _ := clientgoscheme.Scheme.New(gvk)
		strictErrs, err := kjson.UnmarshalStrict(js, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
		for _, e := range strictErrs {
			out = append(out, fieldProblem{Path: strictPath(e.Error()), Message: e.Error()})
		}
		if err == nil {
			break
		}
		path := typePath(err.Error())
		out = append(out, fieldProblem{Path: path, Message: cleanDecodeError(err.Error())})
		var m map[string]any
		if path == "" || json.Unmarshal(js, &m) != nil || !deletePath(m, strings.Split(path, ".")) {
			break
		}
		if js, err = json.Marshal(m); err != nil {
			break
		}
	}
	return out, true
}

// deletePath removes the field at path from every item of the lists on the
// way (type errors name the field without list indexes); it reports whether
// it removed one.
func deletePath(v any, path []string) bool {
	switch v := v.(type) {
	case []any:
		removed := false
		for _, item := range v {
			removed = deletePath(item, path) || removed
		}
		return removed
	case map[string]any:
		if len(path) == 1 {
			_, ok := v[path[0]]
			delete(v, path[0])
			return ok
		}
		if next, ok := v[path[0]]; ok {
			return deletePath(next, path[1:])
		}
	}
	return false
}

// strictPath takes the field out of `unknown field "spec.foo"` and
// `duplicate field "x"`.
func strictPath(msg string) string {
	if i := strings.Index(msg, `"`); i >= 0 {
		if j := strings.Index(msg[i+1:], `"`); j >= 0 {
			return msg[i+1 : i+1+j]
		}
	}
	return ""
}

// typePath takes the field out of a type error:
// `... Deployment.spec.replicas of type int32`.
func typePath(msg string) string {
	for _, f := range strings.Fields(msg) {
		if dot := strings.Index(f, "."); dot > 0 && strings.ToUpper(f[:1]) == f[:1] && !strings.Contains(f, "/") {
			return strings.TrimRight(f[dot+1:], ",:")
		}
	}
	return ""
}

func cleanDecodeError(msg string) string {
	msg = strings.TrimPrefix(msg, "json: ")
	if i := strings.Index(msg, "error unmarshaling JSON: while decoding JSON: "); i >= 0 {
		msg = msg[i+len("error unmarshaling JSON: while decoding JSON: "):]
	}
	return strings.TrimPrefix(msg, "json: ")
}

// isTetherGroup reports whether an API group is one of Tether's.
func isTetherGroup(group string) bool { return strings.HasSuffix(group, ".tether.dev") }

package validate

import (
	"context"
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
	"sigs.k8s.io/yaml"

	"github.com/tether-gitops/tether/manifests"
)

// fieldProblem is a problem at a field path of an object ("spec.url").
type fieldProblem struct {
	Path    string
	Message string
}

// crdSchema validates objects of one version of a CRD as the API server
// would: OpenAPI schema, unknown fields (pruning) and CEL rules. It does the
// same for a built-in kind, from its OpenAPI schema.
type crdSchema struct {
	validator  validation.SchemaValidator
	structural *schema.Structural
	cel        *cel.Validator
	// builtIn: the schema is that of a built-in kind, which describes
	// apiVersion, kind and metadata too, and whose null values the API
	// server drops when it decodes the object.
	builtIn bool
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
	for _, p := range pruning.PruneWithOptions(pruned, s.structural, !s.builtIn, schema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		out = append(out, fieldProblem{Path: p, Message: fmt.Sprintf("unknown field %q", p)})
	}
	if s.builtIn {
		obj = dropNulls(runtime.DeepCopyJSON(obj)).(map[string]any)
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

// dropNulls removes the null values of maps, as decoding into Go types
// ignores them (creationTimestamp: null).
func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
			} else {
				v[k] = dropNulls(e)
			}
		}
	case []any:
		for i, e := range v {
			v[i] = dropNulls(e)
		}
	}
	return v
}

func fromFieldError(e *field.Error) fieldProblem {
	msg := e.ErrorBody()
	if e.Field != "" && e.Field != "<nil>" {
		msg = e.Field + ": " + msg
	}
	return fieldProblem{Path: e.Field, Message: msg}
}

// isTetherGroup reports whether an API group is one of Tether's.
func isTetherGroup(group string) bool { return strings.HasSuffix(group, ".tether.dev") }

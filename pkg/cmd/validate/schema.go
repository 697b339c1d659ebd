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
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
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

var (
	strictOnce  sync.Once
	strictCodec runtime.Decoder
)

// strictDecode decodes a built-in object into its client-go type, failing
// on unknown and duplicate fields and on values of the wrong type. It
// reports false when the kind is not a built-in one.
func strictDecode(data []byte, gvk runtimeschema.GroupVersionKind) ([]fieldProblem, bool) {
	if !clientgoscheme.Scheme.Recognizes(gvk) {
		return nil, false
	}
	strictOnce.Do(func() {
		strictCodec = json.NewSerializerWithOptions(json.DefaultMetaFactory, clientgoscheme.Scheme, clientgoscheme.Scheme,
			json.SerializerOptions{Yaml: true, Strict: true})
	})
	_, _, err := strictCodec.Decode(data, &gvk, nil)
	if err == nil {
		return nil, true
	}
	var out []fieldProblem
	if se, ok := runtime.AsStrictDecodingError(err); ok {
		for _, e := range se.Errors() {
			out = append(out, fieldProblem{Path: strictPath(e.Error()), Message: e.Error()})
		}
		return out, true
	}
	return []fieldProblem{{Path: typePath(err.Error()), Message: cleanDecodeError(err.Error())}}, true
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

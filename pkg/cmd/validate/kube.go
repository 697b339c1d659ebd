package validate

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tether-gitops/tether/pkg/kubeschema"
)

// builtIn returns the validator of a built-in kind in the chosen Kubernetes
// version, made on first use; false when that version does not serve it.
func (v *validator) builtIn(gvk schema.GroupVersionKind) (*crdSchema, bool, error) {
	if s, ok := v.builtIns[gvk]; ok {
		return s, s != nil, nil
	}
	props, ok := v.kube.Schema(gvk)
	if !ok {
		v.builtIns[gvk] = nil
		return nil, false, nil
	}
	s, err := newCRDSchema(props)
	if err != nil {
		return nil, false, fmt.Errorf("the schema of %s in %s cannot be used: %w", gvk.Kind, v.kube.Name(), err)
	}
	s.builtIn = true
	v.builtIns[gvk] = s
	return s, true, nil
}

// notServed says that set does not serve gvk, and what to use instead.
func notServed(set *kubeschema.Set, gvk schema.GroupVersionKind) string {
	msg := fmt.Sprintf("%s %s is not served by %s", gvk.GroupVersion(), gvk.Kind, set.Name())
	alts := set.Alternatives(gvk.Group, gvk.Kind)
	if len(alts) == 0 {
		return fmt.Sprintf("%s: it has no kind %s in any API group", msg, gvk.Kind)
	}
	return fmt.Sprintf("%s: use %s", msg, alts[0])
}

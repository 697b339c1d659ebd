package ssa

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ObjectID identifies an object across API versions, as inventories record
// it: "<namespace>_<name>_<group>_<kind>" (Flux's format, so that inventories
// read the same).
func ObjectID(u *unstructured.Unstructured) string {
	gvk := u.GroupVersionKind()
	return strings.Join([]string{u.GetNamespace(), u.GetName(), gvk.Group, gvk.Kind}, "_")
}

// ObjectFromID returns a skeleton object (kind, namespace, name) for an
// inventory entry, enough to read or delete the object.
func ObjectFromID(id, version string) (*unstructured.Unstructured, error) {
	parts := strings.Split(id, "_")
	if len(parts) != 4 || parts[1] == "" || parts[3] == "" {
		return nil, fmt.Errorf("invalid inventory entry %q: want <namespace>_<name>_<group>_<kind>", id)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: parts[2], Version: version, Kind: parts[3]})
	u.SetNamespace(parts[0])
	u.SetName(parts[1])
	return u, nil
}

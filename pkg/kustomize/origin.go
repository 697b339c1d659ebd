package kustomize

import (
	"path"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/resource"
)

// originAnnotation is where kustomize records, with originAnnotations in
// buildMetadata, the file an object came from.
const originAnnotation = "config.kubernetes.io/origin"

// originFile returns the file, relative to the root, that res came from:
// its manifest, or the kustomization whose generator made it; "" when
// unknown (or remote).
func originFile(res *resource.Resource, dir string) string {
	o, err := res.GetOrigin()
	if err != nil || o == nil || o.Repo != "" {
		return ""
	}
	p := o.Path
	if p == "" {
		p = o.ConfiguredIn
	}
	if p == "" {
		return ""
	}
	return relName(path.Join(dir, p))
}

func removeAnnotation(u *unstructured.Unstructured, key string) {
	a := u.GetAnnotations()
	if _, ok := a[key]; !ok {
		return
	}
	delete(a, key)
	if len(a) == 0 {
		unstructured.RemoveNestedField(u.Object, "metadata", "annotations")
		return
	}
	u.SetAnnotations(a)
}

// subject names an object as package ssa does, "Kind/namespace/name", the
// key of the origins that BuildWithOrigins returns.
func subject(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + "/" + ns + "/" + u.GetName()
	}
	return u.GetKind() + "/" + u.GetName()
}

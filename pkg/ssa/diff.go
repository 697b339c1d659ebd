package ssa

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Diff is what applying one object would do, from a server-side dry-run.
type Diff struct {
	Change
	// Live is the object in the cluster, nil when it would be created.
	Live *unstructured.Unstructured
	// Merged is the object as the apply would leave it; for an object that
	// would be recreated or whose namespace does not exist yet, the desired
	// object itself.
	Merged *unstructured.Unstructured
}

// Diff dry-runs the apply of objs and reports, per object in order, whether
// it would be created, configured, left unchanged or skipped; nothing is
// written. It is `tether diff`: the same decisions as ApplyAllStaged.
func (m *Manager) Diff(ctx context.Context, objs []*unstructured.Unstructured, opts ApplyOptions) ([]Diff, error) {
	if err := m.validate(objs, opts); err != nil {
		return nil, err
	}
	newNamespaces := map[string]bool{}
	for _, u := range objs {
		if u.GetKind() == "Namespace" && u.GroupVersionKind().Group == "" {
			newNamespaces[u.GetName()] = true
		}
	}
	diffs := make([]Diff, len(objs))
	err := m.each(ctx, len(objs), func(ctx context.Context, i int) error {
		u := objs[i].DeepCopy()
		p, err := m.plan(ctx, u, opts)
		if err != nil {
			// An object in a namespace that this very apply creates cannot
			// be dry-run yet: it will be created as it is.
			if p.live == nil && apierrors.IsNotFound(err) && newNamespaces[u.GetNamespace()] {
				diffs[i] = Diff{Change: Change{Subject: Subject(u), Action: Created}, Merged: objs[i]}
				return nil
			}
			return opts.withOrigin(objs[i], err)
		}
		d := Diff{Change: Change{Subject: Subject(u), Action: p.action}, Live: p.live, Merged: p.merged}
		if d.Merged == nil && p.action != Skipped {
			d.Merged = objs[i]
		}
		diffs[i] = d
		return nil
	})
	return diffs, err
}

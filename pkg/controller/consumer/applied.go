package consumer

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"

	"github.com/tether-gitops/tether/pkg/ssa"
)

// Applied remembers, per Kustomization or HelmRelease, the digests of what
// it applied (see ssa.Digests), for the dry-run-free no-change path. The
// memory of an object starts over when its epoch changes: a new generation
// (another target cluster or service account), a new release.
type Applied struct {
	mu sync.Mutex
	m  map[types.NamespacedName]epochDigests
}

type epochDigests struct {
	epoch   string
	digests *ssa.Digests
}

// Of returns the digests of key for epoch.
func (a *Applied) Of(key types.NamespacedName, epoch string) *ssa.Digests {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[types.NamespacedName]epochDigests{}
	}
	if e, ok := a.m[key]; ok && e.epoch == epoch {
		return e.digests
	}
	d := ssa.NewDigests()
	a.m[key] = epochDigests{epoch: epoch, digests: d}
	return d
}

// Forget drops what key applied (it is being deleted).
func (a *Applied) Forget(key types.NamespacedName) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, key)
}

package ssa

import (
	"crypto/sha256"
	"encoding/json"
	"reflect"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Digests remembers, per object, a digest of the desired state last
// applied (or found applied). An object whose desired state has not changed
// since, and whose live state still holds every field of it, needs no
// dry-run: a no-change reconcile then costs one read per object. Anything
// else (a new desired state, a drifted or removed field, a server that
// normalises a value differently) falls back to the dry-run compare.
type Digests struct {
	mu sync.Mutex
	m  map[string][sha256.Size]byte
}

// NewDigests returns an empty memory.
func NewDigests() *Digests { return &Digests{m: map[string][sha256.Size]byte{}} }

func (d *Digests) matches(subject string, sum [sha256.Size]byte) bool {
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	got, ok := d.m[subject]
	return ok && got == sum
}

func (d *Digests) record(subject string, sum [sha256.Size]byte) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m[subject] = sum
}

func (d *Digests) forget(subject string) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.m, subject)
}

// Len is the number of objects remembered.
func (d *Digests) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m)
}

func digest(u *unstructured.Unstructured) [sha256.Size]byte {
	data, err := json.Marshal(u.Object) // map keys sorted: stable
	if err != nil {
		return [sha256.Size]byte{}
	}
	return sha256.Sum256(data)
}

// contains reports whether live holds every field of want with the same
// value. Lists must have the same length and hold want's items in order:
// an item added by someone else (a sidecar) makes it false, which only
// costs a dry-run.
func contains(live, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			lv, ok := l[k]
			if !ok || !contains(lv, wv) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(w) {
			return false
		}
		for i := range w {
			if !contains(l[i], w[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(live, want)
	}
}

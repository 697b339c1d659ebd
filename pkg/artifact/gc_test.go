package artifact

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// storeAged stores n artifacts for obj, the i-th one i hours after a fixed
// time, and returns them oldest first.
func storeAged(t *testing.T, s *Store, obj ObjectRef, n int) []meta.Artifact {
	t.Helper()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []meta.Artifact
	for i := range n {
		a, err := s.StoreReader(obj, strings.NewReader(fmt.Sprintf("content %d", i)), fmt.Sprint(i), "tar.gz")
		if err != nil {
			t.Fatal(err)
		}
		p, _ := s.LocalPath(a)
		mt := base.Add(time.Duration(i) * time.Hour)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func TestGC_KeepsRetentionIncludingCurrent(t *testing.T) {
	tests := []struct {
		name      string
		retention int
		current   int   // index into the stored artifacts; -1 for none
		kept      []int // indexes that must survive
	}{
		{name: "default keeps current and previous", retention: DefaultRetention, current: 4, kept: []int{3, 4}},
		{name: "old current is kept with the newest", retention: 2, current: 0, kept: []int{0, 4}},
		{name: "retention 1 keeps only current", retention: 1, current: 2, kept: []int{2}},
		{name: "retention 3", retention: 3, current: 4, kept: []int{2, 3, 4}},
		{name: "no current keeps the newest", retention: 2, current: -1, kept: []int{3, 4}},
		{name: "retention above count keeps all", retention: 10, current: 4, kept: []int{0, 1, 2, 3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t, WithRetention(tc.retention))
			arts := storeAged(t, s, gitRepo, 5)
			var current meta.Artifact
			if tc.current >= 0 {
				current = arts[tc.current]
			}
			removed, err := s.GC(gitRepo, current)
			if err != nil {
				t.Fatal(err)
			}
			for i, a := range arts {
				want := slices.Contains(tc.kept, i)
				if s.Exists(a) != want {
					t.Errorf("artifact %d exists=%v, want %v", i, s.Exists(a), want)
				}
				if slices.Contains(removed, a.Path) == want {
					t.Errorf("artifact %d reported removed=%v, want %v", i, !want, !want)
				}
			}
		})
	}
}

func TestGC_RemovesStaleTempFilesAndLeavesOtherObjects(t *testing.T) {
	s := newTestStore(t)
	arts := storeAged(t, s, gitRepo, 1)
	other := ObjectRef{Kind: "GitRepository", Namespace: "flux-system", Name: "other"}
	others := storeAged(t, s, other, 3)
	dir := filepath.Join(s.Root(), "gitrepository", "flux-system", "podinfo")
	tmp := filepath.Join(dir, tempPrefix+"crashed")
	if err := os.WriteFile(tmp, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	removed, err := s.GC(gitRepo, arts[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"gitrepository/flux-system/podinfo/" + tempPrefix + "crashed"}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, a := range append(arts, others...) {
		if !s.Exists(a) {
			t.Errorf("%s was removed", a.Path)
		}
	}
}

func TestGC_RefusesCurrentOfAnotherObject(t *testing.T) {
	s := newTestStore(t)
	arts := storeAged(t, s, gitRepo, 3)
	other := ObjectRef{Kind: "GitRepository", Namespace: "flux-system", Name: "other"}
	if _, err := s.GC(other, arts[0]); err == nil {
		t.Error("GC accepted another object's artifact as current")
	}
	if removed, err := s.GC(ObjectRef{Kind: "GitRepository", Namespace: "none", Name: "none"}, meta.Artifact{}); err != nil || len(removed) != 0 {
		t.Errorf("GC of an object without artifacts = %v, %v", removed, err)
	}
}

func TestRemove_DeletesOnlyThatObject(t *testing.T) {
	s := newTestStore(t)
	arts := storeAged(t, s, gitRepo, 2)
	other := ObjectRef{Kind: "GitRepository", Namespace: "flux-system", Name: "other"}
	others := storeAged(t, s, other, 1)
	if err := s.Remove(gitRepo); err != nil {
		t.Fatal(err)
	}
	for _, a := range arts {
		if s.Exists(a) {
			t.Errorf("%s survived Remove", a.Path)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "gitrepository", "flux-system", "podinfo")); !os.IsNotExist(err) {
		t.Errorf("object directory survived Remove: %v", err)
	}
	if !s.Exists(others[0]) {
		t.Error("Remove deleted another object's artifact")
	}
	if err := s.Remove(gitRepo); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

func TestStore_ConcurrentWritesAndGCOfOneObject(t *testing.T) {
	s := newTestStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Go(func() {
			for j := range 4 {
				a, err := s.StoreReader(gitRepo, strings.NewReader(fmt.Sprintf("w%d-%d", i, j%2)), "r", "tar.gz")
				if err != nil {
					errs <- err
					return
				}
				if _, err := s.GC(gitRepo, a); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, err := s.GC(gitRepo, meta.Artifact{}); err != nil {
		t.Fatal(err)
	}
	// Concurrent writers of one object (never the case in the reconciler)
	// may GC each other's current; what must hold is that the store stays
	// consistent: the newest files kept, no temp files left.
	if n := countFiles(t, s, gitRepo); n != DefaultRetention {
		t.Errorf("%d files left, want %d and no temp files", n, DefaultRetention)
	}
}

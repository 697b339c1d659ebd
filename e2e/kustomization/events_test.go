package kustomization

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// An apply that changes many objects still reports it: the event's note is
// cut to what the API server accepts, naming how many lines were left out,
// instead of the event being refused and lost.
func TestKustomization_EventOfALargeApplyIsKeptWithinTheAPILimit(t *testing.T) {
	files := map[string]string{}
	for i := range 40 {
		name := fmt.Sprintf("settings-with-a-long-descriptive-name-%02d", i)
		files["app/"+name+".yaml"] = configMap("", name, map[string]string{"n": fmt.Sprint(i)})
	}
	f := newFixture(t, files)
	ks := waitApplied(t, f.kustomization(t, "many", "./app", nil), f.revision(t))

	var note string
	eventually(t, 30*time.Second, func() error {
		for _, n := range kustomizationEvents(t, ks) {
			if strings.HasPrefix(n, "ReconciliationSucceeded: ") {
				note = n
				return nil
			}
		}
		return fmt.Errorf("no ReconciliationSucceeded event among %q", kustomizationEvents(t, ks))
	})
	mustContain(t, "the success event", note, "Applied revision: "+f.revision(t), "ConfigMap/"+f.ns+"/settings-with-a-long-descriptive-name-00 created", "more lines")
}

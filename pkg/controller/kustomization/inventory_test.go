package kustomization

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/ssa"
)

func u(apiVersion, kind, ns, name string) *unstructured.Unstructured {
	o := &unstructured.Unstructured{}
	o.SetAPIVersion(apiVersion)
	o.SetKind(kind)
	o.SetNamespace(ns)
	o.SetName(name)
	return o
}

func ids(objs []*unstructured.Unstructured) string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = ssa.ObjectID(o)
	}
	return strings.Join(out, " ")
}

func TestStaleObjects_AreThoseThatLeftTheBuild_NamespacesLast(t *testing.T) {
	old := inventoryOf([]*unstructured.Unstructured{
		u("v1", "Namespace", "", "apps"),
		u("v1", "ConfigMap", "apps", "a"),
		u("v1", "ConfigMap", "apps", "b"),
		u("apps/v1", "Deployment", "apps", "web"),
	})
	cur := inventoryOf([]*unstructured.Unstructured{u("v1", "ConfigMap", "apps", "a")})
	stale, err := staleObjects(old, cur)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(stale), "apps_b__ConfigMap apps_web_apps_Deployment _apps__Namespace"; got != want {
		t.Errorf("stale = %s, want %s", got, want)
	}
	if stale[1].GetAPIVersion() != "apps/v1" {
		t.Errorf("stale Deployment has apiVersion %q, want the inventory's apps/v1", stale[1].GetAPIVersion())
	}
}

func TestMergeInventory_AddsOnlyWrittenObjects(t *testing.T) {
	inv := inventoryOf([]*unstructured.Unstructured{u("v1", "ConfigMap", "apps", "old")})
	objs := []*unstructured.Unstructured{u("v1", "ConfigMap", "apps", "new"), u("v1", "ConfigMap", "apps", "notyet")}
	got := mergeInventory(inv, objs, ssa.ChangeSet{{Subject: "ConfigMap/apps/new", Action: ssa.Created}})
	var entries []string
	for _, e := range got.Entries {
		entries = append(entries, e.ID)
	}
	if strings.Join(entries, " ") != "apps_new__ConfigMap apps_old__ConfigMap" {
		t.Errorf("entries = %v", entries)
	}
}

func TestPruneLimitError_SaysWhatToDo(t *testing.T) {
	err := &pruneLimitError{stale: 3, total: 4, percent: 50}
	if !isPruneLimit(err) {
		t.Fatal("not recognised")
	}
	for _, want := range []string{"3 of 4", "75%", "percent=50", "nothing was pruned"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

func TestNextPoll_StartsFastAndBacksOffToFiveSeconds(t *testing.T) {
	now := time.Now()
	p := &pendingHealth{started: now, deadline: now.Add(time.Hour)}
	if d := p.nextPoll(); d != time.Second {
		t.Errorf("first poll after %s, want 1s", d)
	}
	p.started = now.Add(-time.Minute)
	if d := p.nextPoll(); d != 5*time.Second {
		t.Errorf("poll after a minute every %s, want 5s", d)
	}
	p.deadline = now.Add(2 * time.Second)
	if d := p.nextPoll(); d > 3*time.Second {
		t.Errorf("poll %s past a deadline 2s away", d)
	}
}

func TestPendingKey_ChangesWithGenerationRevisionAndRequest(t *testing.T) {
	ks := &kustomizev1.Kustomization{}
	ks.Generation = 1
	a := pendingKey(ks, "main@sha1:a")
	if pendingKey(ks, "main@sha1:b") == a {
		t.Error("a new revision keeps the pending check")
	}
	ks.Generation = 2
	if pendingKey(ks, "main@sha1:a") == a {
		t.Error("a new generation keeps the pending check")
	}
	ks.Generation = 1
	ks.SetAnnotations(map[string]string{"reconcile.tether.dev/requestedAt": "now"})
	if pendingKey(ks, "main@sha1:a") == a {
		t.Error("a reconcile request keeps the pending check")
	}
}

package v1

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

var (
	_ meta.Reconcilable           = &Kustomization{}
	_ meta.ObjectWithDependencies = &Kustomization{}
	_ meta.ReconcilableList       = &KustomizationList{}
)

func TestKustomizationDurations(t *testing.T) {
	k := &Kustomization{}
	if k.GetInterval() != time.Minute || k.GetTimeout() != time.Minute || k.GetRetryInterval() != time.Minute || k.GetRequeueAfter() != time.Minute {
		t.Fatalf("defaults: %v %v %v", k.GetInterval(), k.GetTimeout(), k.GetRetryInterval())
	}
	k.Spec.Interval = &metav1.Duration{Duration: time.Hour}
	if k.GetTimeout() != time.Hour || k.GetRetryInterval() != time.Hour || k.GetRequeueAfter() != time.Hour {
		t.Fatalf("timeout and retry interval must default to the interval: %v %v", k.GetTimeout(), k.GetRetryInterval())
	}
	k.Spec.Timeout = &metav1.Duration{Duration: 5 * time.Minute}
	k.Spec.RetryInterval = &metav1.Duration{Duration: 2 * time.Minute}
	if k.GetTimeout() != 5*time.Minute || k.GetRetryInterval() != 2*time.Minute || k.GetInterval() != time.Hour {
		t.Fatalf("explicit: %v %v %v", k.GetInterval(), k.GetTimeout(), k.GetRetryInterval())
	}
}

func TestKustomizationAccessors(t *testing.T) {
	k := &Kustomization{}
	k.SetSuspended(true)
	if !k.IsSuspended() || !k.Spec.Suspend {
		t.Fatal("SetSuspended")
	}
	k.SetLastHandledReconcileRequest("x")
	k.SetObservedGeneration(2)
	if k.GetLastHandledReconcileRequest() != "x" || k.Status.LastHandledReconcileAt != "x" || k.GetObservedGeneration() != 2 {
		t.Fatal("status accessors")
	}
	meta.MarkFalse(k, meta.ReadyCondition, meta.DependencyNotReadyReason, "waiting")
	if len(k.Status.Conditions) != 1 || meta.IsReady(k) {
		t.Fatal("conditions accessors")
	}
	if k.GetDeletionPolicy() != DeletionPolicyMirrorPrune {
		t.Fatal("default deletion policy")
	}
	k.Spec.DeletionPolicy = DeletionPolicyOrphan
	if k.GetDeletionPolicy() != DeletionPolicyOrphan {
		t.Fatal("explicit deletion policy")
	}
	k.Spec.DependsOn = []meta.DependencyReference{{Name: "infra"}}
	if d := k.GetDependsOn(); len(d) != 1 || d[0].KindOr(KustomizationKind) != KustomizationKind {
		t.Fatal("dependsOn")
	}
	l := &KustomizationList{Items: []Kustomization{*k}}
	if items := l.GetItems(); len(items) != 1 || !items[0].IsSuspended() {
		t.Fatal("GetItems")
	}
}

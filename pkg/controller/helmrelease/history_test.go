package helmrelease

import (
	"context"
	"errors"
	"io"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/kube"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/client-go/tools/events"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/helm"
)

// failOnce is a fake cluster whose next update fails when fail is set.
type failOnce struct {
	*kubefake.FailingKubeClient
	fail bool
}

func (f *failOnce) Update(r, modified kube.ResourceList, options ...kube.ClientUpdateOption) (*kube.Result, error) {
	if f.fail {
		f.fail = false
		return &kube.Result{}, errors.New("boom")
	}
	return f.FailingKubeClient.Update(r, modified, options...)
}

// memoryRunner returns a Runner of release "app" on an in-memory release
// store and a fake cluster.
func memoryRunner(t *testing.T) (*helm.Runner, *failOnce) {
	t.Helper()
	kc := &failOnce{FailingKubeClient: &kubefake.FailingKubeClient{PrintingKubeClient: kubefake.PrintingKubeClient{Out: io.Discard}}}
	cfg := action.NewConfiguration()
	cfg.Releases = storage.Init(driver.NewMemory())
	cfg.KubeClient = kc
	cfg.Capabilities = common.DefaultCapabilities
	return helm.NewRunner(cfg, "app", "default"), kc
}

func appChart() *chart.Chart {
	return &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: "app", Version: "1.0.0"},
		Templates: []*common.File{{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n")}}}
}

// A failed upgrade to a new OCI artifact of the same chart version is rolled
// back: the rollback's history entry has the digest of the artifact it went
// back to, so that the next reconcile upgrades again instead of taking the
// rolled-back release for the new artifact.
func TestFailed_RollbackKeepsTheDigestOfWhatItRolledBackTo(t *testing.T) {
	ctx := context.Background()
	runner, kc := memoryRunner(t)
	r := &Reconciler{Recorder: events.NewFakeRecorder(100)}
	hr := &helmv1.HelmRelease{Spec: helmv1.HelmReleaseSpec{Upgrade: &helmv1.Upgrade{Remediation: &helmv1.UpgradeRemediation{Retries: 1}}}}
	hr.Generation = 1
	hr.Status.LastAttemptedGeneration = 1
	old := desired{chart: appChart(), valuesDigest: helm.ValuesDigest(nil), ociDigest: "sha256:old", generation: 1}
	if err := r.release(ctx, hr, runner, actInstall, old, false); err != nil {
		t.Fatal(err)
	}
	if s := hr.Status.History.Latest(); s == nil || s.OCIDigest != "sha256:old" {
		t.Fatalf("after the install: %+v", s)
	}

	// A new artifact of the same chart version, whose upgrade fails.
	next := old
	next.ociDigest = "sha256:new"
	kc.fail = true
	_ = r.release(ctx, hr, runner, actUpgrade, next, true)
	hist, err := runner.History()
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[0].Info.Status != "deployed" || hist[1].Info.Status != "failed" {
		t.Fatalf("history: %d versions, newest %s", len(hist), hist[0].Info.Status)
	}
	got := map[int]string{}
	for _, s := range hr.Status.History {
		got[s.Version] = s.OCIDigest
	}
	if got[1] != "sha256:old" || got[2] != "sha256:new" || got[3] != "sha256:old" {
		t.Errorf("OCI digests by version: %v, want v1 and v3 (the rollback to v1) old, v2 (the failed upgrade) new", got)
	}
	if act := decide(hr, hist[0], hist, next, false); act != actUpgrade {
		t.Errorf("after the rollback decide = %d, want an upgrade to the new artifact", act)
	}
}

// An upgrade that fails before Helm makes a version (the chart does not
// render) leaves the last version's origin alone: a release adopted without
// status.history is not stamped with the desired spec, which would make the
// next reconcile take it for released.
func TestFailed_WithoutANewVersionDoesNotStampTheLastOne(t *testing.T) {
	ctx := context.Background()
	runner, _ := memoryRunner(t)
	r := &Reconciler{Recorder: events.NewFakeRecorder(100)}
	hr := &helmv1.HelmRelease{}
	hr.Generation = 1
	hr.Status.LastAttemptedGeneration = 1
	old := desired{chart: appChart(), valuesDigest: helm.ValuesDigest(nil), specDigest: "sha256:old", generation: 1}
	if err := r.release(ctx, hr, runner, actInstall, old, false); err != nil {
		t.Fatal(err)
	}
	hr.Status.History = nil // adopted: its versions were not made by this HelmRelease

	broken := appChart()
	broken.Templates = append(broken.Templates, &common.File{Name: "templates/bad.yaml", Data: []byte(`{{ fail "does not render" }}`)})
	next := desired{chart: broken, valuesDigest: helm.ValuesDigest(nil), specDigest: "sha256:new", generation: 2}
	if err := r.release(ctx, hr, runner, actUpgrade, next, true); err == nil {
		t.Fatal("the upgrade of a chart that does not render succeeded")
	}
	hist, err := runner.History()
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 {
		t.Fatalf("the failed render made a version: %d versions", len(hist))
	}
	for _, s := range hr.Status.History {
		if s.SpecDigest == next.specDigest {
			t.Errorf("v%d is recorded with the failed upgrade's spec digest", s.Version)
		}
	}
	if act := decide(hr, hist[0], hist, next, false); act != actUpgrade {
		t.Errorf("decide = %d after the failed upgrade, want another upgrade", act)
	}
}

// A failed upgrade rolled back to a version whose origin status.history does
// not have (adopted, or older than the snapshots kept) is not taken for the
// desired state: the failed spec change is not dropped.
func TestFailed_RollbackToAVersionOfUnknownOriginIsNotInSync(t *testing.T) {
	ctx := context.Background()
	runner, kc := memoryRunner(t)
	r := &Reconciler{Recorder: events.NewFakeRecorder(100)}
	hr := &helmv1.HelmRelease{Spec: helmv1.HelmReleaseSpec{Upgrade: &helmv1.Upgrade{Remediation: &helmv1.UpgradeRemediation{Retries: 1}}}}
	hr.Generation = 2
	old := desired{chart: appChart(), valuesDigest: helm.ValuesDigest(nil), specDigest: "sha256:old", generation: 1}
	if err := r.release(ctx, hr, runner, actInstall, old, false); err != nil {
		t.Fatal(err)
	}
	hr.Status.History = nil

	next := old
	next.specDigest, next.generation = "sha256:new", 2
	hr.Status.LastAttemptedGeneration = next.generation // as recordAttempt sets it
	kc.fail = true
	_ = r.release(ctx, hr, runner, actUpgrade, next, true)
	hist, err := runner.History()
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[0].Info.Status != "deployed" {
		t.Fatalf("history: %d versions, newest %s; want the rollback v3 deployed", len(hist), hist[0].Info.Status)
	}
	if act := decide(hr, hist[0], hist, next, false); act != actUpgrade {
		t.Errorf("decide = %d after rolling back to a version of unknown origin, want an upgrade", act)
	}
}

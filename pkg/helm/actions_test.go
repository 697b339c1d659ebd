package helm

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
)

// memoryRunner returns a Runner on an in-memory release store and a fake
// cluster whose updates fail with updateErr.
func memoryRunner(t *testing.T) (*Runner, *kubefake.FailingKubeClient) {
	t.Helper()
	kc := &kubefake.FailingKubeClient{PrintingKubeClient: kubefake.PrintingKubeClient{Out: io.Discard}}
	cfg := action.NewConfiguration()
	cfg.Releases = storage.Init(driver.NewMemory())
	cfg.KubeClient = kc
	cfg.Capabilities = common.DefaultCapabilities
	return NewRunner(cfg, "app", "default"), kc
}

func testChart(version string, templates map[string]string) *chart.Chart {
	ch := &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: "app", Version: version}}
	for name, data := range templates {
		ch.Templates = append(ch.Templates, &common.File{Name: "templates/" + name, Data: []byte(data)})
	}
	return ch
}

const cmTemplate = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  msg: {{ .Values.msg | quote }}\n"

func TestRunner_InstallUpgradeRollbackKeepsHistory(t *testing.T) {
	r, kc := memoryRunner(t)
	ctx := context.Background()
	rel, err := r.Install(ctx, testChart("1.0.0", map[string]string{"cm.yaml": cmTemplate}), map[string]any{"msg": "one"}, InstallOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if rel.Version != 1 || rel.Info.Status != rcommon.StatusDeployed || !strings.Contains(rel.Manifest, `msg: "one"`) {
		t.Fatalf("install: v%d %s\n%s", rel.Version, rel.Info.Status, rel.Manifest)
	}
	rel, err = r.Upgrade(ctx, testChart("1.1.0", map[string]string{"cm.yaml": cmTemplate}), map[string]any{"msg": "two"}, UpgradeOptions{Timeout: time.Minute, MaxHistory: 5})
	if err != nil || rel.Version != 2 {
		t.Fatalf("upgrade: %v", err)
	}

	kc.UpdateError = errors.New("boom")
	if _, err := r.Upgrade(ctx, testChart("1.2.0", map[string]string{"cm.yaml": cmTemplate}), map[string]any{"msg": "three"}, UpgradeOptions{Timeout: time.Minute}); err == nil {
		t.Fatal("upgrade with a failing cluster succeeded")
	}
	last, _ := r.Last()
	if last.Version != 3 || last.Info.Status != rcommon.StatusFailed {
		t.Fatalf("failed upgrade: v%d %s", last.Version, last.Info.Status)
	}
	prev, err := r.PreviousDeployed()
	if err != nil || prev == nil || prev.Version != 2 {
		t.Fatalf("previous deployed: %v %v", prev, err)
	}
	kc.UpdateError = nil
	if err := r.Rollback(ctx, RollbackOptions{Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	last, _ = r.Last()
	if last.Version != 4 || last.Info.Status != rcommon.StatusDeployed || ChartVersion(last) != "1.1.0" {
		t.Fatalf("after rollback: v%d %s chart %s", last.Version, last.Info.Status, ChartVersion(last))
	}
	hist, _ := r.History()
	if len(hist) != 4 || hist[0].Version != 4 {
		t.Fatalf("history has %d versions, newest v%d", len(hist), hist[0].Version)
	}

	if err := r.Uninstall(ctx, UninstallOptions{Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if last, _ := r.Last(); last != nil {
		t.Fatalf("after uninstall: v%d %s", last.Version, last.Info.Status)
	}
	if err := r.Uninstall(ctx, UninstallOptions{}); err != nil {
		t.Errorf("uninstalling a missing release: %v", err)
	}
}

func TestRunner_RecoversAReleaseLeftPending(t *testing.T) {
	r, _ := memoryRunner(t)
	ctx := context.Background()
	ch := testChart("1.0.0", map[string]string{"cm.yaml": cmTemplate})
	if _, err := r.Install(ctx, ch, nil, InstallOptions{Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	// A reconciler killed mid-upgrade leaves the newest version pending.
	last, _ := r.Last()
	pending := *last
	info := *last.Info
	pending.Info = &info
	pending.Version = 2
	pending.SetStatus(rcommon.StatusPendingUpgrade, "upgrading")
	if err := r.cfg.Releases.Create(&pending); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Upgrade(ctx, ch, nil, UpgradeOptions{Timeout: time.Minute}); err == nil || !strings.Contains(err.Error(), "in progress") {
		t.Fatalf("Helm should refuse to upgrade a pending release, got %v", err)
	}
	from, err := r.RecoverPending()
	if err != nil || from != rcommon.StatusPendingUpgrade {
		t.Fatalf("recover: %q, %v", from, err)
	}
	if rel, err := r.Upgrade(ctx, ch, nil, UpgradeOptions{Timeout: time.Minute}); err != nil || rel.Version != 3 {
		t.Fatalf("upgrade after recovery: %v", err)
	}
	if from, err := r.RecoverPending(); from != "" || err != nil {
		t.Errorf("a deployed release was recovered: %q %v", from, err)
	}
}

func TestRunner_BadInputFailsBeforeANewVersion(t *testing.T) {
	r, _ := memoryRunner(t)
	ctx := context.Background()
	if _, err := r.Install(ctx, testChart("1.0.0", map[string]string{"cm.yaml": cmTemplate}), nil, InstallOptions{Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	bad := testChart("1.1.0", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n"})
	if _, err := r.Upgrade(ctx, bad, nil, UpgradeOptions{Timeout: time.Minute}); err == nil {
		t.Fatal("a template rendering invalid YAML upgraded")
	}
	schema := testChart("1.2.0", map[string]string{"cm.yaml": cmTemplate})
	schema.Schema = []byte(`{"type":"object","properties":{"msg":{"type":"string"}},"required":["msg"]}`)
	_, err := r.Upgrade(ctx, schema, map[string]any{"msg": 3}, UpgradeOptions{Timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "schema") {
		t.Fatalf("values against the schema: %v", err)
	}
	last, _ := r.Last()
	if last.Version != 1 || last.Info.Status != rcommon.StatusDeployed {
		t.Errorf("bad input changed the release: v%d %s", last.Version, last.Info.Status)
	}
}

package helmrelease

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/e2e/harness"
	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
)

// readyFalse waits until hr is Ready=False with reason and a message that
// contains all of parts, and returns it.
func readyFalse(t *testing.T, hr *helmv1.HelmRelease, reason string, parts ...string) *helmv1.HelmRelease {
	t.Helper()
	return harness.WaitFor(t, cluster, hr, "Ready=False "+reason+" saying "+strings.Join(parts, ", "), func(o *helmv1.HelmRelease) bool {
		c := meta.GetCondition(o, meta.ReadyCondition)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != reason {
			return false
		}
		for _, p := range parts {
			if !strings.Contains(c.Message, p) {
				return false
			}
		}
		return true
	})
}

// assertUntouched checks that release name is still at version 1, deployed,
// with the message of the first install.
func assertUntouched(t *testing.T, hr *helmv1.HelmRelease, ns, name, message string) {
	t.Helper()
	got := harness.Get(t, cluster, hr)
	if s := got.Status.History.Latest(); s == nil || s.Version != 1 || s.Status != "deployed" {
		t.Errorf("the release changed: history[0] %+v", s)
	}
	if secrets := releaseSecrets(t, ns, name); len(secrets) != 1 {
		t.Errorf("release Secrets %v, want only v1", secrets)
	}
	if d := configData(t, ns, name); d["message"] != message {
		t.Errorf("ConfigMap data %v", d)
	}
	deployment(t, ns, name)
}

func TestHelmRelease_VersionRangeMatchingNothingSaysSoAndKeepsTheRelease(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	fresh := f.release("none", ">=5.0.0", nil)
	harness.Create(t, cluster, fresh)
	got := readyFalse(t, fresh, meta.ArtifactFailedReason, `no version of chart "app" satisfies ">=5.0.0"`)
	if meta.IsStalled(got) {
		t.Error("a version may be published later: not stalled")
	}

	hr := f.release("kept", "1.x", map[string]any{"message": "v1"})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)
	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Chart.Spec.Version = ">=5.0.0" })
	readyFalse(t, hr, meta.ArtifactFailedReason, "HelmChart "+f.ns+"/"+f.ns+"-kept", `satisfies ">=5.0.0"`)
	assertUntouched(t, hr, f.ns, "kept", "v1")

	// Publishing a matching version is picked up.
	publish(t, f.srv, "app", "5.0.0", chartOpts{})
	got = waitRelease(t, hr, 2)
	if s := got.Status.History.Latest(); s.ChartVersion != "5.0.0" {
		t.Errorf("history[0] %+v", s)
	}
}

func TestHelmRelease_ValuesFailingTheSchemaAreRefusedBeforeTheCluster(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	schema := `{"$schema":"https://json-schema.org/draft-07/schema#","type":"object","properties":{"message":{"type":"string","maxLength":10}}}`
	publish(t, f.srv, "app", "1.0.0", chartOpts{schema: schema})

	bad := f.release("badinstall", "*", map[string]any{"message": 42})
	harness.Create(t, cluster, bad)
	readyFalse(t, bad, helmv1.InstallFailedReason, "schema", "message")
	if secrets := releaseSecrets(t, f.ns, "badinstall"); len(secrets) != 0 {
		t.Errorf("values failing the schema made release Secrets %v", secrets)
	}

	hr := f.release("schema", "*", map[string]any{"message": "ok"})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)
	update(t, hr, func(s *helmv1.HelmReleaseSpec) {
		s.Values = jsonValues(map[string]any{"message": "much too long for the schema"})
	})
	got := readyFalse(t, hr, helmv1.UpgradeFailedReason, "schema")
	t.Logf("Ready: %s", condition(got, meta.ReadyCondition))
	assertUntouched(t, hr, f.ns, "schema", "ok")
}

func TestHelmRelease_TemplateRenderingInvalidYAMLKeepsTheRelease(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("yaml", "*", map[string]any{"message": "v1"})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)

	publish(t, f.srv, "app", "1.1.0", chartOpts{brokenTemplate: true})
	got := readyFalse(t, hr, helmv1.UpgradeFailedReason, "app@1.1.0", "broken.yaml")
	t.Logf("Ready: %s", condition(got, meta.ReadyCondition))
	assertUntouched(t, hr, f.ns, "yaml", "v1")
	if got.Status.LastAttemptedRevision != "1.1.0" {
		t.Errorf("lastAttemptedRevision %q", got.Status.LastAttemptedRevision)
	}
}

func TestHelmRelease_MissingValuesFromSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})

	optional := f.release("optional", "*", nil, func(s *helmv1.HelmReleaseSpec) {
		s.ValuesFrom = []helmv1.ValuesReference{{Kind: "Secret", Name: "missing", Optional: true}}
	})
	harness.Create(t, cluster, optional)
	waitRelease(t, optional, 1)

	required := f.release("required", "*", nil, func(s *helmv1.HelmReleaseSpec) {
		s.ValuesFrom = []helmv1.ValuesReference{{Kind: "Secret", Name: "later", ValuesKey: "values.yaml"}}
	})
	harness.Create(t, cluster, required)
	got := readyFalse(t, required, helmv1.ValuesFromFailedReason, "Secret "+f.ns+"/later not found")
	if secrets := releaseSecrets(t, f.ns, "required"); len(secrets) != 0 {
		t.Errorf("release Secrets %v without its values", secrets)
	}
	t.Logf("Ready: %s", condition(got, meta.ReadyCondition))

	// Creating the Secret is watched: the release is installed with it.
	start := time.Now()
	harness.CreateSecret(t, cluster, f.ns, "later", map[string][]byte{"values.yaml": []byte("message: at-last\n")})
	waitRelease(t, required, 1)
	t.Logf("installed %v after the Secret was created", time.Since(start).Round(time.Millisecond))
	if d := configData(t, f.ns, "required"); d["message"] != "at-last" {
		t.Errorf("ConfigMap data %v", d)
	}
}

func TestHelmRelease_ChartRepositoryDownKeepsTheRelease(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{})
	hr := f.release("down", "*", map[string]any{"message": "v1"})
	harness.Create(t, cluster, hr)
	waitRelease(t, hr, 1)

	f.srv.Down()
	defer f.srv.Up()
	// The HelmRepository notices (interval 2s) and the release stays.
	repo := harness.WaitFor(t, cluster, &sourcev1.HelmRepository{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "charts"}},
		"not Ready", func(o *sourcev1.HelmRepository) bool { return meta.IsFalse(o, meta.ReadyCondition) })
	t.Logf("HelmRepository: %s", harness.Conditions(repo))
	// The HelmChart keeps serving the chart it stored: the release is in
	// sync, not failed.
	got := harness.ReconcileAndWait(t, cluster, hr)
	if c := meta.GetCondition(got, meta.ReadyCondition); c == nil || c.Status != metav1.ConditionTrue ||
		!strings.Contains(c.Message, "Helm release "+f.ns+"/down.v1 with chart app@1.0.0 is in sync") {
		t.Errorf("HelmRelease with its repository down: %s", harness.Conditions(got))
	}
	assertUntouched(t, hr, f.ns, "down", "v1")

	// A values change still upgrades from the chart in storage.
	update(t, hr, func(s *helmv1.HelmReleaseSpec) { s.Values = jsonValues(map[string]any{"message": "v2"}) })
	waitRelease(t, hr, 2)
	if d := configData(t, f.ns, "down"); d["message"] != "v2" {
		t.Errorf("ConfigMap data %v", d)
	}
}

func TestHelmRelease_UnknownFieldIsRefusedByTheAPIServer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	publish(t, f.srv, "app", "1.0.0", chartOpts{unknownField: true})
	hr := f.release("strict", "*", nil)
	harness.Create(t, cluster, hr)
	got := readyFalse(t, hr, helmv1.InstallFailedReason, "bogusField")
	t.Logf("Ready: %s", condition(got, meta.ReadyCondition))
}

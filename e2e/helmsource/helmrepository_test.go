package helmsource

import (
	"strings"
	"testing"
	"time"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/chartrepo"
)

func TestHelmRepository_StoresIndexAsArtifact(t *testing.T) {
	ns := newNamespace(t)
	srv := chartrepo.New(t)
	srv.Publish("app", "1.0.0")

	obj := helmRepo(ns, "charts", srv.URL(), func(s *sourcev1.HelmRepositorySpec) { s.Interval = every(time.Hour) })
	harness.Create(t, cluster, obj)
	got := harness.WaitFor(t, cluster, obj, "an index artifact", func(o *sourcev1.HelmRepository) bool {
		return meta.IsReady(o) && o.Status.Artifact != nil
	})
	a := got.Status.Artifact
	if !strings.HasPrefix(a.Revision, "sha256:") || a.Revision != a.Digest || !strings.HasSuffix(a.Path, ".yaml") {
		t.Errorf("artifact %+v: want revision = digest of the index, a .yaml file", a)
	}
	if !strings.Contains(string(harness.DownloadArtifact(t, a)), "app-1.0.0.tgz") {
		t.Error("the stored index does not list the published chart")
	}
	if got.Status.URL != a.URL || !meta.IsTrue(got, meta.ArtifactInStorageCondition) {
		t.Errorf("status: url %q, %s", got.Status.URL, harness.Conditions(got))
	}

	// An unchanged index makes no new artifact.
	again := harness.ReconcileAndWait(t, cluster, obj)
	if again.Status.Artifact.Digest != a.Digest || !again.Status.Artifact.LastUpdateTime.Equal(&a.LastUpdateTime) {
		t.Errorf("unchanged index stored again: %+v", again.Status.Artifact)
	}

	// A changed index does.
	srv.Publish("app", "1.1.0")
	v := harness.RequestReconcile(t, cluster, obj)
	changed := harness.WaitFor(t, cluster, obj, "a new index", func(o *sourcev1.HelmRepository) bool {
		return o.Status.LastHandledReconcileAt == v && o.Status.Artifact.Digest != a.Digest
	})
	if !strings.Contains(string(harness.DownloadArtifact(t, changed.Status.Artifact)), "app-1.1.0.tgz") {
		t.Error("the new index does not list 1.1.0")
	}
}

func TestHelmRepository_BasicAuth(t *testing.T) {
	ns := newNamespace(t)
	srv := chartrepo.New(t, chartrepo.WithBasicAuth("user", "s3cret-pass"))
	srv.Publish("app", "1.0.0")

	anon := helmRepo(ns, "anon", srv.URL())
	harness.Create(t, cluster, anon)
	got := harness.WaitForReason(t, cluster, anon, meta.AuthenticationFailedReason)
	if meta.IsStalled(got) {
		t.Errorf("an authentication failure must be retried, not stalled: %s", harness.Conditions(got))
	}

	harness.CreateSecret(t, cluster, ns, "wrong", map[string][]byte{"username": []byte("user"), "password": []byte("not-it")})
	wrong := helmRepo(ns, "wrong", srv.URL(), func(s *sourcev1.HelmRepositorySpec) { s.SecretRef = &meta.LocalObjectReference{Name: "wrong"} })
	harness.Create(t, cluster, wrong)
	got = harness.WaitForReason(t, cluster, wrong, meta.AuthenticationFailedReason)
	if strings.Contains(harness.Conditions(got), "not-it") {
		t.Errorf("the password leaked into status: %s", harness.Conditions(got))
	}

	harness.CreateSecret(t, cluster, ns, "creds", map[string][]byte{"username": []byte("user"), "password": []byte("s3cret-pass")})
	ok := helmRepo(ns, "ok", srv.URL(), func(s *sourcev1.HelmRepositorySpec) { s.SecretRef = &meta.LocalObjectReference{Name: "creds"} })
	harness.Create(t, cluster, ok)
	harness.WaitFor(t, cluster, ok, "an index artifact", func(o *sourcev1.HelmRepository) bool { return meta.IsReady(o) && o.Status.Artifact != nil })
}

func TestHelmRepository_TLSWithCASecret(t *testing.T) {
	ns := newNamespace(t)
	srv := chartrepo.New(t, chartrepo.WithClientCerts())
	srv.Publish("app", "1.0.0")
	cert, key := srv.ClientCertPEM()
	harness.CreateSecret(t, cluster, ns, "tls", map[string][]byte{"ca.crt": srv.CAPEM(), "tls.crt": cert, "tls.key": key})

	untrusted := helmRepo(ns, "untrusted", srv.URL())
	harness.Create(t, cluster, untrusted)
	harness.WaitForReason(t, cluster, untrusted, sourcev1.IndexationFailedReason)

	obj := helmRepo(ns, "tls", srv.URL(), func(s *sourcev1.HelmRepositorySpec) { s.CertSecretRef = &meta.LocalObjectReference{Name: "tls"} })
	harness.Create(t, cluster, obj)
	harness.WaitFor(t, cluster, obj, "an index artifact", func(o *sourcev1.HelmRepository) bool { return meta.IsReady(o) && o.Status.Artifact != nil })
}

func TestHelmRepository_OutageKeepsTheLastArtifact(t *testing.T) {
	ns := newNamespace(t)
	srv := chartrepo.New(t)
	srv.Publish("app", "1.0.0")
	obj := helmRepo(ns, "charts", srv.URL(), func(s *sourcev1.HelmRepositorySpec) { s.Interval = every(time.Second) })
	harness.Create(t, cluster, obj)
	chart := helmChart(ns, "app", sourcev1.HelmRepositoryKind, "charts", "app", "*")
	harness.Create(t, cluster, chart)
	ready := harness.WaitFor(t, cluster, obj, "an index artifact", func(o *sourcev1.HelmRepository) bool { return meta.IsReady(o) && o.Status.Artifact != nil })
	harness.WaitForRevision(t, cluster, chart, "1.0.0")

	srv.Down()
	down := harness.WaitForReason(t, cluster, obj, sourcev1.IndexationFailedReason)
	if down.Status.Artifact == nil || down.Status.Artifact.Digest != ready.Status.Artifact.Digest {
		t.Fatalf("the last artifact must stay while the repository is down: %+v", down.Status.Artifact)
	}
	if !meta.IsTrue(down, meta.FetchFailedCondition) {
		t.Errorf("want FetchFailed=True: %s", harness.Conditions(down))
	}
	harness.DownloadArtifact(t, down.Status.Artifact) // still served
	if c := harness.Get(t, cluster, chart); !meta.IsReady(c) || c.Status.Artifact.Revision != "1.0.0" {
		t.Errorf("the HelmChart must keep its artifact: %s", harness.Conditions(c))
	}

	srv.Up()
	back := harness.WaitReady(t, cluster, obj)
	if meta.GetCondition(back, meta.FetchFailedCondition) != nil {
		t.Errorf("FetchFailed must go once the repository is back: %s", harness.Conditions(back))
	}
}

func TestHelmRepository_OCIValidatesLoginAndStoresNoIndex(t *testing.T) {
	ns := newNamespace(t)
	reg := chartrepo.NewRegistry(t, chartrepo.WithBasicAuth("user", "s3cret-pass"))
	reg.Push("app", "1.0.0")
	harness.CreateSecret(t, cluster, ns, "wrong", map[string][]byte{"username": []byte("user"), "password": []byte("not-it")})
	harness.CreateSecret(t, cluster, ns, "creds", map[string][]byte{"username": []byte("user"), "password": []byte("s3cret-pass")})
	oci := func(secret string) func(*sourcev1.HelmRepositorySpec) {
		return func(s *sourcev1.HelmRepositorySpec) {
			s.Type, s.Insecure, s.SecretRef = sourcev1.HelmRepositoryTypeOCI, true, &meta.LocalObjectReference{Name: secret}
		}
	}
	wrong := helmRepo(ns, "wrong", reg.URL(), oci("wrong"))
	harness.Create(t, cluster, wrong)
	harness.WaitForReason(t, cluster, wrong, meta.AuthenticationFailedReason)

	obj := helmRepo(ns, "oci", reg.URL(), oci("creds"))
	harness.Create(t, cluster, obj)
	got := harness.WaitReady(t, cluster, obj)
	c := meta.GetCondition(got, meta.ReadyCondition)
	if c.Reason != meta.SucceededReason || !strings.Contains(c.Message, "per release") || got.Status.Artifact != nil {
		t.Errorf("OCI repository: %s, artifact %+v", harness.Conditions(got), got.Status.Artifact)
	}
}

package kustomization

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/e2e/harness"
	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
)

func TestKustomization_PostBuildSubstitutesFromConfigMapSecretAndSpec(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"app/vars.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: vars
data:
  greeting: "${GREETING}"
  region: "${REGION}"
  token: "${TOKEN}"
  fallback: "${UNSET_VAR:=dflt}"
  escaped: "$${GREETING}"
`,
		"app/raw.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: raw
  annotations:
    kustomize.tether.dev/substitute: disabled
data:
  template: "${GREETING}"
`,
	})
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "cluster-vars"}, Data: map[string]string{"GREETING": "hello", "REGION": "eu"}}
	harness.Create(t, cluster, cm)
	harness.CreateSecret(t, cluster, f.ns, "secret-vars", map[string][]byte{"TOKEN": []byte("tok-from-secret")})

	ks := f.kustomization(t, "app", "app", func(s *kustomizev1.KustomizationSpec) {
		s.PostBuild = &kustomizev1.PostBuild{
			Substitute: map[string]string{"REGION": "us"}, // wins over the ConfigMap
			SubstituteFrom: []kustomizev1.SubstituteReference{
				{Kind: "ConfigMap", Name: "cluster-vars"},
				{Kind: "Secret", Name: "secret-vars"},
				{Kind: "ConfigMap", Name: "absent", Optional: true},
			},
		}
	})
	waitApplied(t, ks, f.revision(t))

	want := map[string]string{"greeting": "hello", "region": "us", "token": "tok-from-secret", "fallback": "dflt", "escaped": "${GREETING}"}
	got := cmData(t, f.ns, "vars")
	for k, v := range want {
		if got[k] != v {
			t.Errorf("vars[%s] = %q, want %q", k, got[k], v)
		}
	}
	if d := cmData(t, f.ns, "raw"); d["template"] != "${GREETING}" {
		t.Errorf("an object annotated substitute: disabled was substituted: %q", d["template"])
	}
}

func TestKustomization_SOPSDecryptsSecretsWithoutShowingThePlaintext(t *testing.T) {
	t.Parallel()
	secretKey, recipient := ageIdentity(t)
	const password = "pw-sops-plaintext-4c1d2e"
	const username = "user-sops-plaintext-9b8a"
	f := newFixture(t, map[string]string{
		"app/secret.yaml": sopsSecret(t, "", "db-credentials", map[string]string{"password": password, "username": username}, recipient),
		"app/cm.yaml":     configMap("", "plain", map[string]string{"a": "b"}),
	})
	harness.CreateSecret(t, cluster, f.ns, "sops-age", map[string][]byte{"identity.agekey": []byte(secretKey + "\n")})
	ks := f.kustomization(t, "app", "app", func(s *kustomizev1.KustomizationSpec) {
		s.Decryption = &kustomizev1.Decryption{Provider: kustomizev1.DecryptionProviderSOPS, SecretRef: &meta.LocalObjectReference{Name: "sops-age"}}
	})
	got := waitApplied(t, ks, f.revision(t))

	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "db-credentials"}}
	mustGet(t, sec)
	if string(sec.Data["password"]) != password || string(sec.Data["username"]) != username {
		t.Errorf("Secret data = %q, want the decrypted values", sec.Data)
	}
	if strings.Contains(string(sec.Data["password"]), "ENC[") {
		t.Errorf("the Secret holds the encrypted value")
	}

	// Change the secret in Git: the new value is applied, and still never
	// shown.
	const password2 = "pw-sops-plaintext-second-77e1"
	rev := f.commit(t, map[string]string{"app/secret.yaml": sopsSecret(t, "", "db-credentials", map[string]string{"password": password2, "username": username}, recipient)}, "rotate")
	got = waitApplied(t, ks, rev)
	mustGet(t, sec)
	if string(sec.Data["password"]) != password2 {
		t.Errorf("after rotation password = %q", sec.Data["password"])
	}

	status, err := json.Marshal(got.Status)
	if err != nil {
		t.Fatal(err)
	}
	events := strings.Join(kustomizationEvents(t, got), "\n")
	log := reconciler.Log(1 << 24)
	for _, secret := range []string{password, password2, username, secretKey} {
		if strings.Contains(string(status), secret) {
			t.Errorf("status contains a secret value %q: %s", secret, status)
		}
		if strings.Contains(events, secret) {
			t.Errorf("events contain a secret value %q:\n%s", secret, events)
		}
		if strings.Contains(log, secret) {
			t.Errorf("the reconciler log contains a secret value %q", secret)
		}
	}
	// The events were the right ones to look at: they report the Secret.
	mustContain(t, "events of the Kustomization", events, "Secret/"+f.ns+"/db-credentials")
}

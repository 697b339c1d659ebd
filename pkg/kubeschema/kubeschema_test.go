package kubeschema

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestEmbedded_NewestIsTheTestControlPlaneVersion(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "hack", "k8s-versions.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pinned := ""
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), "TETHER_K8S_VERSION_DEFAULT="); ok {
			pinned = strings.Trim(v, `"`)
		}
	}
	versions := EmbeddedVersions()
	if len(versions) == 0 || versions[0] != pinned {
		t.Errorf("embedded versions %v: the newest must be the test control plane's %s (hack/k8s-versions.env): run make k8s-schemas", versions, pinned)
	}
}

func TestEmbedded_PicksTheMinorVersion(t *testing.T) {
	newest, err := Embedded("")
	if err != nil || newest.Version != EmbeddedVersions()[0] {
		t.Fatalf("Embedded(\"\") = %v, %v", newest, err)
	}
	for _, v := range []string{"1.35", "v1.35", "1.35.0", "v1.35.99"} {
		s, err := Embedded(v)
		if err != nil || !strings.HasPrefix(s.Version, "v1.35.") || s.Name() != "Kubernetes 1.35" {
			t.Errorf("Embedded(%q) = %v, %v", v, s, err)
		}
	}
	if _, err := Embedded("1.20"); err == nil || !strings.Contains(err.Error(), "--schema-dir") {
		t.Errorf("Embedded(1.20): %v", err)
	}
	if _, err := Embedded("latest"); err == nil || !strings.Contains(err.Error(), "MAJOR.MINOR") {
		t.Errorf("Embedded(latest): %v", err)
	}
}

func TestEmbedded_ServedKindsFollowTheVersion(t *testing.T) {
	v135, err := Embedded("1.35")
	if err != nil {
		t.Fatal(err)
	}
	v137, err := Embedded("1.37")
	if err != nil {
		t.Fatal(err)
	}
	gvk := func(g, v, k string) schema.GroupVersionKind {
		return schema.GroupVersionKind{Group: g, Version: v, Kind: k}
	}
	for _, tc := range []struct {
		set  *Set
		gvk  schema.GroupVersionKind
		want bool
	}{
		{v135, gvk("apps", "v1", "Deployment"), true},
		{v135, gvk("batch", "v1", "CronJob"), true},
		{v135, gvk("batch", "v1beta1", "CronJob"), false},
		{v135, gvk("policy", "v1beta1", "PodSecurityPolicy"), false},
		{v135, gvk("admissionregistration.k8s.io", "v1", "MutatingAdmissionPolicy"), false},
		{v137, gvk("admissionregistration.k8s.io", "v1", "MutatingAdmissionPolicy"), true},
		{v135, gvk("networking.k8s.io", "v1beta1", "ServiceCIDR"), true},
		{v137, gvk("networking.k8s.io", "v1beta1", "ServiceCIDR"), false},
	} {
		if got := tc.set.Served(tc.gvk); got != tc.want {
			t.Errorf("%s serves %s: %v, want %v", tc.set.Name(), tc.gvk, got, tc.want)
		}
	}
	if alts := v135.Alternatives("batch", "CronJob"); len(alts) == 0 || alts[0].String() != "batch/v1" {
		t.Errorf("alternatives of batch CronJob: %v", alts)
	}
	if alts := v135.Alternatives("extensions", "Ingress"); len(alts) == 0 || alts[0].String() != "networking.k8s.io/v1" {
		t.Errorf("alternatives of extensions Ingress: %v", alts)
	}
	if !v135.KnowsGroup("extensions") || !v135.KnowsGroup("") || !v135.KnowsGroup("policy") || v135.KnowsGroup("example.com") {
		t.Error("KnowsGroup")
	}
	apis := v135.APIVersions()
	for _, want := range []string{"apps/v1", "apps/v1/Deployment", "v1", "v1/ConfigMap"} {
		if !slices.Contains(apis, want) {
			t.Errorf("APIVersions lacks %s", want)
		}
	}
}

func TestLoadDir_CompactsAndInlines(t *testing.T) {
	s, err := LoadDir("testdata/openapi")
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "v1.30.2" || s.Name() != "Kubernetes 1.30" {
		t.Errorf("version %q, name %q", s.Version, s.Name())
	}
	// Kinds of apimachinery (DeleteOptions) are left out, and so are the
	// definitions no kind reaches.
	if len(s.Kinds) != 1 || s.Kinds["example.k8s.io/v1/Widget"] != "io.k8s.api.example.v1.Widget" {
		t.Errorf("kinds %v", s.Kinds)
	}
	if _, ok := s.Definitions["io.k8s.api.example.v1.Unused"]; ok {
		t.Error("an unreachable definition was kept")
	}
	props, ok := s.Schema(schema.GroupVersionKind{Group: "example.k8s.io", Version: "v1", Kind: "Widget"})
	if !ok {
		t.Fatal("no schema for Widget")
	}
	js, _ := json.Marshal(props)
	got := string(js)
	for _, want := range []string{
		`"metadata":{"type":"object","properties":{"labels":{"type":"object","additionalProperties":{"type":"string"}},"name":{"type":"string"}}}`,
		`"port":{"x-kubernetes-int-or-string":true}`,
		`"memory":{"pattern":`,
		`"raw":{"type":"object","x-kubernetes-preserve-unknown-fields":true}`,
		// The recursion stops at the first repetition.
		`"parts":{"type":"array","items":{"x-kubernetes-preserve-unknown-fields":true}}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("schema lacks %s:\n%s", want, got)
		}
	}
	for _, gone := range []string{"description", "default", "$ref", "x-kubernetes-list-type", "oneOf"} {
		if strings.Contains(got, gone) {
			t.Errorf("schema still has %s:\n%s", gone, got)
		}
	}
}

func TestLoadDir_RejectsWhatIsNotOpenAPIv3(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "no OpenAPI v3 documents") {
		t.Errorf("empty dir: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "swagger.json"), []byte(`{"swagger": "2.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "is not an OpenAPI v3 document") {
		t.Errorf("swagger 2.0: %v", err)
	}
}

func TestMajorMinor(t *testing.T) {
	for in, want := range map[string]bool{"1.35": true, "v1.35": true, "v1.35.4": true, "1.35.4-gke.1": true, "1": false, "1.x": false, "": false, "v1.35.x": false} {
		if _, _, ok := MajorMinor(in); ok != want {
			t.Errorf("MajorMinor(%q) ok = %v, want %v", in, ok, want)
		}
	}
}

package manifestgen

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestGenerate_OrdersDefinitionsFirstAndLabelsEverything(t *testing.T) {
	objs, err := Generate(Options{Version: "v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) < 10 {
		t.Fatalf("got %d objects, want namespace, 7 CRDs, RBAC and the reconciler", len(objs))
	}
	if objs[0].GetKind() != "Namespace" || objs[0].GetName() != DefaultNamespace {
		t.Errorf("first object = %s/%s, want Namespace/%s", objs[0].GetKind(), objs[0].GetName(), DefaultNamespace)
	}
	lastCRD, firstOther := -1, len(objs)
	crds := map[string]bool{}
	for i, u := range objs {
		if u.GetKind() == "CustomResourceDefinition" {
			lastCRD = i
			crds[u.GetName()] = true
		} else if i > 0 && i < firstOther {
			firstOther = i
		}
		if u.GetLabels()[PartOfLabel] != PartOfValue || u.GetLabels()[VersionLabel] != "v1.2.3" {
			t.Errorf("%s/%s labels = %v, want part-of and version", u.GetKind(), u.GetName(), u.GetLabels())
		}
		if u.GetKind() == "Kustomization" {
			t.Errorf("a kustomize config file leaked into the install objects")
		}
	}
	if lastCRD > firstOther {
		t.Errorf("CRDs must come before other objects: last CRD at %d, first other at %d", lastCRD, firstOther)
	}
	for _, name := range []string{
		"gitrepositories.source.tether.dev", "helmrepositories.source.tether.dev", "helmcharts.source.tether.dev",
		"buckets.source.tether.dev", "ocirepositories.source.tether.dev",
		"kustomizations.kustomize.tether.dev", "helmreleases.helm.tether.dev",
	} {
		if !crds[name] {
			t.Errorf("CRD %s missing from the install objects", name)
		}
	}
}

func TestGenerate_Image(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"default registry and version", Options{Version: "v0.4.0"}, "ghcr.io/tether-gitops/tether-reconciler:v0.4.0"},
		{"mirror registry", Options{Version: "v0.4.0", Registry: "registry.local:5000/mirror/"}, "registry.local:5000/mirror/tether-reconciler:v0.4.0"},
		{"image overrides all", Options{Version: "v0.4.0", Registry: "x.io", Image: "my/reconciler:dev"}, "my/reconciler:dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Generate(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			d := find(objs, "Deployment", DeploymentName)
			if d == nil {
				t.Fatal("no reconciler Deployment")
			}
			containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
			if got := containers[0].(map[string]any)["image"]; got != tt.want {
				t.Errorf("image = %v, want %s", got, tt.want)
			}
		})
	}
}

func TestGenerate_Namespace(t *testing.T) {
	objs, err := Generate(Options{Version: "v0.1.0", Namespace: "gitops"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range objs {
		switch u.GetKind() {
		case "Namespace":
			if u.GetName() != "gitops" {
				t.Errorf("namespace object named %q", u.GetName())
			}
		case "ClusterRoleBinding":
			subjects, _, _ := unstructured.NestedSlice(u.Object, "subjects")
			if ns := subjects[0].(map[string]any)["namespace"]; ns != "gitops" {
				t.Errorf("%s binds a service account in %v", u.GetName(), ns)
			}
		case "ServiceAccount", "Deployment", "Service":
			if u.GetNamespace() != "gitops" {
				t.Errorf("%s/%s in namespace %q", u.GetKind(), u.GetName(), u.GetNamespace())
			}
		}
	}
}

func TestOptions_ValidateRejectsBadInput(t *testing.T) {
	for _, o := range []Options{
		{Version: "nosuch"},
		{Version: "1.2.3"},
		{Version: ""},
		{Version: "v1.2.3", Registry: "https://ghcr.io"},
		{Version: "v1.2.3", Namespace: "Not_A_Label"},
	} {
		err := o.Validate()
		if err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", o)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error should be one line: %q", err)
		}
	}
	if err := (Options{Version: "v1.2.3-rc.1"}).Validate(); err != nil {
		t.Errorf("pre-release rejected: %v", err)
	}
}

func TestDecodeEncodeRoundTrip(t *testing.T) {
	in := "# a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n---\n# only a comment\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n"
	objs, err := Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].GetName() != "a" || objs[1].GetKind() != "Secret" {
		t.Fatalf("decoded %d objects: %v", len(objs), objs)
	}
	out, err := Encode(objs)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Decode(out)
	if err != nil || len(again) != 2 {
		t.Fatalf("round trip: %v, %d objects", err, len(again))
	}
	if _, err := Decode([]byte("metadata:\n  name: x\n")); err == nil {
		t.Error("an object without kind must be rejected")
	}
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, u := range objs {
		if u.GetKind() == kind && u.GetName() == name {
			return u
		}
	}
	return nil
}

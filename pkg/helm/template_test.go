package helm

import (
	"context"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
)

func TestSplitManifest_NamesTheTemplateOfEachDocument(t *testing.T) {
	m := "---\n# Source: app/templates/a.yaml\nkind: A\n---\n# Source: app/templates/b.yaml\nkind: B\n---   \n\n---\nkind: C\n"
	got := SplitManifest(m)
	if len(got) != 3 || got[0].Source != "app/templates/a.yaml" || got[1].Source != "app/templates/b.yaml" || got[2].Source != "" ||
		!strings.Contains(got[1].Content, "kind: B") {
		t.Errorf("SplitManifest = %+v", got)
	}
}

func TestTemplate_RendersWithoutAClusterForTheKubernetesVersionGiven(t *testing.T) {
	ch := &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: "v2", Name: "app", Version: "1.0.0", KubeVersion: ">=1.30.0-0"},
		Templates: []*common.File{
			{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version }}\n  widget: {{ .Capabilities.APIVersions.Has \"example.com/v1/Widget\" | quote }}\n  value: {{ .Values.v }}\n")},
			{Name: "templates/hook.yaml", Data: []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: hook\n  annotations:\n    helm.sh/hook: pre-install\n")},
		},
	}
	got, err := Template(context.Background(), ch, map[string]any{"v": "x"}, TemplateOptions{ReleaseName: "rel", Namespace: "ns",
		KubeVersion: "v1.35.4", APIVersions: []string{"example.com/v1/Widget"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Source != "app/templates/cm.yaml" || got[1].Source != "app/templates/hook.yaml" {
		t.Fatalf("manifests %+v", got)
	}
	for _, want := range []string{"name: rel", "namespace: ns", "kube: v1.35.4", `widget: "true"`, "value: x"} {
		if !strings.Contains(got[0].Content, want) {
			t.Errorf("no %q in\n%s", want, got[0].Content)
		}
	}
	_, err = Template(context.Background(), ch, nil, TemplateOptions{ReleaseName: "rel", Namespace: "ns", KubeVersion: "v1.29.0"})
	if err == nil || !strings.Contains(err.Error(), "incompatible with Kubernetes v1.29.0") {
		t.Errorf("kubeVersion constraint: %v", err)
	}
}

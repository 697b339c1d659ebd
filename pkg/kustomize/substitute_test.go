package kustomize

import (
	"maps"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
)

// substApp has variables in every form, and one object that opts out.
var substApp = files{
	"app/kustomization.yaml": "resources:\n- deploy.yaml\n- cm.yaml\n- optout.yaml\n",
	"app/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-${ENV:=dev}
  namespace: ns
spec:
  replicas: ${REPLICAS}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: main
        image: nginx:${TAG:-latest}
        env:
        - name: PORT
          value: "${PORT}"
        - name: WINDOWS_PATH
          value: "C:\\dir\\${SUB}"
        - name: LITERAL
          value: "$${NOT_A_VAR}"
`,
	"app/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  namespace: ns
data:
  plain: "no variables here \\ $HOME"
  script: |
    echo $HOME ${GREETING:=hello}
`,
	"app/optout.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: raw
  namespace: ns
  annotations:
    kustomize.tether.dev/substitute: disabled
data:
  tpl: ${UNDEFINED}
`,
}

func TestBuild_SubstitutesVarsKeepingTheSourceTypes(t *testing.T) {
	vars := map[string]string{"REPLICAS": "3", "PORT": "8080", "SUB": "x", "ENV": "prod"}
	objs, err := Build(load(t, substApp), Options{Path: "app", Vars: vars,
		CommonMetadata: &kustomizev1.CommonMetadata{Labels: map[string]string{"env": "${ENV}"}}})
	if err != nil {
		t.Fatal(err)
	}
	d := find(t, objs, "Deployment", "web-prod")
	if l := d.GetLabels()["env"]; l != "prod" {
		t.Errorf("commonMetadata label env = %q, want it substituted", l)
	}
	if r := nested(t, d, "spec", "replicas"); r != int64(3) {
		t.Errorf("replicas = %#v, want int 3", r)
	}
	if img := image(t, d); img != "nginx:latest" {
		t.Errorf("image = %s, want the default tag", img)
	}
	env := nested(t, d, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["env"].([]any)
	want := map[string]any{"PORT": "8080", "WINDOWS_PATH": `C:\dir\x`, "LITERAL": "${NOT_A_VAR}"}
	for _, e := range env {
		e := e.(map[string]any)
		if e["value"] != want[e["name"].(string)] {
			t.Errorf("env %s = %#v, want %#v", e["name"], e["value"], want[e["name"].(string)])
		}
	}
	cm := find(t, objs, "ConfigMap", "cfg")
	if s := nested(t, cm, "data", "script"); s != "echo $HOME hello\n" {
		t.Errorf("script = %q", s)
	}
	if s := nested(t, cm, "data", "plain"); s != `no variables here \ $HOME` {
		t.Errorf("plain = %q", s)
	}
	if s := nested(t, find(t, objs, "ConfigMap", "raw"), "data", "tpl"); s != "${UNDEFINED}" {
		t.Errorf("opted-out object substituted: %q", s)
	}
}

func TestBuild_MissingVarsNameTheObjectAndTheVars(t *testing.T) {
	_, err := Build(load(t, substApp), Options{Path: "app", Vars: map[string]string{"SUB": ""}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"Deployment ns/web-${ENV:=dev}", "PORT, REPLICAS"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "UNDEFINED") || strings.Contains(err.Error(), "GREETING") {
		t.Errorf("error %q names variables with defaults or opted out", err)
	}
}

func TestBuild_NilVarsSkipSubstitution(t *testing.T) {
	objs, err := Build(load(t, substApp), Options{Path: "app"})
	if err != nil {
		t.Fatal(err)
	}
	find(t, objs, "Deployment", "web-${ENV:=dev}")
}

func TestBuild_SubstitutionBreakingYAMLIsAnErrorNamingTheObject(t *testing.T) {
	fs := files{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: ${V}\n"}
	_, err := Build(load(t, fs), Options{Vars: map[string]string{"V": "a: b: c"}})
	if err == nil || !strings.Contains(err.Error(), "ConfigMap c: YAML after substitution is invalid") {
		t.Errorf("error = %v", err)
	}
}

func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSubstitute(t *testing.T) {
	const deploy = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ns
spec:
  replicas: ${REPLICAS}
  paused: ${PAUSED:=false}
  template:
    metadata:
      labels:
        tier: ${TIER:=front}
`
	tests := []struct {
		name    string
		in      string
		vars    map[string]string
		want    map[string]any // field path (dot-separated) -> value
		wantErr []string
	}{
		{name: "numbers and booleans keep their YAML type", in: deploy,
			vars: map[string]string{"REPLICAS": "3", "PAUSED": "true"},
			want: map[string]any{"spec.replicas": int64(3), "spec.paused": true, "spec.template.metadata.labels.tier": "front"}},
		{name: "defaults", in: deploy, vars: map[string]string{"REPLICAS": "1"},
			want: map[string]any{"spec.paused": false}},
		{name: "missing variable", in: deploy, vars: map[string]string{},
			wantErr: []string{"Deployment ns/web", "REPLICAS"}},
		{name: "opted out", in: strings.Replace(deploy, "namespace: ns", "namespace: ns\n  annotations:\n    kustomize.tether.dev/substitute: disabled", 1),
			vars: map[string]string{}, want: map[string]any{"spec.replicas": "${REPLICAS}"}},
		{name: "cluster-scoped object in errors", in: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n-${X}\n",
			vars: map[string]string{}, wantErr: []string{"Namespace n-${X}: variable(s) X not set"}},
		{name: "nested default refers to a missing variable", in: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n-${X:=${Y}}\n",
			vars: map[string]string{"X": "x"}, wantErr: []string{"variable(s) Y not set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := obj(t, tt.in)
			err := Substitute([]*unstructured.Unstructured{u}, tt.vars)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for p, want := range tt.want {
				if got := nested(t, u, strings.Split(p, ".")...); got != want {
					t.Errorf("%s = %#v, want %#v", p, got, want)
				}
			}
		})
	}
}

func TestVarsFrom_LaterSourcesThenSubstituteWin(t *testing.T) {
	got := VarsFrom(
		[]map[string]string{{"A": "cm1", "B": "cm1"}, {"B": "secret", "C": "secret"}},
		map[string]string{"C": "inline"},
	)
	want := map[string]string{"A": "cm1", "B": "secret", "C": "inline"}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if VarsFrom(nil, nil) == nil {
		t.Error("VarsFrom(nil, nil) is nil: Build would skip substitution")
	}
}

func TestEscapeBackslashes(t *testing.T) {
	for in, want := range map[string]string{
		`a\b`:           `a\\b`,
		`${X:=a\b} \`:   `${X:=a\b} \\`,
		`${A:=${B}}\n`:  `${A:=${B}}\\n`,
		`no backslash`:  `no backslash`,
		`"C:\\d\\${X}"`: `"C:\\\\d\\\\${X}"`,
	} {
		if got := escapeBackslashes(in); got != want {
			t.Errorf("escapeBackslashes(%q) = %q, want %q", in, got, want)
		}
	}
}

package kustomize

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
)

func TestBuild_DirWithoutKustomizationListsManifestsRecursively(t *testing.T) {
	fsys := load(t, files{
		"apps/ns.yaml":               "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n",
		"apps/web/deploy.yaml":       deployment("web", "nginx:1"),
		"apps/web/values.yaml":       "replicaCount: 2\n", // not a manifest: skipped
		"apps/web/Chart.yaml":        "apiVersion: v2\nname: web\nversion: 1.0.0\n",
		"apps/web/empty.yaml":        "# nothing yet\n---\n",
		"apps/web/chart.json":        `{"name": "web"}`,
		"apps/web/README.md":         "# web",
		"apps/multi.yml":             "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n---\n" + configMap("web"),
		"apps/db/kustomization.yaml": "namePrefix: db-\nresources:\n- cm.yaml\n",
		"apps/db/cm.yaml":            configMap("config"),
		"apps/db/ignored.yaml":       configMap("not-listed"), // the dir's own kustomization decides
		"other/cm.yaml":              configMap("outside-path"),
	})
	objs, err := Build(fsys, Options{Path: "./apps"})
	if err != nil {
		t.Fatal(err)
	}
	got := ids(objs)
	want := []string{"Namespace apps", "ConfigMap db-config", "ConfigMap web", "Service web", "Deployment web"}
	slices.Sort(got[1:])
	slices.Sort(want[1:])
	if !slices.Equal(got, want) {
		t.Errorf("objects = %v, want %v (Namespace first)", got, want)
	}
	if fsys.Exists("/apps/kustomization.yaml") {
		t.Error("the generated kustomization.yaml was left in the filesystem")
	}
}

func TestBuild_RootPath(t *testing.T) {
	for _, p := range []string{"", ".", "./", "apps/.."} {
		fsys := load(t, files{"cm.yaml": configMap("a")})
		objs, err := Build(fsys, Options{Path: p})
		if err != nil || len(objs) != 1 {
			t.Errorf("path %q: %v, %v", p, ids(objs), err)
		}
	}
}

// userApp is a kustomization of the user with its own namespace, prefix and
// image, which the spec's overlays must go on top of.
var userApp = files{
	"app/kustomization.yaml": `namespace: user-ns
namePrefix: a-
resources:
- deploy.yaml
- role.yaml
images:
- name: nginx
  newTag: "1.0"
`,
	"app/deploy.yaml": deployment("web", "nginx") + "---\n" + deployment("api", "busybox:1"),
	"app/role.yaml":   "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\n",
	"components/debug/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
- cm.yaml
patches:
- patch: |
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      annotations:
        debug: "on"
`,
	"components/debug/cm.yaml": configMap("debug"),
}

func TestBuild_Overlays(t *testing.T) {
	tests := []struct {
		name  string
		files files
		opts  Options
		check func(t *testing.T, objs []*unstructured.Unstructured)
	}{{
		name: "no overlays: the user's kustomization as is",
		opts: Options{Path: "app"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			d := find(t, objs, "Deployment", "a-web")
			if d.GetNamespace() != "user-ns" || image(t, d) != "nginx:1.0" {
				t.Errorf("got %s image %s", objectName(d), image(t, d))
			}
		},
	}, {
		name: "targetNamespace overrides the user's namespace, not on cluster-scoped objects",
		opts: Options{Path: "app", TargetNamespace: "prod"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			for _, o := range objs {
				want := "prod"
				if o.GetKind() == "ClusterRole" {
					want = ""
				}
				if o.GetNamespace() != want {
					t.Errorf("%s: namespace %q, want %q", objectName(o), o.GetNamespace(), want)
				}
			}
		},
	}, {
		name: "prefix and suffix go around the user's",
		opts: Options{Path: "app", NamePrefix: "p-", NameSuffix: "-s"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			find(t, objs, "Deployment", "p-a-web-s")
			find(t, objs, "ClusterRole", "p-a-reader-s")
		},
	}, {
		name: "commonMetadata on metadata only, overriding",
		opts: Options{Path: "app", CommonMetadata: &kustomizev1.CommonMetadata{
			Labels:      map[string]string{"team": "x", "app": "overridden"},
			Annotations: map[string]string{"owner": "ops"},
		}},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			for _, o := range objs {
				if o.GetLabels()["team"] != "x" || o.GetAnnotations()["owner"] != "ops" {
					t.Errorf("%s: labels %v annotations %v", objectName(o), o.GetLabels(), o.GetAnnotations())
				}
			}
			d := find(t, objs, "Deployment", "a-web")
			if d.GetLabels()["app"] != "overridden" {
				t.Errorf("label app = %q, want overridden", d.GetLabels()["app"])
			}
			sel := nested(t, d, "spec", "selector", "matchLabels").(map[string]any)
			tpl := nested(t, d, "spec", "template", "metadata", "labels").(map[string]any)
			if len(sel) != 1 || sel["app"] != "web" || len(tpl) != 1 || tpl["app"] != "web" {
				t.Errorf("selector %v / template labels %v changed", sel, tpl)
			}
		},
	}, {
		name: "strategic merge patch naming the object as in the user's files",
		opts: Options{Path: "app", Patches: []meta.Patch{{
			Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 5\n",
		}}},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if r := nested(t, find(t, objs, "Deployment", "a-web"), "spec", "replicas"); r != int64(5) {
				t.Errorf("replicas = %v, want 5", r)
			}
			if r := nested(t, find(t, objs, "Deployment", "a-api"), "spec", "replicas"); r != int64(1) {
				t.Errorf("api replicas = %v, want 1", r)
			}
		},
	}, {
		name: "strategic merge patch with a target",
		opts: Options{Path: "app", Patches: []meta.Patch{{
			Patch:  "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: any\n  annotations:\n    patched: \"yes\"\n",
			Target: &meta.Selector{Kind: "Deployment", LabelSelector: "app in (web,api)"},
		}}},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			for _, n := range []string{"a-web", "a-api"} {
				if find(t, objs, "Deployment", n).GetAnnotations()["patched"] != "yes" {
					t.Errorf("%s not patched", n)
				}
			}
		},
	}, {
		name: "JSON 6902 patch with a target",
		opts: Options{Path: "app", Patches: []meta.Patch{{
			Patch:  "- op: replace\n  path: /spec/replicas\n  value: 7\n",
			Target: &meta.Selector{Group: "apps", Version: "v1", Kind: "Deployment", Name: "^api$"},
		}}},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if r := nested(t, find(t, objs, "Deployment", "a-api"), "spec", "replicas"); r != int64(7) {
				t.Errorf("api replicas = %v, want 7", r)
			}
			if r := nested(t, find(t, objs, "Deployment", "a-web"), "spec", "replicas"); r != int64(1) {
				t.Errorf("web replicas = %v, want 1", r)
			}
		},
	}, {
		name: "images win over the user's entry; digest replaces the tag",
		opts: Options{Path: "app", Images: []meta.Image{
			{Name: "nginx", NewName: "registry.local/nginx", NewTag: "2.0"},
			{Name: "busybox", NewTag: "ignored", Digest: "sha256:" + strings.Repeat("a", 64)},
		}},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if got := image(t, find(t, objs, "Deployment", "a-web")); got != "registry.local/nginx:2.0" {
				t.Errorf("web image = %s", got)
			}
			if got := image(t, find(t, objs, "Deployment", "a-api")); got != "busybox@sha256:"+strings.Repeat("a", 64) {
				t.Errorf("api image = %s", got)
			}
		},
	}, {
		name: "components relative to the path, run within the user's kustomization",
		opts: Options{Path: "app", Components: []string{"../components/debug"}},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			find(t, objs, "ConfigMap", "a-debug")
			if find(t, objs, "Deployment", "a-web").GetAnnotations()["debug"] != "on" {
				t.Error("the component's patch did not apply to web")
			}
		},
	}, {
		name: "overlays on a generated kustomization",
		files: files{
			"gen/deploy.yaml":                     deployment("web", "nginx:1"),
			"components/debug/kustomization.yaml": userApp["components/debug/kustomization.yaml"],
			"components/debug/cm.yaml":            configMap("debug"),
		},
		opts: Options{Path: "gen", TargetNamespace: "t", NamePrefix: "p-",
			Components: []string{"../components/debug"},
			Images:     []meta.Image{{Name: "nginx", NewTag: "3"}}},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			d := find(t, objs, "Deployment", "p-web")
			if d.GetNamespace() != "t" || image(t, d) != "nginx:3" || d.GetAnnotations()["debug"] != "on" {
				t.Errorf("got %s image %s annotations %v", objectName(d), image(t, d), d.GetAnnotations())
			}
			find(t, objs, "ConfigMap", "p-debug")
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := tt.files
			if fs == nil {
				fs = userApp
			}
			fsys := load(t, fs)
			before, _ := fsys.ReadFile("/app/kustomization.yaml")
			objs, err := Build(fsys, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, objs)
			if after, _ := fsys.ReadFile("/app/kustomization.yaml"); string(after) != string(before) {
				t.Errorf("the user's kustomization.yaml was not restored:\n%s", after)
			}
		})
	}
}

func TestBuild_ErrorsNameTheFile(t *testing.T) {
	badYAML := "apiVersion: v1\nkind: ConfigMap\nmetadata\n  name: x\n"
	tests := []struct {
		name  string
		files files
		path  string
		want  []string // substrings of the error
	}{
		{"invalid YAML, generated kustomization", files{"apps/bad.yaml": badYAML}, "apps",
			[]string{"apps/bad.yaml: yaml: line 3: could not find expected ':'"}},
		{"invalid YAML, user kustomization",
			files{"kustomization.yaml": "resources:\n- bad.yaml\n", "bad.yaml": badYAML}, "",
			[]string{"kustomization.yaml", "bad.yaml", "could not find expected ':'"}},
		{"missing resource", files{"k/kustomization.yaml": "resources:\n- deploy.yaml\n"}, "k",
			[]string{`k/kustomization.yaml: resource "deploy.yaml": file or directory not found`}},
		{"missing resource in an included base",
			files{"k/kustomization.yaml": "resources:\n- ../base\n", "base/kustomization.yaml": "resources:\n- x.yaml\n"}, "k",
			[]string{`base/kustomization.yaml: resource "x.yaml": file or directory not found`}},
		{"missing component", files{"k/kustomization.yaml": "resources:\n- cm.yaml\ncomponents:\n- ../c\n", "k/cm.yaml": configMap("a")}, "k",
			[]string{`k/kustomization.yaml: component "../c": file or directory not found`}},
		{"object without kind",
			files{"kustomization.yaml": "resources:\n- a.yaml\n", "a.yaml": "apiVersion: v1\nmetadata:\n  name: x\n"}, "",
			[]string{`a.yaml: line 1: the object "x" has no kind`}},
		{"object without apiVersion in an included base",
			files{"k/kustomization.yaml": "resources:\n- ../base\n", "base/kustomization.yaml": "resources:\n- a.yaml\n", "base/a.yaml": "kind: ConfigMap\nmetadata:\n  name: x\n"}, "k",
			[]string{`base/a.yaml: line 1: ConfigMap "x" has no apiVersion`}},
		{"object without kind, generated kustomization",
			files{"d/a.yaml": configMap("a"), "d/b.yaml": "apiVersion: v1\nmetadata:\n  name: b\ndata:\n  k: v\n"}, "d",
			[]string{`d/b.yaml: line 1: the object "b" has no kind`}},
		{"object without kind after another, generated kustomization",
			files{"d/b.yaml": "# leading comment\n---\n" + configMap("a") + "---\n# only a comment\n---\napiVersion: v1\nmetadata:\n  name: b\n"}, "d",
			[]string{`d/b.yaml: line 12: the object "b" has no kind`}},
		{"object without apiVersion, generated kustomization",
			files{"d/b.yaml": "kind: ConfigMap\nmetadata:\n  name: b\n"}, "d",
			[]string{`d/b.yaml: line 1: ConfigMap "b" has no apiVersion`}},
		{"duplicate object, user kustomization",
			files{"kustomization.yaml": "resources:\n- a.yaml\n- b.yaml\n", "a.yaml": configMap("x"), "b.yaml": configMap("x")}, "",
			[]string{"kustomization.yaml", "'b.yaml'", "already registered id", "ConfigMap"}},
		{"duplicate object, generated kustomization",
			files{"d/a.yaml": configMap("x"), "d/sub/b.yaml": configMap("x")}, "d",
			[]string{"d/sub/b.yaml: ConfigMap default/x is already defined in d/a.yaml"}},
		{"invalid kustomization.yaml", files{"kustomization.yaml": "resources: [\n"}, "",
			[]string{"kustomization.yaml: invalid Kustomization"}},
		{"unknown field in kustomization.yaml", files{"kustomization.yaml": "resourcez: []\n"}, "",
			[]string{"kustomization.yaml: invalid Kustomization", "resourcez"}},
		{"path does not exist", files{"a.yaml": configMap("x")}, "nope",
			[]string{`path "nope" not found`}},
		{"path is a file", files{"a.yaml": configMap("x")}, "a.yaml",
			[]string{`path "a.yaml" is a file`}},
		{"path leaves the root", files{"a.yaml": configMap("x")}, "../x",
			[]string{`path "../x" leaves the root`}},
		{"path leaves the root after cleaning", files{"a.yaml": configMap("x")}, "a/../../x",
			[]string{"leaves the root"}},
		{"absolute path", files{"a.yaml": configMap("x")}, "/etc",
			[]string{`path "/etc" must be relative`}},
		{"two kustomization files", files{"kustomization.yaml": "resources: []\n", "Kustomization": "resources: []\n"}, "",
			[]string{"several kustomization files"}},
		{"file outside a kustomization's root",
			files{"k/kustomization.yaml": "patches:\n- path: ../p.yaml\nresources:\n- cm.yaml\n", "k/cm.yaml": configMap("a"), "p.yaml": configMap("a")}, "k",
			[]string{"k/kustomization.yaml", "security", "not in or below"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(load(t, tt.files), Options{Path: tt.path})
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "'/") {
				t.Errorf("error %q shows in-memory absolute paths", err)
			}
		})
	}
}

func TestBuild_RefusesRemoteBases(t *testing.T) {
	for _, ref := range []string{
		"github.com/example/repo//deploy?ref=v1",
		"https://example.com/deploy.yaml",
		"git@github.com:example/repo.git",
		"ssh://git@example.com/repo.git//base",
		"git::https://example.com/repo",
	} {
		fsys := load(t, files{
			"base/kustomization.yaml": "resources:\n- " + ref + "\n",
			"app/kustomization.yaml":  "resources:\n- ../base\n",
		})
		_, err := Build(fsys, Options{Path: "app"})
		if err == nil || !strings.Contains(err.Error(), "remote bases are not allowed") ||
			!strings.Contains(err.Error(), "base/kustomization.yaml") || !strings.Contains(err.Error(), ref) {
			t.Errorf("%s: error = %v", ref, err)
		}
	}
	// Remote files elsewhere than resources would be fetched too.
	fsys := load(t, files{"kustomization.yaml": "resources:\n- cm.yaml\npatches:\n- path: https://example.com/p.yaml\n", "cm.yaml": configMap("a")})
	if _, err := Build(fsys, Options{}); err == nil || !strings.Contains(err.Error(), "remote bases are not allowed") {
		t.Errorf("remote patch: error = %v", err)
	}
	fsys = load(t, files{"cm.yaml": configMap("a")})
	_, err := Build(fsys, Options{Components: []string{"https://example.com/c"}})
	if err == nil || !strings.Contains(err.Error(), "remote bases are not allowed") {
		t.Errorf("remote component in the spec: error = %v", err)
	}
}

func TestIsRemote(t *testing.T) {
	for ref, want := range map[string]bool{
		"../base":                        false,
		"deploy.yaml":                    false,
		"foo@bar.yaml":                   false,
		"github.com/org/repo":            true,
		"GitHub.com/org/repo":            true,
		"https://x/y.yaml":               true,
		"file:///etc/passwd":             true,
		"git@gitlab.com:org/repo.git":    true,
		"git::https://example.com/repo":  true,
		"apiVersion: v1\nurl: https://x": false, // inline YAML
	} {
		if got := isRemote(ref); got != want {
			t.Errorf("isRemote(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestBuild_DecryptSeesEveryFileReadAndNamesItInErrors(t *testing.T) {
	fs := files{
		"app/kustomization.yaml": "resources:\n- secret.yaml\n- cm.yaml\nsecretGenerator:\n- name: gen\n  files:\n  - token.txt\n",
		"app/secret.yaml":        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  k: ENC[x]\n",
		"app/cm.yaml":            configMap("c"),
		"app/token.txt":          "ENC[y]",
	}
	var seen []string
	decrypt := func(path string, data []byte) ([]byte, error) {
		seen = append(seen, path)
		return []byte(strings.ReplaceAll(string(data), "ENC[", "plain[")), nil
	}
	objs, err := Build(load(t, fs), Options{Path: "app", Decrypt: decrypt})
	if err != nil {
		t.Fatal(err)
	}
	if v := nested(t, find(t, objs, "Secret", "s"), "stringData", "k"); v != "plain[x]" {
		t.Errorf("secret k = %v", v)
	}
	for _, p := range []string{"app/secret.yaml", "app/cm.yaml", "app/token.txt"} {
		if !slices.Contains(seen, p) {
			t.Errorf("decrypt did not see %s (saw %v)", p, seen)
		}
	}

	failing := func(path string, data []byte) ([]byte, error) {
		if path == "app/secret.yaml" {
			return nil, errNoKey
		}
		return data, nil
	}
	_, err = Build(load(t, fs), Options{Path: "app", Decrypt: failing})
	if err == nil || err.Error() != "app/secret.yaml: cannot decrypt: no key" {
		t.Errorf("error = %v", err)
	}
}

type testError string

func (e testError) Error() string { return string(e) }

const errNoKey = testError("no key")

// The reconciler builds several Kustomizations at once, each from its own
// filesystem; run with -race.
func TestBuild_ConcurrentBuilds(t *testing.T) {
	done := make(chan error)
	for i := range 8 {
		fsys := load(t, userApp)
		go func() {
			_, err := Build(fsys, Options{Path: "app", NamePrefix: fmt.Sprint("p", i, "-"),
				Patches: []meta.Patch{{Patch: "- op: add\n  path: /metadata/labels/x\n  value: y\n", Target: &meta.Selector{Kind: "Deployment"}}}})
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// A kustomization with its own OpenAPI schema must not change how later
// builds merge: kustomize keeps the schema in a global.
func TestBuild_CustomOpenAPISchemaDoesNotLeakIntoOtherBuilds(t *testing.T) {
	custom := load(t, files{
		"kustomization.yaml": "openapi:\n  path: schema.json\nresources:\n- cm.yaml\n",
		"schema.json":        `{"definitions": {}}`,
		"cm.yaml":            configMap("a"),
	})
	if _, err := Build(custom, Options{}); err != nil {
		t.Fatal(err)
	}
	// With the default schema, containers merge by name: both stay.
	objs, err := Build(load(t, files{"d.yaml": deployment("web", "nginx")}), Options{Patches: []meta.Patch{{
		Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: sidecar\n        image: envoy\n",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if cs := nested(t, find(t, objs, "Deployment", "web"), "spec", "template", "spec", "containers").([]any); len(cs) != 2 {
		t.Errorf("containers = %v, want main and sidecar merged", cs)
	}
}

func TestBuildWithOrigins_NamesTheFileOfEachObjectAndLeavesNoAnnotation(t *testing.T) {
	fsys := load(t, files{
		"app/kustomization.yaml":  "resources:\n- ../base\n- cm.yaml\nconfigMapGenerator:\n- name: gen\n  literals: [a=b]\n",
		"app/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own\n  namespace: x\n",
		"base/kustomization.yaml": "resources:\n- sa.yaml\n",
		"base/sa.yaml":            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n  namespace: x\n",
	})
	objs, origins, err := BuildWithOrigins(fsys, Options{Path: "app"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ConfigMap/x/own": "app/cm.yaml", "ServiceAccount/x/sa": "base/sa.yaml"}
	for k, v := range want {
		if origins[k] != v {
			t.Errorf("origin of %s = %q, want %q (all: %v)", k, origins[k], v, origins)
		}
	}
	for _, u := range objs {
		if _, ok := u.GetAnnotations()[originAnnotation]; ok {
			t.Errorf("%s keeps the origin annotation", subject(u))
		}
		if u.GetKind() == "ConfigMap" && strings.HasPrefix(u.GetName(), "gen-") && origins[subject(u)] != "app/kustomization.yaml" {
			t.Errorf("generated ConfigMap's origin = %q, want its kustomization", origins[subject(u)])
		}
	}
}

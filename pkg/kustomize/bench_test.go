package kustomize

import (
	"fmt"
	"testing"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// BenchmarkBuild: a small app with its kustomization and overlays, and a
// directory of 500 manifests without one (generated), both substituted.
func BenchmarkBuild(b *testing.B) {
	small := files{
		"app/kustomization.yaml": "resources:\n- deploy.yaml\n- svc.yaml\n- cm.yaml\n",
		"app/deploy.yaml":        deployment("web", "nginx:${TAG:=1}") + "---\n" + deployment("api", "busybox"),
		"app/svc.yaml":           "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n",
		"app/cm.yaml":            configMap("cfg"),
	}
	large := files{}
	for i := range 500 {
		large[fmt.Sprintf("many/d%02d/cm%03d.yaml", i/50, i)] = configMap(fmt.Sprintf("cm-%03d-${ENV:=dev}", i))
	}
	opts := Options{TargetNamespace: "prod", NamePrefix: "p-",
		Images:  []meta.Image{{Name: "nginx", NewTag: "2"}},
		Patches: []meta.Patch{{Patch: "- op: add\n  path: /metadata/annotations/x\n  value: y\n", Target: &meta.Selector{Kind: "ConfigMap"}}},
		Vars:    map[string]string{"ENV": "prod"}}
	for _, bc := range []struct {
		name  string
		files files
		path  string
		opts  Options
		want  int
	}{
		{"app-4-objects", small, "app", opts, 4},
		{"dir-500-objects", large, "many", opts, 500},
		// Some of kustomize's transformers are quadratic in the number of
		// objects; this is the cost without them.
		{"dir-500-objects-no-overlays", large, "many", Options{}, 500},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fsys := load(b, bc.files)
			o := bc.opts
			o.Path = bc.path
			b.ReportAllocs()
			for b.Loop() {
				objs, err := Build(fsys, o)
				if err != nil {
					b.Fatal(err)
				}
				if len(objs) != bc.want {
					b.Fatalf("%d objects, want %d", len(objs), bc.want)
				}
			}
		})
	}
}

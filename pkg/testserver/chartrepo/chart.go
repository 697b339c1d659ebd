// Package chartrepo runs real Helm chart repositories on 127.0.0.1 for tests:
// an HTTP(S) repository (a net/http file server over a directory of charts
// packaged and indexed with the Helm SDK), with optional basic auth, TLS and
// simulated outages, and an OCI registry (go-containerregistry's in-process
// registry) that charts are pushed to with the Helm registry client.
//
//	srv := chartrepo.New(t, chartrepo.WithBasicAuth("u", "p"))
//	srv.Publish("app", "1.0.0")
//	url := srv.URL() // http://127.0.0.1:PORT
package chartrepo

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"helm.sh/helm/v4/pkg/chart/loader/archive"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
)

// ChartFiles returns the files of a small chart: a ConfigMap whose data shows
// the chart version and the values "message" and "extra", and a Deployment.
// Keys are paths relative to the chart directory.
func ChartFiles(name, version string) map[string]string {
	return map[string]string{
		"Chart.yaml": fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\nappVersion: %q\ndescription: A test chart\ntype: application\n", name, version, version),
		"values.yaml": `replicaCount: 1
message: hello
image:
  repository: registry.example/app
  tag: "1.0"
`,
		"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  labels:
    app.kubernetes.io/name: {{ .Chart.Name }}
data:
  chartVersion: {{ .Chart.Version | quote }}
  message: {{ .Values.message | quote }}
  extra: {{ .Values.extra | default "" | quote }}
`,
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    app.kubernetes.io/name: {{ .Chart.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: {{ .Release.Name }}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
`,
	}
}

// WriteChart writes ChartFiles(name, version) under dir/name and returns
// that directory.
func WriteChart(t testing.TB, dir, name, version string) string {
	t.Helper()
	root := filepath.Join(dir, name)
	for rel, content := range ChartFiles(name, version) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// PackageChart builds the chart of ChartFiles in memory and packages it with
// the Helm SDK into outDir as <name>-<version>.tgz, returning its path.
func PackageChart(name, version, outDir string) (string, error) {
	files := ChartFiles(name, version)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	buffered := make([]*archive.BufferedFile, 0, len(files))
	for _, n := range names {
		buffered = append(buffered, &archive.BufferedFile{Name: n, Data: []byte(files[n])})
	}
	ch, err := loader.LoadFiles(buffered)
	if err != nil {
		return "", fmt.Errorf("building chart %s-%s: %w", name, version, err)
	}
	return chartutil.Save(ch, outDir)
}

package helmrelease

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/chart/loader/archive"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/e2e/harness"
	"github.com/tether-gitops/tether/e2e/testcluster"
	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/testserver/chartrepo"
)

func every(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// chartOpts vary the test chart.
type chartOpts struct {
	// schema is the chart's values.schema.json.
	schema string
	// testHook adds a test Job.
	testHook bool
	// brokenTemplate adds a template that renders invalid YAML.
	brokenTemplate bool
	// unknownField adds a field that the Service kind does not have.
	unknownField bool
	// hangingTest adds a test Pod, which kwok runs but never completes:
	// the test times out.
	hangingTest bool
	// crds are kinds (such as "Widget") whose CustomResourceDefinitions, in
	// API group crdGroup and labelled with the chart version, are in the
	// chart's crds/ directory.
	crds []string
	// customResources are kinds of crdGroup of which templates/ has an
	// object named after the release.
	customResources []string
	crdGroup        string
}

// chartFiles is a chart of 4 objects: a ConfigMap showing the values
// "message" and "extra", a ServiceAccount, a Service and a Deployment (the
// value nodeSelector is its pods' node selector). With the value fail: true
// it also renders a ConfigMap whose name the API server rejects, so that the
// release fails while being applied.
func chartFiles(name, version string, o chartOpts) map[string]string {
	files := map[string]string{
		"Chart.yaml":  fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\nappVersion: %q\ntype: application\n", name, version, version),
		"values.yaml": "replicaCount: 1\nmessage: hello\nfail: false\n",
		"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  chartVersion: {{ .Chart.Version | quote }}
  message: {{ .Values.message | quote }}
  extra: {{ .Values.extra | default "" | quote }}
{{- if .Values.fail }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: Not_A_Valid_Name
data: {}
{{- end }}
`,
		"templates/serviceaccount.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}\n",
		"templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector:
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - port: 80
`,
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
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
      serviceAccountName: {{ .Release.Name }}
      {{- with .Values.nodeSelector }}
      nodeSelector: {{ toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: app
          image: registry.example/app:1.0
`,
	}
	if o.schema != "" {
		files["values.schema.json"] = o.schema
	}
	if o.testHook {
		files["templates/tests/smoke.yaml"] = `apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-smoke
  annotations:
    helm.sh/hook: test
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: smoke
          image: registry.example/curl:1.0
`
	}
	if o.hangingTest {
		files["templates/tests/hang.yaml"] = `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-hang
  annotations:
    helm.sh/hook: test
spec:
  restartPolicy: Never
  containers:
    - name: hang
      image: registry.example/sleep:1.0
`
	}
	if o.unknownField {
		files["templates/service.yaml"] = strings.Replace(files["templates/service.yaml"], "spec:\n", "spec:\n  bogusField: 1\n", 1)
	}
	for _, kind := range o.crds {
		files["crds/"+strings.ToLower(kind)+".yaml"] = crdYAML(o.crdGroup, kind, version)
	}
	for _, kind := range o.customResources {
		files["templates/"+strings.ToLower(kind)+".yaml"] = fmt.Sprintf(
			"apiVersion: %s/v1\nkind: %s\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  size: 1\n", o.crdGroup, kind)
	}
	if o.brokenTemplate {
		files["templates/broken.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n  labels: [unclosed\n"
	}
	return files
}

// crdYAML is a namespaced CustomResourceDefinition of kind in group, whose
// label chart-version says which chart version it comes from.
func crdYAML(group, kind, chartVersion string) string {
	lower := strings.ToLower(kind)
	return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: %[1]ss.%[2]s
  labels:
    chart-version: %[4]q
spec:
  group: %[2]s
  scope: Namespaced
  names:
    kind: %[3]s
    listKind: %[3]sList
    plural: %[1]ss
    singular: %[1]s
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              x-kubernetes-preserve-unknown-fields: true
`, lower, group, kind, chartVersion)
}

// publish packages the chart with the Helm SDK into the repository's
// directory and rebuilds its index.
func publish(t testing.TB, srv *chartrepo.Server, name, version string, o chartOpts) {
	t.Helper()
	files := chartFiles(name, version, o)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buffered []*archive.BufferedFile
	for _, n := range names {
		buffered = append(buffered, &archive.BufferedFile{Name: n, Data: []byte(files[n])})
	}
	ch, err := loader.LoadFiles(buffered)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chartutil.Save(ch, srv.Dir()); err != nil {
		t.Fatal(err)
	}
	idx, err := repo.IndexDirectory(srv.Dir(), "")
	if err != nil {
		t.Fatal(err)
	}
	idx.SortEntries()
	srv.WriteIndex(idx)
}

// fixture is a namespace with an HTTP chart repository and a HelmRepository
// "charts" for it.
type fixture struct {
	ns  string
	srv *chartrepo.Server
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	reconciler.LogOnFailure(t)
	ns := testcluster.NewNamespace(t, cluster)
	srv := chartrepo.New(t)
	harness.Create(t, cluster, &sourcev1.HelmRepository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "charts"},
		Spec:       sourcev1.HelmRepositorySpec{URL: srv.URL(), Interval: every(2 * time.Second)},
	})
	return &fixture{ns: ns, srv: srv}
}

// release returns a HelmRelease of chart "app" from the fixture's repository.
func (f *fixture) release(name, version string, values map[string]any, mutate ...func(*helmv1.HelmReleaseSpec)) *helmv1.HelmRelease {
	spec := helmv1.HelmReleaseSpec{
		Interval: every(time.Minute),
		Timeout:  every(time.Minute),
		Chart: &helmv1.HelmChartTemplate{Spec: helmv1.HelmChartTemplateSpec{
			Chart: "app", Version: version, Interval: every(2 * time.Second),
			SourceRef: meta.CrossNamespaceSourceReference{Kind: sourcev1.HelmRepositoryKind, Name: "charts"},
		}},
		Values: jsonValues(values),
	}
	for _, m := range mutate {
		m(&spec)
	}
	return &helmv1.HelmRelease{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name}, Spec: spec}
}

func jsonValues(v map[string]any) *apiextensionsv1.JSON {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return &apiextensionsv1.JSON{Raw: b}
}

// update reads hr, changes its spec with mutate and updates it.
func update(t *testing.T, hr *helmv1.HelmRelease, mutate func(*helmv1.HelmReleaseSpec)) {
	t.Helper()
	testcluster.Eventually(t, 10*time.Second, 100*time.Millisecond, func() error {
		cur := harness.Get(t, cluster, hr)
		mutate(&cur.Spec)
		return cluster.Client.Update(context.Background(), cur)
	})
}

// waitRelease waits until hr is Ready for its generation with release
// version v as the newest in its history.
func waitRelease(t *testing.T, hr *helmv1.HelmRelease, version int) *helmv1.HelmRelease {
	t.Helper()
	return harness.WaitFor(t, cluster, hr, fmt.Sprintf("Ready with release v%d", version), func(o *helmv1.HelmRelease) bool {
		s := o.Status.History.Latest()
		return meta.IsReady(o) && o.Status.ObservedGeneration == o.Generation && s != nil && s.Version == version
	})
}

// configData returns the data of the chart's ConfigMap of release name.
func configData(t *testing.T, ns, name string) map[string]string {
	t.Helper()
	var cm corev1.ConfigMap
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name + "-config"}, &cm); err != nil {
		t.Fatalf("the release's ConfigMap: %v", err)
	}
	return cm.Data
}

func deployment(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &d); err != nil {
		t.Fatalf("the release's Deployment: %v", err)
	}
	return &d
}

// releaseSecrets returns the names of Helm's release Secrets of name in ns.
func releaseSecrets(t *testing.T, ns, name string) []string {
	t.Helper()
	var list corev1.SecretList
	if err := cluster.Client.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabels{"owner": "helm", "name": name}); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range list.Items {
		out = append(out, s.Name)
	}
	sort.Strings(out)
	return out
}

// condition returns "Status Reason: Message" of a condition of hr.
func condition(hr *helmv1.HelmRelease, typ string) string {
	c := meta.GetCondition(hr, typ)
	if c == nil {
		return "<none>"
	}
	return fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
}

// events returns "Reason: note" of the events about hr.
func events(t *testing.T, hr *helmv1.HelmRelease) []string {
	t.Helper()
	return harness.Events(t, cluster, helmv1.HelmReleaseKind, hr.Namespace, hr.Name)
}

// waitEvent waits for an event about hr whose "Reason: note" contains all
// of parts.
func waitEvent(t *testing.T, hr *helmv1.HelmRelease, parts ...string) string {
	t.Helper()
	var found string
	testcluster.Eventually(t, harness.WaitTimeout, 200*time.Millisecond, func() error {
		for _, e := range events(t, hr) {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(e, p)
			}
			if ok {
				found = e
				return nil
			}
		}
		return fmt.Errorf("no event with %q; events: %q", parts, events(t, hr))
	})
	return found
}

// waitGone waits until obj no longer exists.
func waitGone(t *testing.T, obj client.Object) {
	t.Helper()
	testcluster.Eventually(t, harness.WaitTimeout, 200*time.Millisecond, func() error {
		err := cluster.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("%T %s still exists (err %v)", obj, obj.GetName(), err)
	})
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

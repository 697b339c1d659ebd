package bench

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The app that every Kustomization applies: four objects, the Deployment
// with one replica. Its pods use the namespace's default ServiceAccount (the
// benchmark waits for it before measuring), so that no measurement depends on
// the race between creating the app's ServiceAccount and the ReplicaSet
// controller creating the pod.
var appFiles = []struct{ name, doc string }{
	{"configmap.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  greeting: hello
  level: info
`},
	{"serviceaccount.yaml", `apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
`},
	{"service.yaml", `apiVersion: v1
kind: Service
metadata:
  name: app
  labels:
    app: app
spec:
  selector:
    app: app
  ports:
  - name: http
    port: 80
    targetPort: 8080
`},
	{"deployment.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  labels:
    app: app
spec:
  replicas: 1
  selector:
    matchLabels:
      app: app
  template:
    metadata:
      labels:
        app: app
    spec:
      terminationGracePeriodSeconds: 0
      automountServiceAccountToken: false
      containers:
      - name: app
        image: registry.example/app:1.0
        ports:
        - containerPort: 8080
`},
}

// appPath is the directory of the app in the git repository.
const appPath = "app"

// repoFiles are the files of the git repository: the app and its
// kustomization.yaml.
func repoFiles() map[string]string {
	files := map[string]string{}
	var names []string
	for _, f := range appFiles {
		files[appPath+"/"+f.name] = f.doc
		names = append(names, f.name)
	}
	files[appPath+"/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- " +
		strings.Join(names, "\n- ") + "\n"
	return files
}

// rawManifests is the multi-document YAML of the app in each of namespaces:
// what the Kustomizations apply, for kubectl.
func rawManifests(namespaces []string) string {
	var b strings.Builder
	for _, ns := range namespaces {
		for _, f := range appFiles {
			b.WriteString("---\n")
			b.WriteString(strings.Replace(f.doc, "metadata:\n  name: app\n", "metadata:\n  name: app\n  namespace: "+ns+"\n", 1))
		}
	}
	return b.String()
}

// parseSizes reads TETHER_BENCH_N: numbers of Kustomizations, comma-separated.
func parseSizes(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		s = "100,300"
	}
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("TETHER_BENCH_N=%q: want numbers of Kustomizations separated by commas, e.g. 100,300,1000", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseTimeout reads TETHER_BENCH_TIMEOUT, the bound of every wait.
func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return 10 * time.Minute, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("TETHER_BENCH_TIMEOUT=%q: want a duration such as 10m", s)
	}
	return d, nil
}

// names returns prefix-0001 ... prefix-n.
func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%04d", prefix, i+1)
	}
	return out
}

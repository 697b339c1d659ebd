package validate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/source/helm"
	"github.com/tether-gitops/tether/pkg/source/helmrepo"
)

// ChartOptions say how the charts of HelmReleases are reached.
type ChartOptions struct {
	// Offline fetches nothing: only charts under the directory are templated.
	Offline bool
	// Strict makes a chart that cannot be fetched an error, not a warning.
	Strict bool
	// Timeout bounds the fetching of each chart.
	Timeout time.Duration
	// SourceDirs maps "KIND/NAME" or "KIND/NAMESPACE/NAME" of a GitRepository
	// or Bucket to the directory its charts are in.
	SourceDirs map[string]string
}

// defaultChartTimeout bounds the fetching of a chart when
// ChartOptions.Timeout is not set.
const defaultChartTimeout = 30 * time.Second

// parseSourceDirs parses --source-dir KIND/NAME=PATH values.
func parseSourceDirs(values []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range values {
		ref, dir, ok := strings.Cut(s, "=")
		parts := strings.Split(ref, "/")
		if !ok || dir == "" || len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
			return nil, fmt.Errorf("invalid --source-dir %q: use KIND/NAME=PATH or KIND/NAMESPACE/NAME=PATH", s)
		}
		if parts[0] != sourcev1.GitRepositoryKind && parts[0] != sourcev1.BucketKind {
			return nil, fmt.Errorf("invalid --source-dir %q: the kind must be GitRepository or Bucket", s)
		}
		out[ref] = dir
	}
	return out, nil
}

// chartSpec is what locates a chart: spec.chart of a HelmRelease, or the
// HelmChart or OCIRepository that spec.chartRef names.
type chartSpec struct {
	chart, version           string
	sourceKind, sourceName   string
	namespace                string // of the source
	valuesFiles              []string
	ignoreMissingValuesFiles bool
	// repository is the HelmRepository an OCIRepository stands for.
	repository *sourcev1.HelmRepository
}

// notReached says why a chart was not templated. An empty message means
// that another check says it already (a source not defined under the
// directory), or that --offline said not to fetch it.
type notReached struct {
	// path is the field of the HelmRelease the message is about.
	path, msg string
	// fetch marks a chart that could not be fetched, or needs what
	// validate cannot have (credentials): a warning, unless --strict-charts.
	// Other problems are errors, as they would be in the cluster.
	fetch bool
}

// fetcher fetches charts with pkg/source/helmrepo, as the HelmChart
// reconciler and tether diff do; a repository that could not be reached is
// not tried again in the same run.
type fetcher struct {
	opts        ChartOptions
	tmp         string
	unreachable map[string]error
}

func newFetcher(opts ChartOptions) (*fetcher, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = defaultChartTimeout
	}
	tmp, err := os.MkdirTemp("", "tether-validate-")
	if err != nil {
		return nil, err
	}
	return &fetcher{opts: opts, tmp: tmp, unreachable: map[string]error{}}, nil
}

func (f *fetcher) close() { _ = os.RemoveAll(f.tmp) }

// chart loads the chart of hr, or says why it cannot.
func (v *validator) chart(ctx context.Context, f *fetcher, hr *helmv1.HelmRelease) (*chart.Chart, *notReached) {
	spec, nr := v.chartSpec(hr)
	if nr != nil {
		return nil, nr
	}
	var (
		c   *helm.Chart
		err error
	)
	if spec.sourceKind == sourcev1.OCIRepositoryKind && v.cfg.Charts.Offline {
		return nil, &notReached{}
	}
	what := fmt.Sprintf("chart %s from %s %s", spec.chart, spec.sourceKind, spec.sourceName)
	switch spec.sourceKind {
	case sourcev1.GitRepositoryKind, sourcev1.BucketKind:
		root, found := v.sourceRoot(spec)
		if !found {
			var dirs []string
			for _, r := range root {
				dirs = append(dirs, relativeToWorkingDir(r))
			}
			return nil, &notReached{path: "spec.chart.spec.chart", fetch: true, msg: fmt.Sprintf(
				"%s: path %s is not under %s: skipped templating (use --source-dir %s/%s=PATH for another checkout)",
				what, spec.chart, strings.Join(dirs, " or "), spec.sourceKind, spec.sourceName)}
		}
		c, err = helm.Package(root[0], spec.chart, helm.PackageOptions{ValuesFiles: spec.valuesFiles,
			IgnoreMissingValuesFiles: spec.ignoreMissingValuesFiles, OutDir: f.tmp})
		if err != nil {
			return nil, &notReached{path: "spec.chart", msg: fmt.Sprintf("%s: %v", what, err)}
		}
	case sourcev1.HelmRepositoryKind:
		repo, secrets, nr := v.helmRepository(spec)
		if nr != nil {
			return nil, nr
		}
		if c, nr = f.fromHelmRepository(ctx, repo, secrets, spec, what); nr != nil {
			return nil, nr
		}
	case sourcev1.OCIRepositoryKind:
		if c, nr = f.fromHelmRepository(ctx, spec.repository, nil, spec, what); nr != nil {
			nr.path = "spec.chartRef"
			return nil, nr
		}
	default:
		return nil, &notReached{} // the CRD's rules say what is wrong
	}
	return loadChart(c, what)
}

// chartSpec returns the chart spec.chart or spec.chartRef names; for a
// chartRef, the HelmChart or OCIRepository must be defined under the
// directory.
func (v *validator) chartSpec(hr *helmv1.HelmRelease) (*chartSpec, *notReached) {
	if t := hr.Spec.Chart; t != nil {
		return &chartSpec{chart: t.Spec.Chart, version: t.Spec.Version, sourceKind: t.Spec.SourceRef.Kind,
			sourceName: t.Spec.SourceRef.Name, namespace: t.GetNamespace(hr.Namespace),
			valuesFiles: t.Spec.ValuesFiles, ignoreMissingValuesFiles: t.Spec.IgnoreMissingValuesFiles}, nil
	}
	ref := hr.Spec.ChartRef
	if ref == nil {
		return nil, &notReached{}
	}
	ns := ref.NamespaceOr(hr.Namespace)
	d := v.find(ref.Kind, ns, ref.Name)
	if d == nil {
		return nil, &notReached{} // checkRefs reports it
	}
	switch ref.Kind {
	case sourcev1.HelmChartKind:
		var hc sourcev1.HelmChart
		if err := sigsyaml.Unmarshal(d.YAML, &hc); err != nil {
			return nil, &notReached{}
		}
		return &chartSpec{chart: hc.Spec.Chart, version: hc.Spec.Version, sourceKind: hc.Spec.SourceRef.Kind,
			sourceName: hc.Spec.SourceRef.Name, namespace: namespaceOr(hc.Namespace, ns),
			valuesFiles: hc.Spec.ValuesFiles, ignoreMissingValuesFiles: hc.Spec.IgnoreMissingValuesFiles}, nil
	case sourcev1.OCIRepositoryKind:
		var o sourcev1.OCIRepository
		if err := sigsyaml.Unmarshal(d.YAML, &o); err != nil {
			return nil, &notReached{}
		}
		return ociRepositoryChart(&o, ns)
	}
	return nil, &notReached{}
}

// ociRepositoryChart makes an OCIRepository that holds a chart
// (oci://host/path/NAME, a tag or semver range) look like a chart in an OCI
// HelmRepository (oci://host/path).
func ociRepositoryChart(o *sourcev1.OCIRepository, ns string) (*chartSpec, *notReached) {
	what := "chart of OCIRepository " + o.Name
	i := strings.LastIndex(o.Spec.URL, "/")
	if !strings.HasPrefix(o.Spec.URL, "oci://") || i < len("oci://") {
		return nil, &notReached{} // the CRD's rules say what is wrong
	}
	switch r := o.Spec.Reference; {
	case r != nil && (r.Digest != "" || r.SemverFilter != ""):
		return nil, &notReached{path: "spec.chartRef", fetch: true, msg: what + ": only a tag or semver ref can be followed here: skipped templating"}
	case o.Spec.SecretRef != nil || o.Spec.CertSecretRef != nil || (o.Spec.Provider != "" && o.Spec.Provider != "generic"):
		return nil, &notReached{path: "spec.chartRef", fetch: true, msg: what + " needs credentials, which validate cannot read: skipped templating"}
	}
	spec := &chartSpec{chart: o.Spec.URL[i+1:], sourceKind: sourcev1.OCIRepositoryKind, sourceName: o.Name, namespace: namespaceOr(o.Namespace, ns),
		repository: &sourcev1.HelmRepository{Spec: sourcev1.HelmRepositorySpec{URL: o.Spec.URL[:i], Type: sourcev1.HelmRepositoryTypeOCI, Insecure: o.Spec.Insecure}}}
	if r := o.Spec.Reference; r != nil {
		spec.version = r.Tag
		if r.SemVer != "" {
			spec.version = r.SemVer
		}
	}
	return spec, nil
}

func namespaceOr(ns, def string) string {
	if ns != "" {
		return ns
	}
	return def
}

// find returns the document of a Tether object under the directory; an
// object with no namespace (set later, by kustomize or a Kustomization's
// targetNamespace) matches any namespace.
func (v *validator) find(kind, namespace, name string) *document {
	for _, d := range v.docs {
		gvk, ok := d.gvk()
		if !ok || gvk.Kind != kind || v.patches[d.File] {
			continue
		}
		if kind != "ConfigMap" && kind != "Secret" && !isTetherGroup(gvk.Group) {
			continue
		}
		md, _ := d.Obj["metadata"].(map[string]any)
		n, _ := md["name"].(string)
		ns, _ := md["namespace"].(string)
		if n == name && (ns == namespace || ns == "" || namespace == "") {
			return d
		}
	}
	return nil
}

// sourceRoot returns the directories where the charts of a GitRepository or
// Bucket may be: the --source-dir given for it, else the directory
// validated, then the top of its Git work tree. found says whether the
// chart path is under the first one returned.
func (v *validator) sourceRoot(spec *chartSpec) ([]string, bool) {
	var roots []string
	if dir, ok := v.cfg.Charts.SourceDirs[spec.sourceKind+"/"+spec.namespace+"/"+spec.sourceName]; ok {
		roots = []string{dir}
	} else if dir, ok := v.cfg.Charts.SourceDirs[spec.sourceKind+"/"+spec.sourceName]; ok {
		roots = []string{dir}
	} else {
		roots = []string{v.root}
		if top := gitTop(v.root); top != "" {
			if abs, err := filepath.Abs(v.root); err == nil && abs != top {
				roots = append(roots, top)
			}
		}
	}
	for i, r := range roots {
		if _, err := os.Stat(filepath.Join(r, filepath.FromSlash(spec.chart))); err == nil {
			return roots[i:], true
		}
	}
	return roots, false
}

// gitTop returns the top of the Git work tree that holds dir, "" when there
// is none.
func gitTop(dir string) string {
	d, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// relativeToWorkingDir returns dir relative to the working directory when
// that is shorter.
func relativeToWorkingDir(dir string) string {
	wd, err := os.Getwd()
	if err != nil {
		return dir
	}
	if rel, err := filepath.Rel(wd, dir); err == nil && len(rel) < len(dir) {
		return filepath.ToSlash(rel)
	}
	return dir
}

// helmRepository returns the HelmRepository a chart comes from, defined
// under the directory, and a reader of the Secrets it names, when they are
// under the directory too, unencrypted.
func (v *validator) helmRepository(spec *chartSpec) (*sourcev1.HelmRepository, docReader, *notReached) {
	d := v.find(sourcev1.HelmRepositoryKind, spec.namespace, spec.sourceName)
	if d == nil || v.cfg.Charts.Offline {
		return nil, nil, &notReached{} // checkRefs reports a missing one
	}
	var repo sourcev1.HelmRepository
	if err := sigsyaml.Unmarshal(d.YAML, &repo); err != nil {
		return nil, nil, &notReached{}
	}
	what := fmt.Sprintf("chart %s from HelmRepository %s", spec.chart, spec.sourceName)
	if p := repo.Spec.Provider; p != "" && p != sourcev1.GenericProvider {
		return nil, nil, &notReached{path: "spec.chart", fetch: true, msg: fmt.Sprintf("%s needs %s credentials (spec.provider): skipped templating", what, p)}
	}
	secrets := docReader{}
	for field, ref := range map[string]*meta.LocalObjectReference{"spec.secretRef": repo.Spec.SecretRef, "spec.certSecretRef": repo.Spec.CertSecretRef} {
		if ref == nil {
			continue
		}
		s := v.find("Secret", namespaceOr(repo.Namespace, spec.namespace), ref.Name)
		if s == nil || s.Obj["sops"] != nil {
			return nil, nil, &notReached{path: "spec.chart", fetch: true, msg: fmt.Sprintf(
				"%s needs Secret %s of its %s, which is not under %s unencrypted: skipped templating", what, ref.Name, field, v.root)}
		}
		secrets["Secret/"+ref.Name] = s.Obj
	}
	return &repo, secrets, nil
}

// fromHelmRepository fetches a chart as the HelmChart reconciler does:
// resolve the version in the index (or among the OCI tags), download it,
// merge its values files. A repository that cannot be reached is a fetch
// problem; a chart or version that it does not have is an error.
func (f *fetcher) fromHelmRepository(ctx context.Context, repo *sourcev1.HelmRepository, secrets docReader, spec *chartSpec, what string) (*helm.Chart, *notReached) {
	unreachable := func(err error) *notReached {
		return &notReached{path: "spec.chart", fetch: true, msg: fmt.Sprintf("%s not reachable: skipped templating: %v", what, err)}
	}
	if err, ok := f.unreachable[repo.Spec.URL]; ok {
		return nil, unreachable(err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	repo = repo.DeepCopy()
	repo.Spec.Timeout = &metav1.Duration{Duration: f.opts.Timeout}
	if repo.Namespace == "" {
		repo.Namespace = namespaceOr(spec.namespace, "default")
	}
	c, err := helmrepo.Fetch(ctx, secrets, repo, helmrepo.ChartRef{Name: spec.chart, Version: spec.version,
		ValuesFiles: spec.valuesFiles, IgnoreMissingValuesFiles: spec.ignoreMissingValuesFiles}, nil, f.tmp)
	if err == nil {
		return c, nil
	}
	// The repository answered, but has no such chart or version, or the
	// chart's values files are missing: the reconciler fails too.
	wrong := errors.Is(err, helm.ErrChartNotFound) || errors.Is(err, helm.ErrNoMatchingVersion) ||
		errors.Is(err, helm.ErrInvalidReference) || strings.HasPrefix(err.Error(), "chart ")
	// Fetch names the repository, which the message does already.
	err = errors.New(strings.TrimPrefix(err.Error(), fmt.Sprintf("HelmRepository %s/%s: ", repo.Namespace, repo.Name)))
	if wrong {
		return nil, &notReached{path: "spec.chart", msg: fmt.Sprintf("%s: %v", what, err)}
	}
	f.unreachable[repo.Spec.URL] = err
	return nil, unreachable(err)
}

// loadChart loads a fetched or packaged chart.
func loadChart(c *helm.Chart, what string) (*chart.Chart, *notReached) {
	ch, err := loader.Load(c.Path)
	if err != nil {
		return nil, &notReached{path: "spec.chart", msg: fmt.Sprintf("%s: %v", what, err)}
	}
	return ch, nil
}

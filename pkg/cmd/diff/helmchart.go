package diff

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	sourcev1 "github.com/tether-gitops/tether/pkg/apis/source/v1"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/source/helm"
	"github.com/tether-gitops/tether/pkg/source/helmrepo"
)

// maxArtifactSize bounds a chart artifact downloaded from the reconciler.
const maxArtifactSize = helm.DefaultMaxChartSize

// fetchChart returns the chart the reconciler would release for hr. A chart
// from a HelmRepository is fetched from the repository, as the HelmChart
// reconciler fetches it; any other (packaged from a GitRepository or Bucket,
// or an OCIRepository's) is the artifact the reconciler stored.
func (o *HelmReleaseOptions) fetchChart(ctx context.Context, c client.Client, hr *helmv1.HelmRelease) (*chart.Chart, error) {
	switch {
	case hr.Spec.ChartRef != nil:
		ref := hr.Spec.ChartRef
		ns := ref.NamespaceOr(hr.Namespace)
		switch ref.Kind {
		case sourcev1.HelmChartKind:
			hc := &sourcev1.HelmChart{}
			if err := getSource(ctx, c, "spec.chartRef", sourcev1.HelmChartKind, ns, ref.Name, hc); err != nil {
				return nil, err
			}
			return o.fromHelmChartSpec(ctx, c, ns, ref.Name, hc.Spec)
		case sourcev1.OCIRepositoryKind:
			if o.ChartVersion != "" {
				return nil, fmt.Errorf("--chart-version needs spec.chart (or a spec.chartRef HelmChart) from a HelmRepository: HelmRelease %s/%s uses OCIRepository %s/%s: change its spec.ref instead", hr.Namespace, hr.Name, ns, ref.Name)
			}
			src := &sourcev1.OCIRepository{}
			if err := getSource(ctx, c, "spec.chartRef", sourcev1.OCIRepositoryKind, ns, ref.Name, src); err != nil {
				return nil, err
			}
			return o.fromArtifact(ctx, sourcev1.OCIRepositoryKind, src)
		default:
			return nil, fmt.Errorf("HelmRelease %s/%s: spec.chartRef.kind %q is not supported: use OCIRepository or HelmChart", hr.Namespace, hr.Name, ref.Kind)
		}
	case hr.Spec.Chart != nil:
		tpl := hr.Spec.Chart.Spec
		spec := sourcev1.HelmChartSpec{
			Chart: tpl.Chart, Version: tpl.Version, ValuesFiles: tpl.ValuesFiles, IgnoreMissingValuesFiles: tpl.IgnoreMissingValuesFiles,
			SourceRef: sourcev1.LocalHelmChartSourceReference{APIVersion: tpl.SourceRef.APIVersion, Kind: tpl.SourceRef.Kind, Name: tpl.SourceRef.Name},
		}
		return o.fromHelmChartSpec(ctx, c, hr.Spec.Chart.GetNamespace(hr.Namespace), hr.GetHelmChartName(), spec)
	}
	return nil, fmt.Errorf("HelmRelease %s/%s has neither spec.chart nor spec.chartRef", hr.Namespace, hr.Name)
}

// fromHelmChartSpec fetches the chart of a HelmChart's spec: from its
// HelmRepository, else the artifact of the HelmChart hcName.
func (o *HelmReleaseOptions) fromHelmChartSpec(ctx context.Context, c client.Client, ns, hcName string, spec sourcev1.HelmChartSpec) (*chart.Chart, error) {
	if spec.SourceRef.Kind != sourcev1.HelmRepositoryKind {
		if o.ChartVersion != "" {
			return nil, fmt.Errorf("--chart-version needs a chart from a HelmRepository: the chart %q comes from %s %s/%s, whose files give its version",
				spec.Chart, spec.SourceRef.Kind, ns, spec.SourceRef.Name)
		}
		hc := &sourcev1.HelmChart{}
		if err := getSource(ctx, c, "the HelmChart made for the HelmRelease", sourcev1.HelmChartKind, ns, hcName, hc); err != nil {
			return nil, err
		}
		return o.fromArtifact(ctx, sourcev1.HelmChartKind, hc)
	}
	repo := &sourcev1.HelmRepository{}
	if err := getSource(ctx, c, "the chart's sourceRef", sourcev1.HelmRepositoryKind, ns, spec.SourceRef.Name, repo); err != nil {
		return nil, err
	}
	version := spec.Version
	if o.ChartVersion != "" {
		version = o.ChartVersion
	}
	dir, err := os.MkdirTemp("", "tether-diff-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cache, err := helm.NewCache(filepath.Join(dir, "cache"), 0)
	if err != nil {
		return nil, err
	}
	fetched, err := helmrepo.Fetch(ctx, c, repo, helmrepo.ChartRef{Name: spec.Chart, Version: version,
		ValuesFiles: spec.ValuesFiles, IgnoreMissingValuesFiles: spec.IgnoreMissingValuesFiles}, cache, dir)
	switch {
	case err == nil:
	case errors.Is(err, helm.ErrChartNotFound), errors.Is(err, helm.ErrNoMatchingVersion), errors.Is(err, helm.ErrInvalidReference):
		if o.ChartVersion != "" {
			return nil, fmt.Errorf("--chart-version %s: %w", o.ChartVersion, err)
		}
		return nil, err
	default:
		return nil, cmdutil.Summarize(err, "cannot fetch chart %q version %q from %s: %s: diff fetches the chart from the repository itself; check that it is reachable from here and that the HelmRepository's secrets are right",
			spec.Chart, orLatest(version), repo.Spec.URL, cause(err))
	}
	return loadChart(fetched.Path, fmt.Sprintf("HelmRepository %s/%s", ns, repo.Name))
}

// fromArtifact downloads and loads the chart artifact that the reconciler
// stored for src (kind is its kind).
func (o *HelmReleaseOptions) fromArtifact(ctx context.Context, kind string, src interface {
	client.Object
	GetArtifact() *meta.Artifact
}) (*chart.Chart, error) {
	what := fmt.Sprintf("%s %s/%s", kind, src.GetNamespace(), src.GetName())
	a := src.GetArtifact()
	if a == nil {
		return nil, fmt.Errorf("%s has no artifact yet: wait until it is Ready (tether get sources -n %s)", what, src.GetNamespace())
	}
	data, err := o.download(ctx, a.URL)
	if err != nil {
		return nil, cmdutil.Summarize(err, "cannot download the chart artifact of %s from %s: %s: run diff where the reconciler's artifact server is reachable, or with access to its Service through the API server (get services/proxy)",
			what, a.URL, cause(err))
	}
	if want, ok := strings.CutPrefix(a.Digest, "sha256:"); ok {
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != want {
			return nil, fmt.Errorf("the chart artifact of %s from %s does not match its digest %s: the artifact changed while it was read; diff again", what, a.URL, a.Digest)
		}
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("the artifact of %s, revision %s, is not a Helm chart: %w", what, a.Revision, err)
	}
	return ch, nil
}

// download GETs an artifact URL. An in-cluster Service address
// (name.namespace.svc[.domain]), which resolves only inside the cluster, is
// reached through the API server's service proxy with the kubeconfig's
// credentials.
func (o *HelmReleaseOptions) download(ctx context.Context, rawURL string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("invalid artifact URL: %w", err)
	}
	if svc, ns, port, ok := serviceAddress(u); ok {
		cs, err := o.Factory.Clientset()
		if err != nil {
			return nil, err
		}
		data, err := cs.CoreV1().Services(ns).ProxyGet(u.Scheme, svc, port, u.EscapedPath(), nil).DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("through the API server's proxy to service %s/%s: %w", ns, svc, err)
		}
		return data, nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, ue.Err // its message repeats the URL
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("unexpected status %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxArtifactSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxArtifactSize {
		return nil, fmt.Errorf("the artifact exceeds %d bytes", maxArtifactSize)
	}
	return data, nil
}

// serviceAddress reports whether u's host is a Service's cluster DNS name,
// name.namespace.svc with an optional cluster domain, and returns its parts;
// the port defaults to the scheme's.
func serviceAddress(u *url.URL) (name, namespace, port string, ok bool) {
	parts := strings.Split(strings.TrimSuffix(u.Hostname(), "."), ".")
	if len(parts) < 3 || parts[2] != "svc" || parts[0] == "" || parts[1] == "" {
		return "", "", "", false
	}
	port = u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return parts[0], parts[1], port, true
}

// getSource reads a source object; field says which spec field led to it,
// for the error.
func getSource(ctx context.Context, c client.Client, field, kind, ns, name string, obj client.Object) error {
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%s %s/%s (%s) not found: create it, or wait for the reconciler to", kind, ns, name, field)
		}
		return fmt.Errorf("reading %s %s/%s: %w", kind, ns, name, err)
	}
	return nil
}

func orLatest(version string) string {
	if version == "" {
		return "*"
	}
	return version
}

// cause is what to show of an error in one line: a network error's last
// part ("connection refused", without the dial's address chain), else the
// whole message.
func cause(err error) string {
	s := err.Error()
	var netErr net.Error
	if !errors.As(err, &netErr) {
		return s
	}
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}

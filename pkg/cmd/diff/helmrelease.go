package diff

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/helm"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/ssa"
)

// HelmReleaseOptions are the flags of `tether diff helmrelease`.
type HelmReleaseOptions struct {
	Factory *cmdutil.Factory
	IO      *iostreams.IOStreams

	Name      string
	Namespace string
	// ValuesFiles are merged, in order, over the values the HelmRelease
	// composes (spec.valuesFrom, then spec.values), as `helm upgrade -f`.
	ValuesFiles []string
	// ChartVersion replaces spec.chart.spec.version: a version or a semver
	// range, resolved against the repository's index.
	ChartVersion string

	chartVersionSet bool
	values          []map[string]any
}

// NewCmdHelmRelease returns `tether diff helmrelease`; runF, when set, is
// called instead of Run once the flags are checked.
func NewCmdHelmRelease(f *cmdutil.Factory, runF func(*HelmReleaseOptions) error) *cobra.Command {
	opts := &HelmReleaseOptions{Factory: f, IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:     "helmrelease NAME [--values FILE]... [--chart-version V]",
		Aliases: []string{"hr"},
		Short:   "Diff the release the reconciler would make for a HelmRelease with the deployed one",
		Long: `Diff renders the release that the reconciler would make for the HelmRelease
NAME: the chart of spec.chart (fetched from its HelmRepository, as the source
reconciler does, with the credentials of the repository's secretRef) or of
spec.chartRef, the values of spec.valuesFrom and spec.values, and the
post-renderers of spec.postRenderers. It runs Helm's upgrade (install, when
there is no deployed release) as a server-side dry-run against the release's
namespace and storage namespace: nothing in the cluster changes.

Each object whose rendered manifest differs from the deployed release's
manifest is printed as a unified diff on stdout (the live objects' drift from
that manifest is the reconciler's drift detection's business); stderr says which objects would be
created, changed or deleted, and whether the chart version or the values
change. Hooks are compared too, test hooks are not. Secret values are masked;
values are never printed.

--values FILE merges a local values file over the composed values (repeat it:
later files win). --chart-version replaces spec.chart.spec.version; the
repository's index is read now, so a version published since the last
reconcile of the HelmRepository is seen. The dry-run runs as you, not as
spec.serviceAccountName.

Exit status: 0 no change, 1 changes, 2 error.`,
		Example: `  # What the next reconcile of podinfo would change
  tether diff helmrelease podinfo -n apps

  # Try a values file and a new chart version before committing them
  tether diff hr podinfo -n apps --values ./podinfo-values.yaml --chart-version 6.7.x`,
		Args:              oneName,
		ValidArgsFunction: kinds.CompleteNames(f, kinds.HelmRelease, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Complete(cmd, args)
			err := opts.Validate()
			if err == nil {
				if runF != nil {
					return runF(opts)
				}
				err = opts.Run(cmd.Context())
			}
			return failed(err)
		},
	}
	cmd.Flags().StringArrayVarP(&opts.ValuesFiles, "values", "f", nil, "local values file merged over the HelmRelease's values (repeatable; later files win)")
	cmd.Flags().StringVar(&opts.ChartVersion, "chart-version", "", "chart version or semver range to use instead of spec.chart.spec.version")
	cmd.SetFlagErrorFunc(usageError)
	return cmd
}

// Complete fills the options from the arguments and the namespace flag.
func (o *HelmReleaseOptions) Complete(cmd *cobra.Command, args []string) {
	o.Name, o.Namespace = args[0], o.Factory.Namespace()
	o.chartVersionSet = cmd.Flags().Changed("chart-version")
	o.ChartVersion = strings.TrimSpace(o.ChartVersion)
}

// Validate checks the flags and reads the values files.
func (o *HelmReleaseOptions) Validate() error {
	if o.chartVersionSet && o.ChartVersion == "" {
		return cmdutil.UsageErrorf("--chart-version is empty: give a version or a semver range such as 1.2.3 or 1.x")
	}
	o.values = nil
	for _, file := range o.ValuesFiles {
		data, err := os.ReadFile(file)
		if err != nil {
			return cmdutil.UsageErrorf("--values %s: %v", file, errors.Unwrap(err))
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			return cmdutil.UsageErrorf("--values %s: not a YAML map of values: %v", file, err)
		}
		o.values = append(o.values, m)
	}
	return nil
}

// Run prints the diff; it returns an ExitError with code 1 when the
// reconciler would change the release.
func (o *HelmReleaseOptions) Run(ctx context.Context) error {
	c, err := o.Factory.Client()
	if err != nil {
		return err
	}
	obj, err := kinds.Get(ctx, c, kinds.HelmRelease, o.Namespace, o.Name)
	if err != nil {
		return err
	}
	hr := obj.(*helmv1.HelmRelease)
	if hr.Spec.KubeConfig != nil {
		return fmt.Errorf("HelmRelease %s/%s releases to the cluster of spec.kubeConfig, which diff does not reach: diff it from a kubeconfig of that cluster with a copy of the HelmRelease", o.Namespace, o.Name)
	}
	if hr.Spec.Suspend {
		o.IO.Warn("HelmRelease %s/%s is suspended: the reconciler makes no release until it is resumed", o.Namespace, o.Name)
	}

	ch, err := o.fetchChart(ctx, c, hr)
	if err != nil {
		return err
	}
	values, err := o.composeValues(ctx, c, hr)
	if err != nil {
		return err
	}
	rendered, deployed, err := o.dryRun(ctx, hr, ch, values)
	if err != nil {
		return err
	}

	moved := o.reportMoved(hr)
	changed := o.reportRelease(deployed, rendered)
	n, err := o.diffObjects(c, deployed, rendered)
	if err != nil {
		return err
	}
	if moved || changed || n > 0 {
		return &cmdutil.ExitError{Code: 1, Silent: true}
	}
	return nil
}

// composeValues merges the values as the reconciler does, then the local
// values files over them.
func (o *HelmReleaseOptions) composeValues(ctx context.Context, c client.Client, hr *helmv1.HelmRelease) (map[string]any, error) {
	specValues, err := hr.GetValues()
	if err != nil {
		return nil, fmt.Errorf("HelmRelease %s/%s: spec.values: %w", hr.Namespace, hr.Name, err)
	}
	values, err := helm.ComposeValues(ctx, c, hr.Namespace, hr.Spec.ValuesFrom, specValues)
	if err != nil {
		return nil, fmt.Errorf("HelmRelease %s/%s: %w", hr.Namespace, hr.Name, err)
	}
	for _, m := range o.values {
		values = helm.MergeMaps(values, m)
	}
	return values, nil
}

// dryRun runs the install or upgrade the reconciler would run, as a
// server-side dry-run, and returns the release it would make and the
// deployed one (nil when there is none).
func (o *HelmReleaseOptions) dryRun(ctx context.Context, hr *helmv1.HelmRelease, ch *chart.Chart, values map[string]any) (rendered, deployed *release.Release, err error) {
	cfg, err := o.Factory.RESTConfig()
	if err != nil {
		return nil, nil, err
	}
	name, ns, storage := hr.GetReleaseName(), hr.GetReleaseNamespace(), hr.GetStorageNamespace()
	hcfg, err := helm.NewConfiguration(helm.NewClientGetter(cfg, ns), ns, storage, nil)
	if err != nil {
		return nil, nil, err
	}
	runner := helm.NewRunner(hcfg, name, ns)
	last, err := runner.Last()
	if err != nil {
		return nil, nil, fmt.Errorf("%w (Helm's records are Secrets in namespace %s)", err, storage)
	}
	hist, err := runner.History()
	if err != nil {
		return nil, nil, fmt.Errorf("%w (Helm's records are Secrets in namespace %s)", err, storage)
	}
	if helm.IsPending(last) {
		return nil, nil, fmt.Errorf("release %s/%s v%d is %s: an action on it is running or was interrupted; the reconciler recovers it on its next reconcile: diff again then",
			ns, name, last.Version, last.Info.Status)
	}
	deployed = helm.Deployed(hist)
	if helm.NeedsInstall(last, hist) {
		opts := helm.InstallOptionsFor(hr, last != nil)
		opts.DryRun = true
		rendered, err = runner.Install(ctx, ch, values, opts)
	} else {
		opts := helm.UpgradeOptionsFor(hr)
		opts.DryRun = true
		rendered, err = runner.Upgrade(ctx, ch, values, opts)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("dry-run of release %s/%s with chart %s@%s: %w", ns, name, ch.Name(), ch.Metadata.Version, err)
	}
	if rendered == nil {
		return nil, nil, fmt.Errorf("dry-run of release %s/%s with chart %s@%s returned no release", ns, name, ch.Name(), ch.Metadata.Version)
	}
	return rendered, deployed, nil
}

// reportMoved says on stderr when the spec names another release than the
// one the reconciler made (releaseName, targetNamespace or storageNamespace
// changed): the reconciler uninstalls that one first.
func (o *HelmReleaseOptions) reportMoved(hr *helmv1.HelmRelease) bool {
	latest, storage := hr.Status.History.Latest(), hr.Status.StorageNamespace
	if latest == nil || storage == "" ||
		latest.Name == hr.GetReleaseName() && latest.Namespace == hr.GetReleaseNamespace() && storage == hr.GetStorageNamespace() {
		return false
	}
	o.IO.Step("release %s/%s (storage %s) would be uninstalled: the spec now names release %s/%s",
		latest.Namespace, latest.Name, storage, hr.GetReleaseNamespace(), hr.GetReleaseName())
	return true
}

// reportRelease says on stderr what changes in the release itself (a new
// release, the chart, the values) and reports whether the reconciler would
// upgrade for it.
func (o *HelmReleaseOptions) reportRelease(deployed, rendered *release.Release) bool {
	newChart := helm.ChartName(rendered) + " " + helm.ChartVersion(rendered)
	if deployed == nil {
		o.IO.Step("release %s/%s would be installed with chart %s", rendered.Namespace, rendered.Name, newChart)
		return true
	}
	changed := false
	if oldChart := helm.ChartName(deployed) + " " + helm.ChartVersion(deployed); oldChart != newChart {
		changed = true
		if helm.ChartName(deployed) == helm.ChartName(rendered) {
			o.IO.Step("chart %s %s -> %s", helm.ChartName(rendered), helm.ChartVersion(deployed), helm.ChartVersion(rendered))
		} else {
			o.IO.Step("chart %s -> %s", oldChart, newChart)
		}
	}
	if helm.ValuesDigest(deployed.Config) != helm.ValuesDigest(rendered.Config) {
		changed = true
		o.IO.Step("values changed")
	}
	return changed
}

// releaseObject is an object of a release's manifest or of one of its hooks.
type releaseObject struct {
	id, subject string
	obj         *unstructured.Unstructured
}

// diffObjects prints the diff of every object that differs between the
// deployed and the rendered release, and returns how many do.
func (o *HelmReleaseOptions) diffObjects(c client.Client, deployed, rendered *release.Release) (int, error) {
	var before []releaseObject
	if deployed != nil {
		var err error
		if before, err = releaseObjects(c, deployed); err != nil {
			return 0, err
		}
	}
	after, err := releaseObjects(c, rendered)
	if err != nil {
		return 0, err
	}
	from, to := "(none)", fmt.Sprintf("%s.v%d (dry-run)", rendered.Name, rendered.Version)
	if deployed != nil {
		from = fmt.Sprintf("%s.v%d", deployed.Name, deployed.Version)
	}
	old := map[string]releaseObject{}
	for _, ro := range before {
		old[ro.id] = ro
	}
	changed := 0
	for _, ro := range after {
		prev, found := old[ro.id]
		delete(old, ro.id)
		verb := "created"
		var prevObj *unstructured.Unstructured
		if found {
			a, err := yamlOf(prev.obj)
			if err != nil {
				return 0, err
			}
			b, err := yamlOf(ro.obj)
			if err != nil {
				return 0, err
			}
			if a == b {
				continue
			}
			verb, prevObj = "changed", prev.obj
		}
		changed++
		o.IO.Step("%s %s", ro.subject, verb)
		if err := writeDiff(o.IO.Out, from+" "+ro.subject, to+" "+ro.subject, prevObj, ro.obj); err != nil {
			return 0, err
		}
	}
	for _, ro := range before {
		if _, gone := old[ro.id]; !gone {
			continue
		}
		changed++
		o.IO.Step("%s deleted", ro.subject)
		if err := writeDiff(o.IO.Out, from+" "+ro.subject, to+" "+ro.subject, ro.obj, nil); err != nil {
			return 0, err
		}
	}
	return changed, nil
}

// releaseObjects returns the objects of rel's manifest, as Helm applies them
// (namespace and ownership metadata set), then those of its hooks but the
// tests, which run only on `helm test`.
func releaseObjects(c client.Client, rel *release.Release) ([]releaseObject, error) {
	objs, err := helm.ManifestObjects(c, rel)
	if err != nil {
		return nil, err
	}
	out := make([]releaseObject, 0, len(objs))
	for _, u := range objs {
		out = append(out, releaseObject{id: ssa.ObjectID(u), subject: ssa.Subject(u), obj: u})
	}
	for _, h := range rel.Hooks {
		if h == nil || slices.Contains(h.Events, release.HookTest) {
			continue
		}
		objs, err := helm.ParseManifest(h.Manifest)
		if err != nil {
			return nil, fmt.Errorf("release %s v%d, hook %s: %w", rel.Name, rel.Version, h.Path, err)
		}
		for _, u := range objs {
			if u.GetNamespace() == "" {
				namespaced, err := c.IsObjectNamespaced(u)
				if err != nil {
					return nil, fmt.Errorf("release %s, hook %s: %s %s: %w", rel.Name, h.Path, u.GetKind(), u.GetName(), err)
				}
				if namespaced {
					u.SetNamespace(rel.Namespace)
				}
			}
			out = append(out, releaseObject{id: "hook " + ssa.ObjectID(u), subject: ssa.Subject(u) + " (hook)", obj: u})
		}
	}
	return out, nil
}

// loadChart loads a chart archive for Helm.
func loadChart(path, from string) (*chart.Chart, error) {
	ch, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("the chart of %s is not a valid Helm chart: %w", from, err)
	}
	return ch, nil
}

package create

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
)

func newCmdHelmRelease(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := newOptions(f, kinds.HelmRelease)
	var (
		source, chart, chartVersion, chartRef, releaseName, targetNamespace, storageNamespace, serviceAccount string
		createNamespace                                                                                       bool
		interval                                                                                              time.Duration
		valuesFiles, valuesFrom, deps                                                                         []string
	)
	cmd := leaf(f, o, "helmrelease", "Create or update a HelmRelease", `  # The chart podinfo of the HelmRepository podinfo, with values from a file
  tether create helmrelease podinfo --source=HelmRepository/podinfo --chart=podinfo --chart-version=">=6.0.0" --values=values.yaml

  # A chart from a directory of a GitRepository, into its own namespace
  tether create hr app --source=GitRepository/app --chart=./charts/app --target-namespace=app --create-target-namespace

  # A chart pulled as an OCIRepository, with values from a ConfigMap
  tether create hr podinfo --chart-ref=OCIRepository/podinfo --values-from=ConfigMap/podinfo-values`, runF)
	cmd.Aliases = []string{"hr"}
	addWaitFlag(cmd, o)
	fl := cmd.Flags()
	fl.StringVar(&source, "source", "", "source of the chart: Kind/name or Kind/namespace/name; Kind is HelmRepository, GitRepository or Bucket")
	fl.StringVar(&chart, "chart", "", "chart name (HelmRepository) or path in the source (GitRepository, Bucket)")
	fl.StringVar(&chartVersion, "chart-version", "", "chart version or semver range (HelmRepository)")
	fl.StringVar(&chartRef, "chart-ref", "", "chart artifact instead of --source/--chart: OCIRepository/name or HelmChart/name")
	fl.StringSliceVar(&valuesFiles, "values", nil, "YAML file of values; repeat to merge several, later files win")
	fl.StringSliceVar(&valuesFrom, "values-from", nil, "ConfigMap/name or Secret/name holding values.yaml; repeat for several")
	fl.StringVar(&releaseName, "release-name", "", "Helm release name (default [target-namespace-]name)")
	fl.StringVar(&targetNamespace, "target-namespace", "", "namespace to install the release into")
	fl.BoolVar(&createNamespace, "create-target-namespace", false, "create the target namespace if it does not exist")
	fl.StringVar(&storageNamespace, "storage-namespace", "", "namespace of the release's storage Secrets")
	fl.StringSliceVar(&deps, "depends-on", nil, "HelmReleases to wait for first: name or namespace/name")
	fl.StringVar(&serviceAccount, "service-account", "", "service account to impersonate when installing")
	fl.DurationVar(&interval, "interval", 10*time.Minute, "how often to reconcile")
	_ = cmd.RegisterFlagCompletionFunc("source", completeRefs(f, kinds.HelmRepository, kinds.GitRepository, kinds.Bucket))
	_ = cmd.RegisterFlagCompletionFunc("chart-ref", completeRefs(f, kinds.OCIRepository, kinds.HelmChart))
	_ = cmd.RegisterFlagCompletionFunc("depends-on", kinds.CompleteNames(f, kinds.HelmRelease, false))
	_ = cmd.MarkFlagFilename("values", "yaml", "yml")
	o.Objects = func(context.Context) ([]client.Object, error) {
		obj := &helmv1.HelmRelease{
			ObjectMeta: o.objectMeta(),
			Spec: helmv1.HelmReleaseSpec{
				ReleaseName:        releaseName,
				TargetNamespace:    targetNamespace,
				StorageNamespace:   storageNamespace,
				ServiceAccountName: serviceAccount,
				Interval:           duration(interval),
			},
		}
		switch {
		case chartRef != "" && (source != "" || chart != "" || chartVersion != ""):
			return nil, cmdutil.UsageErrorf("--chart-ref excludes --source, --chart and --chart-version")
		case chartRef != "":
			kind, ns, name, err := parseRef("--chart-ref", chartRef, "", "OCIRepository", "HelmChart")
			if err != nil {
				return nil, err
			}
			obj.Spec.ChartRef = &meta.CrossNamespaceSourceReference{Kind: kind, Namespace: ns, Name: name}
		case source == "" || chart == "":
			return nil, cmdutil.UsageErrorf("pass --source and --chart, or --chart-ref")
		default:
			kind, ns, name, err := parseRef("--source", source, "", "HelmRepository", "GitRepository", "Bucket")
			if err != nil {
				return nil, err
			}
			obj.Spec.Chart = &helmv1.HelmChartTemplate{Spec: helmv1.HelmChartTemplateSpec{
				Chart:     chart,
				Version:   chartVersion,
				SourceRef: meta.CrossNamespaceSourceReference{Kind: kind, Namespace: ns, Name: name},
			}}
		}
		if createNamespace {
			if targetNamespace == "" {
				return nil, cmdutil.UsageErrorf("--create-target-namespace needs --target-namespace")
			}
			obj.Spec.Install = &helmv1.Install{CreateNamespace: true}
		}
		var err error
		if obj.Spec.DependsOn, err = dependsOn(deps); err != nil {
			return nil, err
		}
		for _, v := range valuesFrom {
			kind, name, ok := strings.Cut(v, "/")
			switch {
			case ok && strings.EqualFold(kind, "ConfigMap"):
				kind = "ConfigMap"
			case ok && strings.EqualFold(kind, "Secret"):
				kind = "Secret"
			default:
				return nil, cmdutil.UsageErrorf("invalid --values-from %q: use ConfigMap/name or Secret/name", v)
			}
			if name == "" || strings.Contains(name, "/") {
				return nil, cmdutil.UsageErrorf("invalid --values-from %q: use ConfigMap/name or Secret/name", v)
			}
			obj.Spec.ValuesFrom = append(obj.Spec.ValuesFrom, helmv1.ValuesReference{Kind: kind, Name: name})
		}
		if len(valuesFiles) > 0 {
			values := map[string]any{}
			for _, file := range valuesFiles {
				data, err := os.ReadFile(file)
				if err != nil {
					return nil, fmt.Errorf("reading --values: %w", err)
				}
				var v map[string]any
				if err := yaml.Unmarshal(data, &v); err != nil {
					return nil, fmt.Errorf("--values %s is not a YAML map: %w", file, err)
				}
				values = mergeValues(values, v)
			}
			raw, err := json.Marshal(values)
			if err != nil {
				return nil, err
			}
			obj.Spec.Values = &apiextensionsv1.JSON{Raw: raw}
		}
		return []client.Object{typed(kinds.HelmRelease, obj)}, nil
	}
	return cmd
}

// mergeValues merges src into dst as Helm merges values files: maps merge
// key by key, anything else in src replaces what dst holds.
func mergeValues(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = mergeValues(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

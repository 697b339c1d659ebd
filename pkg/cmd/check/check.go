// Package check implements `tether check`.
package check

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/manifestgen"
	"github.com/tether-gitops/tether/pkg/version"
)

// MinKubernetesVersion is the oldest Kubernetes that Tether supports.
const MinKubernetesVersion = "1.33.0"

// Options are the flags and clients of `tether check`.
type Options struct {
	Factory *cmdutil.Factory
	IO      *iostreams.IOStreams

	Pre       bool
	Namespace string
	// Version is the version the CRDs and reconciler are expected at.
	Version string
}

// NewCmdCheck returns `tether check`.
func NewCmdCheck(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f, IO: f.IOStreams, Namespace: manifestgen.DefaultNamespace, Version: version.Get()}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that the cluster can run Tether, and that the installation is healthy",
		Long: `Check verifies the Kubernetes version, that Tether's CRDs are installed and
established at this CLI's version, and that the reconciler Deployment is available.
With --pre it checks only what install needs: the Kubernetes version and the
permissions to create CRDs and cluster roles. It exits 1 when a check fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("namespace") {
				opts.Namespace = f.Namespace()
			}
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&opts.Pre, "pre", false, "only check the prerequisites of install")
	return cmd
}

// Run performs the checks, printing one line per check, and fails with the
// number of failed checks.
func (o *Options) Run(ctx context.Context) error {
	info, err := o.Factory.ServerVersion(ctx)
	if err != nil {
		return err
	}
	c, err := o.Factory.Client()
	if err != nil {
		return err
	}
	failed := 0
	report := func(problem string, okMsg string) {
		if problem != "" {
			failed++
			o.IO.Failure("%s", problem)
		} else {
			o.IO.Success("%s", okMsg)
		}
	}

	o.IO.Step("checking prerequisites")
	report(checkKubernetesVersion(info.GitVersion), fmt.Sprintf("Kubernetes %s >=%s", info.GitVersion, MinKubernetesVersion))
	if o.Pre {
		for _, p := range permissionsNeeded {
			problem, err := checkPermission(ctx, c, p)
			if err != nil {
				return err
			}
			report(problem, fmt.Sprintf("can %s %s", p.verb, p.resource))
		}
	} else {
		o.IO.Step("checking the installation")
		problems, err := o.checkCRDs(ctx, c)
		if err != nil {
			return err
		}
		if len(problems) == 0 {
			report("", "CRDs established at "+o.Version)
		}
		for _, p := range problems {
			report(p, "")
		}
		report(o.checkReconciler(ctx, c), "reconciler available")
	}
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	o.IO.Success("all checks passed")
	return nil
}

func checkKubernetesVersion(gitVersion string) string {
	v, err := utilversion.ParseGeneric(gitVersion)
	if err != nil {
		return fmt.Sprintf("cannot parse the Kubernetes version %q: %v", gitVersion, err)
	}
	if !v.AtLeast(utilversion.MustParseGeneric(MinKubernetesVersion)) {
		return fmt.Sprintf("Kubernetes %s is too old: Tether needs %s or newer", gitVersion, MinKubernetesVersion)
	}
	return ""
}

type permission struct{ verb, group, resource string }

var permissionsNeeded = []permission{
	{"create", "apiextensions.k8s.io", "customresourcedefinitions"},
	{"create", "rbac.authorization.k8s.io", "clusterroles"},
	{"create", "rbac.authorization.k8s.io", "clusterrolebindings"},
	{"create", "", "namespaces"},
}

func checkPermission(ctx context.Context, c client.Client, p permission) (string, error) {
	review := &authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authv1.ResourceAttributes{Verb: p.verb, Group: p.group, Resource: p.resource},
	}}
	if err := c.Create(ctx, review); err != nil {
		return "", fmt.Errorf("asking the API server for permissions: %w", err)
	}
	if !review.Status.Allowed {
		return fmt.Sprintf("not allowed to %s %s: install needs cluster-admin", p.verb, p.resource), nil
	}
	return "", nil
}

// checkCRDs compares the cluster's Tether CRDs with the ones this CLI installs.
func (o *Options) checkCRDs(ctx context.Context, c client.Client) ([]string, error) {
	objs, err := manifestgen.Generate(manifestgen.Options{Version: o.Version, Namespace: o.Namespace})
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, want := range objs {
		if want.GetKind() != "CustomResourceDefinition" {
			continue
		}
		var crd apiextensionsv1.CustomResourceDefinition
		err := c.Get(ctx, client.ObjectKey{Name: want.GetName()}, &crd)
		if apierrors.IsNotFound(err) {
			problems = append(problems, fmt.Sprintf("CRD %s is not installed: run `tether install`", want.GetName()))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading CRD %s: %w", want.GetName(), err)
		}
		if !established(&crd) {
			problems = append(problems, fmt.Sprintf("CRD %s is not established", crd.Name))
		}
		if got := crd.Labels[manifestgen.VersionLabel]; got != o.Version {
			problems = append(problems, fmt.Sprintf("CRD %s is at version %q, this CLI expects %s: run `tether install` to upgrade", crd.Name, got, o.Version))
		}
		if missing := missingVersions(want, &crd); len(missing) > 0 {
			problems = append(problems, fmt.Sprintf("CRD %s does not serve API version(s) %s", crd.Name, strings.Join(missing, ", ")))
		}
	}
	return problems, nil
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

func missingVersions(want *unstructured.Unstructured, crd *apiextensionsv1.CustomResourceDefinition) []string {
	served := map[string]bool{}
	for _, v := range crd.Spec.Versions {
		served[v.Name] = v.Served
	}
	versions, _, _ := unstructured.NestedSlice(want.Object, "spec", "versions")
	var missing []string
	for _, v := range versions {
		if m, ok := v.(map[string]any); ok {
			if name, _ := m["name"].(string); !served[name] {
				missing = append(missing, name)
			}
		}
	}
	return missing
}

// checkReconciler reports a problem unless the reconciler Deployment is Available.
func (o *Options) checkReconciler(ctx context.Context, c client.Client) string {
	var d appsv1.Deployment
	key := client.ObjectKey{Namespace: o.Namespace, Name: manifestgen.DeploymentName}
	if err := c.Get(ctx, key, &d); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Sprintf("deployment %s/%s not found: run `tether install`", key.Namespace, key.Name)
		}
		return fmt.Sprintf("reading deployment %s/%s: %v", key.Namespace, key.Name, err)
	}
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentAvailable {
			if cond.Status == corev1.ConditionTrue && d.Status.ObservedGeneration >= d.Generation {
				return ""
			}
			return fmt.Sprintf("deployment %s/%s is not available: %s: see `kubectl -n %s describe deployment %s`",
				key.Namespace, key.Name, cond.Message, key.Namespace, key.Name)
		}
	}
	return fmt.Sprintf("deployment %s/%s is not available yet: see `kubectl -n %s describe deployment %s`",
		key.Namespace, key.Name, key.Namespace, key.Name)
}

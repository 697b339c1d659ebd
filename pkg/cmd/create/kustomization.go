package create

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tether-gitops/tether/pkg/apis/kustomize/v1"
	"github.com/tether-gitops/tether/pkg/apis/meta"
	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
)

func newCmdKustomization(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := newOptions(f, kinds.Kustomization)
	var (
		source, path, targetNamespace, serviceAccount, decryptionProvider, decryptionSecret string
		prune, specWait, force                                                              bool
		interval, retryInterval                                                             time.Duration
		deps, healthChecks                                                                  []string
	)
	cmd := leaf(f, o, "kustomization", "Create or update a Kustomization", `  # Apply ./deploy of the GitRepository podinfo, pruning what leaves Git
  tether create kustomization podinfo --source=podinfo --path=./deploy --prune

  # From an OCIRepository, after the Kustomization infra, waiting for every object's health
  tether create ks apps --source=OCIRepository/manifests --path=./apps --depends-on=infra --wait

  # Decrypt SOPS-encrypted files with the age key in Secret sops-age
  tether create ks secrets --source=app --path=./secrets --decryption-provider=sops --decryption-secret=sops-age`, runF)
	cmd.Aliases = []string{"ks"}
	fl := cmd.Flags()
	fl.StringVar(&source, "source", "", "source to apply: [Kind/]name or Kind/namespace/name; Kind is GitRepository (default), OCIRepository or Bucket (required)")
	fl.StringVar(&path, "path", "./", "directory of the source to build")
	fl.BoolVar(&prune, "prune", false, "delete the objects that the source no longer holds")
	fl.BoolVar(&specWait, "wait", false, "have the reconciler wait for every applied object to become healthy (spec.wait)")
	fl.BoolVar(&o.Wait, "wait-ready", true, "wait for the Kustomization to become Ready and print its revision; --wait-ready=false returns at once")
	fl.BoolVar(&force, "force", false, "recreate objects whose immutable fields changed")
	fl.StringVar(&targetNamespace, "target-namespace", "", "namespace to put every namespaced object in")
	fl.StringSliceVar(&deps, "depends-on", nil, "Kustomizations to wait for first: name or namespace/name (repeat or separate with commas)")
	fl.StringVar(&serviceAccount, "service-account", "", "service account to impersonate when applying")
	fl.StringSliceVar(&healthChecks, "health-check", nil, "objects whose health to wait for: Kind/name or Kind/namespace/name")
	fl.StringVar(&decryptionProvider, "decryption-provider", "", "decrypt files with: sops")
	fl.StringVar(&decryptionSecret, "decryption-secret", "", "Secret with the decryption keys")
	fl.DurationVar(&interval, "interval", 10*time.Minute, "how often to reconcile")
	fl.DurationVar(&retryInterval, "retry-interval", 0, "how soon to retry after a failure (the interval when 0)")
	_ = cmd.MarkFlagRequired("source")
	_ = cmd.RegisterFlagCompletionFunc("source", completeRefs(f, kinds.GitRepository, kinds.OCIRepository, kinds.Bucket))
	_ = cmd.RegisterFlagCompletionFunc("depends-on", kinds.CompleteNames(f, kinds.Kustomization, false))
	_ = cmd.RegisterFlagCompletionFunc("decryption-provider", cobra.FixedCompletions([]cobra.Completion{"sops"}, cobra.ShellCompDirectiveNoFileComp))
	o.Objects = func(context.Context) ([]client.Object, error) {
		kind, ns, name, err := parseRef("--source", source, "GitRepository", "GitRepository", "OCIRepository", "Bucket")
		if err != nil {
			return nil, err
		}
		dependencies, err := dependsOn(deps)
		if err != nil {
			return nil, err
		}
		var checks []meta.NamespacedObjectKindReference
		for _, hc := range healthChecks {
			parts := strings.Split(hc, "/")
			ref := meta.NamespacedObjectKindReference{}
			switch {
			case len(parts) == 2 && parts[0] != "" && parts[1] != "":
				ref.Kind, ref.Name = parts[0], parts[1]
			case len(parts) == 3 && parts[0] != "" && parts[2] != "":
				ref.Kind, ref.Namespace, ref.Name = parts[0], parts[1], parts[2]
			default:
				return nil, cmdutil.UsageErrorf("invalid --health-check %q: use Kind/name or Kind/namespace/name", hc)
			}
			gvk, ok := healthCheckKind(ref.Kind)
			if !ok {
				return nil, cmdutil.UsageErrorf("invalid --health-check %q: unknown kind %s: use a built-in kind (Deployment, StatefulSet, ...) or a Tether kind", hc, ref.Kind)
			}
			ref.APIVersion, ref.Kind = gvk.GroupVersion().String(), gvk.Kind
			if ref.Namespace == "" {
				ref.Namespace = targetNamespace
			}
			if ref.Namespace == "" {
				ref.Namespace = o.Namespace
			}
			checks = append(checks, ref)
		}
		var decryption *kustomizev1.Decryption
		switch {
		case decryptionProvider == "" && decryptionSecret != "":
			return nil, cmdutil.UsageErrorf("--decryption-secret needs --decryption-provider=sops")
		case decryptionProvider != "" && decryptionProvider != kustomizev1.DecryptionProviderSOPS:
			return nil, cmdutil.UsageErrorf("invalid --decryption-provider %q: only sops is supported", decryptionProvider)
		case decryptionProvider != "":
			decryption = &kustomizev1.Decryption{Provider: decryptionProvider, SecretRef: secretRef(decryptionSecret)}
		}
		obj := &kustomizev1.Kustomization{
			ObjectMeta: o.objectMeta(),
			Spec: kustomizev1.KustomizationSpec{
				SourceRef:          meta.CrossNamespaceSourceReference{Kind: kind, Namespace: ns, Name: name},
				Path:               path,
				Prune:              prune,
				Wait:               specWait,
				Force:              force,
				TargetNamespace:    targetNamespace,
				DependsOn:          dependencies,
				ServiceAccountName: serviceAccount,
				HealthChecks:       checks,
				Decryption:         decryption,
				Interval:           duration(interval),
				RetryInterval:      duration(retryInterval),
			},
		}
		return []client.Object{typed(kinds.Kustomization, obj)}, nil
	}
	return cmd
}

// preferredGroups break ties between groups serving a kind of the same name.
var preferredGroups = []string{"apps", "batch", "", "networking.k8s.io", "policy"}

// healthCheckKind finds the group, version and kind of a kind known to the CLI's
// scheme (the built-in kinds and Tether's), matching its name
// case-insensitively.
func healthCheckKind(kind string) (schema.GroupVersionKind, bool) {
	if k, ok := kinds.ByKind(kind); ok {
		return k.GVK, true
	}
	var found []schema.GroupVersionKind
	for gvk := range cmdutil.Scheme().AllKnownTypes() {
		if strings.EqualFold(gvk.Kind, kind) && gvk.Version != runtime.APIVersionInternal && !strings.Contains(gvk.Version, "alpha") && !strings.Contains(gvk.Version, "beta") {
			found = append(found, gvk)
		}
	}
	for _, g := range preferredGroups {
		for _, gvk := range found {
			if gvk.Group == g {
				return gvk, true
			}
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return schema.GroupVersionKind{}, false
}

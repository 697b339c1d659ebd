// Package create implements `tether create`: sources, Kustomizations,
// HelmReleases and the Secrets they read, built from flags named as Flux's
// CLI names them. The objects are applied server-side (or printed with
// --export) and, for Tether kinds, waited for until Ready.
package create

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/printers"
	"github.com/tether-gitops/tether/pkg/sshhosts"
)

// FieldManager owns the fields that `tether create` applies.
const FieldManager = "tether-cli"

// Options are what every `tether create ...` command shares; the flags of
// one kind live in its builder, which Objects calls.
type Options struct {
	IO     *iostreams.IOStreams
	Client func() (client.Client, error)

	Namespace string
	Name      string
	// Labels are key=value pairs set on the objects (--label).
	Labels []string
	// Export prints the objects as YAML instead of applying them.
	Export bool
	// Wait for the object to become Ready after applying it.
	Wait bool
	// Timeout bounds applying and waiting.
	Timeout time.Duration
	// PollInterval between reads while waiting (kinds.DefaultPollInterval when 0).
	PollInterval time.Duration

	// Kind is the Tether kind created; nil for a Secret, which has nothing
	// to wait for.
	Kind *kinds.Kind
	// Objects builds the objects to apply, in order, from the flags.
	Objects func(ctx context.Context) ([]client.Object, error)

	// ScanHostKeys returns the known_hosts lines of an SSH server
	// (host:port); tests replace it.
	ScanHostKeys func(ctx context.Context, addr string) ([]byte, error)
	// Notes are lines that Objects leaves for the user (the deploy key of a
	// generated SSH key pair): printed on stdout after applying, on stderr
	// with --export so that stdout stays YAML.
	Notes []string
}

// NewCmdCreate returns `tether create` with its subcommands. runF, when
// set, receives the options of the command run instead of running it.
func NewCmdCreate(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create or update sources, Kustomizations, HelmReleases and Secrets",
		Long: `Create builds a Tether object from flags and applies it server-side (field
manager "tether-cli"), so running it again updates the object. It then waits
until the reconciler reports the object Ready and prints the revision it
fetched or applied. With --export it prints the YAML instead, to commit to Git.`,
		Args: cobra.ArbitraryArgs,
		RunE: kinds.GroupRunE,
	}
	source := &cobra.Command{
		Use:     "source",
		Aliases: []string{"sources"},
		Short:   "Create or update sources: git, helm, bucket, oci",
		Args:    cobra.ArbitraryArgs,
		RunE:    kinds.GroupRunE,
	}
	source.AddCommand(
		newCmdSourceGit(f, runF),
		newCmdSourceHelm(f, runF),
		newCmdSourceBucket(f, runF),
		newCmdSourceOCI(f, runF),
	)
	secret := &cobra.Command{
		Use:     "secret",
		Aliases: []string{"secrets"},
		Short:   "Create or update the Secrets that sources read: git, helm, oci, tls",
		Args:    cobra.ArbitraryArgs,
		RunE:    kinds.GroupRunE,
	}
	secret.AddCommand(
		newCmdSecretGit(f, runF),
		newCmdSecretHelm(f, runF),
		newCmdSecretOCI(f, runF),
		newCmdSecretTLS(f, runF),
	)
	cmd.AddCommand(source, secret, newCmdKustomization(f, runF), newCmdHelmRelease(f, runF))
	return cmd
}

// newOptions returns the options of one leaf command.
func newOptions(f *cmdutil.Factory, k *kinds.Kind) *Options {
	return &Options{IO: f.IOStreams, Client: f.Client, Kind: k, Wait: true, ScanHostKeys: sshhosts.Scan}
}

// leaf returns the command `use NAME` whose RunE fills in the name and
// namespace and runs (or hands the options to runF).
func leaf(f *cmdutil.Factory, o *Options, use, short, example string, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:     use + " NAME",
		Short:   short,
		Example: example,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if errs := validation.IsDNS1123Subdomain(args[0]); len(errs) > 0 {
				return cmdutil.UsageErrorf("invalid name %q: %s", args[0], strings.Join(errs, "; "))
			}
			o.Name = args[0]
			o.Namespace = f.Namespace()
			if runF != nil {
				return runF(o)
			}
			return o.Run(cmd.Context())
		},
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.Export, "export", false, "print the objects as YAML instead of applying them")
	fl.StringSliceVar(&o.Labels, "label", nil, "labels to set, key=value (repeat or separate with commas)")
	fl.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "how long to wait for the object to become Ready")
	return cmd
}

// addWaitFlag adds --wait (wait for Ready) to a command creating a Tether kind.
func addWaitFlag(cmd *cobra.Command, o *Options) {
	cmd.Flags().BoolVar(&o.Wait, "wait", true, "wait for the object to become Ready and print its revision; --wait=false returns at once")
}

// Run builds the objects, then prints or applies them and waits.
func (o *Options) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	labels, err := parseLabels(o.Labels)
	if err != nil {
		return err
	}
	o.Notes = nil
	objs, err := o.Objects(ctx)
	if err != nil {
		return err
	}
	docs := make([]*unstructured.Unstructured, 0, len(objs))
	for _, obj := range objs {
		if len(labels) > 0 {
			l := obj.GetLabels()
			if l == nil {
				l = map[string]string{}
			}
			for k, v := range labels {
				l[k] = v
			}
			obj.SetLabels(l)
		}
		u, err := toUnstructured(obj)
		if err != nil {
			return err
		}
		docs = append(docs, u)
	}
	if o.Export {
		out := make([]any, len(docs))
		for i, u := range docs {
			out[i] = exportable(u).Object
		}
		if err := printers.PrintYAMLDocuments(o.IO.Out, out); err != nil {
			return err
		}
		if len(o.Notes) > 0 {
			o.IO.Step("add this public key to the Git server as a deploy key (read access is enough):")
		}
		for _, n := range o.Notes {
			o.IO.Step("%s", n)
		}
		return nil
	}

	c, err := o.Client()
	if err != nil {
		return err
	}
	for _, u := range docs {
		o.IO.Step("applying %s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName())
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
	if len(o.Notes) > 0 {
		o.IO.Step("add this public key to the Git server as a deploy key (read access is enough):")
	}
	for _, n := range o.Notes {
		fmt.Fprintln(o.IO.Out, n)
	}
	if o.Kind == nil {
		last := docs[len(docs)-1]
		o.IO.Success("%s %s/%s applied", last.GetKind(), last.GetNamespace(), last.GetName())
		return nil
	}
	if !o.Wait {
		o.IO.Success("%s %s/%s applied", o.Kind.Kind, o.Namespace, o.Name)
		return nil
	}
	obj, err := WaitReady(ctx, o.IO, c, o.Kind, o.Namespace, o.Name, o.PollInterval)
	if err != nil {
		return err
	}
	line, err := kinds.Outcome(o.Kind, obj)
	if err != nil {
		return err
	}
	o.IO.Success("%s", line)
	return nil
}

// toUnstructured converts a typed object, with its apiVersion and kind set,
// dropping status and the empty creationTimestamp.
func toUnstructured(obj client.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %s: %w", obj.GetName(), err)
	}
	u := &unstructured.Unstructured{Object: m}
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	if u.GetKind() == "" {
		gvks, _, err := cmdutil.Scheme().ObjectKinds(obj)
		if err != nil || len(gvks) == 0 {
			return nil, fmt.Errorf("unknown type of %s", obj.GetName())
		}
		u.SetGroupVersionKind(gvks[0])
	}
	return u, nil
}

// exportable is u as it is committed to Git: a Secret's values readable in
// stringData (to encrypt with SOPS before committing) rather than base64.
func exportable(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u.GetKind() != "Secret" || u.GetAPIVersion() != "v1" {
		return u
	}
	data, ok := u.Object["data"].(map[string]any)
	if !ok {
		return u
	}
	out := u.DeepCopy()
	delete(out.Object, "data")
	sd := map[string]any{}
	for k, v := range data {
		s, _ := v.(string)
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || !utf8.Valid(raw) {
			return u // binary data stays in data
		}
		sd[k] = string(raw)
	}
	out.Object["stringData"] = sd
	return out
}

// WaitReady polls a Tether object until the reconciler reports it Ready for
// its current generation. A Stalled object fails at once; otherwise a
// not-Ready object is waited for (its source may still be on its way) until
// ctx ends, with the Ready message as progress on stderr.
func WaitReady(ctx context.Context, io *iostreams.IOStreams, c client.Client, k *kinds.Kind, namespace, name string, interval time.Duration) (kinds.Object, error) {
	if interval <= 0 {
		interval = kinds.DefaultPollInterval
	}
	p := cmdutil.StartProgress(io, "waiting for %s %s/%s to become Ready", k.Kind, namespace, name)
	defer p.Stop()
	var last kinds.Object
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		o, err := kinds.Get(ctx, c, k, namespace, name)
		switch {
		case err != nil && kinds.IsNotFound(err):
			return nil, err
		case err == nil:
			last = o
			status, reason, msg := readyOf(o)
			current := o.GetObservedGeneration() == o.GetGeneration()
			if current && status == metav1.ConditionTrue {
				return o, nil
			}
			if current && stalled(o) {
				return o, fmt.Errorf("%s %s/%s is stalled: %s: %s", k.Kind, namespace, name, reason, msg)
			}
			if msg != "" {
				p.Update("waiting for %s %s/%s to become Ready: %s", k.Kind, namespace, name, msg)
			}
		}
		select {
		case <-ctx.Done():
			if last == nil {
				return nil, fmt.Errorf("timed out waiting for %s %s/%s: could not read it from the cluster", k.Kind, namespace, name)
			}
			status, reason, msg := readyOf(last)
			if status == "" {
				return last, fmt.Errorf("timed out waiting for %s %s/%s to become Ready: no status yet: check that the reconciler is running (tether check)", k.Kind, namespace, name)
			}
			return last, fmt.Errorf("timed out waiting for %s %s/%s to become Ready: Ready=%s %s: %s", k.Kind, namespace, name, status, reason, msg)
		case <-t.C:
		}
	}
}

func readyOf(o kinds.Object) (metav1.ConditionStatus, string, string) {
	for _, c := range o.GetConditions() {
		if c.Type == "Ready" {
			return c.Status, c.Reason, c.Message
		}
	}
	return "", "", ""
}

func stalled(o kinds.Object) bool {
	for _, c := range o.GetConditions() {
		if c.Type == "Stalled" && c.Status == metav1.ConditionTrue {
			return true
		}
	}
	return false
}

func parseLabels(in []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, cmdutil.UsageErrorf("invalid --label %q: use key=value", kv)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, cmdutil.UsageErrorf("invalid --label key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return nil, cmdutil.UsageErrorf("invalid --label value %q: %s", v, strings.Join(errs, "; "))
		}
		out[k] = v
	}
	return out, nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

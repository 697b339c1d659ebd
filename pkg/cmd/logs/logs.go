// Package logs implements `tether logs`: the reconciler's log, filtered by
// the kind, name and namespace of the object reconciled and by level.
package logs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tether-gitops/tether/pkg/cmd/kinds"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
	"github.com/tether-gitops/tether/pkg/manifestgen"
)

// Where the reconciler's pods are found.
const (
	PodSelector = "app.kubernetes.io/name=tether-reconciler"
	Container   = "reconciler"
)

// Options are the flags and clients of `tether logs`.
type Options struct {
	IO        *iostreams.IOStreams
	Clientset func() (kubernetes.Interface, error)

	Filter Filter
	// ReconcilerNamespace is where the reconciler runs.
	ReconcilerNamespace string
	// Tail is the number of last matching lines to print; -1 for all.
	Tail   int
	Follow bool
	// LogFile reads a log file (of a reconciler run outside the cluster)
	// instead of the pods' logs.
	LogFile string
	// PollInterval of --follow on a file.
	PollInterval time.Duration
}

// NewCmdLogs returns `tether logs`.
func NewCmdLogs(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Clientset: f.Clientset}
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show the reconciler's log, filtered by object and level",
		Long: `Logs reads the log of the reconciler pods (label ` + PodSelector + `)
in the install namespace through the pods/log API, and keeps the lines about
the objects selected: --kind, --name and -n/--namespace match the fields that
the reconciler logs for the object it reconciles (JSON lines with
"controllerKind", "name" and "namespace"). Without -n, lines of every
namespace are shown.

A reconciler running outside the cluster (tether-reconciler on a laptop, in
CI or in tests) writes its log to a file or stdout: pass it with --log-file
(JSON or console encoding) and the same filters apply.`,
		Example: `  # Errors of every reconciler, the last 50
  tether logs --level error --tail 50

  # The log of one Kustomization, followed
  tether logs --kind Kustomization --name apps -n apps -f

  # A reconciler started by hand
  tether-reconciler --log-encoding json 2> reconciler.log &
  tether logs --log-file reconciler.log --kind GitRepository`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("namespace") {
				opts.Filter.Namespace = f.Namespace()
			}
			if opts.Filter.Kind != "" {
				k, ok := kinds.ByKind(opts.Filter.Kind)
				if !ok {
					return cmdutil.UsageErrorf("invalid --kind %q: use a Tether kind such as Kustomization or GitRepository", opts.Filter.Kind)
				}
				opts.Filter.Kind = k.Kind
			}
			if _, ok := levels[opts.Filter.Level]; !ok && opts.Filter.Level != "" {
				return cmdutil.UsageErrorf("invalid --level %q: use debug, info or error", opts.Filter.Level)
			}
			if runF != nil {
				return runF(opts)
			}
			return opts.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Filter.Kind, "kind", "", "only lines about objects of this kind (Kustomization, GitRepository, ...)")
	fl.StringVar(&opts.Filter.Name, "name", "", "only lines about objects of this name")
	fl.StringVar(&opts.Filter.Level, "level", "", "only lines of this level or more severe: debug, info, error")
	fl.IntVar(&opts.Tail, "tail", -1, "only the last N matching lines (with -f: of the lines already written); -1 for all")
	fl.BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new lines")
	fl.StringVar(&opts.ReconcilerNamespace, "reconciler-namespace", manifestgen.DefaultNamespace, "namespace the reconciler runs in")
	fl.StringVar(&opts.LogFile, "log-file", "", "read this log file of a reconciler run outside the cluster instead of the pods' logs")
	_ = cmd.RegisterFlagCompletionFunc("kind", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, k := range kinds.All {
			out = append(out, k.Kind)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("level", cobra.FixedCompletions([]cobra.Completion{"debug", "info", "error"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Run reads, filters and prints the log.
func (o *Options) Run(ctx context.Context) error {
	if o.LogFile != "" {
		return o.runFile(ctx)
	}
	cs, err := o.Clientset()
	if err != nil {
		return err
	}
	pods, err := cs.CoreV1().Pods(o.ReconcilerNamespace).List(ctx, metav1.ListOptions{LabelSelector: PodSelector})
	if err != nil {
		return fmt.Errorf("listing the reconciler pods in namespace %s: %w", o.ReconcilerNamespace, err)
	}
	if len(pods.Items) == 0 {
		return fmt.Errorf("no reconciler pods (%s) in namespace %s: check the install with tether check, or pass --log-file for a reconciler running outside the cluster", PodSelector, o.ReconcilerNamespace)
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	if !o.Follow {
		var entries []Entry
		for _, p := range pods.Items {
			rc, err := o.podLog(ctx, cs, p)
			if err != nil {
				return err
			}
			entries = append(entries, o.Filter.Read(rc)...)
			rc.Close()
		}
		sort.SliceStable(entries, func(i, j int) bool { return entries[i].Time < entries[j].Time })
		o.print(tail(entries, o.Tail))
		return nil
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	errs := make([]error, len(pods.Items))
	for i, p := range pods.Items {
		rc, err := o.podLog(ctx, cs, p)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer rc.Close()
			errs[i] = o.Filter.Stream(rc, func(e Entry) {
				mu.Lock()
				defer mu.Unlock()
				o.print([]Entry{e})
			})
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return errors.Join(errs...)
}

func (o *Options) podLog(ctx context.Context, cs kubernetes.Interface, p corev1.Pod) (io.ReadCloser, error) {
	plo := &corev1.PodLogOptions{Container: Container, Follow: o.Follow}
	if o.Follow && o.Tail >= 0 && o.Filter.empty() {
		n := int64(o.Tail)
		plo.TailLines = &n
	}
	rc, err := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, plo).Stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the log of pod %s/%s: %w: the pod's log is not available (is it running on a real node?); for a reconciler running outside the cluster pass --log-file", p.Namespace, p.Name, err)
	}
	return rc, nil
}

func (o *Options) runFile(ctx context.Context) error {
	f, err := os.Open(o.LogFile)
	if err != nil {
		return fmt.Errorf("reading --log-file: %w", err)
	}
	defer f.Close()
	if !o.Follow {
		o.print(tail(o.Filter.Read(f), o.Tail))
		return nil
	}
	// Print the lines written so far, then poll for more.
	r := bufio.NewReader(f)
	var backlog []Entry
	var partial string
	interval := o.PollInterval
	if interval <= 0 {
		interval = 250 * time.Millisecond
	}
	first := true
	for {
		line, err := r.ReadString('\n')
		if err == nil {
			if e, ok := o.Filter.Match(partial + line); ok {
				if first {
					backlog = append(backlog, e)
				} else {
					o.print([]Entry{e})
				}
			}
			partial = ""
			continue
		}
		if !errors.Is(err, io.EOF) {
			return err
		}
		partial += line
		if first {
			o.print(tail(backlog, o.Tail))
			first = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

func (o *Options) print(entries []Entry) {
	for _, e := range entries {
		fmt.Fprintln(o.IO.Out, e.String())
	}
}

func tail(entries []Entry, n int) []Entry {
	if n >= 0 && len(entries) > n {
		return entries[len(entries)-n:]
	}
	return entries
}

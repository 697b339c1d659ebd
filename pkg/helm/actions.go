package helm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/kube"
	"helm.sh/helm/v4/pkg/postrenderer"
	ri "helm.sh/helm/v4/pkg/release"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
)

// Runner runs the actions of one release name in one action configuration.
type Runner struct {
	cfg       *action.Configuration
	name      string
	namespace string
}

// NewRunner returns a Runner for the release name in namespace, with cfg from
// NewConfiguration (or any configuration, such as one with a memory driver in
// tests).
func NewRunner(cfg *action.Configuration, name, namespace string) *Runner {
	return &Runner{cfg: cfg, name: name, namespace: namespace}
}

// Name returns the release name.
func (r *Runner) Name() string { return r.name }

// Config returns the action configuration.
func (r *Runner) Config() *action.Configuration { return r.cfg }

// InstallOptions are the options of an install.
type InstallOptions struct {
	Timeout         time.Duration
	CreateNamespace bool
	CRDs            helmv1.CRDsPolicy
	DisableWait     bool
	DisableHooks    bool
	Replace         bool
	PostRenderer    postrenderer.PostRenderer
	Description     string
	// DryRun renders the release and checks it against the cluster (see
	// the Helm SDK's server-side dry-run: templates' lookups and the
	// existing-object checks read the cluster) without writing anything:
	// no CRDs, objects, namespace or release record.
	DryRun bool
}

// UpgradeOptions are the options of an upgrade.
type UpgradeOptions struct {
	Timeout        time.Duration
	CRDs           helmv1.CRDsPolicy
	DisableWait    bool
	DisableHooks   bool
	Force          bool
	CleanupOnFail  bool
	PreserveValues bool
	MaxHistory     int
	PostRenderer   postrenderer.PostRenderer
	Description    string
	// DryRun: as InstallOptions.DryRun.
	DryRun bool
}

// RollbackOptions are the options of a rollback.
type RollbackOptions struct {
	// Version to roll back to; 0 is the newest deployed or superseded
	// version before the last one.
	Version       int
	Timeout       time.Duration
	DisableWait   bool
	DisableHooks  bool
	Force         bool
	CleanupOnFail bool
	MaxHistory    int
}

// UninstallOptions are the options of an uninstall.
type UninstallOptions struct {
	Timeout             time.Duration
	KeepHistory         bool
	DisableHooks        bool
	DisableWait         bool
	DeletionPropagation string
}

// skipClientValidation leaves schema validation to the API server: Helm
// sends every create and apply with fieldValidation=Strict, so unknown or
// mistyped fields still fail, and the client-side check would only cost a
// parse of the cluster's OpenAPI document on every action (most of an
// install's CPU).
const skipClientValidation = true

func waitStrategy(disable bool) kube.WaitStrategy {
	if disable {
		return kube.HookOnlyStrategy
	}
	// kstatus: every object Current, as pkg/ssa's health checks.
	return kube.StatusWatcherStrategy
}

// ActionGrace is how long an action may run past its timeout. Helm bounds
// each of its waits (the objects, each hook) by the timeout; the action also
// renders, applies and writes its release record around them. The margin
// lets Helm's own timeout end a wait first, so that Helm records the failed
// version itself.
const ActionGrace = 30 * time.Second

// ActionDeadline is how long an action with timeout may run in all.
func ActionDeadline(timeout time.Duration) time.Duration { return timeout + ActionGrace }

// actionContext gives one action its own deadline, from its own timeout: an
// upgrade that timed out waiting must leave its rollback the rollback's
// whole timeout, not what is left of a deadline they share.
func actionContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, ActionDeadline(timeout))
}

func waitOptions(ctx context.Context) []kube.WaitOption {
	return []kube.WaitOption{kube.WithWaitContext(ctx)}
}

// Install installs ch with values.
func (r *Runner) Install(ctx context.Context, ch *chart.Chart, values map[string]any, o InstallOptions) (*release.Release, error) {
	ctx, cancel := actionContext(ctx, o.Timeout)
	defer cancel()
	in := action.NewInstall(r.cfg)
	in.ReleaseName = r.name
	in.Namespace = r.namespace
	in.Timeout = o.Timeout
	in.CreateNamespace = o.CreateNamespace
	in.DisableHooks = o.DisableHooks
	in.Replace = o.Replace
	in.WaitStrategy = waitStrategy(o.DisableWait)
	in.WaitOptions = waitOptions(ctx)
	in.PostRenderer = o.PostRenderer
	in.PostRenderStrategy = action.PostRenderStrategyNoHooks
	in.Description = o.Description
	in.ServerSideApply = true
	in.DisableOpenAPIValidation = skipClientValidation
	if o.DryRun {
		in.DryRunStrategy = action.DryRunServer
	}
	// The CRDs policy is applied here, not by Helm: Helm applies the CRDs
	// server-side, which updates a CRD that exists (or conflicts with its
	// other field managers) where Create must leave it alone.
	in.SkipCRDs = true
	if !o.DryRun && o.CRDs != helmv1.CRDsSkip {
		if err := r.applyCRDs(ctx, ch, o.CRDs, o.Timeout); err != nil {
			return nil, err
		}
	}
	rel, err := in.RunWithContext(ctx, ch, values)
	return asRelease(rel), err
}

// Upgrade upgrades the release to ch with values.
func (r *Runner) Upgrade(ctx context.Context, ch *chart.Chart, values map[string]any, o UpgradeOptions) (*release.Release, error) {
	ctx, cancel := actionContext(ctx, o.Timeout)
	defer cancel()
	up := action.NewUpgrade(r.cfg)
	up.Namespace = r.namespace
	up.Timeout = o.Timeout
	up.WaitStrategy = waitStrategy(o.DisableWait)
	up.WaitOptions = waitOptions(ctx)
	up.DisableHooks = o.DisableHooks
	up.ForceReplace = o.Force
	up.CleanupOnFail = o.CleanupOnFail
	up.MaxHistory = o.MaxHistory
	up.ReuseValues = o.PreserveValues
	up.ResetValues = !o.PreserveValues
	up.PostRenderer = o.PostRenderer
	up.PostRenderStrategy = action.PostRenderStrategyNoHooks
	up.Description = o.Description
	up.ServerSideApply = "auto"
	up.DisableOpenAPIValidation = skipClientValidation
	if o.DryRun {
		up.DryRunStrategy = action.DryRunServer
	}
	if !o.DryRun && (o.CRDs == helmv1.CRDsCreate || o.CRDs == helmv1.CRDsCreateReplace) {
		if err := r.applyCRDs(ctx, ch, o.CRDs, o.Timeout); err != nil {
			return nil, err
		}
	}
	rel, err := up.RunWithContext(ctx, r.name, ch, values)
	return asRelease(rel), err
}

// Test runs the release's test hooks and returns the release with their
// outcome.
func (r *Runner) Test(ctx context.Context, timeout time.Duration) (*release.Release, error) {
	ctx, cancel := actionContext(ctx, timeout)
	defer cancel()
	t := action.NewReleaseTesting(r.cfg)
	t.Namespace = r.namespace
	t.Timeout = timeout
	t.WaitOptions = waitOptions(ctx)
	rel, shutdown, err := t.Run(r.name)
	if shutdown != nil {
		err = errors.Join(err, shutdown())
	}
	return asRelease(rel), err
}

// Rollback rolls the release back to o.Version (see RollbackOptions).
func (r *Runner) Rollback(ctx context.Context, o RollbackOptions) error {
	ctx, cancel := actionContext(ctx, o.Timeout)
	defer cancel()
	version := o.Version
	if version == 0 {
		prev, err := r.PreviousDeployed()
		if err != nil {
			return err
		}
		if prev == nil {
			return fmt.Errorf("release %s has no earlier successful version to roll back to", r.name)
		}
		version = prev.Version
	}
	rb := action.NewRollback(r.cfg)
	rb.Version = version
	rb.Timeout = o.Timeout
	rb.WaitStrategy = waitStrategy(o.DisableWait)
	rb.WaitOptions = waitOptions(ctx)
	rb.DisableHooks = o.DisableHooks
	rb.ForceReplace = o.Force
	rb.CleanupOnFail = o.CleanupOnFail
	rb.MaxHistory = o.MaxHistory
	return rb.Run(r.name)
}

// Uninstall uninstalls the release; a release that does not exist is not an
// error.
func (r *Runner) Uninstall(ctx context.Context, o UninstallOptions) error {
	ctx, cancel := actionContext(ctx, o.Timeout)
	defer cancel()
	u := action.NewUninstall(r.cfg)
	u.Timeout = o.Timeout
	u.KeepHistory = o.KeepHistory
	u.DisableHooks = o.DisableHooks
	u.WaitStrategy = waitStrategy(o.DisableWait)
	u.WaitOptions = waitOptions(ctx)
	u.DeletionPropagation = o.DeletionPropagation
	u.IgnoreNotFound = true
	_, err := u.Run(r.name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil
	}
	return err
}

// Last returns the newest version of the release, nil when there is none.
func (r *Runner) Last() (*release.Release, error) {
	rel, err := r.cfg.Releases.Last(r.name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading release %s: %w", r.name, err)
	}
	return asRelease(rel), nil
}

// History returns the versions of the release, newest first.
func (r *Runner) History() ([]*release.Release, error) {
	rels, err := r.cfg.Releases.History(r.name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the history of release %s: %w", r.name, err)
	}
	out := make([]*release.Release, 0, len(rels))
	for _, rel := range rels {
		if v := asRelease(rel); v != nil {
			out = append(out, v)
		}
	}
	sortNewestFirst(out)
	return out, nil
}

// PreviousDeployed returns the newest version, before the last one, that was
// deployed or superseded: the one a rollback goes back to.
func (r *Runner) PreviousDeployed() (*release.Release, error) {
	hist, err := r.History()
	if err != nil || len(hist) < 2 {
		return nil, err
	}
	for _, rel := range hist[1:] {
		if s := rel.Info.Status; s == "deployed" || s == "superseded" {
			return rel, nil
		}
	}
	return nil, nil
}

// applyCRDs creates the chart's CRDs that do not exist and, with
// CreateReplace, updates those that do. Then it waits until the API server
// serves the chart's CRDs and forgets the cached discovery, so that the
// chart's templates can use their kinds.
func (r *Runner) applyCRDs(ctx context.Context, ch *chart.Chart, policy helmv1.CRDsPolicy, timeout time.Duration) error {
	var crds kube.ResourceList
	for _, crd := range ch.CRDObjects() {
		if crd.File == nil || len(crd.File.Data) == 0 {
			continue
		}
		res, err := r.cfg.KubeClient.Build(bytes.NewReader(crd.File.Data), false)
		if err != nil {
			return fmt.Errorf("CRD %s: %w", crd.Filename, err)
		}
		for _, info := range res {
			one := kube.ResourceList{info}
			// A create, not a server-side apply: an apply would update a
			// CRD that exists.
			_, err := r.cfg.KubeClient.Create(one, kube.ClientCreateOptionServerSideApply(false, false))
			switch {
			case err == nil:
			case !apierrors.IsAlreadyExists(err):
				return fmt.Errorf("creating CRD %s from %s: %w", info.Name, crd.Filename, err)
			case policy == helmv1.CRDsCreateReplace:
				if _, err := r.cfg.KubeClient.Update(one, one, kube.ClientUpdateOptionServerSideApply(true, true)); err != nil {
					return fmt.Errorf("replacing CRD %s from %s: %w", info.Name, crd.Filename, err)
				}
			}
			// One that existed may have been created a moment ago (by
			// hand, another release): it is waited for too.
			crds = append(crds, info)
		}
	}
	if len(crds) == 0 {
		return nil
	}
	var waiter kube.Waiter
	var err error
	if c, ok := r.cfg.KubeClient.(kube.InterfaceWaitOptions); ok {
		waiter, err = c.GetWaiterWithOptions(kube.StatusWatcherStrategy, waitOptions(ctx)...)
	} else {
		waiter, err = r.cfg.KubeClient.GetWaiter(kube.StatusWatcherStrategy)
	}
	if err != nil {
		return err
	}
	if timeout <= 0 {
		timeout = time.Minute
	}
	if err := waiter.Wait(crds, timeout); err != nil {
		return fmt.Errorf("waiting for the chart's CRDs to be established: %w", err)
	}
	if g := r.cfg.RESTClientGetter; g != nil {
		if dc, err := g.ToDiscoveryClient(); err == nil {
			dc.Invalidate()
		}
		if mapper, err := g.ToRESTMapper(); err == nil {
			apimeta.MaybeResetRESTMapper(mapper)
		}
	}
	return nil
}

func asRelease(r ri.Releaser) *release.Release {
	switch v := r.(type) {
	case *release.Release:
		return v
	case release.Release:
		return &v
	}
	return nil
}

// Namespace returns the release namespace.
func (r *Runner) Namespace() string { return r.namespace }

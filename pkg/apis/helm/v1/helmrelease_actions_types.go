package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// The Helm actions a HelmRelease runs, and how their failures are remediated.

// CRDsPolicy says what Helm does with the CRDs in a chart's crds/ directory.
type CRDsPolicy string

const (
	// CRDsSkip neither creates nor updates CRDs.
	CRDsSkip CRDsPolicy = "Skip"
	// CRDsCreate creates missing CRDs and leaves existing ones alone.
	CRDsCreate CRDsPolicy = "Create"
	// CRDsCreateReplace creates missing CRDs and replaces existing ones.
	CRDsCreateReplace CRDsPolicy = "CreateReplace"
)

// StrategyName names how failed installs and upgrades are handled.
type StrategyName string

const (
	// RemediateOnFailure remediates a failed action as configured by
	// remediation (uninstall after a failed install, rollback or uninstall
	// after a failed upgrade), then retries up to remediation.retries times.
	RemediateOnFailure StrategyName = "RemediateOnFailure"
	// RetryOnFailure leaves a failed release as it is and retries the action
	// every retryInterval, without remediation.
	RetryOnFailure StrategyName = "RetryOnFailure"
)

// InstallStrategy says how failed installs are handled.
// +kubebuilder:validation:XValidation:rule="!has(self.retryInterval) || self.name == 'RetryOnFailure'",message="retryInterval can only be set with the RetryOnFailure strategy"
type InstallStrategy struct {
	// Name of the strategy: RemediateOnFailure or RetryOnFailure.
	// +kubebuilder:validation:Enum=RemediateOnFailure;RetryOnFailure
	// +required
	Name StrategyName `json:"name"`

	// RetryInterval between retries of the RetryOnFailure strategy. Defaults
	// to 5m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`
}

// GetRetryInterval returns retryInterval, or DefaultStrategyRetryInterval.
func (in InstallStrategy) GetRetryInterval() time.Duration {
	return meta.DurationOr(in.RetryInterval, DefaultStrategyRetryInterval)
}

// UpgradeStrategy says how failed upgrades are handled.
// +kubebuilder:validation:XValidation:rule="!has(self.retryInterval) || self.name == 'RetryOnFailure'",message="retryInterval can only be set with the RetryOnFailure strategy"
type UpgradeStrategy struct {
	// Name of the strategy: RemediateOnFailure or RetryOnFailure.
	// +kubebuilder:validation:Enum=RemediateOnFailure;RetryOnFailure
	// +required
	Name StrategyName `json:"name"`

	// RetryInterval between retries of the RetryOnFailure strategy. Defaults
	// to 5m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`
}

// GetRetryInterval returns retryInterval, or DefaultStrategyRetryInterval.
func (in UpgradeStrategy) GetRetryInterval() time.Duration {
	return meta.DurationOr(in.RetryInterval, DefaultStrategyRetryInterval)
}

// Install configures Helm install actions.
// +kubebuilder:validation:XValidation:rule="!has(self.remediation) || !has(self.strategy) || self.strategy.name == 'RemediateOnFailure'",message="remediation can only be set with the RemediateOnFailure strategy"
type Install struct {
	// Timeout of each Kubernetes operation of the install. Defaults to
	// spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Strategy for failed installs. Defaults to RemediateOnFailure.
	// +optional
	Strategy *InstallStrategy `json:"strategy,omitempty"`

	// Remediation of failed installs, with the RemediateOnFailure strategy.
	// +optional
	Remediation *InstallRemediation `json:"remediation,omitempty"`

	// CreateNamespace creates the target namespace if it does not exist. It
	// is not deleted on uninstall.
	// +optional
	CreateNamespace bool `json:"createNamespace,omitempty"`

	// CRDs policy for the chart's crds/ directory: Skip, Create (the
	// default) or CreateReplace.
	// +kubebuilder:validation:Enum=Skip;Create;CreateReplace
	// +optional
	CRDs CRDsPolicy `json:"crds,omitempty"`

	// DisableWait does not wait for the installed resources to be ready.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// DisableHooks does not run the chart's hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`

	// Replace reuses the release name of a deleted release that is still in
	// the history.
	// +optional
	Replace bool `json:"replace,omitempty"`

	// SkipCRDs does not install CRDs. Deprecated: use crds: Skip.
	// +optional
	SkipCRDs bool `json:"skipCRDs,omitempty"`
}

// GetTimeout returns timeout, or def.
func (in Install) GetTimeout(def time.Duration) time.Duration {
	return meta.DurationOr(in.Timeout, def)
}

// GetStrategy returns the strategy, RemediateOnFailure when unset.
func (in Install) GetStrategy() InstallStrategy {
	if in.Strategy == nil || in.Strategy.Name == "" {
		return InstallStrategy{Name: RemediateOnFailure}
	}
	return *in.Strategy
}

// GetRemediation returns the remediation, the zero value when unset.
func (in Install) GetRemediation() InstallRemediation {
	if in.Remediation == nil {
		return InstallRemediation{}
	}
	return *in.Remediation
}

// GetCRDsPolicy returns the CRDs policy: Skip when skipCRDs is set, Create
// when unset.
func (in Install) GetCRDsPolicy() CRDsPolicy {
	switch {
	case in.CRDs != "":
		return in.CRDs
	case in.SkipCRDs:
		return CRDsSkip
	default:
		return CRDsCreate
	}
}

// InstallRemediation configures what happens after a failed install.
type InstallRemediation struct {
	// Retries is how many times a failed install is retried, after
	// uninstalling it. 0 (the default) does not retry; a negative number
	// retries forever.
	// +optional
	Retries int `json:"retries,omitempty"`

	// IgnoreTestFailures does not remediate when only the tests failed.
	// Defaults to test.ignoreFailures.
	// +optional
	IgnoreTestFailures *bool `json:"ignoreTestFailures,omitempty"`

	// RemediateLastFailure uninstalls after the last failure too, when no
	// retries remain. Defaults to false.
	// +optional
	RemediateLastFailure *bool `json:"remediateLastFailure,omitempty"`
}

// GetRetries returns retries.
func (in InstallRemediation) GetRetries() int { return in.Retries }

// MustIgnoreTestFailures returns ignoreTestFailures, or def.
func (in InstallRemediation) MustIgnoreTestFailures(def bool) bool {
	if in.IgnoreTestFailures == nil {
		return def
	}
	return *in.IgnoreTestFailures
}

// MustRemediateLastFailure returns remediateLastFailure, false when unset.
func (in InstallRemediation) MustRemediateLastFailure() bool {
	return in.RemediateLastFailure != nil && *in.RemediateLastFailure
}

// RetriesExhausted reports whether failures exceed the retries.
func (in InstallRemediation) RetriesExhausted(failures int64) bool {
	return in.Retries >= 0 && failures > int64(in.Retries)
}

// RemediationStrategy is the action that remediates a failed upgrade.
type RemediationStrategy string

const (
	// RollbackRemediationStrategy rolls back to the previous release.
	RollbackRemediationStrategy RemediationStrategy = "rollback"
	// UninstallRemediationStrategy uninstalls the release.
	UninstallRemediationStrategy RemediationStrategy = "uninstall"
)

// Upgrade configures Helm upgrade actions.
// +kubebuilder:validation:XValidation:rule="!has(self.remediation) || !has(self.strategy) || self.strategy.name == 'RemediateOnFailure'",message="remediation can only be set with the RemediateOnFailure strategy"
type Upgrade struct {
	// Timeout of each Kubernetes operation of the upgrade. Defaults to
	// spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Strategy for failed upgrades. Defaults to RemediateOnFailure.
	// +optional
	Strategy *UpgradeStrategy `json:"strategy,omitempty"`

	// Remediation of failed upgrades, with the RemediateOnFailure strategy.
	// +optional
	Remediation *UpgradeRemediation `json:"remediation,omitempty"`

	// Force replaces resources that cannot be updated in place.
	// +optional
	Force bool `json:"force,omitempty"`

	// CRDs policy for the chart's crds/ directory: Skip (the default), Create
	// or CreateReplace.
	// +kubebuilder:validation:Enum=Skip;Create;CreateReplace
	// +optional
	CRDs CRDsPolicy `json:"crds,omitempty"`

	// PreserveValues reuses the previous release's values and merges the
	// current ones over them. This makes the release depend on its history.
	// +optional
	PreserveValues bool `json:"preserveValues,omitempty"`

	// CleanupOnFail deletes the resources created by a failed upgrade.
	// +optional
	CleanupOnFail bool `json:"cleanupOnFail,omitempty"`

	// DisableWait does not wait for the upgraded resources to be ready.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// DisableHooks does not run the chart's hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`
}

// GetTimeout returns timeout, or def.
func (in Upgrade) GetTimeout(def time.Duration) time.Duration {
	return meta.DurationOr(in.Timeout, def)
}

// GetStrategy returns the strategy, RemediateOnFailure when unset.
func (in Upgrade) GetStrategy() UpgradeStrategy {
	if in.Strategy == nil || in.Strategy.Name == "" {
		return UpgradeStrategy{Name: RemediateOnFailure}
	}
	return *in.Strategy
}

// GetRemediation returns the remediation, the zero value when unset.
func (in Upgrade) GetRemediation() UpgradeRemediation {
	if in.Remediation == nil {
		return UpgradeRemediation{}
	}
	return *in.Remediation
}

// GetCRDsPolicy returns the CRDs policy, Skip when unset.
func (in Upgrade) GetCRDsPolicy() CRDsPolicy {
	if in.CRDs == "" {
		return CRDsSkip
	}
	return in.CRDs
}

// UpgradeRemediation configures what happens after a failed upgrade.
type UpgradeRemediation struct {
	// Retries is how many times a failed upgrade is retried, after
	// remediating it. 0 (the default) does not retry; a negative number
	// retries forever.
	// +optional
	Retries int `json:"retries,omitempty"`

	// IgnoreTestFailures does not remediate when only the tests failed.
	// Defaults to test.ignoreFailures.
	// +optional
	IgnoreTestFailures *bool `json:"ignoreTestFailures,omitempty"`

	// RemediateLastFailure remediates after the last failure too, when no
	// retries remain. Defaults to true when retries is positive, false
	// otherwise.
	// +optional
	RemediateLastFailure *bool `json:"remediateLastFailure,omitempty"`

	// Strategy of the remediation: rollback (the default) or uninstall.
	// +kubebuilder:validation:Enum=rollback;uninstall
	// +optional
	Strategy *RemediationStrategy `json:"strategy,omitempty"`
}

// GetRetries returns retries.
func (in UpgradeRemediation) GetRetries() int { return in.Retries }

// MustIgnoreTestFailures returns ignoreTestFailures, or def.
func (in UpgradeRemediation) MustIgnoreTestFailures(def bool) bool {
	if in.IgnoreTestFailures == nil {
		return def
	}
	return *in.IgnoreTestFailures
}

// MustRemediateLastFailure returns remediateLastFailure, or whether retries
// is positive when unset.
func (in UpgradeRemediation) MustRemediateLastFailure() bool {
	if in.RemediateLastFailure == nil {
		return in.Retries > 0
	}
	return *in.RemediateLastFailure
}

// GetStrategy returns the remediation strategy, rollback when unset.
func (in UpgradeRemediation) GetStrategy() RemediationStrategy {
	if in.Strategy == nil || *in.Strategy == "" {
		return RollbackRemediationStrategy
	}
	return *in.Strategy
}

// RetriesExhausted reports whether failures exceed the retries.
func (in UpgradeRemediation) RetriesExhausted(failures int64) bool {
	return in.Retries >= 0 && failures > int64(in.Retries)
}

// Test configures Helm test actions.
type Test struct {
	// Enable runs the chart's tests after each install and upgrade.
	// +optional
	Enable bool `json:"enable,omitempty"`

	// Timeout of each Kubernetes operation of the tests. Defaults to
	// spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// IgnoreFailures does not remediate when tests fail. The install and
	// upgrade remediations may override it.
	// +optional
	IgnoreFailures bool `json:"ignoreFailures,omitempty"`
}

// GetTimeout returns timeout, or def.
func (in Test) GetTimeout(def time.Duration) time.Duration { return meta.DurationOr(in.Timeout, def) }

// Rollback configures Helm rollback actions.
type Rollback struct {
	// Timeout of each Kubernetes operation of the rollback. Defaults to
	// spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Force replaces resources that cannot be updated in place.
	// +optional
	Force bool `json:"force,omitempty"`

	// Recreate restarts the pods of the rolled-back resources.
	// +optional
	Recreate bool `json:"recreate,omitempty"`

	// CleanupOnFail deletes the resources created by a failed rollback.
	// +optional
	CleanupOnFail bool `json:"cleanupOnFail,omitempty"`

	// DisableHooks does not run the chart's hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`

	// DisableWait does not wait for the resources to be ready.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`
}

// GetTimeout returns timeout, or def.
func (in Rollback) GetTimeout(def time.Duration) time.Duration {
	return meta.DurationOr(in.Timeout, def)
}

// Uninstall configures Helm uninstall actions.
type Uninstall struct {
	// Timeout of each Kubernetes operation of the uninstall. Defaults to
	// spec.timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// KeepHistory keeps the release history, marking the release deleted.
	// +optional
	KeepHistory bool `json:"keepHistory,omitempty"`

	// DisableHooks does not run the chart's hooks.
	// +optional
	DisableHooks bool `json:"disableHooks,omitempty"`

	// DisableWait does not wait for the resources to be deleted.
	// +optional
	DisableWait bool `json:"disableWait,omitempty"`

	// DeletionPropagation policy of the deletions: background (the default),
	// foreground or orphan.
	// +kubebuilder:validation:Enum=background;foreground;orphan
	// +kubebuilder:default:=background
	// +optional
	DeletionPropagation *string `json:"deletionPropagation,omitempty"`
}

// GetTimeout returns timeout, or def.
func (in Uninstall) GetTimeout(def time.Duration) time.Duration {
	return meta.DurationOr(in.Timeout, def)
}

// GetDeletionPropagation returns deletionPropagation, background when unset.
func (in Uninstall) GetDeletionPropagation() string {
	if in.DeletionPropagation == nil || *in.DeletionPropagation == "" {
		return "background"
	}
	return *in.DeletionPropagation
}

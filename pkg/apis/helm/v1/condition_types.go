package v1

// HelmReleaseKind is the kind of a HelmRelease.
const HelmReleaseKind = "HelmRelease"

const (
	// ForceRequestAnnotation, set together with
	// meta.ReconcileRequestAnnotation to the same value, forces a Helm upgrade
	// (or install) even when nothing changed. The handled value is recorded in
	// status.lastHandledForceAt.
	ForceRequestAnnotation string = "reconcile.tether.dev/forceAt"

	// ResetRequestAnnotation, set together with
	// meta.ReconcileRequestAnnotation to the same value, resets the failure
	// counters so that a release whose retries are exhausted is tried again.
	// The handled value is recorded in status.lastHandledResetAt.
	ResetRequestAnnotation string = "reconcile.tether.dev/resetAt"
)

// Reasons specific to HelmReleases, in addition to those of package meta.
const (
	// InstallSucceededReason means the Helm install succeeded.
	InstallSucceededReason string = "InstallSucceeded"
	// InstallFailedReason means the Helm install failed.
	InstallFailedReason string = "InstallFailed"
	// UpgradeSucceededReason means the Helm upgrade succeeded.
	UpgradeSucceededReason string = "UpgradeSucceeded"
	// UpgradeFailedReason means the Helm upgrade failed.
	UpgradeFailedReason string = "UpgradeFailed"
	// TestSucceededReason means the Helm tests passed.
	TestSucceededReason string = "TestSucceeded"
	// TestFailedReason means a Helm test failed.
	TestFailedReason string = "TestFailed"
	// RollbackSucceededReason means the Helm rollback succeeded.
	RollbackSucceededReason string = "RollbackSucceeded"
	// RollbackFailedReason means the Helm rollback failed.
	RollbackFailedReason string = "RollbackFailed"
	// UninstallSucceededReason means the Helm uninstall succeeded.
	UninstallSucceededReason string = "UninstallSucceeded"
	// UninstallFailedReason means the Helm uninstall failed.
	UninstallFailedReason string = "UninstallFailed"
	// RetriesExceededReason means the release failed more often than the
	// remediation allows; a spec change or a reset request is needed.
	RetriesExceededReason string = "RetriesExceeded"
	// InitFailedReason means the Helm client could not be set up.
	InitFailedReason string = "InitFailed"
	// GetLastReleaseFailedReason means the release could not be read from the
	// Helm storage.
	GetLastReleaseFailedReason string = "GetLastReleaseFailed"
	// ValuesFromFailedReason means spec.valuesFrom could not be resolved.
	ValuesFromFailedReason string = "ValuesFromFailed"
	// DriftDetectedReason means cluster objects differ from the release
	// manifest.
	DriftDetectedReason string = "DriftDetected"
)

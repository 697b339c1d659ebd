package meta

// Condition types used by Tether objects.
const (
	// ReadyCondition is True when the object's desired state has been
	// reconciled. It is the summary condition shown by the CLI and the
	// printer columns.
	ReadyCondition string = "Ready"

	// ReconcilingCondition is True while the controller is working towards the
	// desired state. It is an abnormal-true condition: it is removed when the
	// work is done.
	ReconcilingCondition string = "Reconciling"

	// StalledCondition is True when reconciliation cannot make progress without
	// a change to the object (for example an invalid spec). It is an
	// abnormal-true condition.
	StalledCondition string = "Stalled"

	// HealthyCondition reports the result of health checks on applied
	// resources.
	HealthyCondition string = "Healthy"

	// ArtifactInStorageCondition is True when a source has an Artifact in
	// storage.
	ArtifactInStorageCondition string = "ArtifactInStorage"

	// ArtifactOutdatedCondition is True when a source's Artifact no longer
	// matches the spec and a new one is being produced.
	ArtifactOutdatedCondition string = "ArtifactOutdated"

	// FetchFailedCondition is True when a source failed to fetch its upstream
	// content. It is an abnormal-true condition.
	FetchFailedCondition string = "FetchFailed"

	// SourceVerifiedCondition reports the result of verifying the signature of
	// the fetched content.
	SourceVerifiedCondition string = "SourceVerified"

	// StorageOperationFailedCondition is True when writing or reading the
	// Artifact storage failed. It is an abnormal-true condition.
	StorageOperationFailedCondition string = "StorageOperationFailed"

	// ReleasedCondition reports the result of the last Helm install or upgrade.
	ReleasedCondition string = "Released"

	// TestSuccessCondition reports the result of the last Helm test run.
	TestSuccessCondition string = "TestSuccess"

	// RemediatedCondition is True when a failed Helm release has been
	// remediated (rolled back or uninstalled).
	RemediatedCondition string = "Remediated"
)

// Condition reasons used by Tether objects. A reason is CamelCase and explains
// the status of a condition in one word.
const (
	// SucceededReason is a generic reason for a successful operation.
	SucceededReason string = "Succeeded"

	// FailedReason is a generic reason for a failed operation.
	FailedReason string = "Failed"

	// ReconciliationSucceededReason means the object was reconciled.
	ReconciliationSucceededReason string = "ReconciliationSucceeded"

	// ReconciliationFailedReason means the reconciliation failed; the message
	// tells why.
	ReconciliationFailedReason string = "ReconciliationFailed"

	// ProgressingReason means the controller is working on the object.
	ProgressingReason string = "Progressing"

	// ProgressingWithRetryReason means the controller is working on the object
	// after a failed attempt.
	ProgressingWithRetryReason string = "ProgressingWithRetry"

	// SuspendedReason means reconciliation is suspended (spec.suspend is true).
	SuspendedReason string = "Suspended"

	// DependencyNotReadyReason means an object listed in spec.dependsOn is not
	// Ready yet.
	DependencyNotReadyReason string = "DependencyNotReady"

	// ArtifactFailedReason means the referenced source has no usable Artifact,
	// or downloading it failed.
	ArtifactFailedReason string = "ArtifactFailed"

	// BuildFailedReason means building the manifests (kustomize build, chart
	// packaging or rendering) failed.
	BuildFailedReason string = "BuildFailed"

	// HealthCheckFailedReason means applied resources did not become healthy
	// within the timeout.
	HealthCheckFailedReason string = "HealthCheckFailed"

	// PruneFailedReason means garbage collection of stale resources failed.
	PruneFailedReason string = "PruneFailed"

	// AuthenticationFailedReason means credentials were missing, invalid or
	// refused.
	AuthenticationFailedReason string = "AuthenticationFailed"

	// VerificationFailedReason means a signature or digest could not be
	// verified.
	VerificationFailedReason string = "VerificationFailed"

	// InvalidURLReason means a URL in the spec could not be parsed or used.
	InvalidURLReason string = "InvalidURL"

	// InvalidPathReason means a path in the spec does not exist or is not
	// allowed.
	InvalidPathReason string = "InvalidPath"

	// StorageOperationFailedReason means an Artifact storage operation failed.
	StorageOperationFailedReason string = "StorageOperationFailed"

	// AccessDeniedReason means a cross-namespace or service-account access was
	// refused.
	AccessDeniedReason string = "AccessDenied"
)

// MaxConditionMessageLength is the length at which the condition helpers of
// this package truncate condition messages, well under the API server's limit
// of 32768.
const MaxConditionMessageLength = 20000

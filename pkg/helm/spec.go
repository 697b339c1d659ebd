package helm

import (
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"

	helmv1 "github.com/tether-gitops/tether/pkg/apis/helm/v1"
)

// InstallOptionsFor returns the options of an install of hr, as its spec
// says. exists is true when a record of the release name is left (failed or
// uninstalled), which the install then replaces.
func InstallOptionsFor(hr *helmv1.HelmRelease, exists bool) InstallOptions {
	in := hr.GetInstall()
	return InstallOptions{
		Timeout: in.GetTimeout(hr.GetTimeout()), CreateNamespace: in.CreateNamespace, CRDs: in.GetCRDsPolicy(),
		DisableWait: in.DisableWait, DisableHooks: in.DisableHooks, Replace: in.Replace || exists,
		PostRenderer: PostRenderer(hr.Spec.PostRenderers),
		Description:  "installed by tether for HelmRelease " + hr.Namespace + "/" + hr.Name,
	}
}

// UpgradeOptionsFor returns the options of an upgrade of hr, as its spec
// says.
func UpgradeOptionsFor(hr *helmv1.HelmRelease) UpgradeOptions {
	up := hr.GetUpgrade()
	return UpgradeOptions{
		Timeout: up.GetTimeout(hr.GetTimeout()), CRDs: up.GetCRDsPolicy(), DisableWait: up.DisableWait,
		DisableHooks: up.DisableHooks, Force: up.Force, CleanupOnFail: up.CleanupOnFail,
		PreserveValues: up.PreserveValues, MaxHistory: hr.GetMaxHistory(), PostRenderer: PostRenderer(hr.Spec.PostRenderers),
		Description: "upgraded by tether for HelmRelease " + hr.Namespace + "/" + hr.Name,
	}
}

// NeedsInstall reports whether the next release of a name is an install
// rather than an upgrade: there is no record of it (last is nil), the last
// one was uninstalled, or no version in hist (newest first) was ever
// deployed.
func NeedsInstall(last *release.Release, hist []*release.Release) bool {
	if last == nil || last.Info == nil || last.Info.Status == rcommon.StatusUninstalled {
		return true
	}
	for _, rel := range hist {
		if rel.Info == nil {
			continue
		}
		if s := rel.Info.Status; s == rcommon.StatusDeployed || s == rcommon.StatusSuperseded {
			return false
		}
	}
	return true
}

// Deployed returns the newest version of hist (newest first) whose status
// is deployed: the one the cluster runs, which an upgrade replaces. It is nil
// when there is none.
func Deployed(hist []*release.Release) *release.Release {
	for _, rel := range hist {
		if rel.Info != nil && rel.Info.Status == rcommon.StatusDeployed {
			return rel
		}
	}
	return nil
}

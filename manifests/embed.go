// Package manifests embeds Tether's install manifests (CRDs, RBAC, the
// reconciler) so that the CLI installs exactly what it was built with.
package manifests

import "embed"

// FS holds crds/, rbac/ and reconciler/.
//
//go:embed crds/*.yaml rbac/*.yaml reconciler/*.yaml
var FS embed.FS

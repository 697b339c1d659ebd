// Package version reports the version of the running Tether binary.
package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is set at build time with
// -ldflags "-X github.com/tether-gitops/tether/pkg/version.Version=v1.2.3".
var Version = ""

// DevVersion is reported by builds that carry no version.
const DevVersion = "v0.0.0-dev"

// Get returns the binary's version: the one set at link time, else the module
// version recorded by `go install module@version`, else DevVersion.
func Get() string {
	if Version != "" {
		return ensureV(Version)
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return DevVersion
}

// Info is what `tether version` prints for one binary.
type Info struct {
	Version   string `json:"version"`
	GoVersion string `json:"goVersion,omitempty"`
	Platform  string `json:"platform,omitempty"`
}

// GetInfo describes this binary.
func GetInfo() Info {
	return Info{Version: Get(), GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
}

func ensureV(v string) string {
	if strings.HasPrefix(v, "v") {
		return v
	}
	return "v" + v
}

package reconciler

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/pkg/artifact"
)

func parse(t *testing.T, args ...string) (Options, error) {
	t.Helper()
	o := DefaultOptions()
	fs := flag.NewFlagSet("tether-reconciler", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.BindFlags(fs)
	return o, fs.Parse(args)
}

func TestArtifactLimitFlags(t *testing.T) {
	o, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := o.ArtifactLimits(), (artifact.Limits{MaxBytes: 1 << 30, MaxFiles: 100_000}); got != want {
		t.Errorf("default limits = %+v, want %+v", got, want)
	}

	o, err = parse(t, "--artifact-max-size=2Ki", "--artifact-max-files=3")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := o.ArtifactLimits(), (artifact.Limits{MaxBytes: 2048, MaxFiles: 3}); got != want {
		t.Errorf("limits = %+v, want %+v", got, want)
	}
	if o, _ := parse(t, "--artifact-max-size=1048576"); o.ArtifactMaxSize != 1<<20 {
		t.Errorf("plain bytes: %d", o.ArtifactMaxSize)
	}
	if _, err := parse(t, "--artifact-max-size=lots"); err == nil || !strings.Contains(err.Error(), "such as 512Mi") {
		t.Errorf("--artifact-max-size=lots: %v", err)
	}
	for _, args := range [][]string{{"--artifact-max-size=0"}, {"--artifact-max-files=0"}} {
		o, err := parse(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), strings.Split(args[0], "=")[0]) {
			t.Errorf("%v: Validate() = %v, want an error naming the flag", args, err)
		}
	}
}

// The store the reconciler builds applies the flags: a source over them is
// refused when archived.
func TestNewStore_AppliesTheLimitFlags(t *testing.T) {
	src := t.TempDir()
	for _, name := range []string{"a", "b", "c", "d"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ref := artifact.ObjectRef{Kind: "GitRepository", Namespace: "ns", Name: "app"}
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"--artifact-max-files=4", "--artifact-max-size=4"}, true},
		{[]string{"--artifact-max-files=3"}, false},
		{[]string{"--artifact-max-size=3"}, false},
	} {
		o, err := parse(t, append(tc.args, "--storage-path="+t.TempDir(), "--storage-addr=127.0.0.1:0")...)
		if err != nil {
			t.Fatal(err)
		}
		store, err := newStore(o)
		if err != nil {
			t.Fatal(err)
		}
		_, err = store.ArchiveDir(ref, src, "main@sha1:abc", nil)
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, artifact.ErrLimit) {
			t.Errorf("%v: ArchiveDir() = %v, want ok %v", tc.args, err, tc.ok)
		}
	}
}

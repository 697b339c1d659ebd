package uninstall

import (
	"errors"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/pkg/cmd/internal/fixtures"
	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

func TestRun_AsksAndStopsOnNo(t *testing.T) {
	ios, in, _, errOut := iostreams.Test()
	ios.SetTTY(true)
	in.WriteString("n\n")
	// No Factory: a run that went past the question would fail here.
	err := (&Options{IO: ios}).Run(t.Context())
	var exit *cmdutil.ExitError
	if !errors.As(err, &exit) || exit.Code != 1 || !strings.Contains(err.Error(), "uninstall cancelled") {
		t.Fatalf("err = %v, want exit 1 'uninstall cancelled'", err)
	}
	if !strings.Contains(errOut.String(), "Delete Tether and all its objects") {
		t.Errorf("no question asked: %q", errOut.String())
	}
}

func TestRun_RefusesWithoutATerminal(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	err := (&Options{IO: ios}).Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "pass --yes") {
		t.Fatalf("err = %v, want a refusal naming --yes", err)
	}
}

func TestNewCmdUninstall_SilentIsYes(t *testing.T) {
	for _, args := range [][]string{{"--yes"}, {"-y"}, {"--silent"}} {
		got, err := fixtures.Parse(NewCmdUninstall, args...)
		if err != nil || !got.Yes {
			t.Errorf("%v: err %v, Yes %v", args, err, got != nil && got.Yes)
		}
	}
}

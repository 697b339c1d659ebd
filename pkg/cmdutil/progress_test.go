package cmdutil

import (
	"strings"
	"testing"
	"time"

	"github.com/tether-gitops/tether/pkg/iostreams"
)

func TestProgress_PlainLinesWithoutATerminal(t *testing.T) {
	ios, _, out, errOut := iostreams.Test()
	p := StartProgress(ios, "waiting for %s", "apps")
	p.Update("waiting for %s", "apps") // unchanged: not repeated
	p.Update("still waiting")
	p.Stop()
	if want := "-- waiting for apps\n-- still waiting\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
	if out.Len() != 0 {
		t.Errorf("progress reached stdout: %q", out.String())
	}
}

func TestProgress_SpinnerOnATerminal(t *testing.T) {
	ios, _, out, errOut := iostreams.Test()
	ios.SetTTY(true)
	p := StartProgress(ios, "waiting")
	time.Sleep(250 * time.Millisecond)
	p.Stop()
	p.Stop() // a second Stop is harmless
	got := errOut.String()
	if !strings.HasPrefix(got, "\r\033[K"+spinnerFrames[0]+" waiting") || !strings.Contains(got, spinnerFrames[1]+" waiting") {
		t.Errorf("no spinner frames on a terminal: %q", got)
	}
	if !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("Stop does not clear the spinner's line: %q", got)
	}
	if out.Len() != 0 {
		t.Errorf("progress reached stdout: %q", out.String())
	}
}

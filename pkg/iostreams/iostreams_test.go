package iostreams

import (
	"bytes"
	"testing"
)

func TestFromEnv_TerminalCIAndNoColor(t *testing.T) {
	for _, tc := range []struct {
		name string
		tty  bool
		env  map[string]string
		want string
	}{
		{"terminal", true, nil, "\033[32m✔\033[0m done\n"},
		{"terminal, NO_COLOR", true, map[string]string{"NO_COLOR": ""}, "✔ done\n"},
		{"terminal in CI", true, map[string]string{"CI": "true"}, "ok: done\n"},
		{"dumb terminal", true, map[string]string{"TERM": "dumb"}, "ok: done\n"},
		{"pipe", false, nil, "ok: done\n"},
	} {
		lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
		var errOut bytes.Buffer
		s := fromEnv(nil, &bytes.Buffer{}, &errOut, tc.tty, tc.tty, lookup)
		s.Success("done")
		if errOut.String() != tc.want {
			t.Errorf("%s: printed %q, want %q", tc.name, errOut.String(), tc.want)
		}
		// A dumb terminal is not decorated, but can still answer.
		decorated := tc.tty && tc.env["CI"] == "" && tc.env["TERM"] != "dumb"
		prompt := tc.tty && tc.env["CI"] == ""
		if s.Decorated() != decorated || s.CanPrompt() != prompt {
			t.Errorf("%s: Decorated %v, CanPrompt %v, want %v and %v", tc.name, s.Decorated(), s.CanPrompt(), decorated, prompt)
		}
	}
}

func TestPlainLines(t *testing.T) {
	s, _, _, errOut := Test()
	s.Step("applying %d objects", 3)
	s.Warn("careful")
	s.Failure("broken")
	if want := "-- applying 3 objects\nwarning: careful\nerror: broken\n"; errOut.String() != want {
		t.Errorf("printed %q, want %q", errOut.String(), want)
	}
}

func TestConfirm(t *testing.T) {
	for answer, want := range map[string]bool{"y\n": true, "YES\n": true, " yes \n": true, "n\n": false, "\n": false, "": false, "yess\n": false} {
		s, in, _, errOut := Test()
		in.WriteString(answer)
		if got := s.Confirm("Delete x?"); got != want {
			t.Errorf("answer %q: Confirm = %v, want %v", answer, got, want)
		}
		if errOut.String() != "Delete x? [y/N] " {
			t.Errorf("asked %q", errOut.String())
		}
	}
}

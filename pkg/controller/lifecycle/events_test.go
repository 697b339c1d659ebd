package lifecycle

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBoundNote(t *testing.T) {
	short := "Applied revision: main@sha1:1234\nConfigMap/apps/a configured"
	if got := BoundNote(short); got != short {
		t.Errorf("a note that fits changed: %q", got)
	}

	var lines []string
	for i := range 60 {
		lines = append(lines, fmt.Sprintf("Deployment/apps/web-%02d configured", i))
	}
	got := BoundNote(strings.Join(lines, "\n"))
	if len(got) > MaxEventNote {
		t.Fatalf("%d bytes, want at most %d", len(got), MaxEventNote)
	}
	kept := strings.Split(got, "\n")
	last := kept[len(kept)-1]
	if want := fmt.Sprintf("... and %d more lines", 60-(len(kept)-1)); last != want {
		t.Errorf("last line %q, want %q", last, want)
	}
	if kept[0] != lines[0] || kept[len(kept)-2] != lines[len(kept)-2] {
		t.Errorf("the first lines are not kept whole: %q", got)
	}

	long := strings.Repeat("é", MaxEventNote) // 2 bytes each
	got = BoundNote(long)
	if len(got) > MaxEventNote || !utf8.ValidString(got) || !strings.HasSuffix(got, " ...") {
		t.Errorf("one long line: %d bytes, valid UTF-8 %v, %q...", len(got), utf8.ValidString(got), got[len(got)-10:])
	}
}

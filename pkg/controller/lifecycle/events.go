package lifecycle

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
)

// MaxEventNote is the longest note the API server accepts in an
// events.k8s.io/v1 Event; a longer one is rejected and the event lost.
const MaxEventNote = 1024

// BoundedRecorder returns r with every note cut to MaxEventNote bytes, at a
// line where it can, saying how many lines were left out: an apply that
// changed a hundred objects still reports, with the first of them.
func BoundedRecorder(r recorder.EventRecorder) recorder.EventRecorder { return boundedRecorder{r} }

type boundedRecorder struct{ recorder.EventRecorder }

func (b boundedRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	b.EventRecorder.Eventf(regarding, related, eventtype, reason, action, "%s", BoundNote(fmt.Sprintf(note, args...)))
}

func (b boundedRecorder) AnnotatedEventf(regarding, related runtime.Object, annotations map[string]string, eventtype, reason, action, note string, args ...any) {
	b.EventRecorder.AnnotatedEventf(regarding, related, annotations, eventtype, reason, action, "%s", BoundNote(fmt.Sprintf(note, args...)))
}

// BoundNote returns note if it fits MaxEventNote bytes, else its first
// whole lines and a last line "... and N more lines".
func BoundNote(note string) string {
	if len(note) <= MaxEventNote {
		return note
	}
	// Keep the most whole lines that fit with the suffix naming the rest:
	// one pass, as a note may list thousands of objects.
	lines := strings.Split(note, "\n")
	size := 0
	for keep := range len(lines) - 1 {
		size += len(lines[keep]) + 1 // the line and its newline
		suffix := fmt.Sprintf("... and %d more lines", len(lines)-keep-1)
		if size+len(suffix) > MaxEventNote {
			if keep == 0 {
				break
			}
			return strings.Join(lines[:keep], "\n") + fmt.Sprintf("\n... and %d more lines", len(lines)-keep)
		}
	}
	// One long line: cut it at a character boundary.
	const more = " ..."
	cut := MaxEventNote - len(more)
	for cut > 0 && !utf8.RuneStart(note[cut]) {
		cut--
	}
	return note[:cut] + more
}

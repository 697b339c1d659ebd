package cmdutil

import (
	"fmt"
	"sync"
	"time"

	"github.com/tether-gitops/tether/pkg/iostreams"
)

// Progress shows on stderr that a command is waiting: a spinner on a
// terminal, one plain line elsewhere (CI, pipes, tests), so that logs stay
// greppable and stdout stays data only.
type Progress struct {
	io   *iostreams.IOStreams
	mu   sync.Mutex
	msg  string
	done chan struct{}
	wg   sync.WaitGroup
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// StartProgress prints msg and, on a terminal, animates a spinner before it
// until Stop.
func StartProgress(io *iostreams.IOStreams, format string, a ...any) *Progress {
	p := &Progress{io: io, msg: fmt.Sprintf(format, a...)}
	if !io.Decorated() {
		io.Step("%s", p.msg)
		return p
	}
	p.done = make(chan struct{})
	p.wg.Add(1)
	go p.spin()
	return p
}

// Update changes the message: the spinner shows it, plain output prints it.
func (p *Progress) Update(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	p.mu.Lock()
	changed := msg != p.msg
	p.msg = msg
	p.mu.Unlock()
	if p.done == nil && changed {
		p.io.Step("%s", msg)
	}
}

// Stop ends the spinner and clears its line.
func (p *Progress) Stop() {
	if p.done == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	close(p.done)
	p.wg.Wait()
	fmt.Fprint(p.io.ErrOut, "\r\033[K")
}

func (p *Progress) spin() {
	defer p.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		p.mu.Lock()
		msg := p.msg
		p.mu.Unlock()
		fmt.Fprintf(p.io.ErrOut, "\r\033[K%s %s", spinnerFrames[i%len(spinnerFrames)], msg)
		select {
		case <-p.done:
			return
		case <-t.C:
		}
	}
}

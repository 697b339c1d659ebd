package kinds

import (
	"context"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/cmdutil"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

// Requester asks the reconciler to reconcile objects now and waits for its
// answer; reconcile and resume share it.
type Requester struct {
	IO     *iostreams.IOStreams
	Client client.Client
	// Now is the clock of the request values.
	Now func() time.Time
	// Interval between reads while waiting (DefaultPollInterval when 0).
	Interval time.Duration
}

// Request patches ch plus a fresh reconcile request (and the extra
// annotations with the same value) onto obj, and returns the request value.
func (r *Requester) Request(ctx context.Context, k *Kind, obj Object, ch Change, extra ...string) (string, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	value, ann := RequestAnnotations(now(), extra...)
	if ch.Annotations == nil {
		ch.Annotations = map[string]string{}
	}
	for key, v := range ann {
		ch.Annotations[key] = v
	}
	if err := ch.Apply(ctx, r.Client, k, obj); err != nil {
		return "", err
	}
	return value, nil
}

// Wait waits until the request value is handled and prints the outcome
// ("✔ fetched revision …"); an object that is not Ready is an error with its
// Ready message.
func (r *Requester) Wait(ctx context.Context, k *Kind, namespace, name, value string) error {
	p := cmdutil.StartProgress(r.IO, "waiting for %s %s/%s to be reconciled", k.Kind, namespace, name)
	obj, err := WaitHandled(ctx, r.Client, k, namespace, name, value, r.Interval)
	p.Stop()
	if err != nil {
		return err
	}
	line, err := Outcome(k, obj)
	if err != nil {
		return err
	}
	r.IO.Success("%s", line)
	return nil
}

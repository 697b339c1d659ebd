package cmdutil

import "sigs.k8s.io/controller-runtime/pkg/client"

// WatchClient returns a client for the selected cluster that can also watch
// (for --watch), knowing Tether's kinds.
func (f *Factory) WatchClient() (client.WithWatch, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		return nil, Unreachable(cfg.Host, err)
	}
	return c, nil
}

// Package cmdutil holds what every command shares: the Factory that builds
// clients from the kubeconfig flags, the process's streams, and error helpers.
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether-gitops/tether/pkg/apis"
	"github.com/tether-gitops/tether/pkg/iostreams"
)

// Factory builds what commands need lazily, so that commands which never talk
// to a cluster (version --client, completion, install --export) work without one.
type Factory struct {
	IOStreams   *iostreams.IOStreams
	ConfigFlags *genericclioptions.ConfigFlags
	// Verbose prints the chain of causes of an error (--verbose).
	Verbose bool
}

// New returns a Factory over the process's streams and kubeconfig flags.
func New(streams *iostreams.IOStreams) *Factory {
	cf := genericclioptions.NewConfigFlags(true)
	return &Factory{IOStreams: streams, ConfigFlags: cf}
}

// Scheme knows the built-in Kubernetes kinds, CRDs and every Tether kind.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, apis.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}

// RESTConfig returns the client configuration of the selected kubeconfig and context.
func (f *Factory) RESTConfig() (*rest.Config, error) {
	cfg, err := f.ConfigFlags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("no Kubernetes cluster configured: %w: set --kubeconfig or KUBECONFIG", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// Client returns a client for the selected cluster that knows Tether's kinds.
func (f *Factory) Client() (client.Client, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		return nil, Unreachable(cfg.Host, err)
	}
	return c, nil
}

// Namespace returns the namespace from -n, else the kubeconfig context's, else "default".
func (f *Factory) Namespace() string {
	ns, _, err := f.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil || ns == "" {
		return "default"
	}
	return ns
}

// ServerVersion asks the cluster for its version; it is the first call most
// commands make, so an unreachable cluster is reported here in one line.
func (f *Factory) ServerVersion(ctx context.Context) (*version.Info, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, Unreachable(cfg.Host, err)
	}
	info, err := dc.ServerVersion()
	if err != nil {
		return nil, Unreachable(cfg.Host, err)
	}
	return info, nil
}

// Unreachable turns a connection error into one line that says what to check.
func Unreachable(host string, err error) error {
	var urlErr *url.Error
	var netErr net.Error
	reason := err.Error()
	if errors.As(err, &urlErr) {
		reason = urlErr.Err.Error()
	}
	if errors.As(err, &netErr) || strings.Contains(reason, "connection refused") || strings.Contains(reason, "no such host") {
		return Summarize(err, "cannot reach the Kubernetes API at %s: %s: check that the cluster is running and --kubeconfig/--context select it", host, lastPart(reason))
	}
	return fmt.Errorf("talking to the Kubernetes API at %s: %w", host, err)
}

// lastPart drops the "dial tcp 127.0.0.1:1: connect:" prefixes Go stacks on a
// network error, keeping the cause ("connection refused").
func lastPart(s string) string {
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}

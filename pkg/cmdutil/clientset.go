package cmdutil

import "k8s.io/client-go/kubernetes"

// Clientset returns the typed client-go clientset for the selected cluster,
// for the APIs that the controller-runtime client does not cover (pod logs).
func (f *Factory) Clientset() (kubernetes.Interface, error) {
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, Unreachable(cfg.Host, err)
	}
	return cs, nil
}

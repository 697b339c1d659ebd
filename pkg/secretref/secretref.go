// Package secretref reads the Secrets that spec fields such as secretRef
// name, with errors that say which field to fix and never hold the data.
// It has no controller dependencies, so that the CLI can use it too.
package secretref

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Get reads the Secret name in namespace ns; field names the spec field
// that refers to it, for the error.
func Get(ctx context.Context, c client.Reader, ns, name, field string) (*corev1.Secret, error) {
	var s corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("secret %q not found in namespace %q: create it or fix %s", name, ns, field)
		}
		return nil, fmt.Errorf("reading secret %q: %w", name, err)
	}
	return &s, nil
}

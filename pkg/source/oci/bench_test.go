package oci_test

import (
	"context"
	"testing"

	"github.com/tether-gitops/tether/pkg/source/oci"
	"github.com/tether-gitops/tether/pkg/testserver/registry"
)

// BenchmarkResolve_NoChange is one poll of an unchanged tag: a new client
// (as each reconcile makes), the registry ping and one HEAD of the manifest.
func BenchmarkResolve_NoChange(b *testing.B) {
	r := registry.Start(b, registry.Options{})
	d, err := r.Push("app", "latest", registry.Artifact{Files: map[string]string{"a.yaml": "a: 1\n"}})
	must(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c := newClient(b, r.URL("app"), oci.Options{Insecure: true})
		res, err := c.Resolve(ctx, oci.Ref{})
		if err != nil || res.Revision != "latest@"+d {
			b.Fatalf("%+v, %v", res, err)
		}
	}
	if n := r.Requests()["GET blobs"]; n != 0 {
		b.Fatalf("%d blob downloads during no-change polls", n)
	}
}

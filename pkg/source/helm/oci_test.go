package helm_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tether-gitops/tether/pkg/source/helm"
	"github.com/tether-gitops/tether/pkg/testserver/chartrepo"
)

func TestOCIRepository_ResolvesAndPullsTheHighestMatchingTag(t *testing.T) {
	reg := chartrepo.NewRegistry(t, chartrepo.WithBasicAuth("user", "s3cret"))
	for _, v := range []string{"1.0.0", "1.5.0", "2.0.0"} {
		reg.Push("app", v)
	}
	ctx := context.Background()
	cache := newCache(t)
	o, err := helm.NewOCIRepository(reg.URL(), helm.Options{Auth: helm.Auth{Username: "user", Password: "s3cret"}, PlainHTTP: true}, cache)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Login(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := o.Resolve(ctx, "app", ">=1.0.0 <2.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if v != "1.5.0" {
		t.Fatalf("resolved %s, want 1.5.0", v)
	}
	c, err := o.Pull(ctx, "app", v)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "app" || c.Version() != "1.5.0" {
		t.Errorf("pulled %s %s", c.Name(), c.Version())
	}
	again, err := o.Pull(ctx, "app", v)
	if err != nil || again.Digest != c.Digest {
		t.Errorf("second pull: %v, digest %s vs %s", err, again.Digest, c.Digest)
	}
	if _, err := o.Resolve(ctx, "app", ">=3"); !errors.Is(err, helm.ErrNoMatchingVersion) {
		t.Errorf("no match: %v", err)
	}
	if _, err := o.Resolve(ctx, "../x", "*"); !errors.Is(err, helm.ErrInvalidReference) {
		t.Errorf("bad name: %v", err)
	}
}

func TestOCIRepository_LoginFailsWithWrongCredentials(t *testing.T) {
	reg := chartrepo.NewRegistry(t, chartrepo.WithBasicAuth("user", "s3cret"))
	o, err := helm.NewOCIRepository(reg.URL(), helm.Options{Auth: helm.Auth{Username: "user", Password: "wrong-pass"}, PlainHTTP: true}, newCache(t))
	if err != nil {
		t.Fatal(err)
	}
	err = o.Login(context.Background())
	if !errors.Is(err, helm.ErrAuthentication) || strings.Contains(err.Error(), "wrong-pass") {
		t.Fatalf("got %v, want ErrAuthentication without the password", err)
	}
	if _, err := helm.NewOCIRepository("https://example", helm.Options{}, nil); !errors.Is(err, helm.ErrInvalidReference) {
		t.Errorf("non-oci URL: %v", err)
	}
}

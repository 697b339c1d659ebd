package cmdutil

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tether-gitops/tether/pkg/apis/meta"
)

// DownloadArtifact reads the artifact a of what (e.g. `GitRepository
// apps/podinfo`) from the reconciler's artifact server, at most maxSize
// bytes, and checks it against its digest. An in-cluster Service address
// (name.namespace.svc[.domain]), which resolves only inside the cluster, is
// reached through the API server's service proxy with the kubeconfig's
// credentials.
func (f *Factory) DownloadArtifact(ctx context.Context, what string, a *meta.Artifact, maxSize int64) ([]byte, error) {
	if a == nil {
		return nil, fmt.Errorf("%s has no artifact yet: wait until it is Ready (tether get sources all)", what)
	}
	data, err := f.download(ctx, a.URL, maxSize)
	if err != nil {
		return nil, Summarize(err, "cannot download the artifact of %s from %s: %s: run this where the reconciler's artifact server is reachable, or with access to its Service through the API server (get services/proxy)",
			what, a.URL, NetCause(err))
	}
	if want, ok := strings.CutPrefix(a.Digest, "sha256:"); ok {
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != want {
			return nil, fmt.Errorf("the artifact of %s from %s does not match its digest %s: it changed while it was read; try again", what, a.URL, a.Digest)
		}
	}
	return data, nil
}

func (f *Factory) download(ctx context.Context, rawURL string, maxSize int64) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("invalid artifact URL: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if svc, ns, port, ok := ServiceAddress(u); ok {
		cs, err := f.Clientset()
		if err != nil {
			return nil, err
		}
		body, err := cs.CoreV1().Services(ns).ProxyGet(u.Scheme, svc, port, u.EscapedPath(), nil).Stream(ctx)
		if err != nil {
			return nil, fmt.Errorf("through the API server's proxy to service %s/%s: %w", ns, svc, err)
		}
		defer body.Close()
		return readAtMost(body, maxSize)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, ue.Err // its message repeats the URL
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("unexpected status %s", resp.Status)
	}
	return readAtMost(resp.Body, maxSize)
}

// readAtMost reads r whole, failing once it passes maxSize bytes.
func readAtMost(r io.Reader, maxSize int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("the artifact exceeds %d bytes", maxSize)
	}
	return data, nil
}

// ServiceAddress reports whether u's host is a Service's cluster DNS name,
// name.namespace.svc with an optional cluster domain, and returns its parts;
// the port defaults to the scheme's.
func ServiceAddress(u *url.URL) (name, namespace, port string, ok bool) {
	parts := strings.Split(strings.TrimSuffix(u.Hostname(), "."), ".")
	if len(parts) < 3 || parts[2] != "svc" || parts[0] == "" || parts[1] == "" {
		return "", "", "", false
	}
	port = u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return parts[0], parts[1], port, true
}

// NetCause returns the last part of a network error's message (`connection
// refused`), which is what a user acts on; other errors whole.
func NetCause(err error) string {
	s := err.Error()
	var netErr net.Error
	if !errors.As(err, &netErr) {
		return s
	}
	return lastPart(s)
}

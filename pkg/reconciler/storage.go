package reconciler

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tether-gitops/tether/pkg/artifact"
)

func newStore(o Options) (*artifact.Store, error) {
	if err := os.MkdirAll(o.StoragePath, 0o755); err != nil {
		return nil, fmt.Errorf("creating --storage-path: %w", err)
	}
	adv := o.StorageAdvAddr
	if adv == "" {
		host, port, err := net.SplitHostPort(o.StorageAddr)
		if err != nil {
			return nil, fmt.Errorf("invalid --storage-addr %q: %w", o.StorageAddr, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			if host, err = os.Hostname(); err != nil {
				return nil, err
			}
		}
		adv = net.JoinHostPort(host, port)
	}
	return artifact.NewStore(o.StoragePath, "http://"+adv, artifact.WithRetention(o.ArtifactRetention),
		artifact.WithLimits(o.ArtifactLimits()))
}

// fixedPort turns port 0 of addr into a free port, so that the URL advertised
// in status.artifact.url names the port the server will listen on.
func fixedPort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("invalid --storage-addr %q: %w", addr, err)
	}
	if port != "0" {
		return addr, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("artifact server: %w", err)
	}
	defer ln.Close()
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return net.JoinHostPort(host, port), nil
}

// artifactServer serves the artifact store read-only over HTTP. Only the leader
// writes artifacts, so only the leader serves them.
type artifactServer struct {
	addr    string
	handler http.Handler
}

func (s *artifactServer) NeedLeaderElection() bool { return true }

func (s *artifactServer) Start(ctx context.Context) error {
	srv := &http.Server{Addr: s.addr, Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("artifact server: %w", err)
	}
	ctrl.Log.WithName("artifacts").Info("serving artifacts", "addr", ln.Addr().String())
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

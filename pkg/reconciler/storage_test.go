package reconciler

import (
	"net"
	"testing"
)

func TestFixedPort(t *testing.T) {
	addr, err := fixedPort("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" || port == "0" || port == "" {
		t.Fatalf("fixedPort(127.0.0.1:0) = %q (%v), want 127.0.0.1 and a chosen port", addr, err)
	}
	// The chosen port is free again for the artifact server.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on the chosen %s: %v", addr, err)
	}
	ln.Close()

	if got, err := fixedPort("127.0.0.1:9790"); err != nil || got != "127.0.0.1:9790" {
		t.Fatalf("fixedPort keeps a given port: got %q, %v", got, err)
	}
	if _, err := fixedPort("no-port"); err == nil {
		t.Fatal("fixedPort(no-port): want an error naming --storage-addr")
	}
}

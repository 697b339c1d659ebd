// Command git-serve serves the bare repositories under a directory over Git
// smart HTTP on 127.0.0.1, for `make quickstart` (tests use package
// gitserver directly). It writes its base URL to --url-file once listening.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

func main() {
	root := flag.String("root", "", "directory of bare repositories (NAME.git)")
	addr := flag.String("addr", "127.0.0.1:0", "listen address; loopback only")
	urlFile := flag.String("url-file", "", "file to write http://HOST:PORT to")
	flag.Parse()
	if err := run(*root, *addr, *urlFile); err != nil {
		fmt.Fprintln(os.Stderr, "git-serve:", err)
		os.Exit(1)
	}
}

func run(root, addr, urlFile string) error {
	if root == "" {
		return fmt.Errorf("--root is required")
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--addr %s: only loopback addresses are served", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	if urlFile != "" {
		if err := os.WriteFile(urlFile, []byte(url+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintln(os.Stderr, "git-serve: serving", root, "at", url)
	srv := &http.Server{Handler: gitserver.Backend(root), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(ln)
}

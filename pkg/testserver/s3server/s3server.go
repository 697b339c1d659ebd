// Package s3server runs a real S3 API server for tests: versitygw with its
// posix backend on a temporary directory, listening on 127.0.0.1.
//
// The versitygw binary is built from the Go module proxy by
// hack/build-versitygw.sh (about 3 minutes on 2 cores, then cached under
// $HOME/.cache/tether); $TETHER_VERSITYGW names a prebuilt binary instead.
package s3server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Server is a running versitygw.
type Server struct {
	endpoint  string
	accessKey string
	secretKey string
	dataDir   string
	accessLog string
	cmd       *exec.Cmd
	done      chan struct{}
	client    *minio.Client
}

const buildHint = "build it with `make test-servers` or `hack/build-versitygw.sh`, or set TETHER_VERSITYGW to a versitygw binary"

// Start runs versitygw on a free port of 127.0.0.1 with a fresh data directory
// and random keys, waits until it answers, and stops it in t.Cleanup. It fails
// the test (it does not skip) when the binary cannot be found or built.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatalf("s3server: %v", err)
	}
	s, err := start(bin, t.TempDir())
	if err != nil {
		t.Fatalf("s3server: %v", err)
	}
	t.Cleanup(s.stop)
	return s
}

func start(bin, dir string) (*Server, error) {
	s := &Server{
		accessKey: "tether" + randHex(6),
		secretKey: randHex(20),
		dataDir:   filepath.Join(dir, "data"),
		accessLog: filepath.Join(dir, "access.log"),
		done:      make(chan struct{}),
	}
	if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken before versitygw binds it
		s.endpoint = freeAddr()
		if lastErr = s.run(bin, dir); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	c, err := minio.New(s.endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(s.accessKey, s.secretKey, ""), Secure: false, Region: "us-east-1",
	})
	if err != nil {
		s.stop()
		return nil, err
	}
	s.client = c
	return s, nil
}

func (s *Server) run(bin, dir string) error {
	logFile, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		return err
	}
	s.done = make(chan struct{})
	s.cmd = exec.Command(bin, "--access", s.accessKey, "--secret", s.secretKey,
		"--port", s.endpoint, "--health", "/health", "--quiet",
		"--access-log", s.accessLog, "posix", s.dataDir)
	// A clean environment: versitygw reads ROOT_ACCESS_KEY, VGW_* and more from it.
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting versitygw: %w", err)
	}
	go func() {
		_ = s.cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-s.done:
			out, _ := os.ReadFile(logFile.Name())
			return fmt.Errorf("versitygw exited on start:\n%s", out)
		default:
		}
		resp, err := http.Get("http://" + s.endpoint + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("versitygw did not answer on %s within 20s: %v", s.endpoint, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// Endpoint is the host:port of the S3 API (plain HTTP).
func (s *Server) Endpoint() string { return s.endpoint }

// AccessKey is the root user's access key.
func (s *Server) AccessKey() string { return s.accessKey }

// SecretKey is the root user's secret key.
func (s *Server) SecretKey() string { return s.secretKey }

// Client is a minio client with the root credentials.
func (s *Server) Client() *minio.Client { return s.client }

// MakeBucket creates a bucket; S3 bucket names need at least 3 characters.
func (s *Server) MakeBucket(name string) error {
	if err := s.client.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("creating bucket %q: %w", name, err)
	}
	return nil
}

// Put writes an object.
func (s *Server) Put(bucket, key string, data []byte) error {
	_, err := s.client.PutObject(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("putting %s/%s: %w", bucket, key, err)
	}
	return nil
}

// Delete removes an object.
func (s *Server) Delete(bucket, key string) error {
	if err := s.client.RemoveObject(context.Background(), bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("deleting %s/%s: %w", bucket, key, err)
	}
	return nil
}

// Requests counts the requests of one S3 operation (e.g. "GetObject",
// "ListObjectsV2", "HeadObject") recorded in the server's access log so far,
// for tests that prove a client did not download anything.
func (s *Server) Requests(operation string) (int, error) {
	f, err := os.Open(s.accessLog)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	needle := " s3_" + operation + " "
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if strings.Contains(sc.Text(), needle) {
			n++
		}
	}
	return n, sc.Err()
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary returns the path of the versitygw binary: $TETHER_VERSITYGW, or the
// one hack/build-versitygw.sh prints (building it the first time; concurrent
// test processes wait for one build through a lock file).
func Binary() (string, error) {
	binOnce.Do(func() { binPath, binErr = findBinary() })
	return binPath, binErr
}

func findBinary() (string, error) {
	if p := os.Getenv("TETHER_VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("TETHER_VERSITYGW=%s: %w; %s", p, err, buildHint)
		}
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", fmt.Errorf("finding hack/build-versitygw.sh: %w; %s", err, buildHint)
	}
	cache := os.Getenv("TETHER_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(home, ".cache", "tether")
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(cache, ".versitygw.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "build-versitygw.sh"))
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/build-versitygw.sh failed: %v\n%s\n%s", err, tail(stderr.String(), 4000), buildHint)
	}
	p := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(p, '\n'); i >= 0 {
		p = p[i+1:]
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("hack/build-versitygw.sh printed %q, which is not a file: %v; %s", p, err, buildHint)
	}
	return p, nil
}

// repoRoot walks up from the working directory (a test runs in its package's
// directory) to the directory holding Tether's go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module github.com/tether-gitops/tether\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no Tether go.mod above the working directory")
		}
		dir = parent
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

package bucket_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tether-gitops/tether/pkg/source/bucket"
	"github.com/tether-gitops/tether/pkg/testserver/s3server"
)

func newBucket(t testing.TB, objects map[string]string) (*s3server.Server, string) {
	t.Helper()
	s := s3server.Start(t)
	name := "tether-test"
	must(t, s.MakeBucket(name))
	for k, v := range objects {
		must(t, s.Put(name, k, []byte(v)))
	}
	return s, name
}

func client(t testing.TB, s *s3server.Server, name string) *bucket.Client {
	t.Helper()
	c, err := bucket.New(name, bucket.Options{Endpoint: s.Endpoint(), Insecure: true, AccessKey: s.AccessKey(), SecretKey: s.SecretKey()})
	must(t, err)
	return c
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func gets(t testing.TB, s *s3server.Server) int {
	t.Helper()
	n, err := s.Requests("GetObject")
	must(t, err)
	return n
}

func readTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	must(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	}))
	return out
}

func sameTree(t testing.TB, got, want map[string]string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tree = %v\nwant %v", got, want)
	}
}

func TestBucket_UnchangedBucketKeepsRevisionAndDownloadsNothing(t *testing.T) {
	objects := map[string]string{"a.yaml": "a: 1\n", "dir/b.yaml": "b: 2\n", "dir/sub/c.yaml": "c: 3\n"}
	s, name := newBucket(t, objects)
	c := client(t, s, name)
	ctx := context.Background()

	snap, err := c.Snapshot(ctx, bucket.SnapshotOptions{})
	must(t, err)
	if !strings.HasPrefix(snap.Revision, "sha256:") || len(snap.Index) != 3 {
		t.Fatalf("snapshot = %+v", snap)
	}
	dir := t.TempDir()
	st, err := c.Download(ctx, snap.Index, dir, bucket.DownloadOptions{})
	must(t, err)
	if st.Downloaded != 3 {
		t.Fatalf("stats = %+v, want 3 downloads", st)
	}
	sameTree(t, readTree(t, dir), objects)

	before := gets(t, s)
	again, err := c.Snapshot(ctx, bucket.SnapshotOptions{})
	must(t, err)
	if again.Revision != snap.Revision {
		t.Fatalf("revision changed on an unchanged bucket: %s -> %s", snap.Revision, again.Revision)
	}
	if n := gets(t, s); n != before {
		t.Fatalf("a snapshot of an unchanged bucket made %d GetObject requests", n-before)
	}
}

func TestBucket_ChangedObjectIsTheOnlyDownload(t *testing.T) {
	objects := map[string]string{"a.yaml": "a: 1\n", "b.yaml": "b: 2\n", "gone/c.yaml": "c: 3\n"}
	s, name := newBucket(t, objects)
	c := client(t, s, name)
	ctx := context.Background()
	first, err := c.Snapshot(ctx, bucket.SnapshotOptions{})
	must(t, err)
	dir := t.TempDir()
	_, err = c.Download(ctx, first.Index, dir, bucket.DownloadOptions{})
	must(t, err)

	must(t, s.Put(name, "b.yaml", []byte("b: changed\n")))
	must(t, s.Delete(name, "gone/c.yaml"))
	second, err := c.Snapshot(ctx, bucket.SnapshotOptions{})
	must(t, err)
	if second.Revision == first.Revision {
		t.Fatal("revision did not change after an object changed")
	}
	before := gets(t, s)
	st, err := c.Download(ctx, second.Index, dir, bucket.DownloadOptions{Have: first.Index})
	must(t, err)
	if st.Downloaded != 1 || st.Reused != 1 || st.Removed != 2 || gets(t, s)-before != 1 {
		t.Fatalf("stats = %+v, GetObject requests %d; want 1 download, 1 reused, 2 removed", st, gets(t, s)-before)
	}
	sameTree(t, readTree(t, dir), map[string]string{"a.yaml": "a: 1\n", "b.yaml": "b: changed\n"})
	if _, err := os.Stat(filepath.Join(dir, "gone")); !os.IsNotExist(err) {
		t.Fatalf("empty directory of a deleted object left behind: %v", err)
	}
}

func TestBucket_IgnoreRulesApplyBeforeDownload(t *testing.T) {
	s, name := newBucket(t, map[string]string{
		".sourceignore":    "*.secret\nprivate/\n",
		"app.yaml":         "kind: A\n",
		"x.secret":         "no",
		"private/key.yaml": "no",
		"docs/readme.md":   "no",
		"logo.png":         "no", // the default rules of Git sources apply too
	})
	c := client(t, s, name)
	ctx := context.Background()
	spec := "docs/\n"
	before := gets(t, s)
	snap, err := c.Snapshot(ctx, bucket.SnapshotOptions{Ignore: &spec})
	must(t, err)
	var keys []string
	for _, o := range snap.Index {
		keys = append(keys, o.Key)
	}
	if fmt.Sprint(keys) != "[.sourceignore app.yaml]" || snap.Ignored != 4 {
		t.Fatalf("kept %v (ignored %d), want [.sourceignore app.yaml] and 4 ignored", keys, snap.Ignored)
	}
	if n := gets(t, s) - before; n != 1 {
		t.Fatalf("snapshot made %d GetObject requests, want 1 (the .sourceignore)", n)
	}
	// Download writes the .sourceignore that Snapshot read rather than fetching it again.
	before = gets(t, s)
	dir := t.TempDir()
	_, err = c.Download(ctx, snap.Index, dir, bucket.DownloadOptions{IgnoreFile: snap.IgnoreFile})
	must(t, err)
	sameTree(t, readTree(t, dir), map[string]string{".sourceignore": "*.secret\nprivate/\n", "app.yaml": "kind: A\n"})
	if n := gets(t, s) - before; n != 1 {
		t.Fatalf("download made %d GetObject requests, want 1 (app.yaml)", n)
	}
	// With the .sourceignore cached, the next poll downloads nothing.
	before = gets(t, s)
	again, err := c.Snapshot(ctx, bucket.SnapshotOptions{Ignore: &spec, CachedIgnoreFile: snap.IgnoreFile})
	must(t, err)
	if again.Revision != snap.Revision || gets(t, s) != before {
		t.Fatalf("cached .sourceignore: revision %s (was %s), %d GetObject requests", again.Revision, snap.Revision, gets(t, s)-before)
	}
	// An ignored object changing does not change the revision.
	must(t, s.Put(name, "x.secret", []byte("changed")))
	third, err := c.Snapshot(ctx, bucket.SnapshotOptions{Ignore: &spec, CachedIgnoreFile: snap.IgnoreFile})
	must(t, err)
	if third.Revision != snap.Revision {
		t.Fatal("an ignored object changed the revision")
	}
}

func TestBucket_PrefixRestrictsListingAndStillReadsRootSourceIgnore(t *testing.T) {
	s, name := newBucket(t, map[string]string{
		".sourceignore": "*.tmp\n", "apps/a.yaml": "a", "apps/b.tmp": "b", "other/c.yaml": "c",
	})
	c := client(t, s, name)
	snap, err := c.Snapshot(context.Background(), bucket.SnapshotOptions{Prefix: "apps/"})
	must(t, err)
	if len(snap.Index) != 1 || snap.Index[0].Key != "apps/a.yaml" {
		t.Fatalf("index = %+v, want only apps/a.yaml", snap.Index)
	}
}

func TestBucket_WrongSecretIsAuthenticationErrorWithoutSecrets(t *testing.T) {
	s, name := newBucket(t, map[string]string{"a.yaml": "a"})
	secret := "wrong-secret-value-123"
	c, err := bucket.New(name, bucket.Options{Endpoint: s.Endpoint(), Insecure: true, AccessKey: s.AccessKey(), SecretKey: secret})
	must(t, err)
	_, err = c.Snapshot(context.Background(), bucket.SnapshotOptions{})
	if !errors.Is(err, bucket.ErrAuthentication) {
		t.Fatalf("err = %v, want ErrAuthentication", err)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), s.SecretKey()) {
		t.Fatalf("error leaks a secret: %v", err)
	}
	c, err = bucket.New(name, bucket.Options{Endpoint: s.Endpoint(), Insecure: true, AccessKey: "nobody", SecretKey: secret})
	must(t, err)
	if _, err = c.Snapshot(context.Background(), bucket.SnapshotOptions{}); !errors.Is(err, bucket.ErrAuthentication) {
		t.Fatalf("unknown access key: err = %v, want ErrAuthentication", err)
	}
}

func TestBucket_MissingBucketIsBucketNotFound(t *testing.T) {
	s, _ := newBucket(t, nil)
	c := client(t, s, "does-not-exist")
	_, err := c.Snapshot(context.Background(), bucket.SnapshotOptions{})
	if !errors.Is(err, bucket.ErrBucketNotFound) {
		t.Fatalf("err = %v, want ErrBucketNotFound", err)
	}
}

func TestBucket_DownloadRefusesOverLimitsBeforeFetching(t *testing.T) {
	s, name := newBucket(t, map[string]string{"a": "12345", "b": "67890"})
	c := client(t, s, name)
	ctx := context.Background()
	snap, err := c.Snapshot(ctx, bucket.SnapshotOptions{})
	must(t, err)
	for _, o := range []bucket.DownloadOptions{{MaxObjects: 1}, {MaxBytes: 9}} {
		if _, err := c.Download(ctx, snap.Index, t.TempDir(), o); !errors.Is(err, bucket.ErrLimit) {
			t.Fatalf("%+v: err = %v, want ErrLimit", o, err)
		}
	}
	if n := gets(t, s); n != 0 {
		t.Fatalf("%d objects downloaded past the limits", n)
	}
}

func TestBucket_DownloadRefusesUnsafeKeysBeforeFetching(t *testing.T) {
	s, name := newBucket(t, map[string]string{"a": "1"})
	c := client(t, s, name)
	for _, key := range []string{"../evil", "a/../../evil", "/etc/passwd", "a//b", "./a", ".."} {
		ix := bucket.Index{{Key: "a", ETag: "x", Size: 1}, {Key: key, ETag: "y", Size: 1}}
		sort.Slice(ix, func(i, j int) bool { return ix[i].Key < ix[j].Key })
		_, err := c.Download(context.Background(), ix, t.TempDir(), bucket.DownloadOptions{})
		if !errors.Is(err, bucket.ErrUnsafeKey) {
			t.Errorf("key %q: err = %v, want ErrUnsafeKey", key, err)
		}
	}
	if n := gets(t, s); n != 0 {
		t.Fatalf("%d objects downloaded despite an unsafe key", n)
	}
}

func TestBucket_ProxyCarriesTheRequests(t *testing.T) {
	s, name := newBucket(t, map[string]string{"a.yaml": "a"})
	var proxied atomic.Int32
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		proxied.Add(1)
		r.Out.URL = r.In.URL // a forward proxy gets absolute URLs
		r.Out.Host = r.In.Host
	}})
	t.Cleanup(proxy.Close)
	u, _ := url.Parse(proxy.URL)
	c, err := bucket.New(name, bucket.Options{Endpoint: s.Endpoint(), Insecure: true, AccessKey: s.AccessKey(), SecretKey: s.SecretKey(), Proxy: u})
	must(t, err)
	snap, err := c.Snapshot(context.Background(), bucket.SnapshotOptions{})
	must(t, err)
	if len(snap.Index) != 1 || proxied.Load() == 0 {
		t.Fatalf("index %+v, %d proxied requests", snap.Index, proxied.Load())
	}
}

func TestNew_RefusesWhatCannotWork(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    bucket.Options
		want error
	}{
		{"generic without endpoint", bucket.Options{}, bucket.ErrInvalidConfig},
		{"endpoint with a path", bucket.Options{Endpoint: "host/path"}, bucket.ErrInvalidConfig},
		{"unknown provider", bucket.Options{Provider: "ftp", Endpoint: "h"}, bucket.ErrInvalidConfig},
		{"azure", bucket.Options{Provider: bucket.ProviderAzure}, bucket.ErrUnsupported},
		{"gcp without HMAC keys", bucket.Options{Provider: bucket.ProviderGCP}, bucket.ErrUnsupported},
		{"half the keys", bucket.Options{Endpoint: "h", AccessKey: "a"}, bucket.ErrInvalidConfig},
		{"bad CA", bucket.Options{Endpoint: "h", CA: []byte("not pem")}, bucket.ErrInvalidConfig},
		{"bad client cert", bucket.Options{Endpoint: "h", CertPEM: []byte("x"), KeyPEM: []byte("y")}, bucket.ErrInvalidConfig},
	} {
		if _, err := bucket.New("b", tc.o); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	// aws and gcp default their endpoints; aws without keys uses the credential chain.
	for _, o := range []bucket.Options{{Provider: bucket.ProviderAWS}, {Provider: bucket.ProviderGCP, AccessKey: "a", SecretKey: "s"}} {
		if _, err := bucket.New("b", o); err != nil {
			t.Errorf("%s: %v", o.Provider, err)
		}
	}
	c, _ := bucket.New("b", bucket.Options{Provider: bucket.ProviderAWS})
	if c.Endpoint() != bucket.AWSEndpoint {
		t.Errorf("aws endpoint = %s", c.Endpoint())
	}
}

func TestCheckKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"a": true, "a/b.yaml": true, ".sourceignore": true, "a/.b/c": true, "a..b": true,
		"": false, "/a": false, "../a": false, "a/..": false, "a/../b": false, "a//b": false, "./a": false, "a/./b": false, "a\x00b": false,
	} {
		if err := bucket.CheckKey(key); (err == nil) != ok {
			t.Errorf("CheckKey(%q) = %v, want ok=%v", key, err, ok)
		}
	}
}

// Package gitserver runs real Git servers on 127.0.0.1 for tests: smart HTTP
// through Debian git's git-http-backend (optionally with basic auth, a bearer
// token or TLS) and SSH through github.com/gliderlabs/ssh running
// git-upload-pack / git-receive-pack. Repositories are bare repositories under
// a root directory, created and changed with the git CLI through Repo.
//
// Typical use:
//
//	srv := gitserver.NewHTTP(t, gitserver.WithBasicAuth("u", "p"))
//	repo := gitserver.InitRepo(t, srv.Root(), "app", map[string]string{"a.yaml": "x: 1\n"})
//	hash := repo.Commit(t, map[string]string{"a.yaml": "x: 2\n"}, "bump")
//	url := srv.URL("app") // http://127.0.0.1:PORT/app.git
package gitserver

package bootstrap

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/tether-gitops/tether/pkg/testserver/gitserver"
)

// gitHub is a stand-in for GitHub's REST API (the endpoints bootstrap
// calls, under /api/v3 as on GitHub Enterprise) that also serves the
// repositories over Git smart HTTP (basic auth, the token as password) and
// over SSH (the registered deploy keys may log in).
type gitHub struct {
	t     *testing.T
	srv   *httptest.Server
	ssh   *gitserver.SSHServer
	root  string
	token string
	// readToken is a second token that may only read, like a token
	// without the repo scope: GitHub answers its writes with 403.
	readToken string
	user      string
	orgs      map[string]bool
	teams     map[string]bool // "org/team"

	mu      sync.Mutex
	repos   map[string]*ghRepo // "owner/name"
	nextID  int64
	creates int      // successful POSTs of repositories
	edits   []string // the fields changed by PATCHes of repositories
}

type ghRepo struct {
	Owner, Name, OwnerType string
	Private                bool
	Teams                  map[string]string // team -> permission
	Keys                   []ghKey
}

type ghKey struct {
	ID       int64  `json:"id"`
	Key      string `json:"key"`
	Title    string `json:"title"`
	ReadOnly bool   `json:"read_only"`
	Verified bool   `json:"verified"`
	Created  string `json:"created_at"`
}

func newGitHub(t *testing.T, token, user string, orgs, teams []string) *gitHub {
	t.Helper()
	g := &gitHub{t: t, root: t.TempDir(), token: token, user: user, orgs: map[string]bool{}, teams: map[string]bool{},
		repos: map[string]*ghRepo{}}
	for _, o := range orgs {
		g.orgs[o] = true
	}
	for _, tm := range teams {
		g.teams[tm] = true
	}
	g.ssh = gitserver.NewSSH(t, g.root)
	mux := http.NewServeMux()
	api := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, g.auth(h)) }
	api("GET /api/v3/user", g.getUser)
	api("GET /api/v3/repos/{owner}/{repo}", g.getRepo)
	api("PATCH /api/v3/repos/{owner}/{repo}", g.editRepo)
	api("POST /api/v3/user/repos", g.createRepo)
	api("POST /api/v3/orgs/{org}/repos", g.createRepo)
	api("GET /api/v3/repos/{owner}/{repo}/contents/{path...}", g.getContents)
	api("GET /api/v3/repos/{owner}/{repo}/keys", g.listKeys)
	api("POST /api/v3/repos/{owner}/{repo}/keys", g.createKey)
	api("PUT /api/v3/orgs/{org}/teams/{team}/repos/{owner}/{repo}", g.addTeam)
	mux.Handle("/", g.gitHTTP(gitserver.Backend(g.root)))
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

// URL is what --hostname takes.
func (g *gitHub) URL() string { return g.srv.URL }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func ghError(w http.ResponseWriter, status int, msg string, errs ...map[string]string) {
	body := map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest", "status": fmt.Sprint(status)}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, status, body)
}

func (g *gitHub) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		tok := strings.TrimPrefix(strings.TrimPrefix(got, "Bearer "), "token ")
		readOnly := g.readToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(g.readToken)) == 1
		if got == "" || !readOnly && subtle.ConstantTimeCompare([]byte(tok), []byte(g.token)) != 1 {
			ghError(w, http.StatusUnauthorized, "Bad credentials")
			return
		}
		if readOnly && r.Method != http.MethodGet {
			ghError(w, http.StatusForbidden, "Resource not accessible by personal access token")
			return
		}
		h(w, r)
	})
}

func (g *gitHub) gitHTTP(backend http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(pass), []byte(g.token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
			http.Error(w, "Invalid username or token.", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	})
}

func (g *gitHub) getUser(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"login": g.user, "id": 1, "type": "User"})
}

func (g *gitHub) bare(owner, name string) string { return filepath.Join(g.root, owner, name+".git") }

// repoJSON answers a repository as GitHub does. Its size is always 0: GitHub
// computes it some time after a push, so it says nothing of whether the
// repository is empty. The default branch is the bare repository's HEAD.
func (g *gitHub) repoJSON(r *ghRepo) map[string]any {
	def := "main"
	if out, err := exec.Command("git", "-C", g.bare(r.Owner, r.Name), "symbolic-ref", "--short", "HEAD").Output(); err == nil {
		def = strings.TrimSpace(string(out))
	}
	full := r.Owner + "/" + r.Name
	return map[string]any{
		"id": 1, "name": r.Name, "full_name": full, "private": r.Private,
		"owner":          map[string]any{"login": r.Owner, "type": r.OwnerType},
		"html_url":       g.srv.URL + "/" + full,
		"clone_url":      g.srv.URL + "/" + full + ".git",
		"ssh_url":        g.ssh.URL(full),
		"default_branch": def,
		"size":           0,
	}
}

func (g *gitHub) lookup(w http.ResponseWriter, r *http.Request) *ghRepo {
	g.mu.Lock()
	defer g.mu.Unlock()
	repo := g.repos[r.PathValue("owner")+"/"+r.PathValue("repo")]
	if repo == nil {
		ghError(w, http.StatusNotFound, "Not Found")
	}
	return repo
}

func (g *gitHub) getRepo(w http.ResponseWriter, r *http.Request) {
	if repo := g.lookup(w, r); repo != nil {
		writeJSON(w, http.StatusOK, g.repoJSON(repo))
	}
}

// editRepo implements the default_branch field of PATCH /repos/{owner}/{repo}:
// GitHub refuses a branch that does not exist.
func (g *gitHub) editRepo(w http.ResponseWriter, r *http.Request) {
	repo := g.lookup(w, r)
	if repo == nil {
		return
	}
	var req struct {
		DefaultBranch *string `json:"default_branch"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		ghError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if req.DefaultBranch != nil {
		bare := g.bare(repo.Owner, repo.Name)
		ref := "refs/heads/" + *req.DefaultBranch
		if _, err := gitserver.RunGit(bare, "rev-parse", "--verify", "-q", ref); err != nil {
			ghError(w, http.StatusUnprocessableEntity, "Validation Failed",
				map[string]string{"resource": "Repository", "code": "invalid", "field": "default_branch"})
			return
		}
		gitserver.Git(g.t, bare, "symbolic-ref", "HEAD", ref)
		g.mu.Lock()
		g.edits = append(g.edits, "default_branch="+*req.DefaultBranch)
		g.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, g.repoJSON(repo))
}

func (g *gitHub) createRepo(w http.ResponseWriter, r *http.Request) {
	owner, ownerType := g.user, "User"
	if org := r.PathValue("org"); org != "" {
		if !g.orgs[org] {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
		owner, ownerType = org, "Organization"
	}
	var req struct {
		Name    string `json:"name"`
		Private bool   `json:"private"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" {
		ghError(w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	repo := g.addRepo(owner, req.Name, ownerType, req.Private)
	if repo == nil {
		ghError(w, http.StatusUnprocessableEntity, "Repository creation failed.",
			map[string]string{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"})
		return
	}
	g.mu.Lock()
	g.creates++
	g.mu.Unlock()
	writeJSON(w, http.StatusCreated, g.repoJSON(repo))
}

// addRepo creates an empty bare repository; nil if it exists.
func (g *gitHub) addRepo(owner, name, ownerType string, private bool) *ghRepo {
	g.mu.Lock()
	defer g.mu.Unlock()
	full := owner + "/" + name
	if g.repos[full] != nil {
		return nil
	}
	gitserver.Git(g.t, g.root, "init", "-q", "--bare", "-b", "main", g.bare(owner, name))
	repo := &ghRepo{Owner: owner, Name: name, OwnerType: ownerType, Private: private, Teams: map[string]string{}}
	g.repos[full] = repo
	return repo
}

func (g *gitHub) getContents(w http.ResponseWriter, r *http.Request) {
	repo := g.lookup(w, r)
	if repo == nil {
		return
	}
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		ref = "HEAD"
	}
	p := r.PathValue("path")
	if _, err := gitserver.RunGit(g.bare(repo.Owner, repo.Name), "cat-file", "-e", ref+":"+p); err != nil {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"type": "file", "name": filepath.Base(p), "path": p, "encoding": "base64", "content": ""})
}

func (g *gitHub) listKeys(w http.ResponseWriter, r *http.Request) {
	repo := g.lookup(w, r)
	if repo == nil {
		return
	}
	g.mu.Lock()
	keys := append([]ghKey{}, repo.Keys...)
	g.mu.Unlock()
	writeJSON(w, http.StatusOK, keys)
}

func (g *gitHub) createKey(w http.ResponseWriter, r *http.Request) {
	repo := g.lookup(w, r)
	if repo == nil {
		return
	}
	var req struct {
		Title    string `json:"title"`
		Key      string `json:"key"`
		ReadOnly bool   `json:"read_only"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		ghError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	pub, _, _, _, err := gossh.ParseAuthorizedKey([]byte(req.Key))
	if err != nil {
		ghError(w, http.StatusUnprocessableEntity, "Validation Failed",
			map[string]string{"resource": "PublicKey", "code": "custom", "field": "key", "message": "key is invalid"})
		return
	}
	g.mu.Lock()
	for _, k := range repo.Keys {
		if k.Key == req.Key {
			g.mu.Unlock()
			ghError(w, http.StatusUnprocessableEntity, "Validation Failed",
				map[string]string{"resource": "PublicKey", "code": "custom", "field": "key", "message": "key is already in use"})
			return
		}
	}
	g.nextID++
	k := ghKey{ID: g.nextID, Key: req.Key, Title: req.Title, ReadOnly: req.ReadOnly, Verified: true,
		Created: time.Now().UTC().Format(time.RFC3339)}
	repo.Keys = append(repo.Keys, k)
	g.mu.Unlock()
	g.ssh.AuthorizedKey(pub)
	writeJSON(w, http.StatusCreated, k)
}

func (g *gitHub) addTeam(w http.ResponseWriter, r *http.Request) {
	org, team := r.PathValue("org"), r.PathValue("team")
	if !g.teams[org+"/"+team] {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	repo := g.lookup(w, r)
	if repo == nil {
		return
	}
	var req struct {
		Permission string `json:"permission"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	g.mu.Lock()
	repo.Teams[team] = req.Permission
	g.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// repo returns a copy of a repository's record (nil if absent).
func (g *gitHub) repo(full string) *ghRepo {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.repos[full]
	if r == nil {
		return nil
	}
	c := *r
	c.Keys = append([]ghKey{}, r.Keys...)
	c.Teams = map[string]string{}
	for k, v := range r.Teams {
		c.Teams[k] = v
	}
	return &c
}

func (g *gitHub) repoEdits() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.edits)
}

func (g *gitHub) creations() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.creates
}

// importRepo adds an existing, non-empty repository (one commit of files)
// that bootstrap did not create.
func (g *gitHub) importRepo(t *testing.T, owner, name string, files map[string]string) {
	t.Helper()
	gitserver.InitRepo(t, g.root, owner+"/"+name, files)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.repos[owner+"/"+name] = &ghRepo{Owner: owner, Name: name, OwnerType: "Organization", Private: true, Teams: map[string]string{}}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }

func parseAuthorizedKey(s string) (gossh.PublicKey, string, []string, []byte, error) {
	return gossh.ParseAuthorizedKey([]byte(s))
}

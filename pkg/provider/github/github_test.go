package github

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// server answers every request with status and body, recording the paths.
func server(t *testing.T, handler http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	c, err := New("tok-secret", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func reply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func TestNew_RequiresAToken(t *testing.T) {
	if _, err := New("", ""); err == nil || !strings.Contains(err.Error(), "GITHUB_TOKEN") {
		t.Fatalf("err = %v", err)
	}
}

func TestErrors_SayWhatToDoAndNeverHoldTheToken(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		is     error
		want   string
	}{
		{"bad token", 401, `{"message":"Bad credentials"}`, ErrUnauthorized, "GITHUB_TOKEN"},
		{"missing scope", 403, `{"message":"Resource not accessible by personal access token"}`, ErrForbidden, "repo scope"},
		{"hidden", 404, `{"message":"Not Found"}`, ErrNotFound, "repo scope"},
		{"exists", 422, `{"message":"Repository creation failed.","errors":[{"resource":"Repository","code":"custom","field":"name","message":"name already exists on this account"}]}`, ErrExists, "already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := server(t, reply(tc.status, tc.body))
			_, err := c.CreateRepo(context.Background(), "acme", "fleet", false, true)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v", err)
			}
			if strings.Contains(err.Error(), "tok-secret") {
				t.Fatal("the token is in the error")
			}
		})
	}
}

func TestCreateRepo_OrganisationOrUser(t *testing.T) {
	var paths []string
	var bodies []map[string]any
	c := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-secret" {
			t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		}
		paths = append(paths, r.Method+" "+r.URL.Path)
		b := map[string]any{}
		_ = json.NewDecoder(r.Body).Decode(&b)
		bodies = append(bodies, b)
		reply(201, `{"name":"fleet","owner":{"login":"acme"},"private":true,"clone_url":"https://h/acme/fleet.git","ssh_url":"git@h:acme/fleet.git","size":0,"default_branch":"main"}`)(w, r)
	})
	repo, err := c.CreateRepo(context.Background(), "acme", "fleet", false, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRepo(context.Background(), "octo", "fleet", true, false); err != nil {
		t.Fatal(err)
	}
	if paths[0] != "POST /api/v3/orgs/acme/repos" || paths[1] != "POST /api/v3/user/repos" {
		t.Errorf("paths: %v", paths)
	}
	if bodies[0]["private"] != true || bodies[1]["private"] != false || bodies[0]["name"] != "fleet" {
		t.Errorf("bodies: %v", bodies)
	}
	if repo.DefaultBranch != "main" || !repo.Private || repo.Owner != "acme" || repo.SSHURL != "git@h:acme/fleet.git" {
		t.Errorf("repo: %+v", repo)
	}
}

func TestDeployKeysAndTeams(t *testing.T) {
	var got []string
	c := server(t, func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path)
		switch {
		case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/keys"):
			reply(200, `[{"id":1,"key":"ssh-ed25519 AAAA","title":"t","read_only":true}]`)(w, r)
		case r.Method == "POST":
			b := map[string]any{}
			_ = json.NewDecoder(r.Body).Decode(&b)
			if b["read_only"] != true || b["title"] != "tether" {
				t.Errorf("key body: %v", b)
			}
			reply(201, `{"id":2}`)(w, r)
		case r.Method == "PUT" && strings.Contains(r.URL.Path, "/teams/ghost/"):
			reply(404, `{"message":"Not Found"}`)(w, r)
		case r.Method == "PUT":
			w.WriteHeader(204)
		}
	})
	ctx := context.Background()
	keys, err := c.DeployKeys(ctx, "acme", "fleet")
	if err != nil || len(keys) != 1 || keys[0].Key != "ssh-ed25519 AAAA" || !keys[0].ReadOnly {
		t.Fatalf("keys = %+v, %v", keys, err)
	}
	if err := c.AddDeployKey(ctx, "acme", "fleet", DeployKey{Title: "tether", Key: "ssh-ed25519 BBBB", ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddTeam(ctx, "acme", "acme", "fleet", "platform", "maintain"); err != nil {
		t.Fatal(err)
	}
	if err := c.AddTeam(ctx, "acme", "acme", "fleet", "ghost", "maintain"); err == nil || !strings.Contains(err.Error(), "admin:org") {
		t.Fatalf("unknown team: %v", err)
	}
	if got[2] != "PUT /api/v3/orgs/acme/teams/platform/repos/acme/fleet" {
		t.Errorf("requests: %v", got)
	}
}

func TestSetDefaultBranch_PatchesTheRepository(t *testing.T) {
	var got string
	var body map[string]any
	c := server(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Method + " " + r.URL.Path
		_ = json.NewDecoder(r.Body).Decode(&body)
		if r.URL.Path == "/api/v3/repos/acme/ghost" {
			reply(422, `{"message":"Validation Failed","errors":[{"resource":"Repository","code":"invalid","field":"default_branch"}]}`)(w, r)
			return
		}
		reply(200, `{"name":"fleet","owner":{"login":"acme"},"default_branch":"prod"}`)(w, r)
	})
	if err := c.SetDefaultBranch(context.Background(), "acme", "fleet", "prod"); err != nil {
		t.Fatal(err)
	}
	if got != "PATCH /api/v3/repos/acme/fleet" || len(body) != 1 || body["default_branch"] != "prod" {
		t.Errorf("request: %s %v", got, body)
	}
	if err := c.SetDefaultBranch(context.Background(), "acme", "ghost", "prod"); err == nil || !strings.Contains(err.Error(), "default branch") {
		t.Errorf("err = %v", err)
	}
}

func TestHasFile(t *testing.T) {
	c := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("ref") != "main" {
			t.Errorf("ref = %q", r.URL.Query().Get("ref"))
		}
		if strings.HasSuffix(r.URL.Path, "/clusters/prod/tether-system/kustomization.yaml") {
			reply(200, `{"type":"file","name":"kustomization.yaml","path":"clusters/prod/tether-system/kustomization.yaml","content":""}`)(w, r)
			return
		}
		reply(404, `{"message":"Not Found"}`)(w, r)
	})
	for p, want := range map[string]bool{"clusters/prod/tether-system/kustomization.yaml": true, "clusters/dev/tether-system/kustomization.yaml": false} {
		got, err := c.HasFile(context.Background(), "acme", "fleet", "main", p)
		if err != nil || got != want {
			t.Errorf("HasFile(%s) = %v, %v", p, got, err)
		}
	}
}

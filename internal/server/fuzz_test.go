package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/server"
	"github.com/odh-training/odh-training/internal/service"
	"github.com/odh-training/odh-training/internal/templates"
)

// FuzzRESTBodies sends arbitrary bodies to every REST endpoint that takes
// one (create, dry-run create, templates, suspend, resume) of a real server
// (the local engine, whose launchers are /bin/true here, so that nothing a
// fuzzed job says is ever run). The server must answer with a client error
// or success — never a 5xx, never a non-JSON body — and a refused request
// must create nothing. The seeds run in go test; explore with
//
//	go test -run '^$' -fuzz FuzzRESTBodies -fuzztime 60s ./internal/server
func FuzzRESTBodies(f *testing.F) {
	for _, s := range []string{
		`{"job":{"metadata":{"name":"a"},"spec":{"command":["true"],"workers":{"replicas":2}}},"dryRun":true}`,
		`{"manifest":"metadata: {name: b}\nspec: {command: [x], workers: {replicas: 1}}","dryRun":true}`,
		`{"manifest":"apiVersion: kubeflow.org/v2beta1\nkind: MPIJob\nmetadata: {name: c}\nspec: {mpiReplicaSpecs: {Launcher: {replicas: 1, template: {spec: {containers: [{name: l, image: i}]}}}}}"}`,
		`{"job":{"metadata":{"name":"d","namespace":"other"},"spec":{"command":["true"]}},"namespace":"fuzz"}`,
		`{"job":{"spec":{"workers":{"replicas":"many"}}},"manifest":"x"}`,
		`{"template":{"name":"t","description":"d","spec":{"command":["x"]}}}`,
		`{"template":{"name":"../../etc","spec":{}}}`,
		`{"name":"x","namespace":"fuzz"}`,
		`{"job":null,"manifest":null}`, `{"job":[]}`, `{"dryRun":"yes"}`, `[]`, `null`, `{`, ``, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	noop := map[job.MPIImplementation]string{job.OpenMPI: "/bin/true", job.MPICH: "/bin/true", job.Intel: "/bin/true"}
	eng, err := local.New(local.Options{StateDir: dir + "/engine", Slots: 4, Launchers: noop, MetricsInterval: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	tpl, err := templates.NewStore(dir + "/templates")
	if err != nil {
		f.Fatal(err)
	}
	srv, err := server.New(f.Context(), server.Options{Options: service.Options{Engine: eng, Templates: tpl, Auth: auth.StaticToken{Token: testToken, User: auth.User{Name: "fuzzer"}}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = eng.Close(ctx)
	})
	h := srv.Handler()
	do := func(method, path string, body []byte) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		return rec
	}
	count := func() int {
		js, err := eng.List(context.Background(), engine.ListOptions{})
		if err != nil {
			f.Fatal(err)
		}
		return len(js)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{
			"/api/v1/namespaces/fuzz/mpijobs",
			"/api/v1/namespaces/fuzz/templates",
			"/api/v1/namespaces/fuzz/mpijobs/x/suspend",
			"/api/v1/namespaces/fuzz/mpijobs/x/resume",
		} {
			before := count()
			rec := do(http.MethodPost, path, body)
			if rec.Code >= 500 {
				t.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
			}
			var doc map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatalf("POST %s: %d with a body that is not a JSON object: %q", path, rec.Code, rec.Body)
			}
			after := count()
			if rec.Code != http.StatusOK {
				if msg, _ := doc["message"].(string); msg == "" {
					t.Fatalf("POST %s: %d without a message: %s", path, rec.Code, rec.Body)
				}
				if after != before {
					t.Fatalf("POST %s refused (%d) but the server has %d jobs, had %d", path, rec.Code, after, before)
				}
				continue
			}
			// Remove what a successful create made, so runs stay small.
			if created, _ := doc["job"].(map[string]any); created != nil && after > before {
				meta, _ := created["metadata"].(map[string]any)
				ns, _ := meta["namespace"].(string)
				name, _ := meta["name"].(string)
				if _, err := eng.Delete(context.Background(), ns, name, engine.DeleteOptions{Wait: true}); err != nil {
					t.Fatalf("delete %s/%s after the create: %v", ns, name, err)
				}
			}
		}
	})
}

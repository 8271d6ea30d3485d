package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

// FuzzAdmissionReview feeds arbitrary bodies to both admission endpoints:
// the webhook must answer 400 or a well-formed AdmissionReview echoing the
// request's uid, and never panic. The seeds (and testdata/fuzz) run in go
// test; explore further with
//
//	go test -run "^$" -fuzz FuzzAdmissionReview -fuzztime 60s ./internal/webhook
func FuzzAdmissionReview(f *testing.F) {
	for _, s := range []string{
		review("CREATE", "alice", nil, jobJSON("alice"), ""),
		review("CREATE", "alice", nil, jobJSON(""), ""),
		review("UPDATE", "bob", nil, jobJSON("alice"), jobJSON("alice")),
		review("DELETE", "bob", []string{"system:masters"}, "", jobJSON("alice")),
		review("CREATE", "a", nil, `{"spec":{"mpiReplicaSpecs":{"Worker":null}}}`, ""),
		review("UPDATE", "a", nil, `[]`, `"x"`),
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","resource":{"group":"kubeflow.org","resource":"mpijobs"},"operation":"CREATE","object":null}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","resource":{"group":"kubeflow.org","resource":"mpijobs"},"operation":"CREATE","object":{"metadata":{"annotations":null},"spec":{"mpiReplicaSpecs":{"Launcher":{"template":{"spec":{"containers":[null,1]}}}}}}}}`,
		`{}`, `null`, `[`, "",
	} {
		f.Add([]byte(s))
	}
	h := Routes(testHandler())
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{PathMutate, PathValidate} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusBadRequest:
			case http.StatusOK:
				var in, out admissionv1.AdmissionReview
				if err := json.Unmarshal(body, &in); err != nil {
					t.Fatalf("accepted a body that does not decode: %v", err)
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
					t.Fatalf("malformed answer %q: %v", rec.Body, err)
				}
				if out.Response.UID != in.Request.UID {
					t.Fatalf("answer uid %q, want %q", out.Response.UID, in.Request.UID)
				}
			default:
				t.Fatalf("status %d", rec.Code)
			}
		}
	})
}

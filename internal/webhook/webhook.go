// Package webhook is the admission logic for kubeflow.org/v2beta1 MPIJobs
// from any client (kubectl included): it stamps the creator into an
// annotation nobody can forge or change, lets only the creator or holders
// of the manage-all permission change and delete a job, validates jobs with
// the Training Service's own validator, sets OpenShift-safe defaults and
// enforces the per-namespace admission policy (allowed image registries,
// maximum workers and GPUs per job). It also holds the serving certificates
// the program uses. The odh-webhook program (internal/odhwebhook) serves it
// over TLS; docs/admin/security.md describes it.
package webhook

import (
	"io"
	"net/http"
)

// Paths the webhook configurations call.
const (
	PathMutate   = "/mutate-mpijobs"
	PathValidate = "/validate-mpijobs"
)

// Routes serves the admission paths and health.
func Routes(h *Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(PathMutate, serveReview(h.Mutate))
	mux.Handle(PathValidate, serveReview(h.Validate))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	return mux
}

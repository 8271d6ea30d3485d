package kube

import (
	"sigs.k8s.io/yaml"

	"github.com/odh-training/odh-training/internal/job"
)

// Manifest renders the kubeflow.org/v2beta1 MPIJob a defaulted, validated
// job becomes, as YAML: what Translate gives, with its apiVersion and kind
// set. Dry runs return it to the client (`odh training create --dry-run
// --upstream`). Errors are Translate's.
func Manifest(j *job.MPIJob, opts TranslateOptions) ([]byte, error) {
	u, err := Translate(j, opts)
	if err != nil {
		return nil, err
	}
	u.APIVersion, u.Kind = job.UpstreamAPIVersion, "MPIJob"
	return yaml.Marshal(u)
}

// Manifest renders j with this engine's translation options.
// A job the engine would run as a TrainJob renders as that TrainJob.
func (e *Engine) Manifest(j *job.MPIJob) ([]byte, error) {
	if backend, rt, err := e.resolveBackend(j); err == nil && backend == BackendTrainJob {
		return e.trainJobManifest(j, rt)
	}
	return Manifest(j, e.opts.Translate)
}

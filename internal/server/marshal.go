package server

import (
	"encoding/json"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/job"
)

// restMarshaler writes the REST responses that carry jobs with encoding/json
// on the domain model instead of protojson: the documents are the same (a
// test holds them equal), and it is several times faster, which is what
// makes listing and watching thousands of jobs cheap. Everything else, and
// every request body, goes through protojson.
type restMarshaler struct {
	runtime.JSONPb
}

type listJSON struct {
	Items           []*job.MPIJob `json:"items,omitempty"`
	NextPageToken   string        `json:"nextPageToken,omitempty"`
	ResourceVersion string        `json:"resourceVersion,omitempty"`
}

type watchJSON struct {
	Type string      `json:"type,omitempty"`
	Job  *job.MPIJob `json:"job,omitempty"`
}

type createJSON struct {
	Job      *job.MPIJob `json:"job,omitempty"`
	Warnings []string    `json:"warnings,omitempty"`
}

type deleteJSON struct {
	Job *job.MPIJob `json:"job,omitempty"`
}

func jobOrNil(p *trainingv1.MPIJob) *job.MPIJob {
	if p == nil {
		return nil
	}
	return apiconv.FromProto(p)
}

// Marshal implements runtime.Marshaler.
func (m *restMarshaler) Marshal(v any) ([]byte, error) {
	switch x := v.(type) {
	case *trainingv1.MPIJob:
		return json.Marshal(apiconv.FromProto(x))
	case *trainingv1.ListJobsResponse:
		out := listJSON{NextPageToken: x.GetNextPageToken(), ResourceVersion: x.GetResourceVersion()}
		out.Items = make([]*job.MPIJob, len(x.GetItems()))
		for i, p := range x.GetItems() {
			out.Items[i] = apiconv.FromProto(p)
		}
		return json.Marshal(out)
	case *trainingv1.WatchEvent:
		return json.Marshal(watchJSON{Type: x.GetType(), Job: jobOrNil(x.GetJob())})
	case *trainingv1.CreateJobResponse:
		return json.Marshal(createJSON{Job: jobOrNil(x.GetJob()), Warnings: x.GetWarnings()})
	case *trainingv1.DeleteJobResponse:
		return json.Marshal(deleteJSON{Job: jobOrNil(x.GetJob())})
	case map[string]any:
		// A stream chunk: {"result": message}.
		if r, ok := x["result"].(proto.Message); ok && len(x) == 1 {
			inner, err := m.Marshal(r)
			if err != nil {
				return nil, err
			}
			return json.Marshal(map[string]json.RawMessage{"result": inner})
		}
	}
	return m.JSONPb.Marshal(v)
}

package server

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/service"
)

// restMarshaler writes the REST responses that carry jobs with encoding/json
// on the domain model instead of protojson: the documents are the same (a
// test holds them equal), and it is several times faster, which is what
// makes listing and watching thousands of jobs cheap. Everything else, and
// every request body, goes through protojson.
type restMarshaler struct {
	runtime.JSONPb

	// cache holds the JSON of settled jobs (finished or suspended) by UID,
	// used only for the same resourceVersion. Only settled jobs are cached:
	// an engine may change an active job's status from the passing of time
	// alone, without a new resourceVersion; a settled job changes only
	// with one.
	mu    sync.RWMutex
	cache map[string]cachedJob
}

type cachedJob struct {
	rv   string
	data json.RawMessage
}

// maxCachedJobs bounds the cache; past it, the cache starts over.
const maxCachedJobs = 20000

// jobJSON returns the JSON of one job, from the cache when it is current.
func (m *restMarshaler) jobJSON(p *trainingv1.MPIJob) (json.RawMessage, error) {
	uid, rv := p.GetMetadata().GetUid(), p.GetMetadata().GetResourceVersion()
	if ph := job.Phase(p.GetStatus().GetPhase()); !ph.Terminal() && ph != job.PhaseSuspended {
		uid = "" // not cacheable
	}
	if uid != "" && rv != "" {
		m.mu.RLock()
		c, ok := m.cache[uid]
		m.mu.RUnlock()
		if ok && c.rv == rv {
			return c.data, nil
		}
	}
	data, err := json.Marshal(apiconv.FromProto(p))
	if err != nil || uid == "" || rv == "" {
		return data, err
	}
	m.mu.Lock()
	if m.cache == nil || len(m.cache) >= maxCachedJobs {
		m.cache = make(map[string]cachedJob)
	}
	m.cache[uid] = cachedJob{rv: rv, data: data}
	m.mu.Unlock()
	return data, nil
}

func (m *restMarshaler) jobOrNil(p *trainingv1.MPIJob) (json.RawMessage, error) {
	if p == nil {
		return nil, nil
	}
	return m.jobJSON(p)
}

type watchJSON struct {
	Type string          `json:"type,omitempty"`
	Job  json.RawMessage `json:"job,omitempty"`
}

type createJSON struct {
	Job              json.RawMessage `json:"job,omitempty"`
	Warnings         []string        `json:"warnings,omitempty"`
	UpstreamManifest string          `json:"upstreamManifest,omitempty"`
}

type deleteJSON struct {
	Job json.RawMessage `json:"job,omitempty"`
}

// Marshal implements runtime.Marshaler.
func (m *restMarshaler) Marshal(v any) ([]byte, error) {
	switch x := v.(type) {
	case *trainingv1.MPIJob:
		return m.jobJSON(x)
	case *trainingv1.ListJobsResponse:
		// Assembled by hand: json.Marshal would re-validate every cached
		// item (json.RawMessage is compacted), which costs more than the
		// cache saves.
		var b bytes.Buffer
		b.WriteByte('{')
		if items := x.GetItems(); len(items) > 0 {
			b.WriteString(`"items":[`)
			for i, p := range items {
				data, err := m.jobJSON(p)
				if err != nil {
					return nil, err
				}
				if i > 0 {
					b.WriteByte(',')
				}
				b.Write(data)
			}
			b.WriteByte(']')
		}
		for _, f := range []struct{ key, value string }{{"nextPageToken", x.GetNextPageToken()}, {"resourceVersion", x.GetResourceVersion()}} {
			if f.value == "" {
				continue
			}
			if b.Len() > 1 {
				b.WriteByte(',')
			}
			v, _ := json.Marshal(f.value)
			b.WriteString(`"` + f.key + `":`)
			b.Write(v)
		}
		b.WriteByte('}')
		return b.Bytes(), nil
	case *trainingv1.WatchEvent:
		j, err := m.jobOrNil(x.GetJob())
		if err != nil {
			return nil, err
		}
		return json.Marshal(watchJSON{Type: x.GetType(), Job: j})
	case *trainingv1.CreateJobResponse:
		j, err := m.jobOrNil(x.GetJob())
		if err != nil {
			return nil, err
		}
		return json.Marshal(createJSON{Job: j, Warnings: x.GetWarnings(), UpstreamManifest: x.GetUpstreamManifest()})
	case *trainingv1.DeleteJobResponse:
		j, err := m.jobOrNil(x.GetJob())
		if err != nil {
			return nil, err
		}
		return json.Marshal(deleteJSON{Job: j})
	case map[string]any:
		// A stream chunk: {"result": message}.
		if r, ok := x["result"].(proto.Message); ok && len(x) == 1 {
			if service.IsHeartbeat(r) {
				// A heartbeat is a blank line: it keeps proxies from
				// cutting a quiet stream, and NDJSON readers skip it.
				return []byte{}, nil
			}
			inner, err := m.Marshal(r)
			if err != nil {
				return nil, err
			}
			return json.Marshal(map[string]json.RawMessage{"result": inner})
		}
	}
	return m.JSONPb.Marshal(v)
}

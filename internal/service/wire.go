package service

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sync"
	"weak"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/job"
)

// Watch fan-out: an engine hands every watcher the same immutable job
// snapshot, so a job's wire forms — the protobuf bytes for gRPC streams and
// the JSON for REST streams — are computed once per snapshot, by the first
// watcher that needs them, and shared by the others. A WatchEvent is then
// two or three pieces of bytes: a few bytes of framing (the event type) and
// the shared job.
//
// The encodings live exactly as long as the snapshot: the table is keyed by
// a weak pointer, and an entry is removed when its snapshot is collected.

// jobWire holds the wire forms of one job snapshot.
// It holds no reference to the snapshot, which would keep it alive.
type jobWire struct {
	pbOnce sync.Once
	pb     []byte
	pbErr  error

	jsonOnce sync.Once
	json     []byte
	jsonErr  error
}

var wires sync.Map // weak.Pointer[job.MPIJob] → *jobWire

// wireOf returns the shared encodings of a snapshot.
func wireOf(j *job.MPIJob) *jobWire {
	wp := weak.Make(j)
	if v, ok := wires.Load(wp); ok {
		return v.(*jobWire)
	}
	w := &jobWire{}
	if v, loaded := wires.LoadOrStore(wp, w); loaded {
		return v.(*jobWire)
	}
	runtime.AddCleanup(j, func(wp weak.Pointer[job.MPIJob]) { wires.Delete(wp) }, wp)
	return w
}

// proto returns the snapshot as an encoded trainingv1.MPIJob.
func (w *jobWire) proto(j *job.MPIJob) ([]byte, error) {
	w.pbOnce.Do(func() {
		w.pb, w.pbErr = proto.MarshalOptions{Deterministic: true}.Marshal(apiconv.ToProto(j))
	})
	return w.pb, w.pbErr
}

// jsonDoc returns the snapshot's REST document: the domain model's JSON,
// which is the protojson of its message (apiconv holds them equal), taken
// through the message so that exactly what the API shows is written.
func (w *jobWire) jsonDoc(j *job.MPIJob) ([]byte, error) {
	w.jsonOnce.Do(func() {
		w.json, w.jsonErr = json.Marshal(apiconv.FromProto(apiconv.ToProto(j)))
	})
	return w.json, w.jsonErr
}

// WireEvent is a watch event as the Training Service sends it: gRPC
// streams encode it with the service's codec, REST streams with WriteJSON.
// Its job's encodings are shared with every other stream that sends the
// same snapshot.
type WireEvent struct {
	Type job.WatchEventType
	Job  *job.MPIJob // nil for Synced; read-only
	wire *jobWire
}

// NewWireEvent wraps an engine's watch event.
func NewWireEvent(ev job.WatchEvent) *WireEvent {
	w := &WireEvent{Type: ev.Type, Job: ev.Job}
	if ev.Job != nil {
		w.wire = wireOf(ev.Job)
	}
	return w
}

// Message returns the event as an API message (for tests and callers that
// want one; streams never need it).
func (e *WireEvent) Message() *trainingv1.WatchEvent {
	return &trainingv1.WatchEvent{Type: string(e.Type), Job: apiconv.ToProto(e.Job)}
}

// protoSlices returns the encoded trainingv1.WatchEvent: its type field,
// then the job's field header and the shared job bytes.
func (e *WireEvent) protoSlices() (mem.BufferSlice, error) {
	var head []byte
	if e.Type != "" {
		head = protowire.AppendTag(head, 1, protowire.BytesType)
		head = protowire.AppendString(head, string(e.Type))
	}
	if e.wire == nil {
		return mem.BufferSlice{mem.SliceBuffer(head)}, nil
	}
	pb, err := e.wire.proto(e.Job)
	if err != nil {
		return nil, err
	}
	head = protowire.AppendTag(head, 2, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(len(pb)))
	return mem.BufferSlice{mem.SliceBuffer(head), mem.SliceBuffer(pb)}, nil
}

// WriteJSON writes the event as one REST stream chunk without its
// delimiter: {"result":{"type":"…","job":{…}}}, the document the gateway
// writes for a trainingv1.WatchEvent.
func (e *WireEvent) WriteJSON(w io.Writer) error {
	typ, err := json.Marshal(string(e.Type))
	if err != nil {
		return err
	}
	var doc []byte
	if e.wire != nil {
		if doc, err = e.wire.jsonDoc(e.Job); err != nil {
			return err
		}
	}
	head := make([]byte, 0, 48)
	head = append(head, `{"result":{`...)
	if e.Type != "" {
		head = append(head, `"type":`...)
		head = append(head, typ...)
	}
	if doc == nil {
		head = append(head, "}}"...)
		_, err = w.Write(head)
		return err
	}
	if e.Type != "" {
		head = append(head, ',')
	}
	head = append(head, `"job":`...)
	if _, err := w.Write(head); err != nil {
		return err
	}
	if _, err := w.Write(doc); err != nil {
		return err
	}
	_, err = w.Write([]byte("}}"))
	return err
}

// codec is the gRPC server's codec: protobuf, except that a *WireEvent is
// sent as its shared bytes.
type codec struct{ proto encoding.CodecV2 }

func newCodec() codec {
	c := encoding.GetCodecV2("proto")
	if c == nil {
		panic("service: the gRPC proto codec is not registered")
	}
	return codec{proto: c}
}

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if e, ok := v.(*WireEvent); ok {
		return e.protoSlices()
	}
	return c.proto.Marshal(v)
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	if _, ok := v.(*WireEvent); ok {
		return fmt.Errorf("service: a WireEvent is only sent, never received")
	}
	return c.proto.Unmarshal(data, v)
}

func (c codec) Name() string { return c.proto.Name() }

// Package watchload opens thousands of job watches on a Training Service —
// REST (NDJSON over HTTP/1.1) and gRPC streams, each on its own connection,
// as separate browsers, SDK scripts and CLI processes would — and measures
// how long a change takes to reach every one of them. The benchmarks of the
// local engine (test/bench) and of the kubernetes engine (test/bench/kube)
// use it; it asserts nothing.
package watchload

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
)

// Options describe the load.
type Options struct {
	// URL is the server (http://host:port); Token its bearer token.
	URL, Token string
	// Namespace is watched ("" = all namespaces).
	Namespace string
	// Watchers is how many watches to open; GRPC of them are gRPC streams,
	// the rest REST watches.
	Watchers, GRPC int
	// Parallel bounds how many watches are being opened at once (default
	// 64).
	Parallel int
}

// Load is a set of open watches.
type Load struct {
	opts   Options
	cancel context.CancelFunc
	wg     sync.WaitGroup
	probes sync.Map // job name → *probe
	broken atomic.Int64
	conns  []*grpc.ClientConn
	errMu  sync.Mutex
	errs   []error
}

type probe struct {
	start time.Time
	mu    sync.Mutex
	lat   []time.Duration
	done  chan struct{}
	want  int
}

// Start opens every watch and returns once each has said SYNCED.
func Start(ctx context.Context, opts Options) (*Load, error) {
	if opts.Parallel == 0 {
		opts.Parallel = 64
	}
	ctx, cancel := context.WithCancel(ctx)
	l := &Load{opts: opts, cancel: cancel}
	synced := make(chan error, opts.Watchers)
	sem := make(chan struct{}, opts.Parallel)
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true, ReadBufferSize: 4 << 10, WriteBufferSize: 4 << 10}}
	for i := range opts.Watchers {
		sem <- struct{}{}
		l.wg.Add(1)
		if i < opts.GRPC {
			conn, err := grpc.NewClient(strings.TrimPrefix(opts.URL, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithReadBufferSize(4<<10), grpc.WithWriteBufferSize(4<<10), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
			if err != nil {
				cancel()
				return nil, err
			}
			l.conns = append(l.conns, conn)
			go l.grpcWatch(ctx, conn, synced, sem)
		} else {
			go l.restWatch(ctx, httpc, synced, sem)
		}
	}
	for range opts.Watchers {
		select {
		case err := <-synced:
			if err != nil {
				l.Close()
				return nil, err
			}
		case <-time.After(5 * time.Minute):
			l.Close()
			return nil, errors.New("watchload: watches did not all start within 5 minutes")
		}
	}
	return l, nil
}

// Expect registers a job about to be created at start: every watcher's
// ADDED event for it is timed from there.
func (l *Load) Expect(name string, start time.Time) {
	l.probes.Store(name, &probe{start: start, done: make(chan struct{}), want: l.opts.Watchers})
}

// Await returns the create→event latency at every watcher for a job
// registered with Expect, and how many watchers did not see it in time.
func (l *Load) Await(name string, timeout time.Duration) (lat []time.Duration, missing int) {
	v, ok := l.probes.Load(name)
	if !ok {
		return nil, l.opts.Watchers
	}
	p := v.(*probe)
	select {
	case <-p.done:
	case <-time.After(timeout):
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.lat...), l.opts.Watchers - len(p.lat)
}

// Broken is how many watches ended early.
func (l *Load) Broken() int { return int(l.broken.Load()) }

// Errors returns the first errors of watches that ended early.
func (l *Load) Errors() []error {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return append([]error(nil), l.errs...)
}

// Close ends every watch.
func (l *Load) Close() {
	l.cancel()
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.wg.Wait()
}

func (l *Load) seen(name string, at time.Time) {
	v, ok := l.probes.Load(name)
	if !ok {
		return
	}
	p := v.(*probe)
	p.mu.Lock()
	p.lat = append(p.lat, at.Sub(p.start))
	if len(p.lat) == p.want {
		close(p.done)
	}
	p.mu.Unlock()
}

func (l *Load) fail(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	l.broken.Add(1)
	l.errMu.Lock()
	if len(l.errs) < 5 {
		l.errs = append(l.errs, err)
	}
	l.errMu.Unlock()
}

func (l *Load) path() string {
	if l.opts.Namespace == "" {
		return "/api/v1/watch/mpijobs?sendInitialEvents=false"
	}
	return "/api/v1/watch/namespaces/" + l.opts.Namespace + "/mpijobs?sendInitialEvents=false"
}

var (
	addedPrefix = []byte(`{"result":{"type":"ADDED"`)
	nameKey     = []byte(`"metadata":{"name":"`)
)

func (l *Load) restWatch(ctx context.Context, c *http.Client, synced chan<- error, sem <-chan struct{}) {
	defer l.wg.Done()
	release := func(err error) {
		if sem != nil {
			<-sem
			sem = nil
			synced <- err
		}
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.opts.URL+l.path(), nil)
	req.Header.Set("Authorization", "Bearer "+l.opts.Token)
	resp, err := c.Do(req)
	if err != nil {
		release(fmt.Errorf("REST watch: %w", err))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(resp.Body)
		release(fmt.Errorf("REST watch: %d %s", resp.StatusCode, data))
		return
	}
	r := bufio.NewReaderSize(resp.Body, 16<<10)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A large job: only its beginning matters here.
			first := line
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			line = first
		}
		if err != nil {
			release(fmt.Errorf("REST watch: %w", err))
			l.fail(ctx, fmt.Errorf("REST watch ended: %w", err))
			return
		}
		now := time.Now()
		switch {
		case bytes.HasPrefix(line, addedPrefix):
			if i := bytes.Index(line, nameKey); i >= 0 {
				rest := line[i+len(nameKey):]
				if j := bytes.IndexByte(rest, '"'); j >= 0 {
					l.seen(string(rest[:j]), now)
				}
			}
		case bytes.Contains(line, []byte(`"SYNCED"`)):
			release(nil)
		case bytes.HasPrefix(line, []byte(`{"error"`)):
			release(fmt.Errorf("REST watch: %s", line))
			l.fail(ctx, fmt.Errorf("REST watch: %s", line))
			return
		}
	}
}

func (l *Load) grpcWatch(ctx context.Context, conn *grpc.ClientConn, synced chan<- error, sem <-chan struct{}) {
	defer l.wg.Done()
	release := func(err error) {
		if sem != nil {
			<-sem
			sem = nil
			synced <- err
		}
	}
	no := false
	cctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+l.opts.Token)
	stream, err := trainingv1.NewTrainingServiceClient(conn).WatchJobs(cctx, &trainingv1.WatchJobsRequest{Namespace: l.opts.Namespace, SendInitialEvents: &no})
	if err != nil {
		release(fmt.Errorf("gRPC watch: %w", err))
		return
	}
	for {
		ev, err := stream.Recv()
		if err != nil {
			release(fmt.Errorf("gRPC watch: %w", err))
			l.fail(ctx, fmt.Errorf("gRPC watch ended: %w", err))
			return
		}
		now := time.Now()
		switch ev.GetType() {
		case "SYNCED":
			release(nil)
		case "ADDED":
			l.seen(ev.GetJob().GetMetadata().GetName(), now)
		}
	}
}

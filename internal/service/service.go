// Package service is the Training Service itself: the TrainingService API
// implemented over an engine (parse, default and validate with
// internal/job, authorize with internal/auth, then ask the engine), and its
// gRPC server with the interceptors every call goes through — panic
// recovery, error translation (*job.Error to gRPC status, once), bearer
// token authentication and per-user rate limits, and the audit log. Both
// odh-server (internal/server puts the REST gateway, docs, metrics and
// dashboard around it) and the CLI's direct mode (in-process, over an
// in-memory connection) run it, so every client meets the same rules.
package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
	"k8s.io/apimachinery/pkg/labels"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/notify"
	"github.com/odh-training/odh-training/internal/templates"
	"github.com/odh-training/odh-training/internal/version"
)

// Service implements the TrainingService API on top of an engine. Errors
// are returned as *job.Error and translated to gRPC statuses once, by the
// error interceptor.
type Service struct {
	trainingv1.UnimplementedTrainingServiceServer
	eng       engine.Engine
	templates *templates.Store
	// authz decides every call; nil allows everything (the single local
	// token, or an engine that enforces access itself).
	authz auth.Authorizer
	// reviewer answers CanI for engines that enforce access themselves.
	reviewer auth.AccessReviewer
	// manifest renders the upstream MPIJob a job becomes, for dry runs.
	manifest func(*job.MPIJob) ([]byte, error)
	// authn checks streams' tokens again while they run.
	authn   auth.Authenticator
	streams StreamLimits
	// notify serves the notification API; nil when notifications are off.
	notify *notify.Notifier
}

// NewService returns the API implementation.
func NewService(eng engine.Engine, tpl *templates.Store) *Service {
	return &Service{eng: eng, templates: tpl}
}

var _ trainingv1.TrainingServiceServer = (*Service)(nil)

// jobFromRequest turns the request body into a prepared job.
func jobFromRequest(ctx context.Context, req *trainingv1.CreateJobRequest) (*job.MPIJob, error) {
	var j *job.MPIJob
	switch {
	case req.GetJob() != nil && req.GetManifest() != "":
		return nil, job.BadRequest("manifest", "", "set either job or manifest, not both")
	case req.GetManifest() != "":
		docs, err := job.SplitDocuments([]byte(req.GetManifest()))
		if err != nil {
			return nil, err
		}
		if len(docs) > 1 {
			return nil, job.BadRequest("manifest", "", fmt.Sprintf("the manifest holds %d documents; create one job per request", len(docs)))
		}
		parsed, _, err := job.Parse([]byte(req.GetManifest()))
		if err != nil {
			return nil, err
		}
		j = parsed
	case req.GetJob() != nil:
		j = apiconv.FromProto(req.GetJob())
	default:
		return nil, job.BadRequest("job", "", "the request has no job: send a job object or a manifest")
	}
	if ns := req.GetNamespace(); ns != "" {
		if j.Metadata.Namespace != "" && j.Metadata.Namespace != ns {
			return nil, job.BadRequest("metadata.namespace", j.Metadata.Namespace, fmt.Sprintf("the job's namespace %q does not match the request's namespace %q", j.Metadata.Namespace, ns))
		}
		j.Metadata.Namespace = ns
		j.SyncUpstreamMeta()
	}
	// Fields the server owns.
	j.Metadata.UID, j.Metadata.ResourceVersion = "", ""
	j.Metadata.CreationTimestamp = time.Time{}
	j.Metadata.Creator = ""
	j.Status = job.Status{}
	if u, ok := auth.UserFrom(ctx); ok {
		j.Metadata.Creator = u.Name
	}
	if err := job.Prepare(j); err != nil {
		return nil, err
	}
	return j, nil
}

// nameChars avoids vowels and look-alikes, as Kubernetes does.
const nameChars = "bcdfghjklmnpqrstvwxz2456789"

func generateName(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = nameChars[int(b[i])%len(nameChars)]
	}
	return prefix + string(b)
}

// CreateJob validates, defaults, admits and (unless dry_run) creates a job.
func (s *Service) CreateJob(ctx context.Context, req *trainingv1.CreateJobRequest) (*trainingv1.CreateJobResponse, error) {
	j, err := jobFromRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, auth.Action{Verb: auth.VerbCreate, Resource: auth.ResourceJobs, Namespace: j.Metadata.Namespace, Name: j.Metadata.Name}); err != nil {
		return nil, err
	}
	if j.Metadata.Name == "" {
		j.Metadata.Name = generateName(j.Metadata.GenerateName)
		j.SyncUpstreamMeta()
	}
	warnings, err := s.eng.Admit(ctx, j)
	if err != nil {
		// A dry run validates the document; that this engine lacks the MPI
		// implementation is worth a warning, not a rejection (the same job
		// runs on a cluster). Creating it for real still fails.
		var je *job.Error
		if !req.GetDryRun() || !errors.As(err, &je) || je.Reason != job.ReasonMPINotInstalled {
			return nil, err
		}
		for _, f := range je.Fields {
			warnings = append(warnings, f.Message+"; creating this job on this server would fail")
		}
	}
	if req.GetDryRun() {
		r := job.TotalRequests(&j.Spec).Totals()
		j.Status.Requested = &r
		resp := &trainingv1.CreateJobResponse{Job: apiconv.ToProto(j), Warnings: warnings}
		if s.manifest != nil {
			// A job this server admitted but a cluster could not run (no
			// image, on the local engine) simply has no manifest.
			if m, err := s.manifest(j); err == nil {
				resp.UpstreamManifest = string(m)
			}
		}
		return resp, nil
	}
	created, err := s.eng.Create(ctx, j)
	if err != nil {
		return nil, err
	}
	return &trainingv1.CreateJobResponse{Job: apiconv.ToProto(created), Warnings: warnings}, nil
}

// namespaceOf is the namespace a request names (the default one when it
// names none), refused unless it is a valid namespace name.
func namespaceOf(ns string) (string, error) {
	if ns == "" {
		return job.DefaultNamespace, nil
	}
	return ns, job.CheckNamespace(ns)
}

func requireName(name string) error {
	if name == "" {
		return job.BadRequest("name", "", "a job name is required")
	}
	return nil
}

// authorizeJob checks a request naming one job: the name is given, the
// namespace is valid (the default when empty) and the caller may do verb on
// resource there; withOwner lets own-job rules look up the job's creator. It
// returns the namespace.
func (s *Service) authorizeJob(ctx context.Context, name, namespace, verb, resource string, withOwner bool) (string, error) {
	if err := requireName(name); err != nil {
		return "", err
	}
	ns, err := namespaceOf(namespace)
	if err != nil {
		return "", err
	}
	a := auth.Action{Verb: verb, Resource: resource, Namespace: ns, Name: name}
	if withOwner {
		a.Owner = s.jobOwner(ctx, ns, name)
	}
	return ns, s.authorize(ctx, a)
}

// GetJob returns one job.
func (s *Service) GetJob(ctx context.Context, req *trainingv1.GetJobRequest) (*trainingv1.MPIJob, error) {
	ns, err := s.authorizeJob(ctx, req.GetName(), req.GetNamespace(), auth.VerbGet, auth.ResourceJobs, false)
	if err != nil {
		return nil, err
	}
	j, err := s.eng.Get(ctx, ns, req.GetName())
	if err != nil {
		return nil, err
	}
	return apiconv.ToProto(j), nil
}

// jobOwner returns a lookup of a job's creator for "own job" decisions.
func (s *Service) jobOwner(ctx context.Context, ns, name string) func() (string, error) {
	return func() (string, error) {
		j, err := s.eng.Get(ctx, ns, name)
		if err != nil {
			return "", err
		}
		return j.Metadata.Creator, nil
	}
}

func listOptions(namespace, selector string, phases []string) (engine.ListOptions, error) {
	opts := engine.ListOptions{Namespace: namespace}
	if namespace != "" {
		if err := job.CheckNamespace(namespace); err != nil {
			return opts, err
		}
	}
	if selector != "" {
		sel, err := labels.Parse(selector)
		if err != nil {
			return opts, job.BadRequest("labelSelector", selector, fmt.Sprintf("invalid label selector %q: %v (examples: \"team=nlp\", \"tier in (gold,silver)\", \"!canary\")", selector, err))
		}
		opts.Selector = sel
	}
	for _, p := range phases {
		for _, part := range strings.Split(p, ",") {
			ph := job.Phase(strings.TrimSpace(part))
			if ph == "" {
				continue
			}
			if i := slices.IndexFunc(job.Phases, func(x job.Phase) bool { return strings.EqualFold(string(x), string(ph)) }); i >= 0 {
				opts.Phases = append(opts.Phases, job.Phases[i])
				continue
			}
			names := make([]string, len(job.Phases))
			for i, x := range job.Phases {
				names[i] = string(x)
			}
			return opts, job.BadRequest("phase", string(ph), fmt.Sprintf("unknown phase %q: use one of %s", ph, strings.Join(names, ", ")))
		}
	}
	return opts, nil
}

// ListJobs lists jobs, optionally one page at a time.
func (s *Service) ListJobs(ctx context.Context, req *trainingv1.ListJobsRequest) (*trainingv1.ListJobsResponse, error) {
	opts, err := listOptions(req.GetNamespace(), req.GetLabelSelector(), req.GetPhase())
	if err != nil {
		return nil, err
	}
	if req.GetPageSize() < 0 {
		return nil, job.BadRequest("pageSize", fmt.Sprint(req.GetPageSize()), "pageSize must not be negative")
	}
	if opts.Namespace != "" {
		if err := s.authorize(ctx, auth.Action{Verb: auth.VerbList, Resource: auth.ResourceJobs, Namespace: opts.Namespace}); err != nil {
			return nil, err
		}
	}
	jobs, err := s.eng.List(ctx, opts)
	if err != nil {
		return nil, err
	}
	if opts.Namespace == "" && s.authz != nil {
		// Across namespaces: show what the caller may see instead of failing.
		see, err := s.visible(ctx, auth.VerbList, auth.ResourceJobs)
		if err != nil {
			return nil, err
		}
		jobs = slices.DeleteFunc(slices.Clone(jobs), func(j *job.MPIJob) bool { return !see(j.Metadata.Namespace) })
	}
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		after, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return nil, job.BadRequest("pageToken", tok, "invalid pageToken: pass the nextPageToken of the previous response unchanged")
		}
		key := string(after)
		start = len(jobs)
		for i, j := range jobs {
			if j.Metadata.Namespace+"/"+j.Metadata.Name > key {
				start = i
				break
			}
		}
	}
	end := len(jobs)
	if n := int(req.GetPageSize()); n > 0 && start+n < end {
		end = start + n
	}
	resp := &trainingv1.ListJobsResponse{Items: make([]*trainingv1.MPIJob, 0, end-start)}
	var maxRV string
	for _, j := range jobs[start:end] {
		resp.Items = append(resp.Items, apiconv.ToProto(j))
	}
	for _, j := range jobs {
		if rv := j.Metadata.ResourceVersion; len(rv) > len(maxRV) || (len(rv) == len(maxRV) && rv > maxRV) {
			maxRV = rv
		}
	}
	resp.ResourceVersion = maxRV
	if end < len(jobs) {
		last := jobs[end-1]
		resp.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(last.Metadata.Namespace + "/" + last.Metadata.Name))
	}
	return resp, nil
}

// DeleteJob stops and removes a job.
func (s *Service) DeleteJob(ctx context.Context, req *trainingv1.DeleteJobRequest) (*trainingv1.DeleteJobResponse, error) {
	ns, err := s.authorizeJob(ctx, req.GetName(), req.GetNamespace(), auth.VerbDelete, auth.ResourceJobs, true)
	if err != nil {
		return nil, err
	}
	if req.GetDryRun() {
		j, err := s.eng.Get(ctx, ns, req.GetName())
		if err != nil {
			return nil, err
		}
		return &trainingv1.DeleteJobResponse{Job: apiconv.ToProto(j)}, nil
	}
	j, err := s.eng.Delete(ctx, ns, req.GetName(), engine.DeleteOptions{Wait: req.GetWait()})
	if err != nil {
		return nil, err
	}
	return &trainingv1.DeleteJobResponse{Job: apiconv.ToProto(j)}, nil
}

// WatchJobs streams job changes. Access is checked again while it runs
// (guard): a watch across namespaces then also sees namespaces the caller
// gained or lost.
func (s *Service) WatchJobs(req *trainingv1.WatchJobsRequest, stream trainingv1.TrainingService_WatchJobsServer) error {
	opts, err := listOptions(req.GetNamespace(), req.GetLabelSelector(), nil)
	if err != nil {
		return err
	}
	ctx := stream.Context()
	w := engine.WatchOptions{ListOptions: opts, Name: req.GetName(), SendInitial: req.SendInitialEvents == nil || req.GetSendInitialEvents()}
	var see namespaceFilter
	see.set(func(string) bool { return true })
	var recheck func(context.Context) error
	if opts.Namespace != "" {
		a := auth.Action{Verb: auth.VerbWatch, Resource: auth.ResourceJobs, Namespace: opts.Namespace, Name: req.GetName()}
		if err := s.authorize(ctx, a); err != nil {
			return err
		}
		recheck = func(ctx context.Context) error { return s.authorize(ctx, a) }
	} else {
		recheck = func(ctx context.Context) error {
			f, err := s.visible(ctx, auth.VerbWatch, auth.ResourceJobs)
			if err == nil {
				see.set(f)
			}
			return err
		}
		if err := recheck(ctx); err != nil {
			return err
		}
	}
	gctx, stop := s.guard(ctx, "the watch", recheck)
	defer stop()
	// Headers go out at once so clients know the watch is established.
	_ = stream.SendHeader(nil)
	err = s.eng.Watch(gctx, w, func(ev job.WatchEvent) error {
		if ev.Job != nil && !see.allows(ev.Job.Metadata.Namespace) {
			return nil
		}
		// Encoded once per snapshot for every watcher (wire.go).
		return stream.SendMsg(NewWireEvent(ev))
	})
	return endOf(gctx, err)
}

// GetLogs streams a job's output.
func (s *Service) GetLogs(req *trainingv1.GetLogsRequest, stream trainingv1.TrainingService_GetLogsServer) error {
	if err := requireName(req.GetName()); err != nil {
		return err
	}
	opts := engine.LogOptions{Worker: req.Worker, All: req.GetAll(), Follow: req.GetFollow(), TailLines: req.TailLines, Previous: req.GetPrevious()}
	if opts.All && opts.Worker != nil {
		return job.BadRequest("worker", fmt.Sprint(req.GetWorker()), "set either worker or all, not both")
	}
	if t := req.GetTailLines(); req.TailLines != nil && t < 0 {
		return job.BadRequest("tailLines", fmt.Sprint(t), "tailLines must not be negative")
	}
	if req.SinceSeconds != nil {
		if req.GetSinceSeconds() < 0 {
			return job.BadRequest("sinceSeconds", fmt.Sprint(req.GetSinceSeconds()), "sinceSeconds must not be negative")
		}
		opts.Since = time.Now().Add(-time.Duration(req.GetSinceSeconds()) * time.Second)
	}
	if st := req.GetSinceTime(); st != nil {
		opts.Since = st.AsTime()
	}
	ns, err := namespaceOf(req.GetNamespace())
	if err != nil {
		return err
	}
	a := auth.Action{Verb: auth.VerbGet, Resource: auth.ResourceLogs, Namespace: ns, Name: req.GetName()}
	if err := s.authorize(stream.Context(), a); err != nil {
		return err
	}
	ctx, stop := s.guard(stream.Context(), "the log stream", func(ctx context.Context) error { return s.authorize(ctx, a) })
	defer stop()
	_ = stream.SendHeader(nil)
	err = s.eng.Logs(ctx, ns, req.GetName(), opts, func(l job.LogLine) error {
		return stream.Send(apiconv.LogLineToProto(&l))
	})
	return endOf(ctx, err)
}

// SuspendJob suspends a job.
func (s *Service) SuspendJob(ctx context.Context, req *trainingv1.SuspendJobRequest) (*trainingv1.MPIJob, error) {
	ns, err := s.authorizeJob(ctx, req.GetName(), req.GetNamespace(), auth.VerbUpdate, auth.ResourceJobs, true)
	if err != nil {
		return nil, err
	}
	j, err := s.eng.Suspend(ctx, ns, req.GetName())
	if err != nil {
		return nil, err
	}
	return apiconv.ToProto(j), nil
}

// ResumeJob resumes a suspended job.
func (s *Service) ResumeJob(ctx context.Context, req *trainingv1.ResumeJobRequest) (*trainingv1.MPIJob, error) {
	ns, err := s.authorizeJob(ctx, req.GetName(), req.GetNamespace(), auth.VerbUpdate, auth.ResourceJobs, true)
	if err != nil {
		return nil, err
	}
	j, err := s.eng.Resume(ctx, ns, req.GetName())
	if err != nil {
		return nil, err
	}
	return apiconv.ToProto(j), nil
}

// ListEvents returns a job's events.
func (s *Service) ListEvents(ctx context.Context, req *trainingv1.ListEventsRequest) (*trainingv1.ListEventsResponse, error) {
	ns, err := s.authorizeJob(ctx, req.GetName(), req.GetNamespace(), auth.VerbGet, auth.ResourceEvents, false)
	if err != nil {
		return nil, err
	}
	evs, err := s.eng.Events(ctx, ns, req.GetName())
	if err != nil {
		return nil, err
	}
	resp := &trainingv1.ListEventsResponse{Items: make([]*trainingv1.Event, 0, len(evs))}
	for i := range evs {
		resp.Items = append(resp.Items, apiconv.EventToProto(&evs[i]))
	}
	return resp, nil
}

// GetJobMetrics returns a job's recent resource use, when the engine can
// measure it.
func (s *Service) GetJobMetrics(ctx context.Context, req *trainingv1.GetJobMetricsRequest) (*trainingv1.JobMetrics, error) {
	ns, err := s.authorizeJob(ctx, req.GetName(), req.GetNamespace(), auth.VerbGet, auth.ResourceJobs, false)
	if err != nil {
		return nil, err
	}
	src, ok := s.eng.(engine.MetricsSource)
	if !ok {
		if _, err := s.eng.Get(ctx, ns, req.GetName()); err != nil {
			return nil, err
		}
		return &trainingv1.JobMetrics{Message: "this engine does not measure resource use; on a cluster, use the OpenShift/Prometheus monitoring of the job's pods"}, nil
	}
	m, err := src.JobMetrics(ctx, ns, req.GetName())
	if err != nil {
		return nil, err
	}
	return apiconv.MetricsToProto(m), nil
}

// GetJobProgress returns a job's reported progress and its history.
func (s *Service) GetJobProgress(ctx context.Context, req *trainingv1.GetJobProgressRequest) (*trainingv1.JobProgress, error) {
	ns, err := s.authorizeJob(ctx, req.GetName(), req.GetNamespace(), auth.VerbGet, auth.ResourceJobs, false)
	if err != nil {
		return nil, err
	}
	if src, ok := s.eng.(engine.ProgressSource); ok {
		h, err := src.JobProgress(ctx, ns, req.GetName())
		if err != nil {
			return nil, err
		}
		return apiconv.ProgressHistoryToProto(h), nil
	}
	// Without a history: the latest report, from the job's status.
	j, err := s.eng.Get(ctx, ns, req.GetName())
	if err != nil {
		return nil, err
	}
	return &trainingv1.JobProgress{Latest: apiconv.ProgressToProto(j.Status.Progress)}, nil
}

// GetCapacity reports capacity or quota.
func (s *Service) GetCapacity(ctx context.Context, req *trainingv1.GetCapacityRequest) (*trainingv1.Capacity, error) {
	ns, err := namespaceOf(req.GetNamespace())
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, auth.Action{Verb: auth.VerbGet, Resource: auth.ResourceCapacity, Namespace: ns}); err != nil {
		return nil, err
	}
	c, err := s.eng.Capacity(ctx, ns)
	if err != nil {
		return nil, err
	}
	return apiconv.CapacityToProto(c), nil
}

// GetVersion reports the server's version and engine.
func (s *Service) GetVersion(ctx context.Context, _ *trainingv1.GetVersionRequest) (*trainingv1.Version, error) {
	v := version.Get()
	info := s.eng.Info(ctx)
	return &trainingv1.Version{Version: v.Version, GitCommit: v.GitCommit, BuildDate: v.BuildDate, GoVersion: v.GoVersion, Engine: info.Name, EngineVersion: info.Version}, nil
}

func templateToProto(t *templates.Template) *trainingv1.JobTemplate {
	return &trainingv1.JobTemplate{Name: t.Name, Namespace: t.Namespace, Description: t.Description, Job: apiconv.ToProto(&t.Job), CreateTime: timestamppb.New(t.CreateTime), Creator: t.Creator}
}

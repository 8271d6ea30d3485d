package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/job"
)

func TestMetrics(t *testing.T) {
	s := startServer(t)
	ctx := authed(t.Context())
	_, _ = s.rpc.ListJobs(ctx, &trainingv1.ListJobsRequest{})
	_, _ = s.rpc.GetJob(ctx, &trainingv1.GetJobRequest{Namespace: "default", Name: "missing"})
	createREST(t, s, "quick", []string{"true"}, "")
	var data []byte
	for i := 0; i < 200; i++ {
		resp, err := s.getMetrics()
		if err != nil {
			t.Fatal(err)
		}
		data, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(data), `odh_jobs_finished_total{namespace="default",phase="Succeeded",reason="Succeeded"} 1`) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{
		`odh_api_requests_total{code="OK",method="ListJobs"} 1`,
		`odh_api_requests_total{code="NotFound",method="GetJob"} 1`,
		`odh_api_request_duration_seconds_bucket{method="ListJobs"`,
		`odh_jobs_finished_total{namespace="default",phase="Succeeded",reason="Succeeded"} 1`,
		`odh_jobs_started_total 1`,
		`odh_job_duration_seconds_count{phase="Succeeded"} 1`,
		`odh_job_start_wait_seconds_count 1`,
		`odh_jobs{namespace="default",phase="Succeeded"} 1`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestMonitoringManifestsUseRealMetrics: every odh_* metric the alert rules
// and the Grafana dashboard in deploy/monitoring query is one the server
// exports.
func TestMonitoringManifestsUseRealMetrics(t *testing.T) {
	s := startServer(t)
	ctx := authed(t.Context())
	createREST(t, s, "m", []string{"true"}, "")
	w, err := s.rpc.WatchJobs(ctx, &trainingv1.WatchJobsRequest{Namespace: "default", Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := w.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if job.Phase(ev.GetJob().GetStatus().GetPhase()).Terminal() {
			break
		}
	}
	// A running job, so the per-replica gauges have samples to export.
	// It reports progress, so the progress gauges have samples too.
	createREST(t, s, "spin", []string{"sh", "-c", "echo ODH_PROGRESS step=1 total_steps=4 loss=1; sleep 30"}, "")
	var exported string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !(strings.Contains(exported, "odh_jobs_finished_total") && strings.Contains(exported, "odh_job_replica_memory_bytes") && strings.Contains(exported, "odh_job_training_metric")); {
		resp, err := s.getMetrics()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		exported = string(data)
		time.Sleep(20 * time.Millisecond)
	}
	files, _ := filepath.Glob("../../deploy/monitoring/*")
	if len(files) == 0 {
		t.Fatal("no monitoring manifests")
	}
	re := regexp.MustCompile(`odh_[a-z_]+`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range re.FindAllString(string(data), -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
			if base == "odh_job_pod_info" {
				continue // needs pod names, which only a cluster's jobs have (TestPodInfo)
			}
			if !strings.Contains(exported, "\n"+base) && !strings.Contains(exported, "# TYPE "+base+" ") {
				t.Errorf("%s uses %s, which odh-server does not export", filepath.Base(f), name)
			}
		}
	}
}

// TestJobMetricsOverREST reads a running job's per-replica CPU and memory.
func TestJobMetricsOverREST(t *testing.T) {
	s := startServer(t)
	createREST(t, s, "busy", []string{"bash", "-c", "while [ $SECONDS -lt 15 ]; do :; done"}, "")
	type metrics struct {
		Available       bool    `json:"available"`
		Source          string  `json:"source"`
		IntervalSeconds float64 `json:"intervalSeconds"`
		Replicas        []struct {
			Name    string `json:"name"`
			Samples []struct {
				Time        time.Time `json:"time"`
				CPUCores    float64   `json:"cpuCores"`
				MemoryBytes float64   `json:"memoryBytes"`
			} `json:"samples"`
		} `json:"replicas"`
	}
	deadline := time.Now().Add(30 * time.Second)
	busy := map[string]bool{}
	for len(busy) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no CPU seen on both workers; busy: %v", busy)
		}
		time.Sleep(time.Second)
		code, data := s.rest(t, http.MethodGet, "/api/v1/namespaces/default/mpijobs/busy/metrics", "")
		if code != http.StatusOK {
			t.Fatalf("metrics: %d %s", code, data)
		}
		var m metrics
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("metrics body %s: %v", data, err)
		}
		if !m.Available || m.Source == "" || m.IntervalSeconds != 2 {
			t.Fatalf("metrics header: %s", data)
		}
		for _, r := range m.Replicas {
			for _, sm := range r.Samples {
				// A busy loop gets a whole core on an idle machine but only a
				// share of one on a loaded CI box: 20m is far above what an idle
				// process measures (0m) and below a loop's share under load.
				if strings.HasPrefix(r.Name, "worker-") && sm.CPUCores >= 0.02 && sm.MemoryBytes > 0 && !sm.Time.IsZero() {
					busy[r.Name] = true
				}
			}
		}
	}
	// The same numbers on /metrics for Prometheus while the job runs.
	resp, err := s.getMetrics()
	if err != nil {
		t.Fatal(err)
	}
	prom, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`odh_job_replica_cpu_cores{job="busy",namespace="default",replica="worker-1"}`,
		`odh_job_replica_memory_bytes{job="busy",namespace="default",replica="launcher"}`,
	} {
		if !strings.Contains(string(prom), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	code, data := s.rest(t, http.MethodGet, "/api/v1/namespaces/default/mpijobs/ghost/metrics", "")
	if code != http.StatusNotFound || !strings.Contains(string(data), "odh training list") {
		t.Fatalf("metrics of a missing job: %d %s", code, data)
	}
	if code, data := s.rest(t, http.MethodDelete, "/api/v1/namespaces/default/mpijobs/busy?wait=true", ""); code != http.StatusOK {
		t.Fatalf("delete: %d %s", code, data)
	}
}

// TestProgressOverRESTAndMetrics: a real MPI job reports progress; the
// job's status, its progress history and /metrics show it.
func TestProgressOverRESTAndMetrics(t *testing.T) {
	s := startServer(t)
	// One report, from rank 0 of the job's two.
	script := `[ "${OMPI_COMM_WORLD_RANK:-$PMI_RANK}" = 0 ] && echo "ODH_PROGRESS step=3 total_steps=12 loss=0.25 top-1=0.5"; sleep 20`
	createREST(t, s, "learner", []string{"sh", "-c", script}, "")
	var prom string
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(prom, `odh_job_training_metric{job="learner",metric="loss",namespace="default"} 0.25`); {
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed the job's loss:\n%s", grep(prom, "odh_job_"))
		}
		time.Sleep(50 * time.Millisecond)
		resp, err := s.getMetrics()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		prom = string(data)
	}
	for _, want := range []string{
		`odh_job_progress_ratio{job="learner",namespace="default"} 0.25`,
		`odh_job_progress_step{job="learner",namespace="default"} 3`,
		`odh_job_training_metric{job="learner",metric="top-1",namespace="default"} 0.5`,
	} {
		if !strings.Contains(prom, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	code, data := s.rest(t, http.MethodGet, "/api/v1/namespaces/default/mpijobs/learner", "")
	if code != http.StatusOK || !strings.Contains(string(data), `"progress":{"step":3,"totalSteps":12,"percent":25`) {
		t.Errorf("job: %d %s", code, data)
	}
	code, data = s.rest(t, http.MethodGet, "/api/v1/namespaces/default/mpijobs/learner/progress", "")
	var h struct {
		Latest struct {
			Metrics []job.MetricValue `json:"metrics"`
		} `json:"latest"`
		Points []struct {
			Step    int               `json:"step"`
			Metrics []job.MetricValue `json:"metrics"`
		} `json:"points"`
	}
	if err := json.Unmarshal(data, &h); err != nil || code != http.StatusOK || len(h.Points) != 1 || h.Points[0].Step != 3 || len(h.Latest.Metrics) != 2 {
		t.Errorf("progress: %d %s (%v)", code, data, err)
	}
	if code, data := s.rest(t, http.MethodGet, "/api/v1/namespaces/default/mpijobs/ghost/progress", ""); code != http.StatusNotFound {
		t.Errorf("progress of a missing job: %d %s", code, data)
	}
	if code, data := s.rest(t, http.MethodDelete, "/api/v1/namespaces/default/mpijobs/learner?wait=true", ""); code != http.StatusOK {
		t.Fatalf("delete: %d %s", code, data)
	}
}

func grep(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// getMetrics scrapes /metrics as the server's user (it needs a token).
func (s *testServer) getMetrics() (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, s.url+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	return http.DefaultClient.Do(req)
}

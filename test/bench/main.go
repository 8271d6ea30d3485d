// Command bench measures the Training Service with the local engine: REST
// create latency, status propagation from process exit to a watch event,
// Get/List throughput and server memory with 1,000 stored jobs, and the CLI's
// list time. It starts bin/odh-server itself and prints a Markdown report.
//
//	go run ./test/bench -server bin/odh-server -cli bin/odh
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	serverBin = flag.String("server", "bin/odh-server", "odh-server binary")
	cliBin    = flag.String("cli", "bin/odh", "odh binary")
	nJobs     = flag.Int("jobs", 1000, "stored jobs for the throughput and memory runs")
	nCreate   = flag.Int("creates", 300, "creates measured for latency")
	nProp     = flag.Int("propagation", 30, "jobs measured for status propagation")
	duration  = flag.Duration("duration", 5*time.Second, "length of each throughput run")
	clients   = flag.Int("clients", 8, "concurrent clients in throughput runs")
	scenario  = flag.String("scenario", "all", "all, api (create, propagation, throughput, memory, CLI) or watchers (watch fan-out)")
)

type srv struct {
	cmd   *exec.Cmd
	url   string
	token string
	dir   string
}

func start() (*srv, error) {
	dir, err := os.MkdirTemp("", "odh-bench")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(*serverBin, "--engine=local", "--listen="+addr, "--state-dir="+dir, "--slots=64", "--log-level=warn")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(dir, "xdg"))
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &srv{cmd: cmd, url: "http://" + addr, dir: dir}
	for i := 0; i < 200; i++ {
		if resp, err := http.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			tok, err := os.ReadFile(filepath.Join(dir, "token"))
			if err != nil {
				return nil, err
			}
			s.token = strings.TrimSpace(string(tok))
			return s, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("server did not start")
}

func (s *srv) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	_, _ = s.cmd.Process.Wait()
	_ = os.RemoveAll(s.dir)
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func (s *srv) do(method, path, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func (s *srv) rssMiB() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func jobBody(name string, suspend bool, cmd string) string {
	c, _ := json.Marshal([]string{"sh", "-c", cmd})
	return fmt.Sprintf(`{"job": {"metadata": {"name": %q}, "spec": {"command": %s, "workers": {"replicas": 1}, "runPolicy": {"suspend": %t}}}}`, name, c, suspend)
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func main() {
	flag.Parse()
	host, _ := os.Hostname()
	cpu := cpuModel()
	fmt.Printf("## Local engine benchmarks\n\nMachine: %s, %d CPUs (%s), %s/%s, %s. Command: `go run ./test/bench -server %s -cli %s` (`make bench`).\n\n",
		host, runtime.NumCPU(), cpu, runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"), *serverBin, *cliBin)

	s, err := start()
	must(err)
	defer s.stop()
	if *scenario == "watchers" {
		watchFanout(s)
		return
	}
	time.Sleep(300 * time.Millisecond)
	idle := s.rssMiB()

	// 1. Create latency through REST (suspended jobs: the API path only; and
	// runnable jobs: the call returns before the job runs).
	var lat, latRun []time.Duration
	for i := 0; i < *nCreate; i++ {
		t0 := time.Now()
		code, body, err := s.do("POST", "/api/v1/namespaces/bench/mpijobs", jobBody(fmt.Sprintf("c-%d", i), true, "true"))
		must(err)
		if code != 200 {
			must(fmt.Errorf("create: %d %s", code, body))
		}
		lat = append(lat, time.Since(t0))
	}
	// Runnable jobs: each create is timed alone, after the previous job has
	// finished, so the measure excludes the jobs' run time (and the CPU the
	// running jobs would take from the server on 2 cores).
	for i := 0; i < *nCreate/5; i++ {
		t0 := time.Now()
		code, body, err := s.do("POST", "/api/v1/namespaces/bench-run/mpijobs", jobBody(fmt.Sprintf("r-%d", i), false, "true"))
		must(err)
		if code != 200 {
			must(fmt.Errorf("create: %d %s", code, body))
		}
		latRun = append(latRun, time.Since(t0))
		waitPhase(s, "bench-run", i+1)
	}
	fmt.Printf("| Measure | p50 | p95 | p99 | Target |\n|---|---|---|---|---|\n")
	fmt.Printf("| REST create, suspended job (n=%d) | %s | %s | %s | p95 < 20 ms |\n", len(lat), ms(pct(lat, .5)), ms(pct(lat, .95)), ms(pct(lat, .99)))
	fmt.Printf("| REST create, job that starts at once (n=%d) | %s | %s | %s | p95 < 20 ms |\n", len(latRun), ms(pct(latRun, .5)), ms(pct(latRun, .95)), ms(pct(latRun, .99)))

	// Wait until the runnable jobs are done so they do not disturb the rest.
	waitPhase(s, "bench-run", len(latRun))

	// 2. Status propagation: the rank writes its exit time just before
	// exiting; we time the Succeeded event on a watch.
	prop := propagation(s)
	fmt.Printf("| Process exit → WatchJobs event (n=%d) | %s | %s | %s | p95 < 200 ms |\n", len(prop), ms(pct(prop, .5)), ms(pct(prop, .95)), ms(pct(prop, .99)))

	// 3. Fill to nJobs stored jobs.
	stored := *nCreate
	for i := stored; i < *nJobs; i++ {
		code, body, err := s.do("POST", "/api/v1/namespaces/bench/mpijobs", jobBody(fmt.Sprintf("c-%d", i), true, "true"))
		must(err)
		if code != 200 {
			must(fmt.Errorf("create: %d %s", code, body))
		}
	}
	time.Sleep(500 * time.Millisecond)
	runtime.GC()
	full := s.rssMiB()

	get := throughput(s, func(i int) string { return fmt.Sprintf("/api/v1/namespaces/bench/mpijobs/c-%d", i%*nJobs) })
	listPage := throughput(s, func(int) string { return "/api/v1/namespaces/bench/mpijobs?pageSize=50" })
	listAll := throughput(s, func(int) string { return "/api/v1/namespaces/bench/mpijobs" })
	fmt.Printf("\n| Throughput with %d stored jobs (%d clients, %s each) | Requests/s | Target |\n|---|---|---|\n", *nJobs, *clients, *duration)
	fmt.Printf("| GetJob (REST) | %.0f | ≥ 2,000 |\n", get)
	fmt.Printf("| ListJobs, one page of 50 (REST) | %.0f | ≥ 2,000 |\n", listPage)
	fmt.Printf("| ListJobs, all %d jobs in one response (REST) | %.0f | — |\n", *nJobs, listAll)
	runtime.GC()
	after := s.rssMiB()
	fmt.Printf("\n| Server memory (VmRSS) | MiB | Target |\n|---|---|---|\n")
	fmt.Printf("| idle, no jobs | %.1f | < 100 |\n| %d stored jobs | %.1f | < 100 |\n| %d stored jobs, after the throughput runs | %.1f | < 100 |\n", idle, *nJobs, full, *nJobs, after)

	// 4. The CLI: whole-process time of `odh training list mpijob` with nJobs.
	var cli []time.Duration
	for i := 0; i < 15; i++ {
		cmd := exec.Command(*cliBin, "training", "list", "mpijob", "-n", "bench")
		cmd.Env = append(os.Environ(), "ODH_SERVER="+s.url, "ODH_TOKEN="+s.token)
		var out bytes.Buffer
		cmd.Stdout = &out
		t0 := time.Now()
		must(cmd.Run())
		cli = append(cli, time.Since(t0))
		if n := strings.Count(out.String(), "\n"); n != *nJobs+1 {
			must(fmt.Errorf("odh list printed %d lines, want %d", n, *nJobs+1))
		}
	}
	fmt.Printf("\n| CLI | p50 | p95 | Target |\n|---|---|---|---|\n| `odh training list mpijob` with %d jobs, whole process (n=%d) | %s | %s | < 300 ms |\n", *nJobs, len(cli), ms(pct(cli, .5)), ms(pct(cli, .95)))
	if *scenario == "all" {
		watchFanout(s)
	}
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "model name") {
			return strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
		}
	}
	return "unknown CPU"
}

func waitPhase(s *srv, ns string, n int) {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		_, body, err := s.do("GET", "/api/v1/namespaces/"+ns+"/mpijobs?phase=Succeeded&phase=Failed&pageSize=1000", "")
		must(err)
		var l struct{ Items []json.RawMessage }
		_ = json.Unmarshal(body, &l)
		if len(l.Items) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	must(fmt.Errorf("jobs in %s did not finish", ns))
}

func propagation(s *srv) []time.Duration {
	dir, err := os.MkdirTemp("", "odh-prop")
	must(err)
	defer os.RemoveAll(dir)
	req, _ := http.NewRequest("GET", s.url+"/api/v1/watch/namespaces/prop/mpijobs?sendInitialEvents=false", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := client.Do(req)
	must(err)
	defer resp.Body.Close()
	type ev struct {
		name string
		at   time.Time
	}
	events := make(chan ev, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		for sc.Scan() {
			now := time.Now()
			var m struct {
				Result struct {
					Job struct {
						Metadata struct{ Name string }
						Status   struct{ Phase string }
					}
				}
			}
			if json.Unmarshal(sc.Bytes(), &m) == nil && m.Result.Job.Status.Phase == "Succeeded" {
				events <- ev{m.Result.Job.Metadata.Name, now}
			}
		}
	}()
	var out []time.Duration
	for i := 0; i < *nProp; i++ {
		name := fmt.Sprintf("p-%d", i)
		stamp := filepath.Join(dir, name)
		cmd := fmt.Sprintf("sleep 0.2; date +%%s%%N > %s", stamp)
		code, body, err := s.do("POST", "/api/v1/namespaces/prop/mpijobs", jobBody(name, false, cmd))
		must(err)
		if code != 200 {
			must(fmt.Errorf("create: %d %s", code, body))
		}
		select {
		case e := <-events:
			data, err := os.ReadFile(stamp)
			must(err)
			ns, _ := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
			out = append(out, e.at.Sub(time.Unix(0, ns)))
		case <-time.After(30 * time.Second):
			must(fmt.Errorf("no Succeeded event for %s", name))
		}
	}
	return out
}

func throughput(s *srv, path func(int) string) float64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := c; ctx.Err() == nil; i += *clients {
				code, _, err := s.do("GET", path(i), "")
				if err == nil && code == 200 {
					n.Add(1)
				}
			}
		}(c)
	}
	wg.Wait()
	return float64(n.Load()) / duration.Seconds()
}

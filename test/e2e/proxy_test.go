package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Streams meet real proxies: an OpenShift route is HAProxy with idle
// timeouts. These tests put Debian's haproxy (installed by make deps-test)
// between the CLI and odh-server, with a short idle timeout, and restart
// the server while the CLI waits or follows.

const proxyIdle = 3 * time.Second

// startProxy runs haproxy on a loopback port in front of backend
// (host:port), HTTP mode with HTTP/2 to the server (gRPC and REST), idle
// timeouts as a route's but shorter. It returns the proxy's URL.
func startProxy(t *testing.T, backend string) string {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (make deps-test installs it)")
	}
	listen := freePort(t)
	cfg := fmt.Sprintf(`global
  maxconn 100
defaults
  mode http
  timeout connect 2s
  timeout client %[1]s
  timeout server %[1]s
frontend route
  bind %[2]s
  default_backend odh
backend odh
  server odh-server %[3]s proto h2
`, proxyIdle, listen, backend)
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://" + listen
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("haproxy did not come up:\n%s", out.String())
	return ""
}

// lockedBuf is a bytes.Buffer safe to read while a process writes it.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// running is an odh command in the background.
type running struct {
	cmd         *exec.Cmd
	out, errOut *lockedBuf
	done        chan struct{}
	code        int
}

func (s *server) odhAsync(t *testing.T, args ...string) *running {
	t.Helper()
	r := &running{out: &lockedBuf{}, errOut: &lockedBuf{}, done: make(chan struct{})}
	r.cmd = exec.Command(filepath.Join(binDir, "odh"), args...)
	r.cmd.Dir = repoRoot()
	r.cmd.Env = append(os.Environ(), "HOME="+s.home, "XDG_STATE_HOME="+filepath.Join(s.home, "state"), "XDG_CONFIG_HOME="+filepath.Join(s.home, "config"), "ODH_SERVER="+s.url, "ODH_TOKEN="+s.token, "NO_COLOR=1")
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.errOut
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := r.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		}
		close(r.done)
	}()
	t.Cleanup(func() { _ = r.cmd.Process.Kill(); <-r.done })
	return r
}

func (r *running) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		t.Fatalf("odh did not end in %s\nstdout:\n%s\nstderr:\n%s", d, r.out, r.errOut)
	}
}

// waitFor polls until cond holds.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return time.Now()
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
	return time.Time{}
}

func TestStreamsThroughAnIdleTimeoutProxy(t *testing.T) {
	state, home := t.TempDir(), t.TempDir()
	s := startServer(t, state, home, "--stream-heartbeat=1s")
	token, err := os.ReadFile(filepath.Join(state, "token"))
	if err != nil {
		t.Fatal(err)
	}
	proxied := *s
	proxied.url, proxied.token = startProxy(t, s.listen), strings.TrimSpace(string(token))
	p := &proxied

	// Heartbeats hold a quiet REST watch open past the proxy's idle
	// timeout: lines keep coming, blank ones.
	t.Run("quiet watch stays open", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 3*proxyIdle)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/v1/watch/namespaces/default/mpijobs", nil)
		req.Header.Set("Authorization", "Bearer "+p.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("watch through the proxy: %s", resp.Status)
		}
		start := time.Now()
		sc := bufio.NewScanner(resp.Body)
		blank := 0
		for time.Since(start) < 2*proxyIdle {
			if !sc.Scan() {
				t.Fatalf("the proxy cut the quiet watch after %s (%d heartbeats): %v", time.Since(start).Round(time.Millisecond), blank, sc.Err())
			}
			if sc.Text() == "" {
				blank++
			}
		}
	})

	// A job quiet for longer than the idle timeout: --wait through the
	// proxy reports its real outcome.
	t.Run("create --wait of a quiet job", func(t *testing.T) {
		r := p.odh(t, "", "training", "create", "mpijob", "quiet", "--wait", "--", "sh", "-c", fmt.Sprintf("sleep %d", int(2*proxyIdle/time.Second)))
		if r.code != 0 || !strings.Contains(r.stderr, "mpijob/quiet Succeeded") {
			t.Fatalf("exit %d: %+v", r.code, r)
		}
	})

	// The reported bug: --wait while the server restarted printed
	// "Running" and exited 10. Now it follows the job across the restart
	// and reports what really happened (the local engine's jobs end with
	// their server: Failed, ServerRestarted).
	t.Run("create --wait across a server restart", func(t *testing.T) {
		r := p.odhAsync(t, "training", "create", "mpijob", "sleeper", "--wait", "--", "sh", "-c", "sleep 300")
		waitFor(t, 60*time.Second, "Running", func() bool { return strings.Contains(r.errOut.String(), "Running") })
		// Killed, not stopped: a stopped server reports its jobs' end
		// on the open streams itself; a killed one just vanishes.
		s.stop(syscall.SIGKILL)
		time.Sleep(500 * time.Millisecond)
		s.start()
		r.wait(t, 60*time.Second)
		stderr := r.errOut.String()
		if strings.Contains(stderr, "mpijob/sleeper Running") {
			t.Errorf("reported Running as the outcome:\n%s", stderr)
		}
		if r.code != 10 || !strings.Contains(stderr, "mpijob/sleeper Failed") || !strings.Contains(stderr, "ServerRestarted") {
			t.Errorf("exit %d, want 10 with the real outcome (Failed, ServerRestarted):\n%s", r.code, stderr)
		}
		// (Whether it says "reconnecting" depends on timing: haproxy
		// holds a request while its server is down and retries it.)
	})

	// logs -f across a restart: every line once, in order, and the
	// follow resumes promptly once the server is back.
	t.Run("logs -f across a server restart", func(t *testing.T) {
		r := p.odh(t, "", "training", "create", "mpijob", "talker", "--", "sh", "-c", "i=1; while true; do echo line-$i; i=$((i+1)); sleep 0.05; done")
		if r.code != 0 {
			t.Fatalf("create: %+v", r)
		}
		f := p.odhAsync(t, "training", "logs", "mpijob", "talker", "--all", "-f")
		waitFor(t, 60*time.Second, "20 lines", func() bool { return strings.Count(f.out.String(), "line-") >= 20 })
		s.stop(syscall.SIGTERM)
		time.Sleep(500 * time.Millisecond)
		s.start()
		ready := time.Now()
		f.wait(t, 60*time.Second)
		// The follow reopens, reads what it missed and sees the job over:
		// an upper bound of the time to follow again.
		t.Logf("RESUME: logs -f resumed and complete %s after the server was ready (through haproxy, idle timeout %s)", time.Since(ready).Round(time.Millisecond), proxyIdle)
		lines := regexp.MustCompile(`line-\d+`).FindAllString(f.out.String(), -1)
		for i, l := range lines {
			if want := fmt.Sprintf("line-%d", i+1); l != want {
				t.Fatalf("line %d is %s, want %s (lost or duplicated):\n%s", i+1, l, want, f.out)
			}
		}
		r = s.odh(t, "", "training", "logs", "mpijob", "talker", "--all")
		if all := regexp.MustCompile(`line-\d+`).FindAllString(r.stdout, -1); len(all) != len(lines) {
			t.Errorf("followed %d lines, the job wrote %d", len(lines), len(all))
		}
	})
}

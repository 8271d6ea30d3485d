package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MPIJobCRD is the name of the upstream MPIJob CustomResourceDefinition.
const MPIJobCRD = "mpijobs.kubeflow.org"

// Options configures Up.
type Options struct {
	// Dir is any directory inside the repository; default the working directory.
	Dir string
	// Log receives progress; default discards.
	Log *slog.Logger
	// SkipBuild uses the binaries in bin/cluster/ as they are.
	SkipBuild bool
	// BuildOutput receives the output of `go build` and apt-get; default os.Stderr.
	BuildOutput io.Writer
	// Nodes sizes the fake nodes.
	Nodes NodeOptions
	// StartTimeout bounds how long each component may take to become
	// healthy; default 3 minutes (a loaded 2-core machine is slow).
	StartTimeout time.Duration
	// GangScheduling is the MPI operator's gang-scheduling mode:
	// GangSchedulingNone (no PodGroups, the default of a cold start),
	// CoschedulerName (scheduler-plugins PodGroups, pods scheduled by the
	// coscheduling scheduler) or GangSchedulingVolcano. Empty keeps the
	// running harness's mode. A change restarts the operator only; it
	// applies to every MPIJob the operator reconciles from then on.
	GangScheduling string
}

// Up builds what is missing, then starts the control plane or reuses a
// healthy running one, and returns it.
func Up(ctx context.Context, opts Options) (*Cluster, error) {
	l, err := FindLayout(opts.Dir)
	if err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 3 * time.Minute
	}
	switch opts.GangScheduling {
	case "", GangSchedulingNone, GangSchedulingVolcano, CoschedulerName:
	default:
		return nil, fmt.Errorf("gang scheduling %q: want %s, %s or %s", opts.GangScheduling, GangSchedulingNone, CoschedulerName, GangSchedulingVolcano)
	}
	opts.Nodes = opts.Nodes.withDefaults()
	log := opts.Log

	if err := os.MkdirAll(l.StateDir(), 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, filepath.Join(l.StateDir(), "lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	if !opts.SkipBuild {
		if err := Build(ctx, l, log, BuildOptions{Output: opts.BuildOutput}); err != nil {
			return nil, err
		}
	}
	for _, bin := range requiredBinaries() {
		if !fileExists(l.Bin(bin)) {
			return nil, fmt.Errorf("%s missing: run `make cluster-build` (or odh-cluster up without --skip-build)", l.Bin(bin))
		}
	}
	pki, err := EnsurePKI(l.PKIDir())
	if err != nil {
		return nil, err
	}

	st, err := loadState(l.StateFile())
	if err != nil {
		return nil, err
	}
	c := &Cluster{Layout: l, PKI: pki, State: st}
	afresh := func() error {
		if err := stopAll(st, log); err != nil {
			return err
		}
		st = nil
		return wipeData(l)
	}
	if st != nil && st.Ports.Webhook == 0 {
		// Started by an older harness version: its apiserver lacks the
		// newer components' tokens, its state their ports. Start afresh.
		log.Info("control plane from an older harness version; restarting it")
		if err := afresh(); err != nil {
			return nil, err
		}
	}
	if st != nil && opts.GangScheduling != "" && opts.GangScheduling != st.gangScheduling() {
		log.Info("switching the MPI operator's gang scheduling", "from", st.gangScheduling(), "to", opts.GangScheduling)
		if err := stopProcess(st.Processes[CompOperator], 10*time.Second); err != nil {
			return nil, err
		}
		st.GangScheduling = opts.GangScheduling
		if err := saveState(l.StateFile(), st); err != nil {
			return nil, err
		}
	}
	if st != nil {
		err := c.healthy(ctx, opts.Nodes.Count)
		if err == nil {
			// Bootstrap ran when this control plane started: bring the test
			// identities' RBAC up to date with deploy/rbac (cheap, idempotent).
			if err := c.refreshIdentities(ctx); err != nil {
				return nil, err
			}
			log.Info("reusing healthy control plane", "apiserver", c.APIServerURL())
			return c, nil
		}
		log.Info("running control plane is not healthy", "reason", err)
		// Keep the data if etcd and the apiserver are fine: restart the rest.
		if !(c.alive(CompEtcd) && c.alive(CompAPIServer) && c.checkAPIServer(ctx) == nil) {
			log.Info("restarting the whole control plane")
			if err := afresh(); err != nil {
				return nil, err
			}
		}
	}
	if st == nil {
		if st, err = newState(opts.GangScheduling); err != nil {
			return nil, err
		}
	}
	c.State = st
	if err := c.writeKubeconfigs(); err != nil {
		return nil, err
	}
	start := func(comp component) error {
		check := func(ctx context.Context) error { return comp.check(c, ctx) }
		if c.alive(comp.name) {
			if poll(ctx, 10*time.Second, check) == nil {
				return nil
			}
			log.Info("restarting unhealthy component", "component", comp.name)
		}
		// Stale (its binary was rebuilt) or unhealthy: replace it.
		if p := st.Processes[comp.name]; processAlive(p) {
			if err := stopProcess(p, 10*time.Second); err != nil {
				return err
			}
		}
		if comp.prepare != nil {
			if err := comp.prepare(c, ctx); err != nil {
				return fmt.Errorf("prepare %s: %w", comp.name, err)
			}
		}
		binary, args, env, err := comp.command(c, ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", comp.name, err)
		}
		log.Info("starting", "component", comp.name, "log", l.LogFile(comp.name))
		r, err := startProcess(comp.name, binary, args, env, l.LogFile(comp.name))
		if err != nil {
			return err
		}
		st.Processes[comp.name] = r.proc
		if err := saveState(l.StateFile(), st); err != nil {
			return err
		}
		return waitHealthy(ctx, comp.name, r, opts.StartTimeout, check)
	}

	comps := components()
	for _, comp := range comps {
		if err := start(comp); err != nil {
			return nil, err
		}
		if comp.name == CompAPIServer {
			// The rest need the apiserver and the bootstrap objects
			// (CRDs, RBAC).
			if err := c.bootstrap(ctx); err != nil {
				return nil, err
			}
		}
	}
	// Everything serves now: route admission and the aggregated APIs to
	// the components that serve them.
	for _, comp := range comps {
		if comp.register == nil {
			continue
		}
		if err := comp.register(c, ctx); err != nil {
			return nil, fmt.Errorf("register %s: %w", comp.name, err)
		}
	}
	cs, err := c.Clientset(Admin)
	if err != nil {
		return nil, err
	}
	if err := ensureNodes(ctx, cs, opts.Nodes, st.Ports.Kwok); err != nil {
		return nil, err
	}
	log.Info("waiting for nodes and service accounts")
	if err := poll(ctx, opts.StartTimeout, func(ctx context.Context) error {
		if err := nodesReady(ctx, cs, opts.Nodes.Count); err != nil {
			return err
		}
		for _, ns := range []string{TeamA, TeamB} {
			if _, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err != nil {
				return fmt.Errorf("service account default in %s: %w", ns, err)
			}
		}
		return nil
	}); err != nil {
		return nil, componentError("nodes", l.LogFile(CompKwok), err)
	}
	if err := c.healthy(ctx, opts.Nodes.Count); err != nil {
		return nil, err
	}
	log.Info("control plane ready", "apiserver", c.APIServerURL(), "kubeconfig", l.Kubeconfig(Admin))
	return c, nil
}

// bootstrap applies the cluster-wide objects the harness provides:
// namespaces, every component's CRDs and RBAC, the product's TrainingPolicy
// CRD (deploy/policy, before odh-webhook starts) and the test identities'
// permissions. All server-side applied, so reruns are cheap.
func (c *Cluster) bootstrap(ctx context.Context) error {
	a, err := c.adminApplier()
	if err != nil {
		return err
	}
	for _, ns := range []string{TeamA, TeamB, operatorNamespace, KueueNamespace, WebhookNamespace} {
		if err := a.apply(ctx, &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: harnessLabels()},
		}); err != nil {
			return err
		}
	}
	files, err := c.crdFiles(ctx)
	if err != nil {
		return err
	}
	rbac, err := c.componentRBAC(ctx)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := a.applyFile(ctx, f); err != nil {
			return err
		}
	}
	policy, err := c.policyManifests(ctx)
	if err != nil {
		return err
	}
	for _, o := range policy {
		if err := a.apply(ctx, o); err != nil {
			return err
		}
	}
	for _, o := range rbac {
		if err := a.apply(ctx, o); err != nil {
			return err
		}
	}
	if err := grantTestIdentities(ctx, a, c.Layout.Root); err != nil {
		return err
	}
	return poll(ctx, time.Minute, func(ctx context.Context) error {
		return crdsEstablished(ctx, a.dyn, requiredCRDs)
	})
}

// requiredCRDs must be Established before the components start.
var requiredCRDs = []string{
	MPIJobCRD, "logs.kwok.x-k8s.io", "resourceusages.kwok.x-k8s.io", KueueWorkloadCRD,
	JobSetCRD, TrainJobCRD, ClusterTrainingRuntimeCRD, PodGroupCRD, VolcanoPodGroupCRD, VolcanoQueueCRD,
	TrainingPolicyCRD,
}

// crdFiles lists the CRD manifests of every component, read from the
// module cache of their tool modules (Volcano's: generated by the build).
func (c *Cluster) crdFiles(ctx context.Context) ([]string, error) {
	mpiDir, err := moduleCacheDir(ctx, c.Layout, "mpi-operator", "github.com/kubeflow/mpi-operator")
	if err != nil {
		return nil, err
	}
	kwokDir, err := moduleCacheDir(ctx, c.Layout, "kwok", "sigs.k8s.io/kwok")
	if err != nil {
		return nil, err
	}
	files := []string{
		filepath.Join(mpiDir, "manifests", "base", "kubeflow.org_mpijobs.yaml"),
		filepath.Join(kwokDir, "kustomize", "crd", "bases", "kwok.x-k8s.io_logs.yaml"),
		filepath.Join(kwokDir, "kustomize", "crd", "bases", "kwok.x-k8s.io_resourceusages.yaml"),
	}
	for _, more := range []func(context.Context, Layout) ([]string, error){kueueCRDs, jobSetCRDs, trainerCRDs, coschedulingCRDs, volcanoCRDs} {
		f, err := more(ctx, c.Layout)
		if err != nil {
			return nil, err
		}
		files = append(files, f...)
	}
	return files, nil
}

// componentRBAC returns the ClusterRoles and bindings of the components
// that run with their own, non-admin identity.
func (c *Cluster) componentRBAC(ctx context.Context) ([]any, error) {
	var objs []any
	for _, more := range []func(context.Context) ([]any, error){c.operatorRBAC, c.jobSetRBAC, c.trainerRBAC, c.coschedulingRBAC, c.metricsServerRBAC} {
		o, err := more(ctx)
		if err != nil {
			return nil, err
		}
		objs = append(objs, o...)
	}
	return objs, nil
}

// refreshIdentities reapplies the test identities' RBAC.
func (c *Cluster) refreshIdentities(ctx context.Context) error {
	a, err := c.adminApplier()
	if err != nil {
		return err
	}
	return grantTestIdentities(ctx, a, c.Layout.Root)
}

// healthy validates a running harness: every process alive, on its current
// binary and healthy, the nodes Ready, the CRDs Established and the
// aggregated APIs served. The checks run concurrently: a warm start is
// mostly this.
func (c *Cluster) healthy(ctx context.Context, nodes int) error {
	comps := components()
	errs := make([]error, len(comps)+2)
	var wg sync.WaitGroup
	for i, comp := range comps {
		wg.Go(func() {
			if !c.alive(comp.name) {
				errs[i] = fmt.Errorf("%s is not running (or runs an older binary)", comp.name)
			} else if err := comp.check(c, ctx); err != nil {
				errs[i] = fmt.Errorf("%s: %w", comp.name, err)
			}
		})
	}
	cs, err := c.Clientset(Admin)
	if err != nil {
		return err
	}
	wg.Go(func() { errs[len(comps)] = nodesReady(ctx, cs, nodes) })
	wg.Go(func() { errs[len(comps)+1] = c.checkAPIs(ctx) })
	wg.Wait()
	return errors.Join(errs...)
}

// checkAPIs reports an error unless every required CRD is Established and
// the aggregated APIs (Kueue's visibility API, metrics.k8s.io) are served.
func (c *Cluster) checkAPIs(ctx context.Context) error {
	a, err := c.adminApplier()
	if err != nil {
		return err
	}
	if err := crdsEstablished(ctx, a.dyn, requiredCRDs); err != nil {
		return err
	}
	if err := c.checkKueueVisibility(ctx); err != nil {
		return err
	}
	return c.checkMetricsAPI(ctx)
}

// alive reports whether the component's process runs, and runs the current
// build of its binary (a rebuilt binary means the component must restart).
func (c *Cluster) alive(name string) bool {
	if c.State == nil {
		return false
	}
	p := c.State.Processes[name]
	if !processAlive(p) {
		return false
	}
	bin := p.Binary
	if wrapped, ok := loopedBinary(p); ok {
		bin = wrapped
	}
	if st, err := os.Stat(bin); err == nil && st.ModTime().After(p.Started) {
		return false
	}
	return true
}

func httpCheck(ctx context.Context, hc *http.Client, url, token, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// poll calls f every 250ms until it returns nil or timeout passes.
func poll(ctx context.Context, timeout time.Duration, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := f(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", timeout, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// DownOptions configures Down.
type DownOptions struct {
	Dir string
	Log *slog.Logger
	// Purge also removes the PKI, kubeconfigs and logs: all of .cluster/.
	Purge bool
}

// Down stops every component the harness started (process groups, pids from
// state.json) and removes etcd's data and the state file. The PKI, the
// kubeconfigs and the logs stay unless Purge is set, so the logs of a failed
// CI run can still be read and the next `up` reuses the same tokens.
func Down(ctx context.Context, opts DownOptions) error {
	l, err := FindLayout(opts.Dir)
	if err != nil {
		return err
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if _, err := os.Stat(l.StateDir()); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	unlock, err := lockFile(ctx, filepath.Join(l.StateDir(), "lock"))
	if err != nil {
		return err
	}
	defer unlock()
	st, err := loadState(l.StateFile())
	if err != nil {
		return err
	}
	if st != nil {
		if err := stopAll(st, opts.Log); err != nil {
			return err
		}
	}
	if err := wipeData(l); err != nil {
		return err
	}
	if opts.Purge {
		entries, err := os.ReadDir(l.StateDir())
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Name() == "lock" {
				continue
			}
			if err := os.RemoveAll(filepath.Join(l.StateDir(), e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// stopAll stops every component at once: SIGTERM to each process group,
// SIGKILL to whatever still runs after the grace period.
func stopAll(st *State, log *slog.Logger) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for name, p := range st.Processes {
		if p == nil || !processAlive(p) {
			continue
		}
		log.Info("stopping", "component", name, "pid", p.PID)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Short grace: the data is wiped anyway, and kube-apiserver can
			// spend many seconds failing to clean up its lease in etcd.
			if err := stopProcess(p, 3*time.Second); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func wipeData(l Layout) error {
	for _, p := range []string{l.EtcdDir(), l.KwokDir(), l.StateFile()} {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

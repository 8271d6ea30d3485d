package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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

// Component names, in start order. They name the log files and the entries of
// state.json.
const (
	CompEtcd              = "etcd"
	CompAPIServer         = "kube-apiserver"
	CompControllerManager = "kube-controller-manager"
	CompScheduler         = "kube-scheduler"
	CompKwok              = "kwok"
	CompOperator          = "mpi-operator"
	CompKueue             = "kueue"
)

var componentOrder = []string{CompEtcd, CompAPIServer, CompControllerManager, CompScheduler, CompKwok, CompOperator, CompKueue}

// MPIJobCRD is the name of the upstream MPIJob CustomResourceDefinition.
const MPIJobCRD = "mpijobs.kubeflow.org"

const (
	serviceCIDR      = "10.96.0.0/12"
	serviceClusterIP = "10.96.0.1"
	podCIDR          = "10.0.0.1/16"
	saIssuer         = "https://kubernetes.default.svc.cluster.local"
)

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
	for _, bin := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "mpi-operator", "kueue"} {
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
	if st != nil && st.Ports.KueueVisibility == 0 {
		// Started by a harness version without Kueue (or its visibility
		// API): its apiserver lacks Kueue's token or the aggregation flags,
		// its state the ports. Start afresh.
		log.Info("control plane from an older harness version; restarting it")
		if err := afresh(); err != nil {
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
		ports, err := freePorts(10)
		if err != nil {
			return nil, err
		}
		st = &State{
			Ports: Ports{
				Etcd: ports[0], EtcdPeer: ports[1], APIServer: ports[2], ControllerManager: ports[3],
				Scheduler: ports[4], Kwok: ports[5], OperatorHealth: ports[6],
				KueueHealth: ports[7], KueueWebhook: ports[8], KueueVisibility: ports[9],
			},
			Processes: map[string]*Process{},
			StartedAt: time.Now().UTC(),
		}
	}
	c.State = st
	if err := c.writeKubeconfigs(); err != nil {
		return nil, err
	}
	start := func(name string, check func(context.Context) error) error {
		if c.alive(name) {
			if poll(ctx, 10*time.Second, check) == nil {
				return nil
			}
			log.Info("restarting unhealthy component", "component", name)
		}
		// Stale (its binary was rebuilt) or unhealthy: replace it.
		if p := st.Processes[name]; processAlive(p) {
			if err := stopProcess(p, 10*time.Second); err != nil {
				return err
			}
		}
		binary, args, env, err := c.command(ctx, name)
		if err != nil {
			return err
		}
		log.Info("starting", "component", name, "log", l.LogFile(name))
		r, err := startProcess(name, binary, args, env, l.LogFile(name))
		if err != nil {
			return err
		}
		st.Processes[name] = r.proc
		if err := saveState(l.StateFile(), st); err != nil {
			return err
		}
		return waitHealthy(ctx, name, r, opts.StartTimeout, check)
	}

	if err := start(CompEtcd, c.checkEtcd); err != nil {
		return nil, err
	}
	if err := start(CompAPIServer, c.checkAPIServer); err != nil {
		return nil, err
	}
	if err := c.bootstrap(ctx); err != nil {
		return nil, err
	}
	// The rest need the apiserver and the bootstrap objects (CRDs, RBAC).
	for _, s := range []struct {
		name  string
		check func(context.Context) error
	}{
		{CompControllerManager, c.checkControllerManager},
		{CompScheduler, c.checkScheduler},
		{CompKwok, c.checkKwok},
		{CompOperator, c.checkOperator},
		{CompKueue, c.checkKueue},
	} {
		if err := start(s.name, s.check); err != nil {
			return nil, err
		}
	}
	// Kueue serves now: route MPIJob and Kueue admission, and its
	// visibility API, to it.
	if err := c.registerKueue(ctx); err != nil {
		return nil, err
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

// command returns how to run one component.
func (c *Cluster) command(ctx context.Context, name string) (binary string, args, env []string, err error) {
	l, p, st := c.Layout, c.PKI, c.State
	loop := func(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
	switch name {
	case CompEtcd:
		client, peer := "http://"+loop(st.Ports.Etcd), "http://"+loop(st.Ports.EtcdPeer)
		return EtcdPath, []string{
			"--name=odh",
			"--data-dir=" + l.EtcdDir(),
			"--listen-client-urls=" + client,
			"--advertise-client-urls=" + client,
			"--listen-peer-urls=" + peer,
			"--initial-advertise-peer-urls=" + peer,
			"--initial-cluster=odh=" + peer,
			"--initial-cluster-state=new",
			"--logger=zap",
			"--log-outputs=stderr",
			"--auto-compaction-mode=periodic",
			"--auto-compaction-retention=10m",
		}, nil, nil
	case CompAPIServer:
		return l.Bin(name), []string{
			"--etcd-servers=http://" + loop(st.Ports.Etcd),
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			"--secure-port=" + itoa(st.Ports.APIServer),
			"--tls-cert-file=" + p.Path(pkiAPIServerCert),
			"--tls-private-key-file=" + p.Path(pkiAPIServerKey),
			"--client-ca-file=" + p.Path(pkiCACert),
			"--token-auth-file=" + p.Path(pkiTokens),
			"--authorization-mode=Node,RBAC",
			"--service-account-issuer=" + saIssuer,
			"--service-account-key-file=" + p.Path(pkiSAPub),
			"--service-account-signing-key-file=" + p.Path(pkiSAKey),
			"--service-cluster-ip-range=" + serviceCIDR,
			// Endpoints may not hold loopback addresses: do not publish the
			// apiserver's own address in the kubernetes Service.
			"--endpoint-reconciler-type=none",
			"--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultTolerationSeconds," +
				"Priority,ResourceQuota,NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy",
			"--allow-privileged=true",
			"--kubelet-preferred-address-types=InternalIP,Hostname",
			"--kubelet-certificate-authority=" + p.Path(pkiCACert),
			"--kubelet-client-certificate=" + p.Path(pkiKubeletClient),
			"--kubelet-client-key=" + p.Path(pkiKubeletClientK),
			// The aggregation layer, for Kueue's visibility API: the
			// aggregator presents this client certificate and passes the
			// caller in X-Remote-* headers, which aggregated servers trust
			// from that name only.
			"--proxy-client-cert-file=" + p.Path(pkiFrontProxy),
			"--proxy-client-key-file=" + p.Path(pkiFrontProxyKey),
			"--requestheader-client-ca-file=" + p.Path(pkiCACert),
			"--requestheader-allowed-names=" + frontProxyUser,
			"--requestheader-username-headers=X-Remote-User",
			"--requestheader-group-headers=X-Remote-Group",
			"--requestheader-extra-headers-prefix=X-Remote-Extra-",
			"--cert-dir=" + filepath.Join(l.PKIDir(), "kube-apiserver"),
			"--profiling=false",
			"--event-ttl=1h",
			// Debian's etcd 3.4.23 lacks the progress notifications that
			// watch-list streams need, and with WatchList on the apiserver
			// turns every watch from resourceVersion 0 (kwok's) into such a
			// stream and fails it: pods would go unnoticed until a re-list.
			"--feature-gates=WatchList=false",
		}, nil, nil
	case CompControllerManager:
		return l.Bin(name), []string{
			"--kubeconfig=" + l.Kubeconfig(name),
			"--bind-address=127.0.0.1",
			"--secure-port=" + itoa(st.Ports.ControllerManager),
			"--cert-dir=" + filepath.Join(l.PKIDir(), name),
			"--leader-elect=false",
			"--controllers=*",
			"--use-service-account-credentials=true",
			"--service-account-private-key-file=" + p.Path(pkiSAKey),
			"--root-ca-file=" + p.Path(pkiCACert),
			"--cluster-signing-cert-file=" + p.Path(pkiCACert),
			"--cluster-signing-key-file=" + p.Path(pkiCAKey),
			"--service-cluster-ip-range=" + serviceCIDR,
			"--allocate-node-cidrs=false",
			"--kube-api-qps=100",
			"--kube-api-burst=200",
			"--profiling=false",
		}, nil, nil
	case CompScheduler:
		return l.Bin(name), []string{
			"--kubeconfig=" + l.Kubeconfig(name),
			"--bind-address=127.0.0.1",
			"--secure-port=" + itoa(st.Ports.Scheduler),
			"--leader-elect=false",
			"--profiling=false",
		}, nil, nil
	case CompKwok:
		config, err := writeKwokFiles(l.KwokDir())
		if err != nil {
			return "", nil, nil, err
		}
		return l.Bin(name), []string{
			"--config=" + config,
			"--kubeconfig=" + l.Kubeconfig(name),
			"--manage-all-nodes=true",
			"--node-ip=127.0.0.1",
			"--node-port=" + itoa(st.Ports.Kwok),
			"--server-address=" + loop(st.Ports.Kwok),
			"--tls-cert-file=" + p.Path(pkiKwokCert),
			"--tls-private-key-file=" + p.Path(pkiKwokKey),
			"--cidr=" + podCIDR,
			"--node-lease-duration-seconds=40",
			"--enable-crds=Logs",
		}, nil, nil
	case CompOperator:
		// The operator exits (klog.Fatal) when it cannot renew its leader
		// lease within 5s, which a loaded 2-core CI machine can cause: run it
		// in a restart loop so one slow moment does not break later tests.
		binary, args := restartLoop(l.Bin(name),
			"--kubeConfig="+l.Kubeconfig(name),
			"--lock-namespace="+operatorNamespace,
			"--kube-api-qps=50",
			"--kube-api-burst=100",
			// As deploy/operator runs it: upstream's 10 queue events/s
			// make jobs wait minutes behind other tests' pod events.
			"--controller-queue-rate-limit=100",
			"--controller-queue-burst=1000",
		)
		return binary, args, []string{operatorHealthAddrEnv + "=" + loop(st.Ports.OperatorHealth)}, nil
	case CompKueue:
		return c.kueueCommand()
	}
	return "", nil, nil, fmt.Errorf("unknown component %q", name)
}

// bootstrap applies the cluster-wide objects the harness provides: namespaces,
// CRDs (MPIJob and kwok's Logs), the operator's RBAC and the test
// identities' permissions. All server-side applied, so reruns are cheap.
func (c *Cluster) bootstrap(ctx context.Context) error {
	a, err := c.adminApplier()
	if err != nil {
		return err
	}
	for _, ns := range []string{TeamA, TeamB, operatorNamespace, KueueNamespace} {
		if err := a.apply(ctx, &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: harnessLabels()},
		}); err != nil {
			return err
		}
	}
	mpiDir, err := moduleCacheDir(ctx, c.Layout, "mpi-operator", "github.com/kubeflow/mpi-operator")
	if err != nil {
		return err
	}
	kwokDir, err := moduleCacheDir(ctx, c.Layout, "kwok", "sigs.k8s.io/kwok")
	if err != nil {
		return err
	}
	for _, f := range []string{
		filepath.Join(mpiDir, "manifests", "base", "kubeflow.org_mpijobs.yaml"),
		filepath.Join(mpiDir, "manifests", "base", "cluster-role.yaml"),
		filepath.Join(kwokDir, "kustomize", "crd", "bases", "kwok.x-k8s.io_logs.yaml"),
	} {
		if err := a.applyFile(ctx, f); err != nil {
			return err
		}
	}
	kueueCRDFiles, err := kueueCRDs(ctx, c.Layout)
	if err != nil {
		return err
	}
	for _, f := range kueueCRDFiles {
		if err := a.applyFile(ctx, f); err != nil {
			return err
		}
	}
	for _, o := range operatorRBAC() {
		if err := a.apply(ctx, o); err != nil {
			return err
		}
	}
	if err := grantTestIdentities(ctx, a, c.Layout.Root); err != nil {
		return err
	}
	return poll(ctx, time.Minute, func(ctx context.Context) error {
		for _, crd := range []string{MPIJobCRD, "logs.kwok.x-k8s.io", KueueWorkloadCRD} {
			if err := crdEstablished(ctx, a.dyn, crd); err != nil {
				return err
			}
		}
		return nil
	})
}

// refreshIdentities reapplies the test identities' RBAC.
func (c *Cluster) refreshIdentities(ctx context.Context) error {
	a, err := c.adminApplier()
	if err != nil {
		return err
	}
	return grantTestIdentities(ctx, a, c.Layout.Root)
}

// healthy validates a running harness: every process alive and healthy, the
// nodes Ready and the MPIJob CRD Established.
func (c *Cluster) healthy(ctx context.Context, nodes int) error {
	checks := map[string]func(context.Context) error{
		CompEtcd: c.checkEtcd, CompAPIServer: c.checkAPIServer, CompControllerManager: c.checkControllerManager,
		CompScheduler: c.checkScheduler, CompKwok: c.checkKwok, CompOperator: c.checkOperator, CompKueue: c.checkKueue,
	}
	for _, name := range componentOrder {
		if !c.alive(name) {
			return fmt.Errorf("%s is not running", name)
		}
		if err := checks[name](ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	cs, err := c.Clientset(Admin)
	if err != nil {
		return err
	}
	if err := nodesReady(ctx, cs, nodes); err != nil {
		return err
	}
	a, err := c.adminApplier()
	if err != nil {
		return err
	}
	for _, crd := range []string{MPIJobCRD, KueueWorkloadCRD} {
		if err := crdEstablished(ctx, a.dyn, crd); err != nil {
			return err
		}
	}
	return c.checkKueueVisibility(ctx)
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

func (c *Cluster) checkEtcd(ctx context.Context) error {
	return httpCheck(ctx, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/health", c.State.Ports.Etcd), "", `"health":"true"`)
}

func (c *Cluster) checkAPIServer(ctx context.Context) error {
	hc, err := c.caClient()
	if err != nil {
		return err
	}
	return httpCheck(ctx, hc, c.APIServerURL()+"/readyz", c.PKI.Tokens[Admin], "ok")
}

func (c *Cluster) checkControllerManager(ctx context.Context) error {
	return httpCheck(ctx, insecureClient, fmt.Sprintf("https://127.0.0.1:%d/healthz", c.State.Ports.ControllerManager), "", "ok")
}

func (c *Cluster) checkScheduler(ctx context.Context) error {
	return httpCheck(ctx, insecureClient, fmt.Sprintf("https://127.0.0.1:%d/healthz", c.State.Ports.Scheduler), "", "ok")
}

func (c *Cluster) checkKwok(ctx context.Context) error {
	hc, err := c.caClient()
	if err != nil {
		return err
	}
	return httpCheck(ctx, hc, fmt.Sprintf("https://127.0.0.1:%d/healthz", c.State.Ports.Kwok), "", "ok")
}

func (c *Cluster) checkOperator(ctx context.Context) error {
	return httpCheck(ctx, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/healthz", c.State.Ports.OperatorHealth), "", "ok")
}

// The controller-manager and scheduler serve /healthz with a self-signed
// certificate they generate themselves.
var insecureClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback health probe of a test harness

func (c *Cluster) caClient() (*http.Client, error) {
	ca, err := c.PKI.CAData()
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, nil
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
	for i := len(componentOrder) - 1; i >= 0; i-- {
		name := componentOrder[i]
		p := st.Processes[name]
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

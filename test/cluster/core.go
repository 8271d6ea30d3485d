package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
)

// The core control plane: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok and the MPI operator.

const (
	serviceCIDR      = "10.96.0.0/12"
	serviceClusterIP = "10.96.0.1"
	podCIDR          = "10.0.0.1/16"
	saIssuer         = "https://kubernetes.default.svc.cluster.local"
)

func loopback(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

func (c *Cluster) etcdCommand(context.Context) (string, []string, []string, error) {
	l, st := c.Layout, c.State
	client, peer := "http://"+loopback(st.Ports.Etcd), "http://"+loopback(st.Ports.EtcdPeer)
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
}

func (c *Cluster) apiServerCommand(context.Context) (string, []string, []string, error) {
	l, p, st := c.Layout, c.PKI, c.State
	return l.Bin(CompAPIServer), []string{
		"--etcd-servers=http://" + loopback(st.Ports.Etcd),
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
		// The aggregation layer, for Kueue's visibility API and
		// metrics-server: the aggregator presents this client certificate
		// and passes the caller in X-Remote-* headers, which aggregated
		// servers trust from that name only.
		"--proxy-client-cert-file=" + p.Path(pkiFrontProxy),
		"--proxy-client-key-file=" + p.Path(pkiFrontProxyKey),
		"--requestheader-client-ca-file=" + p.Path(pkiCACert),
		"--requestheader-allowed-names=" + frontProxyUser,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--cert-dir=" + filepath.Join(l.PKIDir(), CompAPIServer),
		"--profiling=false",
		"--event-ttl=1h",
		// Debian's etcd 3.4.23 lacks the progress notifications that
		// watch-list streams need, and with WatchList on the apiserver
		// turns every watch from resourceVersion 0 (kwok's) into such a
		// stream and fails it: pods would go unnoticed until a re-list.
		"--feature-gates=WatchList=false",
	}, nil, nil
}

func (c *Cluster) controllerManagerCommand(context.Context) (string, []string, []string, error) {
	l, p, st := c.Layout, c.PKI, c.State
	return l.Bin(CompControllerManager), []string{
		"--kubeconfig=" + l.Kubeconfig(CompControllerManager),
		"--bind-address=127.0.0.1",
		"--secure-port=" + itoa(st.Ports.ControllerManager),
		"--cert-dir=" + filepath.Join(l.PKIDir(), CompControllerManager),
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
}

func (c *Cluster) schedulerCommand(context.Context) (string, []string, []string, error) {
	l, st := c.Layout, c.State
	return l.Bin(CompScheduler), []string{
		"--kubeconfig=" + l.Kubeconfig(CompScheduler),
		"--bind-address=127.0.0.1",
		"--secure-port=" + itoa(st.Ports.Scheduler),
		"--leader-elect=false",
		"--profiling=false",
	}, nil, nil
}

func (c *Cluster) kwokCommand(ctx context.Context) (string, []string, []string, error) {
	l, p, st := c.Layout, c.PKI, c.State
	metric, err := moduleFiles(ctx, l, "kwok", "sigs.k8s.io/kwok", "kustomize/metrics/resource/metrics-resource.yaml")
	if err != nil {
		return "", nil, nil, err
	}
	b, err := os.ReadFile(metric[0])
	if err != nil {
		return "", nil, nil, err
	}
	config, err := writeKwokFiles(l.KwokDir(), string(b))
	if err != nil {
		return "", nil, nil, err
	}
	return l.Bin(CompKwok), []string{
		"--config=" + config,
		"--kubeconfig=" + l.Kubeconfig(CompKwok),
		"--manage-all-nodes=true",
		"--node-ip=127.0.0.1",
		"--node-port=" + itoa(st.Ports.Kwok),
		"--server-address=" + loopback(st.Ports.Kwok),
		"--tls-cert-file=" + p.Path(pkiKwokCert),
		"--tls-private-key-file=" + p.Path(pkiKwokKey),
		"--cidr=" + podCIDR,
		"--node-lease-duration-seconds=40",
		// Logs and ResourceUsage objects come from the API (tests create
		// them); the stages, ClusterLogs, ClusterResourceUsage and Metric
		// from the config file.
		"--enable-crds=Logs,ResourceUsage",
	}, nil, nil
}

// GangScheduling values for Options.GangScheduling.
const (
	// GangSchedulingEnv is the environment variable Ensure and
	// `odh-cluster up` read the mode from.
	GangSchedulingEnv = "ODH_CLUSTER_GANG_SCHEDULING"
	// GangSchedulingNone runs the MPI operator without gang scheduling
	// (the default).
	GangSchedulingNone = "none"
	// GangSchedulingVolcano makes the operator create Volcano PodGroups and
	// set schedulerName volcano (no Volcano scheduler runs here: the pods
	// stay Pending).
	GangSchedulingVolcano = "volcano"
)

func (c *Cluster) operatorCommand(context.Context) (string, []string, []string, error) {
	l, st := c.Layout, c.State
	args := []string{
		"--kubeConfig=" + l.Kubeconfig(CompOperator),
		"--lock-namespace=" + operatorNamespace,
		"--kube-api-qps=50",
		"--kube-api-burst=100",
		// As deploy/operator runs it: upstream's 10 queue events/s
		// make jobs wait minutes behind other tests' pod events.
		"--controller-queue-rate-limit=100",
		"--controller-queue-burst=1000",
	}
	if g := st.GangScheduling; g != "" && g != GangSchedulingNone {
		args = append(args, "--gang-scheduling="+g)
	}
	// The operator exits (klog.Fatal) when it cannot renew its leader
	// lease within 5s, which a loaded 2-core CI machine can cause: run it
	// in a restart loop so one slow moment does not break later tests.
	binary, args := restartLoop(l.Bin(CompOperator), args...)
	return binary, args, []string{operatorHealthAddrEnv + "=" + loopback(st.Ports.OperatorHealth)}, nil
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

// checkHealthz checks a component serving plain-HTTP health endpoints on
// loopback (controller-runtime managers).
func checkHealthz(ctx context.Context, port int, path string) error {
	return httpCheck(ctx, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), "", "ok")
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

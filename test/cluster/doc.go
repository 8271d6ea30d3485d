// Package cluster runs a real Kubernetes control plane on loopback for
// integration tests, each part a real upstream component in its own process,
// everything listening on 127.0.0.1 only:
//
//   - etcd (Debian's etcd-server), kube-apiserver, kube-controller-manager
//     and kube-scheduler (k8s.io/kubernetes v1.35.4);
//   - kwok v0.7.0: fake nodes, pod lifecycles, pod logs and simulated
//     resource usage;
//   - the Kubeflow MPI operator v0.8.2 (optionally in a gang-scheduling mode,
//     [Options.GangScheduling]) and Kueue v0.17.0 (MPIJob, JobSet and
//     TrainJob integrations, visibility API);
//   - Kubeflow Trainer v2.2.0 and JobSet v0.11.1 (TrainJobs on JobSets);
//   - the scheduler-plugins scheduler v0.32.7 as a second scheduler
//     ([CoschedulerName], coscheduling plugin) with its PodGroup controller,
//     and the CRDs of Volcano's scheduling API (volcano.sh/apis v1.12.1; the
//     Volcano scheduler does not run);
//   - metrics-server v0.8.0 behind the aggregation layer (metrics.k8s.io);
//   - odh-webhook, the product's admission webhook, built from this checkout
//     and configured as deploy/webhook configures it, so every client of the
//     harness gets the admission of a real install.
//
// Each pinned component comes from its own tool module under
// test/cluster/tools/ and is built into bin/cluster/, rebuilt only when its
// pinned version or build flags change; odh-webhook is rebuilt when a source
// file it is built from changes. Webhooks and aggregated API servers are
// called by URL on loopback (or through an ExternalName Service "localhost")
// with certificates of the harness CA; CRDs, RBAC and webhook configurations
// come from the components' own manifests.
//
// Everything lives in .cluster/ at the repository root: state.json (ports and
// pids), pki/ (CA, certificates, service-account keys, static tokens), logs/
// (one log per component), etcd/ and kwok/ data, the components'
// configuration files, and one kubeconfig per identity: admin
// (cluster-admin), alice (data scientist in team-a), bob (data scientist in
// team-b) and mlops (MLOps engineer of team-a), bound to the persona
// ClusterRoles of deploy/rbac, and one per component. docs/dev/testing.md
// lists every component, port and identity.
//
// Use [Ensure] from TestMain, or the odh-cluster command (make cluster-up,
// cluster-down, cluster-status).
//
// # Fake pods (kwok contract)
//
// Pods scheduled onto the kwok nodes become Running right away: Ready
// conditions, containers running and Ready, a podIP from 10.0.0.0/16, hostIP
// 127.0.0.1. They keep running until a test acts on them; kwok's default stage
// that completes Job pods by itself is replaced. A test drives a pod with
// annotations (helpers on [Cluster] set them):
//
//   - kwok.odh.test/exit-code: "N" — every container terminates with exit code
//     N and the pod ends Succeeded (N = 0) or Failed (any other N), regardless
//     of restartPolicy. Takes effect once the pod is Running. [Cluster.SetPodExitCode].
//   - kwok.odh.test/reason: termination reason used with exit-code (default
//     "Completed" for 0, "Error" otherwise), e.g. "OOMKilled" with "137".
//     [Cluster.SetPodOOMKilled].
//   - kwok.odh.test/restart-count: "N" — the containers of a running pod
//     report restartCount N, lastState.terminated with
//     kwok.odh.test/last-exit-code (default "1") and kwok.odh.test/last-reason
//     (default "Error"), and a fresh running state; the pod stays Running.
//     Raise N for more restarts. [Cluster.SetPodRestarts].
//   - kwok.odh.test/ready: "false" — the pod runs but is not Ready (a failing
//     readiness probe); remove the annotation to make it Ready.
//   - kwok.odh.test/start-delay: a Go duration ("10s") the pod stays Pending
//     before it starts.
//   - kwok.odh.test/pod-reason and kwok.odh.test/pod-message: with exit-code,
//     the pod's status.reason and status.message, e.g. "Evicted" as a kubelet
//     under node pressure reports. [Cluster.SetPodEvicted].
//
// A pod whose first container's image comes from [UnpullableRegistry]
// ("registry.invalid/") never starts: it stays Pending with its containers
// waiting in ErrImagePull, as for a missing image.
//
// A running pod uses the CPU and memory of its kwok.odh.test/usage-cpu and
// kwok.odh.test/usage-memory annotations per container (default 1m and
// 1Mi), as metrics.k8s.io reports them ([AnnotationUsageCPU]); a kwok
// ResourceUsage object named like the pod overrides that per container.
//
// A pod being deleted first turns Failed (containers terminated with exit
// code 137, as a kubelet killing them would report) and is then removed once
// it has no finalizers left, so foreground deletion of Jobs and MPIJobs
// completes.
//
// # Logs
//
// kwok serves the kubelet API on 127.0.0.1 with a certificate from the
// harness CA, and the apiserver reaches it for pods/log. By default every
// container's log is the single line [DefaultLogLine]. [Cluster.SetPodLogs]
// sets the log text of one pod (all its containers; also served as the
// previous log) by writing .cluster/kwok/podlogs/<ns>/<pod>.log and a kwok
// Logs object named like the pod; it returns once kwok serves the text.
package cluster

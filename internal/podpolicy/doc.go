// Package podpolicy decides whether the pods of a training job may run in a
// namespace: the pod-level admission policy of odh-training.
//
// A job is seen as a list of pod sets (an MPIJob's launcher and workers; a
// TrainJob's replicated jobs once its runtime and overrides are applied),
// each a pod template with a replica count and the field path it came from.
// [Validate] checks every pod set against a [Policy] and returns every
// problem at once as a field.ErrorList whose paths point into the submitted
// object, each message saying what is wrong, why, and what is allowed
// instead:
//
//   - the Kubernetes Pod Security "restricted" profile (or "baseline" where a
//     platform administrator chose it): no privileged containers, host
//     namespaces, host ports or hostPath; non-root, no privilege escalation,
//     capabilities dropped, a confined seccomp profile; no probe or hook
//     the kubelet would send to another host;
//   - OpenShift's restricted-v2 where the namespace says it is on OpenShift
//     (a fixed runAsUser or fsGroup must lie in the namespace's ranges);
//   - volumes: persistentVolumeClaim, configMap, emptyDir, downwardAPI,
//     projected service-account tokens, downward API and config maps, and
//     the secrets the policy names — never another job's SSH key, also not
//     through env or envFrom;
//   - the service account, priority classes and tolerations the policy
//     allows; no nodeName (it bypasses the scheduler and taints); no dynamic
//     resource claims (their devices escape the caps);
//   - caps on what a job requests in total, counted over every container
//     (init containers and sidecars as the scheduler counts them) times the
//     replicas of each pod set.
//
// The policy of a namespace comes from TrainingPolicy objects
// (training.opendatahub.io/v1alpha1, cluster-scoped, written by platform
// administrators; deploy/policy), parsed and checked by [Parse] and chosen
// by [Select]; [Default] is what applies where none selects a namespace.
//
// The package does no I/O: callers (the admission webhook, the Training
// Service's validation and dry run) read the objects and pass them in.
package podpolicy

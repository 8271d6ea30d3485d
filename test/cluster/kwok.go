package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Pod annotations that drive kwok's fake pod lifecycle (see the package doc).
const (
	// AnnotationStartDelay delays the pod's start (Pending → Running) by a Go
	// duration, e.g. "10s".
	AnnotationStartDelay = "kwok.odh.test/start-delay"
	// AnnotationExitCode makes every container of a running pod exit with
	// this code; the pod ends Succeeded ("0") or Failed (anything else).
	AnnotationExitCode = "kwok.odh.test/exit-code"
	// AnnotationReason overrides the termination reason set with
	// AnnotationExitCode (default "Completed" for 0, "Error" otherwise),
	// e.g. "OOMKilled" with exit code "137".
	AnnotationReason = "kwok.odh.test/reason"
	// AnnotationRestartCount sets the containers' restartCount of a running
	// pod, simulating that many crashes and restarts.
	AnnotationRestartCount = "kwok.odh.test/restart-count"
	// AnnotationLastExitCode is the exit code recorded in lastState of a
	// restarted container (default "1").
	AnnotationLastExitCode = "kwok.odh.test/last-exit-code"
	// AnnotationLastReason is the reason recorded in lastState of a
	// restarted container (default "Error"), e.g. "OOMKilled".
	AnnotationLastReason = "kwok.odh.test/last-reason"
	// AnnotationReady set to "false" keeps (or makes) a running pod not Ready,
	// as a failing readiness probe would; remove it to make the pod Ready.
	AnnotationReady = "kwok.odh.test/ready"
	// AnnotationPodReason sets the pod's status.reason when it ends with
	// AnnotationExitCode, e.g. "Evicted" as a kubelet under node pressure
	// reports; AnnotationPodMessage is the matching status.message.
	AnnotationPodReason  = "kwok.odh.test/pod-reason"
	AnnotationPodMessage = "kwok.odh.test/pod-message"
)

// UnpullableRegistry is a registry whose images never pull: pods whose first
// container uses an image from it stay Pending with ErrImagePull, as a
// kubelet reports for a missing image or tag.
const UnpullableRegistry = "registry.invalid/"

// kwokStages replaces kwok's default pod stages. In particular kwok's default
// "pod-complete" stage finishes every Job pod as soon as it runs, which would
// complete MPIJob launchers on their own; here pods only end when a test says
// so with AnnotationExitCode. Every stage's selector excludes the others, so
// at most one matches a pod at a time.
const kwokStages = `
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: odh-pod-start
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.podIP'
      operator: 'DoesNotExist'
    - key: '@UNPULLABLE@'
      operator: 'NotIn'
      values: ['true']
  delay:
    durationMilliseconds: 0
    durationFrom:
      expressionFrom: '.metadata.annotations["@START_DELAY@"]'
  next:
    event:
      type: Normal
      reason: Started
      message: Started container (kwok)
    statusTemplate: |
      {{ $now := Now }}
      {{ $ready := ne (dig "metadata" "annotations" "@READY@" "" .) "false" }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: PodScheduled
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: {{ if $ready }}"True"{{ else }}"False"{{ end }}
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: {{ if $ready }}"True"{{ else }}"False"{{ end }}
        type: ContainersReady
      {{ range .spec.readinessGates }}
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: {{ .conditionType | Quote }}
      {{ end }}
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: {{ $ready }}
        started: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      {{ with .spec.initContainers }}
      initContainerStatuses:
      {{ range . }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        state:
          terminated:
            exitCode: 0
            finishedAt: {{ $now | Quote }}
            reason: Completed
            startedAt: {{ $now | Quote }}
      {{ end }}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: odh-pod-exit
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.metadata.annotations["@EXIT_CODE@"]'
      operator: 'Exists'
  next:
    event:
      type: Normal
      reason: Exited
      message: Containers exited (kwok, annotation @EXIT_CODE@)
    statusTemplate: |
      {{ $now := Now }}
      {{ $root := . }}
      {{ $code := dig "metadata" "annotations" "@EXIT_CODE@" "0" . | atoi }}
      {{ $reason := dig "metadata" "annotations" "@REASON@" "" . }}
      {{ if not $reason }}{{ if eq $code 0 }}{{ $reason = "Completed" }}{{ else }}{{ $reason = "Error" }}{{ end }}{{ end }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        reason: PodCompleted
        status: "False"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        reason: PodCompleted
        status: "False"
        type: ContainersReady
      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      {{ $origin := index (dig "status" "containerStatuses" list $root) $index }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: false
        started: false
        restartCount: {{ dig "restartCount" 0 $origin }}
        state:
          terminated:
            exitCode: {{ $code }}
            reason: {{ $reason | Quote }}
            startedAt: {{ dig "state" "running" "startedAt" $now $origin | Quote }}
            finishedAt: {{ $now | Quote }}
      {{ end }}
      phase: {{ if eq $code 0 }}Succeeded{{ else }}Failed{{ end }}
      {{ with dig "metadata" "annotations" "@POD_REASON@" "" . }}
      reason: {{ . | Quote }}
      message: {{ dig "metadata" "annotations" "@POD_MESSAGE@" "" $root | Quote }}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: odh-pod-image-pull-error
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.hostIP'
      operator: 'DoesNotExist'
    - key: '@UNPULLABLE@'
      operator: 'In'
      values: ['true']
  next:
    event:
      type: Warning
      reason: Failed
      message: Failed to pull image (kwok, registry @REGISTRY@)
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: PodScheduled
      - lastTransitionTime: {{ $now | Quote }}
        reason: ContainersNotReady
        status: "False"
        type: Ready
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        started: false
        restartCount: 0
        state:
          waiting:
            reason: ErrImagePull
            message: {{ printf "failed to pull and unpack image %q: not found" .image | Quote }}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      phase: Pending
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: odh-pod-restart
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.metadata.annotations["@EXIT_CODE@"]'
      operator: 'DoesNotExist'
    - key: '@RESTART_PENDING@'
      operator: 'In'
      values: ['true']
  next:
    event:
      type: Warning
      reason: BackOff
      message: Restarted container (kwok, annotation @RESTART_COUNT@)
    statusTemplate: |
      {{ $now := Now }}
      {{ $count := dig "metadata" "annotations" "@RESTART_COUNT@" "0" . | atoi }}
      {{ $code := dig "metadata" "annotations" "@LAST_EXIT_CODE@" "1" . | atoi }}
      {{ $reason := dig "metadata" "annotations" "@LAST_REASON@" "Error" . }}
      {{ $ready := ne (dig "metadata" "annotations" "@READY@" "" .) "false" }}
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: {{ $ready }}
        started: true
        restartCount: {{ $count }}
        lastState:
          terminated:
            exitCode: {{ $code }}
            reason: {{ $reason | Quote }}
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: odh-pod-unready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.metadata.annotations["@EXIT_CODE@"]'
      operator: 'DoesNotExist'
    - key: '@RESTART_PENDING@'
      operator: 'In'
      values: ['false']
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'In'
      values: ['True']
    - key: '.metadata.annotations["@READY@"]'
      operator: 'In'
      values: ['false']
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $root := . }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        reason: ContainersNotReady
        status: "False"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        reason: ContainersNotReady
        status: "False"
        type: ContainersReady
      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      {{ $origin := index (dig "status" "containerStatuses" list $root) $index }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: false
        started: true
        restartCount: {{ dig "restartCount" 0 $origin }}
        {{ with dig "lastState" dict $origin }}
        lastState: {{ toJson . }}
        {{ end }}
        state: {{ toJson (dig "state" dict $origin) }}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: odh-pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.metadata.annotations["@EXIT_CODE@"]'
      operator: 'DoesNotExist'
    - key: '@RESTART_PENDING@'
      operator: 'In'
      values: ['false']
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'In'
      values: ['False']
    - key: '.metadata.annotations["@READY@"]'
      operator: 'NotIn'
      values: ['false']
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $root := . }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      {{ $origin := index (dig "status" "containerStatuses" list $root) $index }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: true
        started: true
        restartCount: {{ dig "restartCount" 0 $origin }}
        {{ with dig "lastState" dict $origin }}
        lastState: {{ toJson . }}
        {{ end }}
        state: {{ toJson (dig "state" dict $origin) }}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: odh-pod-terminate
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
    - key: '.status.phase'
      operator: 'NotIn'
      values: ['Succeeded', 'Failed']
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $root := . }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        reason: PodCompleted
        status: "False"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        reason: PodCompleted
        status: "False"
        type: ContainersReady
      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      {{ $origin := index (dig "status" "containerStatuses" list $root) $index }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: false
        started: false
        restartCount: {{ dig "restartCount" 0 $origin }}
        state:
          terminated:
            exitCode: 137
            reason: Error
            startedAt: {{ dig "state" "running" "startedAt" $now $origin | Quote }}
            finishedAt: {{ $now | Quote }}
      {{ end }}
      phase: Failed
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: odh-pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
    - key: '.status.phase'
      operator: 'In'
      values: ['Succeeded', 'Failed']
    - key: '.metadata.finalizers'
      operator: 'DoesNotExist'
  next:
    delete: true
`

// restartPending is a jq expression: true when the pod's restart-count
// annotation differs from its first container's restartCount.
const restartPending = `((.metadata.annotations["` + AnnotationRestartCount + `"] // "") as $want | ($want != "" and $want != ((.status.containerStatuses[0].restartCount // 0) | tostring)))`

// unpullable is a jq expression: true when the pod's first container pulls
// from UnpullableRegistry.
const unpullable = `(.spec.containers[0].image | startswith("` + UnpullableRegistry + `"))`

// kwokConfig renders kwok's --config file: the pod stages above, a
// ClusterLogs rule that serves defaultLog for every container without a
// per-pod Logs object, the ClusterResourceUsage of every pod (kwokUsage)
// and metric, kwok's Metric manifest that serves resource metrics.
func kwokConfig(defaultLog, metric string) string {
	r := strings.NewReplacer(
		"@START_DELAY@", AnnotationStartDelay,
		"@EXIT_CODE@", AnnotationExitCode,
		"@REASON@", AnnotationReason,
		"@RESTART_COUNT@", AnnotationRestartCount,
		"@LAST_EXIT_CODE@", AnnotationLastExitCode,
		"@LAST_REASON@", AnnotationLastReason,
		"@READY@", AnnotationReady,
		"@POD_REASON@", AnnotationPodReason,
		"@POD_MESSAGE@", AnnotationPodMessage,
		"@REGISTRY@", UnpullableRegistry,
		"@UNPULLABLE@", strings.ReplaceAll(unpullable, "'", "''"),
		"@RESTART_PENDING@", strings.ReplaceAll(restartPending, "'", "''"),
		"@USAGE_CPU@", AnnotationUsageCPU,
		"@USAGE_MEMORY@", AnnotationUsageMemory,
	)
	return strings.TrimSpace(r.Replace(kwokStages)) + "\n---\n" + strings.TrimSpace(r.Replace(kwokUsage)) +
		"\n---\n" + strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(metric), "---")) + fmt.Sprintf(`
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: odh-default-logs
spec:
  logs:
  - logsFile: %q
    previousLogsFile: %q
`, defaultLog, defaultLog)
}

// DefaultLogLine is the log line kwok serves for a container whose pod has no
// logs set with Cluster.SetPodLogs.
const DefaultLogLine = "odh-cluster: fake container running on a kwok node (no logs set for this pod)"

// writeKwokFiles writes kwok's config and the default log file into dir;
// metric is kwok's Metric manifest.
func writeKwokFiles(dir, metric string) (configFile string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	defaultLog := filepath.Join(dir, "default.log")
	if err := os.WriteFile(defaultLog, criLog(time.Now(), DefaultLogLine), 0o644); err != nil {
		return "", err
	}
	configFile = filepath.Join(dir, "kwok.yaml")
	return configFile, os.WriteFile(configFile, []byte(kwokConfig(defaultLog, metric)), 0o644)
}

// criLog formats text in the CRI container log format kwok reads
// ("<RFC3339Nano> stdout F <line>" per line).
func criLog(t time.Time, text string) []byte {
	var b strings.Builder
	ts := t.UTC().Format(time.RFC3339Nano)
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fmt.Fprintf(&b, "%s stdout F %s\n", ts, line)
	}
	return []byte(b.String())
}

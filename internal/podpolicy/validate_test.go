package podpolicy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// Paths used by the tables.
const (
	launcher = "spec.mpiReplicaSpecs[Launcher].template.spec."
	worker   = "spec.mpiReplicaSpecs[Worker].template.spec."
)

// restrictedPod is a pod template that meets the restricted level.
func restrictedPod() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:  "main",
			Image: "quay.io/team-a/train:1",
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
		}},
		Volumes: []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "code", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "code"}}}},
			{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
				{DownwardAPI: &corev1.DownwardAPIProjection{}},
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "code"}}},
			}}}},
		},
	}}
}

// goodJob is an MPIJob "train" with 2 workers whose pods meet the
// restricted level and use no secret.
func goodJob() *kubeflow.MPIJob {
	return &kubeflow.MPIJob{
		ObjectMeta: metav1.ObjectMeta{Name: "train", Namespace: "team-a"},
		Spec: kubeflow.MPIJobSpec{MPIReplicaSpecs: map[kubeflow.MPIReplicaType]*kubeflow.ReplicaSpec{
			kubeflow.MPIReplicaTypeLauncher: {Replicas: ptr.To[int32](1), Template: restrictedPod()},
			kubeflow.MPIReplicaTypeWorker:   {Replicas: ptr.To[int32](2), Template: restrictedPod()},
		}},
	}
}

func podOf(j *kubeflow.MPIJob, rt kubeflow.MPIReplicaType) *corev1.PodSpec {
	return &j.Spec.MPIReplicaSpecs[rt].Template.Spec
}

func wPod(j *kubeflow.MPIJob) *corev1.PodSpec { return podOf(j, kubeflow.MPIReplicaTypeWorker) }
func lPod(j *kubeflow.MPIJob) *corev1.PodSpec { return podOf(j, kubeflow.MPIReplicaTypeLauncher) }

// summary renders errors as "Type path" for comparison.
func summary(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		typ, _, _ := strings.Cut(e.Type.String(), " ") // "Required value" → "Required"
		out = append(out, typ+" "+e.Field)
	}
	return out
}

type validateCase struct {
	name   string
	policy *Policy
	env    *Env
	mutate func(j *kubeflow.MPIJob)
	want   []string // "Type path"
	// msg are substrings the errors' text must contain (what, why, instead).
	msg []string
}

func runValidate(t *testing.T, cases []validateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := goodJob()
			if tc.mutate != nil {
				tc.mutate(j)
			}
			env := Env{Namespace: "team-a"}
			if tc.env != nil {
				env = *tc.env
			}
			errs := Validate(tc.policy, env, FromMPIJob(j))
			if diff := cmp.Diff(tc.want, summary(errs)); diff != "" {
				t.Errorf("errors (-want +got):\n%s\nall: %v", diff, errs)
			}
			text := errs.ToAggregate()
			for _, m := range tc.msg {
				if text == nil || !strings.Contains(text.Error(), m) {
					t.Errorf("errors lack %q: %v", m, text)
				}
			}
		})
	}
}

func TestValidateGoodJob(t *testing.T) {
	runValidate(t, []validateCase{
		{name: "restricted job passes the default policy"},
		{name: "nil policy is the default", policy: nil},
		{name: "container-level settings instead of pod-level", mutate: func(j *kubeflow.MPIJob) {
			p := wPod(j)
			p.SecurityContext = nil
			p.Containers[0].SecurityContext.RunAsNonRoot = ptr.To(true)
			p.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
		}},
		{name: "NET_BIND_SERVICE may be added back", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE"}
		}},
		{name: "default service account, fixed non-root user, safe sysctl, container SELinux type", mutate: func(j *kubeflow.MPIJob) {
			p := wPod(j)
			p.ServiceAccountName = "default"
			p.SecurityContext.RunAsUser = ptr.To[int64](1000)
			p.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "net.ipv4.ip_local_port_range", Value: "32000 33999"}}
			p.SecurityContext.SELinuxOptions = &corev1.SELinuxOptions{Type: "container_t", Level: "s0:c1,c2"}
			p.SecurityContext.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault}
		}},
		{name: "the standard not-ready and unreachable tolerations", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Tolerations = []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
			}
		}},
		{name: "the job's own SSH key", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Volumes = append(wPod(j).Volumes, corev1.Volume{Name: "ssh", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "train-ssh"}}})
		}},
		{name: "baseline lets root and default capabilities through", policy: &Policy{Name: "legacy", Spec: TrainingPolicySpec{PodSecurity: LevelBaseline}},
			mutate: func(j *kubeflow.MPIJob) {
				p := wPod(j)
				p.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](0)}
				p.Containers[0].SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_CHROOT", "SETUID"}}}
			}},
	})
}

func TestValidatePodSecurity(t *testing.T) {
	runValidate(t, []validateCase{
		{name: "privileged container", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Containers[0].SecurityContext.Privileged = ptr.To(true)
		}, want: []string{"Forbidden " + worker + "containers[0].securityContext.privileged"},
			msg: []string{"privileged container", "never allowed"}},
		{name: "privileged init container, even at baseline", policy: &Policy{Name: "legacy", Spec: TrainingPolicySpec{PodSecurity: LevelBaseline}},
			mutate: func(j *kubeflow.MPIJob) {
				lPod(j).InitContainers = []corev1.Container{{Name: "setup", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}
			}, want: []string{"Forbidden " + launcher + "initContainers[0].securityContext.privileged"}},
		{name: "privileged ephemeral container", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", SecurityContext: &corev1.SecurityContext{
				Privileged: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}}}
		}, want: []string{"Forbidden " + worker + "ephemeralContainers[0].securityContext.privileged"}},
		{name: "host namespaces and host port", mutate: func(j *kubeflow.MPIJob) {
			p := wPod(j)
			p.HostNetwork, p.HostPID, p.HostIPC = true, true, true
			p.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 2222}, {ContainerPort: 22, HostPort: 22}}
		}, want: []string{
			"Forbidden " + worker + "hostNetwork", "Forbidden " + worker + "hostPID", "Forbidden " + worker + "hostIPC",
			"Forbidden " + worker + "containers[0].ports[1].hostPort",
		}, msg: []string{"the node's network", "hostPort 22"}},
		{name: "added capabilities", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE", "SYS_ADMIN", "NET_RAW"}
		}, want: []string{"Forbidden " + worker + "containers[0].securityContext.capabilities.add[1]", "Forbidden " + worker + "containers[0].securityContext.capabilities.add[2]"},
			msg: []string{`capability "SYS_ADMIN" is not allowed at the restricted Pod Security level of the default policy`, `allowed to add: "NET_BIND_SERVICE"`}},
		{name: "SYS_ADMIN also at baseline", policy: &Policy{Name: "legacy", Spec: TrainingPolicySpec{PodSecurity: LevelBaseline}}, mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"SYS_ADMIN"}
		}, want: []string{"Forbidden " + worker + "containers[0].securityContext.capabilities.add[0]"}, msg: []string{`baseline Pod Security level of TrainingPolicy "legacy"`}},
		{name: "nothing set at all", mutate: func(j *kubeflow.MPIJob) {
			p := wPod(j)
			p.SecurityContext = nil
			p.Containers[0].SecurityContext = nil
			p.InitContainers = []corev1.Container{{Name: "fetch"}}
		}, want: []string{
			"Required " + worker + "initContainers[0].securityContext.capabilities.drop",
			"Required " + worker + "initContainers[0].securityContext.allowPrivilegeEscalation",
			"Required " + worker + "containers[0].securityContext.capabilities.drop",
			"Required " + worker + "containers[0].securityContext.allowPrivilegeEscalation",
			"Required " + worker + "securityContext.runAsNonRoot",
			"Required " + worker + "securityContext.seccompProfile.type",
		}, msg: []string{`missing for "fetch", "main"`, "set seccompProfile.type: RuntimeDefault", "capabilities.drop: [ALL]", "allowPrivilegeEscalation: false"}},
		{name: "root and runAsNonRoot false", mutate: func(j *kubeflow.MPIJob) {
			p := wPod(j)
			p.SecurityContext.RunAsUser = ptr.To[int64](0)
			p.Containers[0].SecurityContext.RunAsUser = ptr.To[int64](0)
			p.Containers[0].SecurityContext.RunAsNonRoot = ptr.To(false)
			p.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
		}, want: []string{
			"Forbidden " + worker + "securityContext.runAsUser",
			"Invalid " + worker + "containers[0].securityContext.allowPrivilegeEscalation",
			"Forbidden " + worker + "containers[0].securityContext.runAsUser",
			"Invalid " + worker + "containers[0].securityContext.runAsNonRoot",
		}},
		{name: "pod runAsNonRoot false", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).SecurityContext.RunAsNonRoot = ptr.To(false)
		}, want: []string{"Invalid " + worker + "securityContext.runAsNonRoot"}},
		{name: "unconfined seccomp, apparmor, SELinux, procMount, sysctl, hostProcess", mutate: func(j *kubeflow.MPIJob) {
			p := wPod(j)
			p.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
			p.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "kernel.msgmax", Value: "1"}}
			p.SecurityContext.WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: ptr.To(true)}
			sc := p.Containers[0].SecurityContext
			sc.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
			sc.SELinuxOptions = &corev1.SELinuxOptions{Type: "spc_t", User: "system_u", Role: "system_r"}
			sc.ProcMount = ptr.To(corev1.UnmaskedProcMount)
			j.Spec.MPIReplicaSpecs[kubeflow.MPIReplicaTypeWorker].Template.Annotations = map[string]string{
				"container.apparmor.security.beta.kubernetes.io/main": "unconfined",
				"seccomp.security.alpha.kubernetes.io/pod":            "unconfined",
				"unrelated": "x",
			}
		}, want: []string{
			"Forbidden spec.mpiReplicaSpecs[Worker].template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/main]",
			"Forbidden spec.mpiReplicaSpecs[Worker].template.metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]",
			"Forbidden " + worker + "securityContext.windowsOptions.hostProcess",
			"Forbidden " + worker + "securityContext.seccompProfile.type",
			"Forbidden " + worker + "securityContext.sysctls[0].name",
			"Forbidden " + worker + "containers[0].securityContext.procMount",
			"Forbidden " + worker + "containers[0].securityContext.seLinuxOptions.type",
			"Forbidden " + worker + "containers[0].securityContext.seLinuxOptions.user",
			"Forbidden " + worker + "containers[0].securityContext.seLinuxOptions.role",
			"Forbidden " + worker + "containers[0].securityContext.appArmorProfile.type",
		}},
		{name: "probes and hooks aimed at other hosts", mutate: func(j *kubeflow.MPIJob) {
			c := &wPod(j).Containers[0]
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(2222)}}} // fine
			c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: "169.254.169.254", Path: "/latest/meta-data"}}}
			c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Host: "10.0.0.1"}}}
			c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Host: "kubernetes.default"}}}
		}, want: []string{
			"Forbidden " + worker + "containers[0].livenessProbe.httpGet.host",
			"Forbidden " + worker + "containers[0].startupProbe.tcpSocket.host",
			"Forbidden " + worker + "containers[0].lifecycle.preStop.httpGet.host",
		}, msg: []string{`host "169.254.169.254" makes the kubelet send requests from the node`}},
		{name: "localhost seccomp profile only when listed", policy: &Policy{Name: "p", Spec: TrainingPolicySpec{SeccompLocalhostProfiles: []string{"profiles/mpi.json"}}},
			mutate: func(j *kubeflow.MPIJob) {
				wPod(j).SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("profiles/mpi.json")}
				lPod(j).SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("profiles/any.json")}
			}, want: []string{"Forbidden " + launcher + "securityContext.seccompProfile.localhostProfile"},
			msg: []string{`"profiles/any.json" is not one TrainingPolicy "p" allows ("profiles/mpi.json")`, `spec.seccompLocalhostProfiles of TrainingPolicy "p"`}},
	})
}

func TestValidateOpenShift(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Annotations: map[string]string{
		AnnotationUIDRange:           "1000680000/10000",
		AnnotationSupplementalGroups: "1000680000/10000",
		AnnotationMCS:                "s0:c26,c5",
	}}}
	env, err := NewEnv(ns, "")
	if err != nil {
		t.Fatal(err)
	}
	runValidate(t, []validateCase{
		{name: "no fixed IDs", env: &env},
		{name: "IDs in the range", env: &env, mutate: func(j *kubeflow.MPIJob) {
			p := wPod(j)
			p.SecurityContext.RunAsUser = ptr.To[int64](1000680000)
			p.SecurityContext.FSGroup = ptr.To[int64](1000689999)
			p.SecurityContext.SELinuxOptions = &corev1.SELinuxOptions{Level: "s0:c26,c5"}
		}},
		{name: "IDs outside the range", env: &env, mutate: func(j *kubeflow.MPIJob) {
			p := wPod(j)
			p.SecurityContext.RunAsUser = ptr.To[int64](1000)
			p.SecurityContext.FSGroup = ptr.To[int64](1000690000)
			p.Containers[0].SecurityContext.RunAsUser = ptr.To[int64](2000)
			p.Containers[0].SecurityContext.SELinuxOptions = &corev1.SELinuxOptions{Level: "s0:c1,c2"}
		}, want: []string{
			"Invalid " + worker + "securityContext.runAsUser",
			"Invalid " + worker + "securityContext.fsGroup",
			"Invalid " + worker + "containers[0].securityContext.runAsUser",
			"Invalid " + worker + "containers[0].securityContext.seLinuxOptions.level",
		}, msg: []string{"runAsUser 1000 is outside namespace team-a's UID range (1000680000-1000689999)", "restricted-v2"}},
		{name: "off OpenShift a fixed non-root UID is fine", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).SecurityContext.RunAsUser = ptr.To[int64](1000)
		}},
		{name: "baseline namespaces run under another SCC", env: &env, policy: &Policy{Name: "b", Spec: TrainingPolicySpec{PodSecurity: LevelBaseline}}, mutate: func(j *kubeflow.MPIJob) {
			wPod(j).SecurityContext.RunAsUser = ptr.To[int64](0)
		}},
	})
}

func TestValidateResourceCaps(t *testing.T) {
	gpus := func(n int64) corev1.ResourceList {
		return corev1.ResourceList{"nvidia.com/gpu": *resource.NewQuantity(n, resource.DecimalSI)}
	}
	capped := &Policy{Name: "gpu", Spec: TrainingPolicySpec{MaxPerJob: corev1.ResourceList{
		"nvidia.com/gpu": resource.MustParse("4"),
		"cpu":            resource.MustParse("10"),
	}}}
	runValidate(t, []validateCase{
		{name: "at the cap", policy: capped, mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Containers[0].Resources.Limits = gpus(2) // 2 workers × 2
		}},
		{name: "GPUs on a second container", policy: capped, mutate: func(j *kubeflow.MPIJob) {
			p := wPod(j)
			p.Containers[0].Resources.Limits = gpus(2)
			side := p.Containers[0]
			side.Name = "side"
			p.Containers = append(p.Containers, side)
		}, want: []string{"Forbidden spec.mpiReplicaSpecs"}, msg: []string{"8 of nvidia.com/gpu in total (Worker: 2 × 4;", "more than the 4 per job TrainingPolicy \"gpu\" allows"}},
		{name: "GPUs in an init container", policy: capped, mutate: func(j *kubeflow.MPIJob) {
			lPod(j).InitContainers = []corev1.Container{{Name: "warm", Resources: corev1.ResourceRequirements{Limits: gpus(8)},
				SecurityContext: restrictedPod().Spec.Containers[0].SecurityContext}}
		}, want: []string{"Forbidden spec.mpiReplicaSpecs"}, msg: []string{"Launcher: 1 × 8 (an init container's request)"}},
		{name: "a sidecar counts with the main containers", policy: capped, mutate: func(j *kubeflow.MPIJob) {
			p := wPod(j)
			p.Containers[0].Resources.Limits = gpus(2)
			p.InitContainers = []corev1.Container{{Name: "sidecar", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
				Resources: corev1.ResourceRequirements{Requests: gpus(1), Limits: gpus(1)}, SecurityContext: restrictedPod().Spec.Containers[0].SecurityContext}}
		}, want: []string{"Forbidden spec.mpiReplicaSpecs"}, msg: []string{"6 of nvidia.com/gpu", "Worker: 2 × 3"}},
		{name: "CPU requests times replicas, limit counts when no request", policy: capped, mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Containers[0].Resources.Limits = corev1.ResourceList{"cpu": resource.MustParse("4")}
			lPod(j).Containers[0].Resources.Requests = corev1.ResourceList{"cpu": resource.MustParse("2500m")}
		}, want: []string{"Forbidden spec.mpiReplicaSpecs"}, msg: []string{"10500m of cpu", "Launcher: 1 × 2500m, Worker: 2 × 4"}},
		{name: "pod-level resources", policy: capped, mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Resources = &corev1.ResourceRequirements{Requests: corev1.ResourceList{"cpu": resource.MustParse("6")}}
		}, want: []string{"Forbidden spec.mpiReplicaSpecs"}, msg: []string{"12 of cpu"}},
		{name: "no cap without a policy cap", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Containers[0].Resources.Limits = gpus(64)
		}},
		{name: "dynamic resource claims", mutate: func(j *kubeflow.MPIJob) {
			p := wPod(j)
			p.ResourceClaims = []corev1.PodResourceClaim{{Name: "gpu", ResourceClaimTemplateName: ptr.To("gpus")}}
			p.Containers[0].Resources.Claims = []corev1.ResourceClaim{{Name: "gpu"}}
		}, want: []string{"Forbidden " + worker + "resourceClaims[0]", "Forbidden " + worker + "containers[0].resources.claims[0]"}, msg: []string{"escape the namespace's caps"}},
	})
}

func TestPodRequest(t *testing.T) {
	c := func(name string, n int64, sidecar bool) corev1.Container {
		ct := corev1.Container{Name: name, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{"cpu": *resource.NewQuantity(n, resource.DecimalSI)}}}
		if sidecar {
			ct.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		}
		return ct
	}
	for _, tc := range []struct {
		name     string
		spec     corev1.PodSpec
		want     int64
		fromInit bool
	}{
		{"containers add up", corev1.PodSpec{Containers: []corev1.Container{c("a", 1, false), c("b", 2, false)}}, 3, false},
		{"init container larger", corev1.PodSpec{InitContainers: []corev1.Container{c("i", 5, false)}, Containers: []corev1.Container{c("a", 1, false)}}, 5, true},
		{"init container smaller", corev1.PodSpec{InitContainers: []corev1.Container{c("i", 1, false)}, Containers: []corev1.Container{c("a", 4, false)}}, 4, false},
		{"sidecar before an init container", corev1.PodSpec{InitContainers: []corev1.Container{c("s", 2, true), c("i", 3, false)}, Containers: []corev1.Container{c("a", 1, false)}}, 5, true},
		{"sidecar with the main containers", corev1.PodSpec{InitContainers: []corev1.Container{c("s", 2, true)}, Containers: []corev1.Container{c("a", 4, false)}}, 6, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, fromInit := PodRequest(&tc.spec, "cpu")
			if q.Value() != tc.want || fromInit != tc.fromInit {
				t.Errorf("PodRequest = %s (from init %v), want %d (from init %v)", q.String(), fromInit, tc.want, tc.fromInit)
			}
		})
	}
}

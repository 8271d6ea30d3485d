package podpolicy

import (
	"testing"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestValidateScheduling(t *testing.T) {
	gpuNodes := Toleration{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
	teamPool := Toleration{Key: "pool", Operator: corev1.TolerationOpEqual, Value: "team-a"}
	allowing := &Policy{Name: "team-a", Spec: TrainingPolicySpec{
		AllowedServiceAccounts: []string{"trainer"},
		AllowedPriorityClasses: []string{"team-a-high"},
		AllowedTolerations:     []Toleration{gpuNodes, teamPool},
	}}
	runValidate(t, []validateCase{
		{name: "foreign service account", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).ServiceAccountName = "pipeline-runner"
			lPod(j).DeprecatedServiceAccount = "builder"
		}, want: []string{"Forbidden " + launcher + "serviceAccount", "Forbidden " + worker + "serviceAccountName"},
			msg: []string{`service account "pipeline-runner" is not one the default policy`, `(allowed: "default")`, "remove it to run as \"default\""}},
		{name: "allowed service account", policy: allowing, mutate: func(j *kubeflow.MPIJob) {
			wPod(j).ServiceAccountName = "trainer"
			wPod(j).DeprecatedServiceAccount = "trainer"
		}},
		{name: "priority classes", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).PriorityClassName = "system-node-critical"
			wPod(j).Priority = ptr.To[int32](2000001000)
			wPod(j).PreemptionPolicy = ptr.To(corev1.PreemptLowerPriority)
			j.Spec.RunPolicy.SchedulingPolicy = &kubeflow.SchedulingPolicy{PriorityClass: "high"}
		}, want: []string{
			"Forbidden spec.runPolicy.schedulingPolicy.priorityClass",
			"Forbidden " + worker + "priorityClassName",
			"Forbidden " + worker + "priority",
			"Forbidden " + worker + "preemptionPolicy",
		}, msg: []string{`priority class "system-node-critical" is not one the default policy`, "(allowed: none)", "cluster's default priority"}},
		{name: "kueue workload priority class label", mutate: func(j *kubeflow.MPIJob) {
			j.Labels = map[string]string{LabelKueuePriorityClass: "high"}
		}, want: []string{`Forbidden metadata.labels[kueue.x-k8s.io/priority-class]`},
			msg: []string{`priority class "high" is not one the default policy`, "(allowed: none)"}},
		{name: "allowed kueue workload priority class label", policy: allowing, mutate: func(j *kubeflow.MPIJob) {
			j.Labels = map[string]string{LabelKueuePriorityClass: "team-a-high"}
		}},
		{name: "allowed and cluster default priority classes", policy: allowing, env: &Env{Namespace: "team-a", DefaultPriorityClass: "normal"}, mutate: func(j *kubeflow.MPIJob) {
			wPod(j).PriorityClassName = "team-a-high"
			lPod(j).PriorityClassName = "normal"
			lPod(j).PreemptionPolicy = ptr.To(corev1.PreemptNever)
			j.Spec.RunPolicy.SchedulingPolicy = &kubeflow.SchedulingPolicy{PriorityClass: "team-a-high"}
		}},
		{name: "tolerations", policy: allowing, mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Tolerations = []corev1.Toleration{
				{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}, // allowed
				{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpEqual, Value: "a100", Effect: corev1.TaintEffectNoSchedule},
				{Key: "pool", Value: "team-a", Effect: corev1.TaintEffectNoExecute}, // allowed: any effect
				{Key: "pool", Operator: corev1.TolerationOpEqual, Value: "team-b"},
				{Key: "pool", Operator: corev1.TolerationOpExists},
				{Operator: corev1.TolerationOpExists},
				{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists}, // every effect: wider than allowed
				{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
			}
		}, want: []string{
			"Forbidden " + worker + "tolerations[3]",
			"Forbidden " + worker + "tolerations[4]",
			"Forbidden " + worker + "tolerations[5]",
			"Forbidden " + worker + "tolerations[6]",
			"Forbidden " + worker + "tolerations[7]",
		}, msg: []string{"toleration pool=team-b:* would let the pods onto nodes reserved by a taint", `(allowed: "nvidia.com/gpu=*:NoSchedule", "pool=team-a:*")`, "toleration *=*:*"}},
		{name: "no tolerations by default", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Tolerations = []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
		}, want: []string{"Forbidden " + worker + "tolerations[0]"}, msg: []string{"(allowed: none)", "spec.allowedTolerations"}},
		{name: "nodeName", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).NodeName = "gpu-node-7"
		}, want: []string{"Forbidden " + worker + "nodeName"}, msg: []string{"without the scheduler, past taints"}},
		{name: "nodeSelector and affinity are fine", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).NodeSelector = map[string]string{"kubernetes.io/hostname": "gpu-node-7"}
		}},
	})
}

func TestTolerates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		allowed corev1.Toleration
		t       corev1.Toleration
		want    bool
	}{
		{"same", corev1.Toleration{Key: "k", Value: "v"}, corev1.Toleration{Key: "k", Value: "v"}, true},
		{"Equal is the default operator", corev1.Toleration{Key: "k", Operator: corev1.TolerationOpEqual, Value: "v"}, corev1.Toleration{Key: "k", Value: "v"}, true},
		{"other value", corev1.Toleration{Key: "k", Value: "v"}, corev1.Toleration{Key: "k", Value: "w"}, false},
		{"Exists wider than Equal", corev1.Toleration{Key: "k", Value: "v"}, corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists}, false},
		{"Exists covers Equal", corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists}, corev1.Toleration{Key: "k", Value: "w", Effect: corev1.TaintEffectNoExecute}, true},
		{"effect narrower", corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}, corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists}, false},
		{"any key", corev1.Toleration{Operator: corev1.TolerationOpExists}, corev1.Toleration{Key: "x", Value: "y"}, true},
		{"any key, one effect", corev1.Toleration{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}, corev1.Toleration{Operator: corev1.TolerationOpExists}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tolerates(tc.allowed, tc.t); got != tc.want {
				t.Errorf("tolerates(%s, %s) = %v, want %v", tolerationString(tc.allowed), tolerationString(tc.t), got, tc.want)
			}
		})
	}
}

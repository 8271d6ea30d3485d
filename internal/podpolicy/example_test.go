package podpolicy_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/odh-training/odh-training/internal/podpolicy"
)

// Any job kind is a list of pod sets: here one pod template, as a TrainJob's
// runtime and overrides would produce it, checked against the default
// policy. Paths in the errors are the ones given, so a caller reports them
// where the user wrote the fields.
func ExampleValidate() {
	tpl := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "node", Image: "quay.io/team-a/mpi:1",
			SecurityContext: &corev1.SecurityContext{Privileged: new(true)}}},
		Volumes: []corev1.Volume{{Name: "key", VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: "other-job-mpi-ssh-auth"}}}},
	}}
	job := &podpolicy.Job{
		Kind: "TrainJob", Name: "train-1",
		Path:       field.NewPath("spec"),
		OwnSecrets: []string{"train-1" + podpolicy.SSHSecretSuffixTrainer},
		PodSets: []podpolicy.PodSet{{
			Name: "node", Replicas: 2, Template: tpl,
			Path: field.NewPath("spec", "podTemplateOverrides").Index(0),
		}},
	}
	for _, e := range podpolicy.Validate(podpolicy.Default(), podpolicy.Env{Namespace: "team-a"}, job) {
		fmt.Println(e.Field)
	}
	// Unordered output:
	// spec.podTemplateOverrides[0].spec.securityContext.runAsNonRoot
	// spec.podTemplateOverrides[0].spec.securityContext.seccompProfile.type
	// spec.podTemplateOverrides[0].spec.containers[0].securityContext.privileged
	// spec.podTemplateOverrides[0].spec.containers[0].securityContext.allowPrivilegeEscalation
	// spec.podTemplateOverrides[0].spec.containers[0].securityContext.capabilities.drop
	// spec.podTemplateOverrides[0].spec.volumes[0].secret.secretName
}

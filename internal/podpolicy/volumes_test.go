package podpolicy

import (
	"testing"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func secretVolume(name string) corev1.Volume {
	return corev1.Volume{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name}}}
}

func TestValidateVolumesAndSecrets(t *testing.T) {
	withSecrets := &Policy{Name: "team-a", Spec: TrainingPolicySpec{AllowedSecrets: []string{"s3-creds", "team-a-data-*", "git-ssh"}}}
	runValidate(t, []validateCase{
		{name: "hostPath /", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Volumes = append(wPod(j).Volumes, corev1.Volume{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
		}, want: []string{"Forbidden " + worker + "volumes[4].hostPath"}, msg: []string{`expose the node's files (here "/")`, "allowed volume types: persistentVolumeClaim"}},
		{name: "other volume types, new ones included", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Volumes = []corev1.Volume{
				{Name: "nfs", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "x", Path: "/"}}},
				{Name: "csi", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "x"}}},
				{Name: "img", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "quay.io/x"}}},
				{Name: "eph", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}},
			}
		}, want: []string{
			"Forbidden " + worker + "volumes[0].nfs", "Forbidden " + worker + "volumes[1].csi",
			"Forbidden " + worker + "volumes[2].image", "Forbidden " + worker + "volumes[3].ephemeral",
		}, msg: []string{"volume type nfs is not allowed"}},
		{name: "projections other than the allowed ones", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Volumes = []corev1.Volume{{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t"}},
				{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Path: "b"}},
				{PodCertificate: &corev1.PodCertificateProjection{SignerName: "x"}},
			}}}}}
		}, want: []string{
			"Forbidden " + worker + "volumes[0].projected.sources[1].clusterTrustBundle",
			"Forbidden " + worker + "volumes[0].projected.sources[2].podCertificate",
		}},
		{name: "another job's SSH key as a volume", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Volumes = append(wPod(j).Volumes, secretVolume("victim-ssh"))
		}, want: []string{"Forbidden " + worker + "volumes[4].secret.secretName"},
			msg: []string{`secret "victim-ssh" is spelled like the SSH key of job "victim" (the MPI operator's <job>-ssh)`, "never use another job's SSH key"}},
		{name: "another job's SSH key through every door, even with a pattern that matches it", policy: &Policy{Name: "all", Spec: TrainingPolicySpec{AllowedSecrets: []string{"*"}}},
			mutate: func(j *kubeflow.MPIJob) {
				p := lPod(j)
				p.Volumes = append(p.Volumes, corev1.Volume{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "victim-mpi-ssh-auth"}}},
				}}}})
				p.Containers[0].Env = []corev1.EnvVar{{Name: "KEY", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "victim-ssh"}, Key: "ssh-privatekey"}}}}
				p.InitContainers = []corev1.Container{{Name: "i", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "victim-ssh"}}}},
					SecurityContext: restrictedPod().Spec.Containers[0].SecurityContext}}
			}, want: []string{
				"Forbidden " + launcher + "volumes[4].projected.sources[0].secret.name",
				"Forbidden " + launcher + "initContainers[0].envFrom[0].secretRef.name",
				"Forbidden " + launcher + "containers[0].env[0].valueFrom.secretKeyRef.name",
			}, msg: []string{"Kubeflow Trainer's <job>-mpi-ssh-auth"}},
		{name: "secrets the policy does not name", mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Volumes = append(wPod(j).Volumes, secretVolume("db-password"))
		}, want: []string{"Forbidden " + worker + "volumes[4].secret.secretName"},
			msg: []string{`secret "db-password" is not one the default policy (no TrainingPolicy selects namespace "team-a") lets pods use (allowed: none)`, "ask a platform administrator for a TrainingPolicy"}},
		{name: "secrets the policy names, by name and prefix", policy: withSecrets, mutate: func(j *kubeflow.MPIJob) {
			p := wPod(j)
			p.Volumes = append(p.Volumes, secretVolume("s3-creds"), secretVolume("team-a-data-2024"), secretVolume("git-ssh"))
			p.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "team-a-data-x"}}}}
		}},
		{name: "a prefix never matches an SSH key", policy: withSecrets, mutate: func(j *kubeflow.MPIJob) {
			wPod(j).Volumes = append(wPod(j).Volumes, secretVolume("team-a-data-ssh"), secretVolume("s3-creds-2"))
		}, want: []string{"Forbidden " + worker + "volumes[4].secret.secretName", "Forbidden " + worker + "volumes[5].secret.secretName"},
			msg: []string{`(allowed: "s3-creds", "team-a-data-*", "git-ssh")`, `add it to spec.allowedSecrets of TrainingPolicy "team-a"`}},
		{name: "optional secrets count too", mutate: func(j *kubeflow.MPIJob) {
			v := secretVolume("other")
			v.Secret.Optional = ptr.To(true)
			wPod(j).Volumes = append(wPod(j).Volumes, v)
		}, want: []string{"Forbidden " + worker + "volumes[4].secret.secretName"}},
	})
}

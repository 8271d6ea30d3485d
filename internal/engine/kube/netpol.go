package kube

import (
	"context"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AnnotationJobNetworkPolicy = "true" on a namespace opts its jobs into a
// per-job NetworkPolicy (Options.JobNetworkPolicy turns it on everywhere).
const AnnotationJobNetworkPolicy = annotationPrefix + "job-network-policy"

// jobNetworkPolicy isolates one job: its pods accept traffic only from
// pods of the same job (launcher and workers, any port). The MPIJob owns
// it, so it goes away with the job.
func jobNetworkPolicy(u *kubeflow.MPIJob) *networkingv1.NetworkPolicy {
	sel := metav1.LabelSelector{MatchLabels: map[string]string{
		kubeflow.OperatorNameLabel: kubeflow.OperatorName,
		kubeflow.JobNameLabel:      u.Name,
	}}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{
			Name:      u.Name + "-mpi",
			Namespace: u.Namespace,
			Labels:    map[string]string{"app.kubernetes.io/managed-by": "odh-training", kubeflow.JobNameLabel: u.Name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: kubeflow.SchemeGroupVersion.String(), Kind: kubeflow.Kind, Name: u.Name, UID: u.UID,
			}},
		},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: sel,
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &sel}}}},
		},
	}
}

// ensureJobNetworkPolicy creates the job's NetworkPolicy when the server or
// the namespace asks for one. It runs with the engine's own identity (the
// service owns the policy); a failure is logged, the job stands.
func (e *Engine) ensureJobNetworkPolicy(ctx context.Context, u *kubeflow.MPIJob) {
	if !e.opts.JobNetworkPolicy {
		ns, err := e.own.Kube.CoreV1().Namespaces().Get(ctx, u.Namespace, metav1.GetOptions{})
		if err != nil || ns.Annotations[AnnotationJobNetworkPolicy] != "true" {
			return
		}
	}
	_, err := e.own.Kube.NetworkingV1().NetworkPolicies(u.Namespace).Create(ctx, jobNetworkPolicy(u), metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		e.log.Warn("create the job's NetworkPolicy", "job", u.Namespace+"/"+u.Name, "error", err)
	}
}

package podpolicy

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The TrainingPolicy API: cluster-scoped, so that nobody with rights in a
// tenant namespace can change the policy of that namespace.
const (
	Group    = "training.opendatahub.io"
	Version  = "v1alpha1"
	Kind     = "TrainingPolicy"
	Resource = "trainingpolicies"
)

// APIVersion is the apiVersion of TrainingPolicy objects.
const APIVersion = Group + "/" + Version

// Level is a Pod Security Standards level.
type Level string

// The levels a TrainingPolicy may choose. "privileged" is deliberately not
// one of them: a namespace that needs it is not a tenant namespace.
const (
	LevelRestricted Level = "restricted"
	LevelBaseline   Level = "baseline"
)

// TrainingPolicy is the object platform administrators write (deploy/policy).
type TrainingPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              TrainingPolicySpec `json:"spec"`
}

// TrainingPolicySpec says which namespaces a policy is for and what their
// jobs' pods may do. Every allow-list starts empty: what a policy does not
// name is refused.
type TrainingPolicySpec struct {
	// Namespaces the policy applies to, by name.
	Namespaces []string `json:"namespaces,omitempty"`
	// NamespaceSelector selects namespaces by label; {} selects every
	// namespace (a cluster-wide default). Only label namespaces with keys
	// tenants cannot set.
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// PodSecurity is the Pod Security Standards level every pod must meet:
	// restricted (default) or baseline (lets containers run as root with
	// the default capabilities, e.g. for images whose sshd needs root).
	PodSecurity Level `json:"podSecurity,omitempty"`
	// SeccompLocalhostProfiles are the node-local seccomp profiles
	// (seccompProfile type Localhost, localhostProfile) pods may use.
	// RuntimeDefault is always allowed. OpenShift's restricted-v2 allows
	// none: list some only with an SCC that allows them.
	SeccompLocalhostProfiles []string `json:"seccompLocalhostProfiles,omitempty"`

	// AllowedSecrets are the Secrets of the namespace pods may use, as
	// volumes, projections, env or envFrom: names, or prefixes ending in
	// "*" ("team-a-data-*"). A prefix never matches a job's SSH key
	// (<job>-ssh, <job>-mpi-ssh-auth); name one exactly to allow it.
	AllowedSecrets []string `json:"allowedSecrets,omitempty"`
	// AllowedServiceAccounts besides "default", which is always allowed.
	AllowedServiceAccounts []string `json:"allowedServiceAccounts,omitempty"`
	// AllowedPriorityClasses besides the cluster's default, for pods and
	// for the job's scheduling policy.
	AllowedPriorityClasses []string `json:"allowedPriorityClasses,omitempty"`
	// AllowedTolerations are the tolerations pods may carry. A toleration
	// of the job is allowed when one of these tolerates everything it does
	// (same key, an Exists or the same value, no effect or the same).
	AllowedTolerations []Toleration `json:"allowedTolerations,omitempty"`

	// MaxPerJob caps what one job requests in total, per resource
	// ("nvidia.com/gpu": 16, cpu: 256, memory: 1Ti): every pod's requests
	// as the scheduler counts them (all containers, init containers and
	// sidecars included; a limit without a request counts as the request)
	// times its replicas. Resources not named are not capped here.
	MaxPerJob corev1.ResourceList `json:"maxPerJob,omitempty"`
}

// Toleration is an allowed toleration: a pod's toleration is allowed when
// this one tolerates every taint it does. Operator is Equal (default) or
// Exists; an empty Effect means every effect; an empty Key with Exists
// means every taint.
type Toleration struct {
	Key      string                    `json:"key,omitempty"`
	Operator corev1.TolerationOperator `json:"operator,omitempty"`
	Value    string                    `json:"value,omitempty"`
	Effect   corev1.TaintEffect        `json:"effect,omitempty"`
}

func (t Toleration) core() corev1.Toleration {
	return corev1.Toleration{Key: t.Key, Operator: t.Operator, Value: t.Value, Effect: t.Effect}
}

// Policy is a parsed TrainingPolicy, or the built-in default.
type Policy struct {
	// Name is the TrainingPolicy's name; "" for the built-in default.
	Name string
	Spec TrainingPolicySpec

	selector labels.Selector // nil: namespaceSelector unset
	errs     field.ErrorList // problems Parse found; a policy with any is never used
}

// Default is the policy of a namespace no TrainingPolicy selects: the
// restricted level, no secrets, the default service account only, the
// cluster's default priority class only, no tolerations and no caps of its
// own (odh-webhook's --policy-file limits still apply).
func Default() *Policy {
	return &Policy{Spec: TrainingPolicySpec{PodSecurity: LevelRestricted}}
}

// Level returns the Pod Security level the policy demands.
func (p *Policy) Level() Level {
	if p.Spec.PodSecurity == "" {
		return LevelRestricted
	}
	return p.Spec.PodSecurity
}

// Errors returns what Parse found wrong with the policy.
func (p *Policy) Errors() field.ErrorList { return p.errs }

// describe names the policy in messages.
func (p *Policy) describe(namespace string) string {
	if p.Name == "" {
		return fmt.Sprintf("the default policy (no TrainingPolicy selects namespace %q)", namespace)
	}
	return fmt.Sprintf("TrainingPolicy %q", p.Name)
}

// askAdmin says how to get something allowed.
func (p *Policy) askAdmin(namespace, field string) string {
	if p.Name == "" {
		return fmt.Sprintf("ask a platform administrator for a TrainingPolicy for namespace %q that lists it in %s (docs/admin/security.md)", namespace, field)
	}
	return fmt.Sprintf("ask a platform administrator to add it to %s of TrainingPolicy %q", field, p.Name)
}

// quoteList renders a list for messages: at most eight quoted items.
func quoteList(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	const max = 8
	q := make([]string, 0, max+1)
	for i, s := range items {
		if i == max {
			q = append(q, fmt.Sprintf("and %d more", len(items)-max))
			break
		}
		q = append(q, fmt.Sprintf("%q", s))
	}
	return strings.Join(q, ", ")
}

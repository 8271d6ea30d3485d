package podpolicy

import (
	"encoding/json"
	"fmt"
	"strings"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
)

// SetDefaults sets OpenShift-safe security defaults on every pod template
// where they are unset: the RuntimeDefault seccomp profile always; when SSH
// runs as a non-root user (sshAuthMountPath outside /root) also
// runAsNonRoot, no privilege escalation and no capabilities, which is what
// the restricted Pod Security level and restricted-v2 demand (the pod
// policy then admits the job). Jobs that run sshd as root keep what they
// asked for; the pod policy decides whether their namespace allows that.
// spec is an MPIJob's spec as JSON decodes it (so that fields this program
// does not know survive); it reports whether anything changed. odh-webhook
// applies it to every MPIJob created, and the Training Service to the
// manifests it checks before submitting them.
func SetDefaults(spec map[string]any) bool {
	changed := false
	mount, _ := spec["sshAuthMountPath"].(string)
	nonRoot := mount != "" && mount != "/root" && !strings.HasPrefix(mount, "/root/")
	replicas, _ := spec["mpiReplicaSpecs"].(map[string]any)
	for _, rt := range []string{"Launcher", "Worker"} {
		r, _ := replicas[rt].(map[string]any)
		tpl, _ := r["template"].(map[string]any)
		ps, _ := tpl["spec"].(map[string]any)
		if ps == nil {
			continue
		}
		psc, ok := ps["securityContext"].(map[string]any)
		if !ok {
			psc = map[string]any{}
			ps["securityContext"] = psc
		}
		if _, ok := psc["seccompProfile"]; !ok {
			psc["seccompProfile"] = map[string]any{"type": "RuntimeDefault"}
			changed = true
		}
		if nonRoot && !setsRunAsNonRoot(ps) {
			psc["runAsNonRoot"] = true
			changed = true
		}
		if len(psc) == 0 {
			delete(ps, "securityContext")
		}
		if !nonRoot {
			continue
		}
		for _, list := range []string{"initContainers", "containers"} {
			cs, _ := ps[list].([]any)
			for _, c := range cs {
				cm, ok := c.(map[string]any)
				if !ok {
					continue
				}
				sc, ok := cm["securityContext"].(map[string]any)
				if !ok {
					sc = map[string]any{}
					cm["securityContext"] = sc
				}
				if _, ok := sc["allowPrivilegeEscalation"]; !ok {
					sc["allowPrivilegeEscalation"] = false
					changed = true
				}
				if _, ok := sc["capabilities"]; !ok {
					sc["capabilities"] = map[string]any{"drop": []any{"ALL"}}
					changed = true
				}
			}
		}
	}
	return changed
}

// setsRunAsNonRoot reports whether a pod template sets runAsNonRoot
// anywhere (pod or any container): then the author decided.
func setsRunAsNonRoot(ps map[string]any) bool {
	if psc, ok := ps["securityContext"].(map[string]any); ok {
		if _, ok := psc["runAsNonRoot"]; ok {
			return true
		}
	}
	for _, list := range []string{"initContainers", "containers"} {
		cs, _ := ps[list].([]any)
		for _, c := range cs {
			cm, _ := c.(map[string]any)
			if sc, ok := cm["securityContext"].(map[string]any); ok {
				if _, ok := sc["runAsNonRoot"]; ok {
					return true
				}
			}
		}
	}
	return false
}

// Defaulted returns a copy of an MPIJob with SetDefaults applied, as
// odh-webhook's mutation would leave it.
func Defaulted(u *kubeflow.MPIJob) (*kubeflow.MPIJob, error) {
	data, err := json.Marshal(u.Spec)
	if err != nil {
		return nil, fmt.Errorf("encode MPIJob spec: %w", err)
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("decode MPIJob spec: %w", err)
	}
	out := u.DeepCopy()
	if !SetDefaults(spec) {
		return out, nil
	}
	if data, err = json.Marshal(spec); err != nil {
		return nil, fmt.Errorf("encode MPIJob spec: %w", err)
	}
	out.Spec = kubeflow.MPIJobSpec{}
	if err := json.Unmarshal(data, &out.Spec); err != nil {
		return nil, fmt.Errorf("decode MPIJob spec: %w", err)
	}
	return out, nil
}

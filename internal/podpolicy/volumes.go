package podpolicy

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Volume types and projections a pod may use (besides secrets, which the
// policy names one by one). Everything else is refused, including types
// added to Kubernetes after this list was written.
var (
	allowedVolumeTypes  = []string{"persistentVolumeClaim", "configMap", "emptyDir", "downwardAPI", "projected", "secret"}
	allowedProjections  = []string{"serviceAccountToken", "downwardAPI", "configMap", "secret"}
	msgAllowedVolumes   = "allowed volume types: persistentVolumeClaim, configMap, emptyDir, downwardAPI, projected (service account token, downward API, config map) and the secrets the namespace's policy names"
	msgAllowedProjected = "allowed projections: serviceAccountToken, downwardAPI, configMap and the secrets the namespace's policy names"
)

// setFields returns the JSON names of the non-nil pointer fields of a
// struct of optional sources (VolumeSource, VolumeProjection).
func setFields(v any) []string {
	rv := reflect.ValueOf(v)
	var out []string
	for i := range rv.NumField() {
		f := rv.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

func (c *checker) volumes(spec *corev1.PodSpec, path *field.Path) {
	for i := range spec.Volumes {
		vol := &spec.Volumes[i]
		vp := path.Child("volumes").Index(i)
		for _, t := range setFields(vol.VolumeSource) {
			switch {
			case t == "hostPath":
				c.forbid(vp.Child("hostPath"), fmt.Sprintf("hostPath volumes expose the node's files (here %q) and are never allowed; %s", vol.HostPath.Path, msgAllowedVolumes))
			case !slices.Contains(allowedVolumeTypes, t):
				c.forbid(vp.Child(t), fmt.Sprintf("volume type %s is not allowed for training jobs; %s", t, msgAllowedVolumes))
			}
		}
		if s := vol.Secret; s != nil {
			c.secret(vp.Child("secret", "secretName"), s.SecretName)
		}
		if p := vol.Projected; p != nil {
			for j := range p.Sources {
				src := &p.Sources[j]
				sp := vp.Child("projected", "sources").Index(j)
				for _, t := range setFields(*src) {
					if !slices.Contains(allowedProjections, t) {
						c.forbid(sp.Child(t), fmt.Sprintf("projection %s is not allowed for training jobs; %s", t, msgAllowedProjected))
					}
				}
				if s := src.Secret; s != nil {
					c.secret(sp.Child("secret", "name"), s.Name)
				}
			}
		}
	}
}

// envSecrets checks the secrets a container reads into its environment.
func (c *checker) envSecrets(ct container) {
	for i, e := range ct.c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			c.secret(ct.path.Child("env").Index(i).Child("valueFrom", "secretKeyRef", "name"), e.ValueFrom.SecretKeyRef.Name)
		}
	}
	for i, e := range ct.c.EnvFrom {
		if e.SecretRef != nil {
			c.secret(ct.path.Child("envFrom").Index(i).Child("secretRef", "name"), e.SecretRef.Name)
		}
	}
}

// secret decides whether the job's pods may read the named secret.
func (c *checker) secret(path *field.Path, name string) {
	if slices.Contains(c.job.OwnSecrets, name) {
		return
	}
	allowed := c.p.Spec.AllowedSecrets
	if owner, maker, ok := sshSecretOf(name); ok {
		if slices.Contains(allowed, name) {
			return // named exactly by an administrator
		}
		c.forbid(path, fmt.Sprintf("secret %q is spelled like the SSH key of job %q (%s): a job may never use another job's SSH key, which opens that job's pods; remove it (the operator mounts this job's own key itself)", name, owner, maker))
		return
	}
	if secretAllowed(name, allowed) {
		return
	}
	c.forbid(path, fmt.Sprintf("secret %q is not one %s lets pods use (allowed: %s); put data that is not secret in a ConfigMap, or %s",
		name, c.policyName(), quoteList(allowed), c.ask("spec.allowedSecrets")))
}

// secretAllowed matches a secret name against names and "prefix*" patterns.
func secretAllowed(name string, allowed []string) bool {
	for _, a := range allowed {
		if prefix, ok := strings.CutSuffix(a, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if a == name {
			return true
		}
	}
	return false
}

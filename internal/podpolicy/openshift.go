package podpolicy

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// openShift checks what OpenShift's restricted-v2 SCC decides from the
// namespace's annotations: a fixed runAsUser must lie in the uid range, a
// fixed fsGroup in the supplemental groups, a fixed SELinux level must be
// the namespace's. Only at the restricted level: a baseline namespace on
// OpenShift runs its pods under another SCC (anyuid, granted to its
// service account), whose rules the namespace does not show.
func (c *checker) openShift(spec *corev1.PodSpec, path *field.Path, cs []container) {
	oc := c.env.OpenShift
	if oc == nil || c.p.Level() != LevelRestricted {
		return
	}
	pscPath := path.Child("securityContext")
	if psc := spec.SecurityContext; psc != nil {
		c.uid(pscPath.Child("runAsUser"), psc.RunAsUser)
		if g := psc.FSGroup; g != nil && len(oc.Groups) > 0 && !inRanges(*g, oc.Groups) {
			c.errs = append(c.errs, field.Invalid(pscPath.Child("fsGroup"), *g, fmt.Sprintf(
				"fsGroup %d is outside namespace %s's supplemental groups (%s), so OpenShift's restricted-v2 would refuse the pods; remove it (OpenShift assigns one) or pick one in the range",
				*g, c.env.Namespace, rangesString(oc.Groups))))
		}
		c.mcs(pscPath.Child("seLinuxOptions", "level"), psc.SELinuxOptions)
	}
	for _, ct := range cs {
		if sc := ct.c.SecurityContext; sc != nil {
			scPath := ct.path.Child("securityContext")
			c.uid(scPath.Child("runAsUser"), sc.RunAsUser)
			c.mcs(scPath.Child("seLinuxOptions", "level"), sc.SELinuxOptions)
		}
	}
}

func (c *checker) uid(path *field.Path, uid *int64) {
	rs := c.env.OpenShift.UIDs
	if uid == nil || *uid == 0 || len(rs) == 0 || inRanges(*uid, rs) {
		return // 0 is reported by the restricted level already
	}
	c.errs = append(c.errs, field.Invalid(path, *uid, fmt.Sprintf(
		"runAsUser %d is outside namespace %s's UID range (%s), so OpenShift's restricted-v2 would refuse the pods; remove runAsUser (OpenShift assigns a UID from the range; the image must work with any UID) or pick one in the range",
		*uid, c.env.Namespace, rangesString(rs))))
}

func (c *checker) mcs(path *field.Path, o *corev1.SELinuxOptions) {
	want := c.env.OpenShift.MCS
	if o == nil || o.Level == "" || want == "" || o.Level == want {
		return
	}
	c.errs = append(c.errs, field.Invalid(path, o.Level, fmt.Sprintf(
		"SELinux level %q is not namespace %s's (%q), so OpenShift's restricted-v2 would refuse the pods; remove it (OpenShift sets it)", o.Level, c.env.Namespace, want)))
}

package podpolicy

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// What the Pod Security Standards allow (Kubernetes "latest", v1.35).
var (
	// baselineCapabilities may be added at the baseline level.
	baselineCapabilities = []string{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
		"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
	// restrictedCapabilities may be added at the restricted level (and by
	// OpenShift's restricted-v2).
	restrictedCapabilities = []string{"NET_BIND_SERVICE"}
	safeSysctls            = []string{"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
		"net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
		"net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
	seLinuxTypes = []string{"container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)

// Pod template annotations that older Kubernetes versions read as
// security settings.
const (
	annotationAppArmorPrefix      = "container.apparmor.security.beta.kubernetes.io/"
	annotationSeccompPod          = "seccomp.security.alpha.kubernetes.io/pod"
	annotationSeccompContainerPfx = "container.seccomp.security.alpha.kubernetes.io/"
)

func (c *checker) annotations(ps *PodSet) {
	path := ps.Path.Child("metadata", "annotations")
	for _, k := range slices.Sorted(maps.Keys(ps.Template.Annotations)) {
		v := ps.Template.Annotations[k]
		switch {
		case strings.HasPrefix(k, annotationAppArmorPrefix):
			if v != "runtime/default" && !strings.HasPrefix(v, "localhost/") {
				c.forbid(path.Key(k), fmt.Sprintf("AppArmor profile %q would leave the container unconfined; use \"runtime/default\" (or remove the annotation)", v))
			}
		case k == annotationSeccompPod || strings.HasPrefix(k, annotationSeccompContainerPfx):
			if v == "unconfined" {
				c.forbid(path.Key(k), "seccomp profile \"unconfined\" turns system call filtering off; remove the annotation and set securityContext.seccompProfile.type: RuntimeDefault")
			}
		}
	}
}

func (c *checker) hostNamespaces(spec *corev1.PodSpec, path *field.Path, cs []container) {
	for _, h := range []struct {
		on   bool
		name string
		what string
	}{
		{spec.HostNetwork, "hostNetwork", "the node's network (its interfaces and every port on them)"},
		{spec.HostPID, "hostPID", "the node's processes"},
		{spec.HostIPC, "hostIPC", "the node's shared memory and IPC"},
	} {
		if h.on {
			c.forbid(path.Child(h.name), fmt.Sprintf("%s gives the pod %s and is never allowed; remove it (pods of one job reach each other through the job's headless Service)", h.name, h.what))
		}
	}
	for _, ct := range cs {
		for i, p := range ct.c.Ports {
			if p.HostPort != 0 {
				c.forbid(ct.path.Child("ports").Index(i).Child("hostPort"), fmt.Sprintf("hostPort %d opens a port on the node and is never allowed; remove it and use containerPort only", p.HostPort))
			}
		}
	}
}

// podSecurity checks the Pod Security Standards level of the policy.
func (c *checker) podSecurity(spec *corev1.PodSpec, path *field.Path, cs []container) {
	restricted := c.p.Level() == LevelRestricted
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	pscPath := path.Child("securityContext")
	if w := psc.WindowsOptions; w != nil && w.HostProcess != nil && *w.HostProcess {
		c.forbid(pscPath.Child("windowsOptions", "hostProcess"), "Windows host processes run on the node itself and are never allowed; remove it")
	}
	c.seLinux(pscPath.Child("seLinuxOptions"), psc.SELinuxOptions)
	c.seccomp(pscPath.Child("seccompProfile"), psc.SeccompProfile)
	c.appArmor(pscPath.Child("appArmorProfile"), psc.AppArmorProfile)
	for i, s := range psc.Sysctls {
		if !slices.Contains(safeSysctls, s.Name) {
			c.forbid(pscPath.Child("sysctls").Index(i).Child("name"), fmt.Sprintf("sysctl %q is not namespaced safely and could affect the node or other pods; allowed: %s", s.Name, quoteList(safeSysctls)))
		}
	}
	if restricted && psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		c.forbid(pscPath.Child("runAsUser"), "runAsUser 0 runs the pod as root, which the restricted Pod Security level forbids; remove it (the image's non-root user, or on OpenShift one from the namespace's range, is used) or set a non-zero UID")
	}

	var noNonRoot, noSeccomp []string
	for _, ct := range cs {
		sc := ct.c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		scPath := ct.path.Child("securityContext")
		if sc.Privileged != nil && *sc.Privileged {
			c.forbid(scPath.Child("privileged"), fmt.Sprintf("a privileged %s has every device and capability of the node and is never allowed; remove privileged", ct.kind))
		}
		if w := sc.WindowsOptions; w != nil && w.HostProcess != nil && *w.HostProcess {
			c.forbid(scPath.Child("windowsOptions", "hostProcess"), "Windows host processes run on the node itself and are never allowed; remove it")
		}
		if sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount {
			c.forbid(scPath.Child("procMount"), fmt.Sprintf("procMount %q unmasks the node's /proc; remove it (Default is allowed)", *sc.ProcMount))
		}
		c.probeHosts(ct)
		c.seLinux(scPath.Child("seLinuxOptions"), sc.SELinuxOptions)
		c.seccomp(scPath.Child("seccompProfile"), sc.SeccompProfile)
		c.appArmor(scPath.Child("appArmorProfile"), sc.AppArmorProfile)
		c.capabilities(scPath.Child("capabilities"), sc.Capabilities, ct.kind, restricted)
		if !restricted {
			continue
		}
		const msgEscalation = "the restricted Pod Security level forbids gaining privileges through setuid binaries; set allowPrivilegeEscalation: false"
		switch ape := sc.AllowPrivilegeEscalation; {
		case ape == nil:
			c.require(scPath.Child("allowPrivilegeEscalation"), msgEscalation)
		case *ape:
			c.errs = append(c.errs, field.Invalid(scPath.Child("allowPrivilegeEscalation"), true, "must be false: "+msgEscalation))
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			c.forbid(scPath.Child("runAsUser"), "runAsUser 0 runs the container as root, which the restricted Pod Security level forbids; remove it or set a non-zero UID")
		}
		switch {
		case sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot:
			c.errs = append(c.errs, field.Invalid(scPath.Child("runAsNonRoot"), false, "must be true (or unset with the pod's securityContext.runAsNonRoot: true): the restricted Pod Security level forbids running as root"))
		case sc.RunAsNonRoot == nil && (psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot):
			noNonRoot = append(noNonRoot, ct.c.Name)
		}
		if sc.SeccompProfile == nil && psc.SeccompProfile == nil {
			noSeccomp = append(noSeccomp, ct.c.Name)
		}
	}
	if len(noNonRoot) > 0 {
		if psc.RunAsNonRoot != nil && !*psc.RunAsNonRoot {
			c.errs = append(c.errs, field.Invalid(pscPath.Child("runAsNonRoot"), false, fmt.Sprintf("must be true: the restricted Pod Security level forbids running as root (containers %s do not set it themselves)", quoteList(noNonRoot))))
		} else {
			c.require(pscPath.Child("runAsNonRoot"), fmt.Sprintf("the restricted Pod Security level needs runAsNonRoot: true in the pod's securityContext or in every container's (missing for %s); the image must then run as a non-root user", quoteList(noNonRoot)))
		}
	}
	if len(noSeccomp) > 0 {
		c.require(pscPath.Child("seccompProfile", "type"), fmt.Sprintf("the restricted Pod Security level needs a seccomp profile in the pod's securityContext or in every container's (missing for %s); set seccompProfile.type: RuntimeDefault", quoteList(noSeccomp)))
	}
}

func (c *checker) capabilities(path *field.Path, caps *corev1.Capabilities, kind string, restricted bool) {
	allowed := baselineCapabilities
	level := "baseline"
	if restricted {
		allowed, level = restrictedCapabilities, "restricted"
	}
	if caps != nil {
		for i, a := range caps.Add {
			if !slices.Contains(allowed, string(a)) {
				c.forbid(path.Child("add").Index(i), fmt.Sprintf("capability %q is not allowed at the %s Pod Security level of %s; allowed to add: %s", a, level, c.policyName(), quoteList(allowed)))
			}
		}
	}
	if !restricted {
		return
	}
	if caps == nil || !slices.Contains(caps.Drop, "ALL") {
		c.require(path.Child("drop"), fmt.Sprintf("the restricted Pod Security level needs every %s to drop all capabilities: set capabilities.drop: [ALL] (and add back at most NET_BIND_SERVICE)", kind))
	}
}

func (c *checker) seLinux(path *field.Path, o *corev1.SELinuxOptions) {
	if o == nil {
		return
	}
	if o.Type != "" && !slices.Contains(seLinuxTypes, o.Type) {
		c.forbid(path.Child("type"), fmt.Sprintf("SELinux type %q is not a container type; allowed: %s (or leave it unset)", o.Type, quoteList(seLinuxTypes)))
	}
	if o.User != "" {
		c.forbid(path.Child("user"), "an SELinux user may not be set; remove it")
	}
	if o.Role != "" {
		c.forbid(path.Child("role"), "an SELinux role may not be set; remove it")
	}
}

func (c *checker) seccomp(path *field.Path, p *corev1.SeccompProfile) {
	if p == nil {
		return
	}
	switch p.Type {
	case corev1.SeccompProfileTypeRuntimeDefault:
	case corev1.SeccompProfileTypeLocalhost:
		name := ""
		if p.LocalhostProfile != nil {
			name = *p.LocalhostProfile
		}
		if !slices.Contains(c.p.Spec.SeccompLocalhostProfiles, name) {
			c.forbid(path.Child("localhostProfile"), fmt.Sprintf("node-local seccomp profile %q is not one %s allows (%s); use type RuntimeDefault, or %s",
				name, c.policyName(), quoteList(c.p.Spec.SeccompLocalhostProfiles), c.ask("spec.seccompLocalhostProfiles")))
		}
	default:
		c.forbid(path.Child("type"), fmt.Sprintf("seccomp profile type %q is not allowed: it turns system call filtering off; use RuntimeDefault", p.Type))
	}
}

func (c *checker) appArmor(path *field.Path, p *corev1.AppArmorProfile) {
	if p != nil && p.Type != corev1.AppArmorProfileTypeRuntimeDefault && p.Type != corev1.AppArmorProfileTypeLocalhost {
		c.forbid(path.Child("type"), fmt.Sprintf("AppArmor profile type %q would leave the container unconfined; use RuntimeDefault (or remove it)", p.Type))
	}
}

// probeHosts refuses probes and lifecycle hooks aimed at another host: the
// kubelet makes those requests from the node, to wherever they point.
func (c *checker) probeHosts(ct container) {
	check := func(path *field.Path, h *corev1.ProbeHandler) {
		if h == nil {
			return
		}
		if g := h.HTTPGet; g != nil && !localHost(g.Host) {
			c.forbid(path.Child("httpGet", "host"), fmt.Sprintf("host %q makes the kubelet send requests from the node to another host; remove it (the pod's own IP is used)", g.Host))
		}
		if t := h.TCPSocket; t != nil && !localHost(t.Host) {
			c.forbid(path.Child("tcpSocket", "host"), fmt.Sprintf("host %q makes the kubelet connect from the node to another host; remove it (the pod's own IP is used)", t.Host))
		}
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
	}{{"livenessProbe", ct.c.LivenessProbe}, {"readinessProbe", ct.c.ReadinessProbe}, {"startupProbe", ct.c.StartupProbe}} {
		if p.probe != nil {
			check(ct.path.Child(p.name), &p.probe.ProbeHandler)
		}
	}
	if l := ct.c.Lifecycle; l != nil {
		for _, h := range []struct {
			name string
			h    *corev1.LifecycleHandler
		}{{"postStart", l.PostStart}, {"preStop", l.PreStop}} {
			if h.h != nil {
				check(ct.path.Child("lifecycle", h.name), &corev1.ProbeHandler{HTTPGet: h.h.HTTPGet, TCPSocket: h.h.TCPSocket})
			}
		}
	}
}

func localHost(h string) bool { return h == "" || h == "127.0.0.1" || h == "::1" }

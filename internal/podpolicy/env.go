package podpolicy

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Annotations OpenShift puts on every namespace (project) for its security
// context constraints. restricted-v2 assigns a UID from the uid range,
// fsGroup from the supplemental groups and the SELinux level from mcs; a
// pod that fixes another value is refused by OpenShift when its pods are
// created — long after the job was accepted — so the policy refuses it
// up front.
const (
	AnnotationUIDRange           = "openshift.io/sa.scc.uid-range"
	AnnotationSupplementalGroups = "openshift.io/sa.scc.supplemental-groups"
	AnnotationMCS                = "openshift.io/sa.scc.mcs"
)

// Env is what the policy needs to know about where a job runs.
type Env struct {
	// Namespace is the job's namespace.
	Namespace string
	// OpenShift holds the namespace's SCC ranges; nil when the namespace
	// has none (not on OpenShift), and then fixed IDs are not checked.
	OpenShift *OpenShift
	// DefaultPriorityClass is the cluster's globalDefault PriorityClass,
	// which pods may name explicitly; "" when there is none.
	DefaultPriorityClass string
}

// OpenShift is a namespace's security context constraint ranges.
type OpenShift struct {
	UIDs   []IDRange
	Groups []IDRange
	// MCS is the SELinux level pods get ("s0:c26,c5"); "" when unset.
	MCS string
}

// IDRange is an inclusive range of user or group IDs.
type IDRange struct{ First, Last int64 }

func (r IDRange) String() string { return fmt.Sprintf("%d-%d", r.First, r.Last) }

func inRanges(id int64, rs []IDRange) bool {
	for _, r := range rs {
		if id >= r.First && id <= r.Last {
			return true
		}
	}
	return false
}

func rangesString(rs []IDRange) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// NewEnv reads what the policy needs from a namespace. Malformed OpenShift
// annotations are an error: the caller must refuse jobs rather than skip
// the check.
func NewEnv(ns *corev1.Namespace, defaultPriorityClass string) (Env, error) {
	env := Env{Namespace: ns.Name, DefaultPriorityClass: defaultPriorityClass}
	a := ns.Annotations
	uids, hasUIDs := a[AnnotationUIDRange]
	groups, hasGroups := a[AnnotationSupplementalGroups]
	mcs, hasMCS := a[AnnotationMCS]
	if !hasUIDs && !hasGroups && !hasMCS {
		return env, nil
	}
	oc := &OpenShift{MCS: strings.TrimSpace(mcs)}
	var err error
	if hasUIDs {
		if oc.UIDs, err = parseBlocks(uids); err != nil {
			return env, fmt.Errorf("namespace %s: annotation %s=%q: %w", ns.Name, AnnotationUIDRange, uids, err)
		}
	}
	if hasGroups {
		if oc.Groups, err = parseBlocks(groups); err != nil {
			return env, fmt.Errorf("namespace %s: annotation %s=%q: %w", ns.Name, AnnotationSupplementalGroups, groups, err)
		}
	} else {
		// OpenShift falls back to the uid range for groups.
		oc.Groups = oc.UIDs
	}
	env.OpenShift = oc
	return env, nil
}

// parseBlocks parses OpenShift's ID blocks: "start/size" or "start-end",
// comma-separated.
func parseBlocks(s string) ([]IDRange, error) {
	var out []IDRange
	for _, b := range strings.Split(s, ",") {
		b = strings.TrimSpace(b)
		var r IDRange
		if first, size, ok := strings.Cut(b, "/"); ok {
			f, err1 := strconv.ParseInt(first, 10, 64)
			n, err2 := strconv.ParseInt(size, 10, 64)
			if err1 != nil || err2 != nil || f < 0 || n < 1 {
				return nil, fmt.Errorf("block %q is not start/size with whole numbers and size >= 1", b)
			}
			r = IDRange{f, f + n - 1}
		} else if first, last, ok := strings.Cut(b, "-"); ok {
			f, err1 := strconv.ParseInt(first, 10, 64)
			l, err2 := strconv.ParseInt(last, 10, 64)
			if err1 != nil || err2 != nil || f < 0 || l < f {
				return nil, fmt.Errorf("block %q is not start-end with whole numbers and end >= start", b)
			}
			r = IDRange{f, l}
		} else {
			return nil, fmt.Errorf("block %q is neither start/size nor start-end", b)
		}
		out = append(out, r)
	}
	return out, nil
}

package podpolicy

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// How closely a policy selects a namespace; the closest wins.
const (
	matchNone   = iota
	matchAll    // namespaceSelector: {}
	matchLabels // a non-empty namespaceSelector matches the namespace's labels
	matchName   // spec.namespaces names it
)

func (p *Policy) match(namespace string, nsLabels labels.Set) int {
	if slices.Contains(p.Spec.Namespaces, namespace) {
		return matchName
	}
	if p.selector == nil {
		return matchNone
	}
	if p.selector.Empty() {
		return matchAll
	}
	if p.selector.Matches(nsLabels) {
		return matchLabels
	}
	return matchNone
}

// Select returns the policy of a namespace: the TrainingPolicy that names
// it in spec.namespaces; else the one whose non-empty namespaceSelector
// matches its labels; else the one with namespaceSelector {}; else
// [Default]. Policies are not merged: the chosen one applies whole, so an
// administrator reads one object to know a namespace's rules.
//
// Select fails closed — the caller refuses the job, with this error for
// the administrators — when two policies select the namespace equally
// closely, when the chosen policy has problems, and when a policy's
// namespace selection itself could not be read (it might be meant for
// this namespace).
func Select(policies []*Policy, namespace string, nsLabels map[string]string) (*Policy, error) {
	set := labels.Set(nsLabels)
	best, level := []*Policy(nil), matchNone
	for _, p := range policies {
		if p == nil {
			continue
		}
		if p.selector == nil && p.Spec.NamespaceSelector != nil {
			return nil, fmt.Errorf("TrainingPolicy %q cannot be read (%s), and it might select namespace %s: jobs there are refused until a platform administrator fixes it", p.Name, errorsText(p.errs), namespace)
		}
		switch m := p.match(namespace, set); {
		case m == matchNone || m < level:
		case m > level:
			best, level = []*Policy{p}, m
		default:
			best = append(best, p)
		}
	}
	switch {
	case len(best) == 0:
		return Default(), nil
	case len(best) > 1:
		names := make([]string, len(best))
		for i, p := range best {
			names[i] = fmt.Sprintf("%q", p.Name)
		}
		slices.Sort(names)
		how := map[int]string{matchName: "name it in spec.namespaces", matchLabels: "select its labels", matchAll: "select every namespace"}[level]
		return nil, fmt.Errorf("TrainingPolicies %s all %s, so the policy of namespace %s is ambiguous: jobs there are refused until a platform administrator leaves one", strings.Join(names, ", "), how, namespace)
	}
	p := best[0]
	if len(p.errs) > 0 {
		return nil, fmt.Errorf("TrainingPolicy %q of namespace %s has problems (%s): jobs there are refused until a platform administrator fixes it", p.Name, namespace, errorsText(p.errs))
	}
	return p, nil
}

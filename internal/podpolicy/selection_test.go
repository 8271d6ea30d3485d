package podpolicy

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func mustParse(t *testing.T, name, spec string) *Policy {
	t.Helper()
	p, errs := Parse([]byte(fmt.Sprintf("apiVersion: training.opendatahub.io/v1alpha1\nkind: TrainingPolicy\nmetadata: {name: %s}\nspec: %s", name, spec)))
	if p == nil {
		t.Fatalf("policy %s: %v", name, errs)
	}
	return p
}

func TestSelect(t *testing.T) {
	all := mustParse(t, "all", "{namespaceSelector: {}}")
	gold := mustParse(t, "gold", "{namespaceSelector: {matchLabels: {tier: gold}}}")
	gold2 := mustParse(t, "gold2", "{namespaceSelector: {matchExpressions: [{key: tier, operator: In, values: [gold, silver]}]}}")
	teamA := mustParse(t, "team-a", "{namespaces: [team-a, team-c]}")
	teamA2 := mustParse(t, "team-a-too", "{namespaces: [team-a]}")
	broken := mustParse(t, "broken", "{namespaces: [team-b], podSecurity: strict}")
	badSelector := mustParse(t, "bad-selector", "{namespaceSelector: {matchExpressions: [{key: tier, operator: Near}]}}")
	for _, tc := range []struct {
		name     string
		policies []*Policy
		ns       string
		labels   map[string]string
		want     string // policy name, "" for the default
		err      string
	}{
		{name: "none: the default", ns: "team-a", want: ""},
		{name: "nothing selects it", policies: []*Policy{gold, teamA}, ns: "team-x", want: ""},
		{name: "catch-all", policies: []*Policy{all, gold}, ns: "team-x", want: "all"},
		{name: "labels beat catch-all", policies: []*Policy{all, gold}, ns: "team-x", labels: map[string]string{"tier": "gold"}, want: "gold"},
		{name: "name beats labels", policies: []*Policy{all, gold, teamA}, ns: "team-a", labels: map[string]string{"tier": "gold"}, want: "team-a"},
		{name: "two by name", policies: []*Policy{teamA, teamA2}, ns: "team-a", err: `TrainingPolicies "team-a", "team-a-too" all name it in spec.namespaces, so the policy of namespace team-a is ambiguous`},
		{name: "two by label", policies: []*Policy{gold2, gold}, ns: "x", labels: map[string]string{"tier": "gold"}, err: `"gold", "gold2" all select its labels`},
		{name: "a closer policy settles a tie further away", policies: []*Policy{gold2, gold, teamA}, ns: "team-c", labels: map[string]string{"tier": "gold"}, want: "team-a"},
		{name: "a broken policy refuses its namespaces", policies: []*Policy{all, broken}, ns: "team-b", err: `TrainingPolicy "broken" of namespace team-b has problems (spec.podSecurity: Unsupported value: "strict"`},
		{name: "but not others", policies: []*Policy{all, broken}, ns: "team-a", want: "all"},
		{name: "an unreadable selector refuses everywhere", policies: []*Policy{teamA, badSelector}, ns: "team-a", err: `TrainingPolicy "bad-selector" cannot be read`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Select(tc.policies, tc.ns, tc.labels)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tc.want {
				t.Errorf("policy %q, want %q", p.Name, tc.want)
			}
		})
	}
}

func TestNewEnv(t *testing.T) {
	ns := func(a map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "p", Annotations: a}}
	}
	for _, tc := range []struct {
		name   string
		ann    map[string]string
		uids   string
		groups string
		err    string
	}{
		{name: "not OpenShift"},
		{name: "uid range only: groups follow", ann: map[string]string{AnnotationUIDRange: "1000/10"}, uids: "1000-1009", groups: "1000-1009"},
		{name: "all three", ann: map[string]string{AnnotationUIDRange: "1000/10", AnnotationSupplementalGroups: "2000/5,3000-3001", AnnotationMCS: "s0:c1,c2"}, uids: "1000-1009", groups: "2000-2004, 3000-3001"},
		{name: "bad range", ann: map[string]string{AnnotationUIDRange: "lots"}, err: `annotation openshift.io/sa.scc.uid-range="lots": block "lots" is neither start/size nor start-end`},
		{name: "empty size", ann: map[string]string{AnnotationSupplementalGroups: "1000/0"}, err: "size >= 1"},
		{name: "backwards", ann: map[string]string{AnnotationSupplementalGroups: "10-1"}, err: "end >= start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := NewEnv(ns(tc.ann), "normal")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if env.Namespace != "p" || env.DefaultPriorityClass != "normal" {
				t.Errorf("env %+v", env)
			}
			if tc.ann == nil {
				if env.OpenShift != nil {
					t.Errorf("OpenShift %+v off OpenShift", env.OpenShift)
				}
				return
			}
			if got := rangesString(env.OpenShift.UIDs); got != tc.uids {
				t.Errorf("uids %q, want %q", got, tc.uids)
			}
			if got := rangesString(env.OpenShift.Groups); got != tc.groups {
				t.Errorf("groups %q, want %q", got, tc.groups)
			}
		})
	}
}

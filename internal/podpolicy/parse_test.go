package podpolicy

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestParse(t *testing.T) {
	const head = "apiVersion: training.opendatahub.io/v1alpha1\nkind: TrainingPolicy\nmetadata: {name: team-a}\n"
	for _, tc := range []struct {
		name string
		doc  string
		want []string // "Type path"
		msg  []string
		nil  bool // no policy at all
	}{
		{name: "minimal", doc: head + "spec: {namespaces: [team-a]}"},
		{name: "everything", doc: head + `spec:
  namespaces: [team-a, team-b]
  namespaceSelector: {matchExpressions: [{key: tier, operator: In, values: [gold]}]}
  podSecurity: baseline
  seccompLocalhostProfiles: [profiles/mpi.json]
  allowedSecrets: [s3, "data-*", "*"]
  allowedServiceAccounts: [runner]
  allowedPriorityClasses: [high]
  allowedTolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}, {operator: Exists}, {key: pool, value: a}]
  maxPerJob: {nvidia.com/gpu: 8, cpu: "64", memory: 1Ti}
`},
		{name: "JSON works too", doc: `{"apiVersion":"training.opendatahub.io/v1alpha1","kind":"TrainingPolicy","metadata":{"name":"j"},"spec":{"namespaceSelector":{}}}`},
		{name: "no selection", doc: head + "spec: {podSecurity: restricted}", want: []string{"Required spec.namespaces"}, msg: []string{"{} selects every namespace"}},
		{name: "misspelt fields", doc: head + "spec: {namespaces: [a], allowedSecret: [x], allowedTolerations: [{key: k, operator: Exists, tolerationSeconds: 5}]}",
			want: []string{"Forbidden spec.allowedSecret", "Forbidden spec.allowedTolerations[0].tolerationSeconds"}, msg: []string{"check its spelling"}},
		{name: "wrong kind and version", doc: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nspec: {namespaces: [a]}",
			want: []string{"Unsupported apiVersion", "Unsupported kind"}},
		{name: "no name", doc: "apiVersion: training.opendatahub.io/v1alpha1\nkind: TrainingPolicy\nspec: {namespaces: [a]}", want: []string{"Required metadata.name"}, nil: true},
		{name: "not YAML", doc: "spec: [", want: []string{"Invalid document"}, msg: []string{"not YAML or JSON"}, nil: true},
		{name: "wrong types", doc: head + "spec: {namespaces: team-a}", want: []string{"Invalid spec.namespaces"}, msg: []string{"must be []string"}, nil: true},
		{name: "privileged level", doc: head + "spec: {namespaces: [a], podSecurity: privileged}", want: []string{"Forbidden spec.podSecurity"}, msg: []string{"take over nodes"}},
		{name: "unknown level", doc: head + "spec: {namespaces: [a], podSecurity: strict}", want: []string{"Unsupported spec.podSecurity"}},
		{name: "bad names", doc: head + `spec:
  namespaces: [Team_A, a, a]
  namespaceSelector: {matchExpressions: [{key: tier, operator: Near}]}
  seccompLocalhostProfiles: [/etc/x.json, ../x.json, ""]
  allowedSecrets: ["a*b*", "UPPER", "ok-*"]
  allowedServiceAccounts: [Bad!]
  allowedPriorityClasses: [fine, "no spaces"]
  allowedTolerations: [{key: k, operator: Exists, value: v}, {value: v}, {key: k, operator: Near}, {key: k, effect: Never}, {key: "bad key!"}]
  maxPerJob: {cpu: "-1", "bad name!": 1}
`, want: []string{
			"Invalid spec.namespaces[0]", "Duplicate spec.namespaces[2]", "Invalid spec.namespaceSelector",
			"Invalid spec.seccompLocalhostProfiles[0]", "Invalid spec.seccompLocalhostProfiles[1]", "Invalid spec.seccompLocalhostProfiles[2]",
			"Invalid spec.allowedSecrets[0]", "Invalid spec.allowedSecrets[1]",
			"Invalid spec.allowedServiceAccounts[0]", "Invalid spec.allowedPriorityClasses[1]",
			"Invalid spec.allowedTolerations[0].value", "Invalid spec.allowedTolerations[1].operator", "Unsupported spec.allowedTolerations[2].operator",
			"Unsupported spec.allowedTolerations[3].effect", "Invalid spec.allowedTolerations[4].key",
			"Invalid spec.maxPerJob[bad name!]", "Invalid spec.maxPerJob[cpu]",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, errs := Parse([]byte(tc.doc))
			if diff := cmp.Diff(tc.want, summary(errs)); diff != "" {
				t.Errorf("errors (-want +got):\n%s\nall: %v", diff, errs)
			}
			if (p == nil) != tc.nil {
				t.Errorf("policy = %v, want nil: %v", p, tc.nil)
			}
			if p != nil && len(p.Errors()) != len(errs) {
				t.Errorf("the policy keeps %d problems, Parse returned %d", len(p.Errors()), len(errs))
			}
			for _, m := range tc.msg {
				if !strings.Contains(errs.ToAggregate().Error(), m) {
					t.Errorf("errors lack %q: %v", m, errs)
				}
			}
		})
	}
}

func TestParseKeepsValues(t *testing.T) {
	p, errs := Parse([]byte(`apiVersion: training.opendatahub.io/v1alpha1
kind: TrainingPolicy
metadata: {name: gpu}
spec:
  namespaces: [team-a]
  allowedTolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
  maxPerJob: {nvidia.com/gpu: 8, memory: 1Ti}
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := TrainingPolicySpec{
		Namespaces:         []string{"team-a"},
		AllowedTolerations: []Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
		MaxPerJob:          corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("8"), "memory": resource.MustParse("1Ti")},
	}
	if diff := cmp.Diff(want, p.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if p.Name != "gpu" || p.Level() != LevelRestricted {
		t.Errorf("name %q level %q", p.Name, p.Level())
	}
}

// The shipped examples parse without a problem.
func TestExamplesParse(t *testing.T) {
	data, err := os.ReadFile("../../deploy/policy/examples/team-a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(data), "\n---\n")
	if len(docs) < 3 {
		t.Fatalf("%d documents", len(docs))
	}
	for i, d := range docs {
		p, errs := Parse([]byte(d))
		if len(errs) > 0 || p == nil {
			t.Errorf("document %d: %v", i, errs)
		}
	}
}

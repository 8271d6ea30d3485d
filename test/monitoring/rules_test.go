// Package monitoring tests deploy/monitoring against Prometheus's own
// tools: every alert of the PrometheusRule is unit-tested with
// `promtool test rules` (Debian's prometheus package; make deps-test
// installs it).
package monitoring

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const dir = "../../deploy/monitoring"

// TestPrometheusRules runs deploy/monitoring/rules_test.yaml against the
// rule groups of prometheusrule.yaml, and checks that every alert has a
// test.
func TestPrometheusRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (make deps-test installs Debian's prometheus)")
	}
	data, err := os.ReadFile(filepath.Join(dir, "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var pr struct {
		Kind string `json:"kind"`
		Spec struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Alert string `json:"alert"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &pr); err != nil || pr.Kind != "PrometheusRule" {
		t.Fatalf("prometheusrule.yaml: kind %q, %v", pr.Kind, err)
	}
	var raw struct {
		Spec map[string]any `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	rules, err := yaml.Marshal(raw.Spec) // {groups: [...]}, promtool's rule file
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmp, "rules.yaml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(filepath.Join(dir, "rules_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && !strings.Contains(string(tests), "alertname: "+r.Alert+"\n") {
				t.Errorf("alert %s (group %s) has no test in rules_test.yaml", r.Alert, g.Name)
			}
		}
	}
	testFile := filepath.Join(tmp, "rules_test.yaml")
	if err := os.WriteFile(testFile, []byte(strings.Replace(string(tests), "  - RULES\n", "  - rules.yaml\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "rules", filepath.Join(tmp, "rules.yaml"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	cmd = exec.Command(promtool, "test", "rules", testFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// TestDashboardQueriesParse checks that every query of the Grafana
// dashboard is valid PromQL (promtool parses each as a recording rule,
// with the dashboard's $namespace variable set to match everything).
func TestDashboardQueriesParse(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (make deps-test installs Debian's prometheus)")
	}
	data, err := os.ReadFile(filepath.Join(dir, "odh-training-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := yaml.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rule
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			rules = append(rules, rule{Record: "panel:query", Expr: strings.ReplaceAll(q.Expr, "$namespace", ".*")})
		}
	}
	out, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dashboard.yaml")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules (the dashboard's queries): %v\n%s", err, out)
	}
}

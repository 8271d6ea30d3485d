package printers

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// MaxLabelColumns bounds -L: more columns than this make no readable table
// (a label list pasted by mistake, a script gone wrong).
const MaxLabelColumns = 32

// ParseLabelColumns checks -L's keys (each flag may list several, separated
// by commas, as kubectl's does) and returns them in order, without repeats.
func ParseLabelColumns(values []string) ([]string, error) {
	var keys []string
	seen := map[string]bool{}
	for _, v := range values {
		for _, k := range strings.Split(v, ",") {
			k = strings.TrimSpace(k)
			if k == "" {
				return nil, fmt.Errorf("-L %q: a label key is empty; give keys separated by commas, e.g. -L team,app.kubernetes.io/name", v)
			}
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				return nil, fmt.Errorf("-L %q: %q is not a label key: %s", v, k, strings.Join(errs, "; "))
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if len(keys) > MaxLabelColumns {
		return nil, fmt.Errorf("-L: %d label columns asked for, at most %d fit a table; use --show-labels or -o json for all of a job's labels", len(keys), MaxLabelColumns)
	}
	return keys, nil
}

// LabelHeaders are the -L columns' headers: a key's name without its prefix,
// in capitals (app.kubernetes.io/name → NAME), as kubectl prints them.
func LabelHeaders(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = strings.ToUpper(k[strings.LastIndex(k, "/")+1:])
	}
	return out
}

// LabelsCell is the LABELS column: key=value pairs sorted by key, or
// <none>.
func LabelsCell(labels map[string]string) string {
	if len(labels) == 0 {
		return "<none>"
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + labels[k]
	}
	return strings.Join(keys, ",")
}

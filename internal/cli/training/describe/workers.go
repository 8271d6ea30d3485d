package describe

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/job"
)

// Workers says which rows of the per-worker table describe prints. A job
// with a thousand workers gets summaries by state and by node, and only the
// workers worth a look, unless asked for more.
type Workers struct {
	// Select is "auto" (every worker of a small job; of a large one, those
	// in trouble), "all", "none", or a comma-separated list of states
	// (running, pending, failed, succeeded, …) and the keywords not-ready
	// and restarted.
	Select string
	// Node keeps only the workers on this node.
	Node string
	// Limit caps the rows (0 = no cap).
	Limit int
}

// smallJob is the most workers printed one per row without being asked.
const smallJob = 50

// DefaultLimit is --limit's default.
const DefaultLimit = 50

// validSelect checks a --workers value.
func validSelect(sel string) error {
	switch sel {
	case "", "auto", "all", "none":
		return nil
	}
	for _, s := range strings.Split(sel, ",") {
		switch s = strings.ToLower(strings.TrimSpace(s)); s {
		case "pending", "running", "succeeded", "failed", "stopped", "unknown", "not-ready", "restarted", "problems":
		default:
			return fmt.Errorf("--workers: unknown selection %q; use auto, all, none or states (pending, running, succeeded, failed, stopped) and not-ready, restarted, problems, separated by commas", s)
		}
	}
	return nil
}

// inTrouble is a worker a reader of a large job wants to see: failed, not
// ready while it should be, restarted, or held back with a reason.
func inTrouble(r job.ReplicaStatus, phase job.Phase) bool {
	switch {
	case r.State == "Failed", r.Restarts > 0:
		return true
	case phase == job.PhaseRunning && r.State == "Running" && !r.Ready:
		return true
	case r.State == "Pending" && r.Reason != "":
		return true
	}
	return false
}

// matches reports whether a worker passes the selection.
func (v Workers) matches(r job.ReplicaStatus, phase job.Phase, total int) bool {
	if v.Node != "" && r.Node != v.Node {
		return false
	}
	switch v.Select {
	case "all":
		return true
	case "none":
		return false
	case "", "auto":
		return total <= smallJob || inTrouble(r, phase)
	}
	for _, s := range strings.Split(v.Select, ",") {
		switch s = strings.ToLower(strings.TrimSpace(s)); s {
		case "not-ready":
			if r.State == "Running" && !r.Ready {
				return true
			}
		case "restarted":
			if r.Restarts > 0 {
				return true
			}
		case "problems":
			if inTrouble(r, phase) {
				return true
			}
		default:
			if strings.EqualFold(r.State, s) {
				return true
			}
		}
	}
	return false
}

// printWorkers writes the summaries (for jobs beyond smallJob workers, or
// when asked for a node) and the selected rows.
func printWorkers(w io.Writer, ios *iostreams.IOStreams, st *job.Status, v Workers) {
	all := st.WorkerStatuses
	if len(all) == 0 {
		return
	}
	if len(all) > smallJob {
		printByState(w, all)
		printByNode(w, all)
	}
	var rows []job.ReplicaStatus
	for _, r := range all {
		if v.matches(r, st.Phase, len(all)) {
			rows = append(rows, r)
		}
	}
	matching := len(rows)
	if v.Limit > 0 && len(rows) > v.Limit {
		rows = rows[:v.Limit]
	}
	if v.Select == "none" {
		return
	}
	switch {
	case matching == 0 && len(all) > smallJob && (v.Select == "" || v.Select == "auto"):
		fmt.Fprintf(w, "  No worker needs attention (--workers=all lists all %d).\n", len(all))
		return
	case matching == 0:
		fmt.Fprintln(w, "  No worker matches the selection.")
		return
	case len(rows) < len(all):
		more := ""
		if len(rows) < matching {
			more = fmt.Sprintf(" (the first %d; --limit=0 for all)", len(rows))
		}
		what := "matching"
		if v.Select == "" || v.Select == "auto" {
			what = "needing attention"
		}
		fmt.Fprintf(w, "  %d of %d workers %s%s:\n", matching, len(all), what, more)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  WORKER\tSTATE\tREADY\tNODE\tRESTARTS\tEXIT\tRANKS\tREASON")
	for _, r := range rows {
		exit := "-"
		if r.ExitCode != nil {
			exit = fmt.Sprint(*r.ExitCode)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%t\t%s\t%d\t%s\t%s\t%s\n", r.Name, ios.Colorize(iostreams.PhaseColor(r.State), orDash(r.State)), r.Ready, orDash(r.Node), r.Restarts, exit, ranks(r.Ranks), orDash(r.Reason))
	}
	tw.Flush()
}

type count struct {
	key string
	n   int
}

// stateOrder puts the states a reader looks for first.
var stateOrder = map[string]int{"Failed": 0, "Pending": 1, "Running": 2, "Succeeded": 3, "Stopped": 4}

func printByState(w io.Writer, all []job.ReplicaStatus) {
	byState := map[string]int{}
	notReady := 0
	for _, r := range all {
		byState[orDash(r.State)]++
		if r.State == "Running" && !r.Ready {
			notReady++
		}
	}
	var cs []count
	for k, n := range byState {
		cs = append(cs, count{k, n})
	}
	slices.SortFunc(cs, func(a, b count) int {
		oa, ok := stateOrder[a.key]
		if !ok {
			oa = len(stateOrder)
		}
		ob, ok := stateOrder[b.key]
		if !ok {
			ob = len(stateOrder)
		}
		return cmp.Or(cmp.Compare(oa, ob), strings.Compare(a.key, b.key))
	})
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s %d", c.key, c.n)
	}
	line := strings.Join(parts, ", ")
	if notReady > 0 {
		line += fmt.Sprintf(" (%d of them not ready)", notReady)
	}
	fmt.Fprintf(w, "  By state: %s\n", line)
}

// maxNodes is how many nodes the by-node summary lists.
const maxNodes = 10

func printByNode(w io.Writer, all []job.ReplicaStatus) {
	type node struct {
		name                                string
		total, running, pending, failed, ok int
	}
	byNode := map[string]*node{}
	for _, r := range all {
		n := byNode[r.Node]
		if n == nil {
			n = &node{name: r.Node}
			if n.name == "" {
				n.name = "(no node yet)"
			}
			byNode[r.Node] = n
		}
		n.total++
		switch r.State {
		case "Running":
			n.running++
		case "Pending":
			n.pending++
		case "Failed":
			n.failed++
		case "Succeeded":
			n.ok++
		}
	}
	nodes := make([]*node, 0, len(byNode))
	for _, n := range byNode {
		nodes = append(nodes, n)
	}
	// Nodes with failures first, then the fullest.
	slices.SortFunc(nodes, func(a, b *node) int {
		return cmp.Or(cmp.Compare(b.failed, a.failed), cmp.Compare(b.total, a.total), strings.Compare(a.name, b.name))
	})
	fmt.Fprintf(w, "  By node (%d):\n", len(nodes))
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "    NODE\tWORKERS\tRUNNING\tPENDING\tSUCCEEDED\tFAILED")
	for i, n := range nodes {
		if i == maxNodes {
			rest := 0
			for _, m := range nodes[i:] {
				rest += m.total
			}
			fmt.Fprintf(tw, "    … %d more nodes\t%d\n", len(nodes)-i, rest)
			break
		}
		fmt.Fprintf(tw, "    %s\t%d\t%d\t%d\t%d\t%d\n", n.name, n.total, n.running, n.pending, n.ok, n.failed)
	}
	tw.Flush()
}

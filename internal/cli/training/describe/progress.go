package describe

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/odh-training/odh-training/internal/cli/printers"
	"github.com/odh-training/odh-training/internal/job"
)

// printProgress writes what the job's program last reported about its
// training (docs/user/progress.md); nothing before the first report.
func printProgress(w io.Writer, st job.Status, now time.Time) {
	p := st.Progress
	if p == nil {
		return
	}
	fmt.Fprintln(w, "Progress:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	kv := func(k, v string) { fmt.Fprintf(tw, "  %s:\t%s\n", k, v) }
	var at []string
	if p.Step != 0 || p.TotalSteps != 0 {
		at = append(at, "step "+ofTotal(strconv.Itoa(int(p.Step)), p.TotalSteps))
	}
	if p.Epoch != 0 || p.TotalEpochs != 0 {
		at = append(at, "epoch "+ofTotal(strconv.FormatFloat(p.Epoch, 'g', -1, 64), p.TotalEpochs))
	}
	done := "-"
	if f, ok := p.Fraction(); ok {
		done = strconv.FormatFloat(float64(int(f*1000))/10, 'f', -1, 64) + "%"
	}
	if len(at) > 0 {
		done += " (" + strings.Join(at, ", ") + ")"
	}
	kv("Done", done)
	if r := p.EstimatedRemainingSeconds; r != nil && st.Phase == job.PhaseRunning {
		kv("Time left", "about "+printers.HumanDuration(time.Duration(*r)*time.Second))
	}
	if len(p.Metrics) > 0 {
		ms := make([]string, len(p.Metrics))
		for i, m := range p.Metrics {
			ms[i] = m.Name + "=" + strconv.FormatFloat(m.Value, 'g', 6, 64)
		}
		kv("Metrics", strings.Join(ms, " "))
	}
	kv("Reported", ago(p.UpdateTime, now))
	tw.Flush()
}

func ofTotal(v string, total int32) string {
	if total > 0 {
		return v + "/" + strconv.Itoa(int(total))
	}
	return v
}

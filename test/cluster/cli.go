package cluster

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const usage = `usage: odh-cluster <command> [flags]

Commands:
  up      build what is missing, then start the control plane (or reuse a healthy one)
  down    stop every component and remove etcd data (--purge: all of .cluster/)
  status  show components, ports and nodes; exit 1 unless healthy
  env     print shell exports (KUBECONFIG=admin, per-identity kubeconfigs)
  build   build the pinned binaries into bin/cluster/ only
`

// Main runs the odh-cluster command and returns its exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	fs := flag.NewFlagSet("odh-cluster "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "debug logging")
	var err error
	switch args[0] {
	case "up":
		skip := fs.Bool("skip-build", false, "use the binaries in bin/cluster/ as they are")
		nodes := fs.Int("nodes", 0, "number of kwok nodes (default 4)")
		cpu := fs.String("node-cpu", "", "CPU capacity per node (default 16)")
		mem := fs.String("node-memory", "", "memory capacity per node (default 64Gi)")
		gpus := fs.String("node-gpus", "", "nvidia.com/gpu per node (default 4)")
		timeout := fs.Duration("timeout", 3*time.Minute, "how long each component may take to become healthy")
		gang := fs.String("gang-scheduling", os.Getenv(GangSchedulingEnv), "the MPI operator's gang scheduling: "+GangSchedulingNone+", "+CoschedulerName+" or "+GangSchedulingVolcano+" (default: keep the running harness's; $"+GangSchedulingEnv+")")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		start := time.Now()
		var c *Cluster
		c, err = Up(ctx, Options{
			Log: newLogger(stderr, *verbose), SkipBuild: *skip, StartTimeout: *timeout,
			Nodes:          NodeOptions{Count: *nodes, CPU: *cpu, Memory: *mem, GPUs: *gpus},
			GangScheduling: *gang,
		})
		if err == nil {
			fmt.Fprintf(stderr, "control plane ready in %s: %s\n", time.Since(start).Round(100*time.Millisecond), c.APIServerURL())
			printEnv(stdout, c)
		}
	case "down":
		purge := fs.Bool("purge", false, "also remove the PKI, kubeconfigs and logs")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		err = Down(ctx, DownOptions{Log: newLogger(stderr, *verbose), Purge: *purge})
	case "status":
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		err = status(ctx, stdout)
	case "env":
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		var c *Cluster
		c, err = Load()
		if err == nil {
			printEnv(stdout, c)
		}
	case "build":
		force := fs.Bool("force", false, "rebuild even if the stamps match")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		var l Layout
		if l, err = FindLayout(""); err == nil {
			err = Build(ctx, l, newLogger(stderr, *verbose), BuildOptions{Force: *force, Output: stderr})
		}
	default:
		fmt.Fprintf(stderr, "odh-cluster: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "odh-cluster %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// ErrNotRunning is returned by Load when no harness state exists.
var ErrNotRunning = errors.New("the control-plane harness is not running (make cluster-up)")

// Load returns the harness described by .cluster/state.json without checking
// or starting anything.
func Load() (*Cluster, error) {
	l, err := FindLayout("")
	if err != nil {
		return nil, err
	}
	st, err := loadState(l.StateFile())
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, ErrNotRunning
	}
	pki, err := EnsurePKI(l.PKIDir())
	if err != nil {
		return nil, err
	}
	return &Cluster{Layout: l, PKI: pki, State: st}, nil
}

func printEnv(w io.Writer, c *Cluster) {
	fmt.Fprintf(w, "export KUBECONFIG=%s\n", c.Kubeconfig(Admin))
	fmt.Fprintf(w, "export ODH_CLUSTER_APISERVER=%s\n", c.APIServerURL())
	for _, id := range Users() {
		fmt.Fprintf(w, "export ODH_CLUSTER_KUBECONFIG_%s=%s\n", strings.ToUpper(id), c.Kubeconfig(id))
	}
}

func status(ctx context.Context, w io.Writer) error {
	c, err := Load()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tPID\tPORT\tSTATE\tLOG")
	var problems []string
	for _, comp := range components() {
		p := c.State.Processes[comp.name]
		pid, state := "-", "not started"
		if p != nil {
			pid = itoa(p.PID)
			state = "exited"
			if processAlive(p) {
				state = "healthy"
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				if err := comp.check(c, cctx); err != nil {
					state = "unhealthy: " + err.Error()
				} else if !c.alive(comp.name) {
					state = "stale: its binary was rebuilt (make cluster-up restarts it)"
				}
				cancel()
			}
		}
		if state != "healthy" {
			problems = append(problems, comp.name+" "+state)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", comp.name, pid, comp.port(c.State.Ports), state, c.Layout.LogFile(comp.name))
	}
	tw.Flush()
	if len(problems) == 0 {
		cs, err := c.Clientset(Admin)
		if err != nil {
			return err
		}
		if err := nodesReady(ctx, cs, 1); err != nil {
			problems = append(problems, err.Error())
		} else if nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil {
			fmt.Fprintf(w, "nodes: %d\n", len(nodes.Items))
		}
	}
	fmt.Fprintf(w, "gang scheduling (mpi-operator): %s\n", c.State.gangScheduling())
	fmt.Fprintf(w, "apiserver: %s\nkubeconfigs: %s/{%s}.kubeconfig\n", c.APIServerURL(), c.Layout.StateDir(), strings.Join(Users(), ","))
	if len(problems) > 0 {
		return fmt.Errorf("not healthy: %s", strings.Join(problems, "; "))
	}
	return nil
}

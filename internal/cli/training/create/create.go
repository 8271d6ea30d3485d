// Package create implements `odh training create mpijob`.
package create

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sigs.k8s.io/yaml"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/cli/jobwait"
	"github.com/odh-training/odh-training/internal/cli/printers"
	"github.com/odh-training/odh-training/internal/job"
)

// Options are the create command's inputs.
type Options struct {
	IO        *iostreams.IOStreams
	Client    func() (*apiclient.Client, error)
	Namespace string
	Now       func() time.Time

	Filenames []string

	Name, GenerateName, Image string
	Workers, Slots, GPUs      int32
	CPU, Memory               string
	CPULimit, MemoryLimit     string
	LauncherCPU, LauncherMem  string
	MPI                       string
	Runtime                   string
	Env, Labels               []string
	Queue, PriorityClass      string
	ActiveDeadline            time.Duration
	BackoffLimit              int32
	TTLAfterFinished          time.Duration
	CleanPodPolicy            string
	WorkingDir                string
	Suspend                   bool
	Command                   []string

	DryRun   string
	Upstream bool
	Output   string
	Wait     bool
	Follow   bool
	Timeout  time.Duration

	changed func(string) bool
	format  printers.Format
}

// NewCmdCreate returns `create` with its `mpijob` subcommand. runF replaces
// the run function in tests.
func NewCmdCreate(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a training job",
	}
	cmd.AddCommand(newCmdMPIJob(f, runF))
	return cmd
}

func newCmdMPIJob(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Client: f.Client, Now: f.Now}
	cmd := &cobra.Command{
		Use:     "mpijob [NAME] (-f FILE | --image IMAGE --workers N ... -- COMMAND [ARGS...])",
		Aliases: []string{"mpijobs", "mj"},
		Short:   "Create an MPIJob from a file or from flags",
		Long: `Create an MPIJob from a file (our high-level format or an upstream
kubeflow.org/v2beta1 MPIJob manifest, YAML or JSON; several documents
separated by --- create several jobs) or from flags.

The command after -- is what every MPI rank runs. If it does not start with
mpirun/mpiexec, the platform wraps it with the launcher of the chosen MPI
implementation (mpirun -np <workers x slots> ...).`,
		Example: `  # Two workers, each running one rank of a Python program
  odh training create mpijob mnist --workers 2 -- python3 train.py --epochs 3

  # From a file, wait for the result and stream every rank's output
  odh training create mpijob -f examples/mpijob-mnist.yaml --follow

  # Validate an upstream manifest without creating anything
  odh training create mpijob -f pi.yaml --dry-run

  # Show the kubeflow.org/v2beta1 MPIJob a job becomes on a cluster
  odh training create mpijob mnist --image quay.io/acme/mnist:1 --workers 2 --dry-run --upstream -- python3 train.py

  # GPUs and resources per worker, on a cluster queue
  # Run it as a Kubeflow Trainer v2 TrainJob on the Open MPI 5 runtime
  odh training create mpijob mnist --image quay.io/acme/mnist:1 --workers 2 --runtime odh-openmpi5 -- python3 train.py

  odh training create mpijob resnet --image quay.io/acme/hvd:1 --workers 4 --gpus 2 \
      --cpu 8 --memory 32Gi --queue team-a -- python /train.py`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				opts.Command = args[dash:]
				args = args[:dash]
			}
			if len(args) > 1 {
				return cmdutil.Usagef("expected at most one NAME before --, got %d: %s", len(args), strings.Join(args, " "))
			}
			if len(args) == 1 {
				if opts.Name != "" && opts.Name != args[0] {
					return cmdutil.Usagef("the name is given twice (%q and --name %q)", args[0], opts.Name)
				}
				opts.Name = args[0]
			}
			opts.Namespace = f.NamespaceOr(opts.Namespace)
			opts.changed = cmd.Flags().Changed
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	cmdutil.NamespaceFlags(cmd, &opts.Namespace, nil)
	fl.StringSliceVarP(&opts.Filenames, "filename", "f", nil, "File with the job (YAML or JSON); - reads standard input")
	fl.StringVar(&opts.Name, "name", "", "Job name (or give it as the first argument)")
	fl.StringVar(&opts.GenerateName, "generate-name", "", "Prefix for a generated name, e.g. train-")
	fl.StringVar(&opts.Image, "image", "", "Container image (kubernetes engine; ignored by the local engine)")
	fl.Int32Var(&opts.Workers, "workers", 1, "Number of workers")
	fl.Int32Var(&opts.Slots, "slots-per-worker", 1, "MPI ranks per worker")
	fl.StringVar(&opts.CPU, "cpu", "", "CPU per worker, e.g. 4 or 500m")
	fl.StringVar(&opts.Memory, "memory", "", "Memory per worker, e.g. 16Gi")
	fl.Int32Var(&opts.GPUs, "gpus", 0, "GPUs per worker (whole GPUs)")
	fl.StringVar(&opts.CPULimit, "cpu-limit", "", "CPU limit per worker (default: the request)")
	fl.StringVar(&opts.MemoryLimit, "memory-limit", "", "Memory limit per worker (default: the request)")
	fl.StringVar(&opts.LauncherCPU, "launcher-cpu", "", "CPU for the launcher")
	fl.StringVar(&opts.LauncherMem, "launcher-memory", "", "Memory for the launcher")
	fl.StringVar(&opts.Runtime, "runtime", "", "Kubernetes engine: a Kubeflow Trainer v2 ClusterTrainingRuntime with an MPI policy (the job becomes a TrainJob, e.g. odh-openmpi5), or \"mpijob\" for the MPI operator; empty: the server's default (odh-server --backend)")
	fl.StringVar(&opts.MPI, "mpi-implementation", "OpenMPI", "MPI implementation: OpenMPI, Intel or MPICH")
	fl.StringArrayVarP(&opts.Env, "env", "e", nil, "Environment variable KEY=VALUE for every rank (repeatable)")
	fl.StringArrayVarP(&opts.Labels, "label", "l", nil, "Label KEY=VALUE (repeatable)")
	fl.StringVar(&opts.Queue, "queue", "", "Queue (Kueue LocalQueue) to submit to")
	fl.StringVar(&opts.PriorityClass, "priority-class", "", "Priority: a Kubernetes PriorityClass (every pod) and/or Kueue WorkloadPriorityClass (queue order and preemption in --queue) of that name; odh training create refuses names that are neither and those your namespace's policy does not allow")
	fl.DurationVar(&opts.ActiveDeadline, "active-deadline", 0, "Fail the job if it runs longer than this, e.g. 2h")
	fl.Int32Var(&opts.BackoffLimit, "backoff-limit", 0, "Retries of the whole job after a failure")
	fl.DurationVar(&opts.TTLAfterFinished, "ttl-after-finished", 0, "Delete the job this long after it finishes, e.g. 24h")
	fl.StringVar(&opts.CleanPodPolicy, "clean-pod-policy", "", "Pods to delete when the job finishes: None, Running (default) or All")
	fl.StringVar(&opts.WorkingDir, "workdir", "", "Working directory of every rank (absolute path)")
	fl.BoolVar(&opts.Suspend, "suspend", false, "Create the job suspended (start it with odh training resume)")
	fl.StringVar(&opts.DryRun, "dry-run", "", "Validate only: \"server\" (default when given without a value) asks the server, \"client\" checks locally; nothing is created")
	fl.Lookup("dry-run").NoOptDefVal = "server"
	fl.BoolVar(&opts.Upstream, "upstream", false, "With --dry-run: print the object the job becomes on a cluster — a kubeflow.org/v2beta1 MPIJob, or a trainer.kubeflow.org/v1alpha1 TrainJob on a Trainer runtime — as the server renders it (YAML, or JSON with -o json)")
	fl.StringVarP(&opts.Output, "output", "o", "", "Print the created job: json, yaml, name, jsonpath=TEMPLATE, go-template=TEMPLATE or go-template-file=FILE")
	fl.BoolVarP(&opts.Wait, "wait", "w", false, "Wait until the job finishes; the exit code reflects the result")
	fl.BoolVarP(&opts.Follow, "follow", "F", false, "Stream every rank's output until the job finishes (implies --wait)")
	fl.DurationVar(&opts.Timeout, "timeout", 0, "With --wait/--follow: give up after this long (the job keeps running)")
	return cmd
}

var specFlags = []string{"name", "generate-name", "image", "workers", "slots-per-worker", "cpu", "memory", "gpus", "cpu-limit", "memory-limit", "launcher-cpu", "launcher-memory", "mpi-implementation", "runtime", "env", "label", "queue", "priority-class", "active-deadline", "backoff-limit", "ttl-after-finished", "clean-pod-policy", "workdir", "suspend"}

func (o *Options) validate() error {
	if len(o.Filenames) > 0 {
		var conflicting []string
		for _, f := range specFlags {
			if o.changed != nil && o.changed(f) {
				conflicting = append(conflicting, "--"+f)
			}
		}
		if len(conflicting) > 0 || len(o.Command) > 0 {
			return cmdutil.Usagef("-f cannot be combined with job flags (%s) or a command after --: put everything in the file", strings.Join(conflicting, ", "))
		}
	} else if len(o.Command) == 0 {
		return cmdutil.Usagef("give a job file with -f FILE, or the command to run after --, e.g.\n  odh training create mpijob mnist --workers 2 -- python3 train.py")
	}
	switch o.DryRun {
	case "", "client", "server":
	default:
		return cmdutil.Usagef("--dry-run must be \"client\" or \"server\", got %q", o.DryRun)
	}
	var err error
	if o.format, err = printers.ParseFormat(o.Output); err != nil {
		return cmdutil.Usagef("%v", err)
	}
	switch o.format.Kind {
	case "json", "yaml", "name", "jsonpath", "go-template":
	default:
		if o.Output != "" {
			return cmdutil.Usagef("-o must be json, yaml, name, jsonpath=, go-template= or go-template-file= for create, got %q", o.Output)
		}
	}
	if o.Upstream {
		switch {
		case o.DryRun == "":
			return cmdutil.Usagef("--upstream needs --dry-run: the server renders the manifest of a job it would create")
		case o.DryRun == "client":
			return cmdutil.Usagef("--upstream needs the server, which renders the manifest: use --dry-run (server) instead of --dry-run=client")
		case o.Output != "" && o.Output != "json" && o.Output != "yaml":
			return cmdutil.Usagef("--upstream prints YAML, or JSON with -o json; -o %s does not apply", o.format.Kind)
		}
	}
	if o.Follow {
		o.Wait = true
	}
	if o.Wait && o.DryRun != "" {
		return cmdutil.Usagef("--wait/--follow cannot be combined with --dry-run")
	}
	return nil
}

// JobFromFlags builds the job the flags describe (no defaults applied).
func (o *Options) JobFromFlags() (*job.MPIJob, error) {
	j := &job.MPIJob{APIVersion: job.APIVersion, Kind: job.Kind}
	j.Metadata = job.ObjectMeta{Name: o.Name, GenerateName: o.GenerateName, Namespace: o.Namespace}
	labels, err := keyValues("--label", o.Labels)
	if err != nil {
		return nil, err
	}
	if len(labels) > 0 {
		j.Metadata.Labels = map[string]string{}
		for _, kv := range labels {
			j.Metadata.Labels[kv[0]] = kv[1]
		}
	}
	env, err := keyValues("--env", o.Env)
	if err != nil {
		return nil, err
	}
	s := &j.Spec
	for _, kv := range env {
		s.Env = append(s.Env, job.EnvVar{Name: kv[0], Value: kv[1]})
	}
	s.Image = o.Image
	s.Command = o.Command
	s.WorkingDir = o.WorkingDir
	s.MPIImplementation = job.MPIImplementation(normalizeMPI(o.MPI))
	s.Runtime = o.Runtime
	s.Workers.Replicas = job.Ptr(o.Workers)
	s.Workers.SlotsPerWorker = job.Ptr(o.Slots)
	s.Workers.Resources = job.Resources{CPU: job.Quantity(o.CPU), Memory: job.Quantity(o.Memory), GPUs: o.GPUs, CPULimit: job.Quantity(o.CPULimit), MemoryLimit: job.Quantity(o.MemoryLimit)}
	s.Launcher.Resources = job.Resources{CPU: job.Quantity(o.LauncherCPU), Memory: job.Quantity(o.LauncherMem)}
	s.Scheduling = job.Scheduling{Queue: o.Queue, PriorityClass: o.PriorityClass}
	s.RunPolicy.CleanPodPolicy = job.CleanPodPolicy(o.CleanPodPolicy)
	s.RunPolicy.Suspend = o.Suspend
	if o.changed != nil && o.changed("backoff-limit") {
		s.RunPolicy.BackoffLimit = job.Ptr(o.BackoffLimit)
	}
	if o.ActiveDeadline > 0 {
		s.RunPolicy.ActiveDeadlineSeconds = job.Ptr(int32(o.ActiveDeadline.Round(time.Second) / time.Second))
	}
	if o.changed != nil && o.changed("ttl-after-finished") {
		s.RunPolicy.TTLSecondsAfterFinished = job.Ptr(int32(o.TTLAfterFinished.Round(time.Second) / time.Second))
	}
	return j, nil
}

// normalizeMPI accepts any capitalisation of the implementation names.
func normalizeMPI(s string) string {
	for _, m := range job.MPIImplementations {
		if strings.EqualFold(s, string(m)) {
			return string(m)
		}
	}
	return s
}

func keyValues(flag string, items []string) ([][2]string, error) {
	out := make([][2]string, 0, len(items))
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok || k == "" {
			return nil, cmdutil.Usagef("%s %q must be KEY=VALUE", flag, it)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

func readFiles(o *Options) ([][]byte, error) {
	var docs [][]byte
	for _, name := range o.Filenames {
		var data []byte
		var err error
		if name == "-" {
			data, err = io.ReadAll(o.IO.In)
		} else {
			data, err = os.ReadFile(name)
		}
		if err != nil {
			return nil, &job.Error{Kind: job.KindBadRequest, Message: fmt.Sprintf("cannot read %s: %v", name, err)}
		}
		split, err := job.SplitDocuments(data)
		if err != nil {
			var je *job.Error
			if errors.As(err, &je) {
				je.Message = name + ": " + je.Message
			}
			return nil, err
		}
		if len(split) == 0 {
			return nil, &job.Error{Kind: job.KindBadRequest, Message: fmt.Sprintf("%s holds no job document", name)}
		}
		docs = append(docs, split...)
	}
	return docs, nil
}

type request struct {
	label string
	req   apiclient.CreateRequest
	local *job.MPIJob
}

func buildRequests(o *Options) ([]request, error) {
	if len(o.Filenames) == 0 {
		j, err := o.JobFromFlags()
		if err != nil {
			return nil, err
		}
		return []request{{label: "flags", req: apiclient.CreateRequest{Namespace: o.Namespace, Job: j}, local: j}}, nil
	}
	docs, err := readFiles(o)
	if err != nil {
		return nil, err
	}
	out := make([]request, 0, len(docs))
	for i, d := range docs {
		label := fmt.Sprintf("document %d", i+1)
		r := request{label: label, req: apiclient.CreateRequest{Manifest: d}}
		if o.changed != nil && o.changed("namespace") {
			r.req.Namespace = o.Namespace
		}
		out = append(out, r)
	}
	return out, nil
}

// clientDryRun parses, defaults and validates locally.
func clientDryRun(r request) (*job.MPIJob, error) {
	if r.local != nil {
		j := *r.local
		return &j, job.Prepare(&j)
	}
	j, _, err := job.Parse(r.req.Manifest)
	if err != nil {
		return nil, err
	}
	if r.req.Namespace != "" {
		j.Metadata.Namespace = r.req.Namespace
	}
	return j, job.Prepare(j)
}

func run(ctx context.Context, o *Options) error {
	reqs, err := buildRequests(o)
	if err != nil {
		return err
	}
	var created []*job.MPIJob
	var client *apiclient.Client
	for i, r := range reqs {
		var j *job.MPIJob
		var warnings []string
		var manifest []byte
		switch o.DryRun {
		case "client":
			j, err = clientDryRun(r)
		default:
			if client == nil {
				if client, err = o.Client(); err != nil {
					return err
				}
			}
			if o.DryRun == "server" {
				var res *apiclient.DryRunResult
				if res, err = client.DryRun(ctx, r.req); err == nil {
					j, warnings, manifest = res.Job, res.Warnings, res.UpstreamManifest
				}
			} else {
				j, warnings, err = client.Create(ctx, r.req)
			}
		}
		if err != nil {
			if len(reqs) > 1 {
				var je *job.Error
				if errors.As(err, &je) {
					je.Message = r.label + ": " + je.Message
				}
			}
			return err
		}
		for _, w := range warnings {
			fmt.Fprintf(o.IO.ErrOut, "%s %s\n", o.IO.Colorize(iostreams.Yellow, "Warning:"), w)
		}
		if o.Upstream {
			err = printUpstream(o, j, manifest, i)
		} else {
			err = printCreated(o, j)
		}
		if err != nil {
			return err
		}
		created = append(created, j)
	}
	if o.DryRun != "" || !o.Wait {
		if o.DryRun == "" && o.IO.IsStdoutTTY() && o.Output == "" && len(created) == 1 {
			n, ns := created[0].Metadata.Name, created[0].Metadata.Namespace
			fmt.Fprintf(o.IO.ErrOut, "%s\n  odh training describe mpijob %s -n %s\n  odh training logs mpijob %s -n %s --all -f\n",
				o.IO.Colorize(iostreams.Gray, "Next steps:"), n, ns, n, ns)
		}
		return nil
	}
	return waitAll(ctx, o, client, created)
}

func printCreated(o *Options, j *job.MPIJob) error {
	if o.Output != "" {
		return printers.PrintJobs(o.IO.Out, []*job.MPIJob{j}, o.format, true, printers.Options{})
	}
	suffix := "created"
	if o.DryRun != "" {
		suffix = fmt.Sprintf("valid (dry run, %s): nothing was created", o.DryRun)
	}
	_, err := fmt.Fprintf(o.IO.Out, "mpijob/%s %s\n", j.Metadata.Name, suffix)
	return err
}

// printUpstream prints the kubeflow.org/v2beta1 MPIJob the server rendered
// for the i-th job of a dry run (YAML documents are separated by ---).
func printUpstream(o *Options, j *job.MPIJob, manifest []byte, i int) error {
	if len(manifest) == 0 {
		return &job.Error{
			Kind:    job.KindBadRequest,
			Message: fmt.Sprintf("the server rendered no kubeflow.org/v2beta1 MPIJob for mpijob/%s", j.Metadata.Name),
			Hint:    "A server with the local engine renders one only for jobs a cluster can run: give the job an image (spec.image, or --image).",
		}
	}
	if o.Output == "json" {
		data, err := yaml.YAMLToJSON(manifest)
		if err != nil {
			return fmt.Errorf("the server's manifest is not valid YAML: %w", err)
		}
		var out bytes.Buffer
		if err := json.Indent(&out, data, "", "  "); err != nil {
			return err
		}
		out.WriteByte('\n')
		_, err = o.IO.Out.Write(out.Bytes())
		return err
	}
	if i > 0 {
		if _, err := io.WriteString(o.IO.Out, "---\n"); err != nil {
			return err
		}
	}
	_, err := o.IO.Out.Write(manifest)
	return err
}

func waitAll(ctx context.Context, o *Options, c *apiclient.Client, jobs []*job.MPIJob) error {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	failed := 0
	for _, j := range jobs {
		final, err := WaitAndReport(ctx, o.IO, c, j, o.Follow, o.Now)
		if err != nil {
			return err
		}
		if final.Status.Phase != job.PhaseSucceeded {
			failed++
		}
	}
	if failed > 0 {
		return cmdutil.ErrSilent{Code: cmdutil.ExitJobFailed}
	}
	return nil
}

// WaitAndReport waits for one job (streaming its logs with follow) and
// prints the outcome. Interrupts and timeouts detach, leaving the job running.
func WaitAndReport(ctx context.Context, ios *iostreams.IOStreams, c *apiclient.Client, j *job.MPIJob, follow bool, now func() time.Time) (*job.MPIJob, error) {
	name, ns := j.Metadata.Name, j.Metadata.Namespace
	var final *job.MPIJob
	var err error
	if follow {
		lp := &jobwait.LogPrinter{W: ios.Out, IO: ios, Prefix: true}
		err = c.Logs(ctx, apiclient.LogRequest{Namespace: ns, Name: name, All: true, Follow: true}, lp.Print)
		if err == nil {
			final, err = jobwait.Wait(ctx, c, ns, name, jobwait.Options{IO: ios, Now: now})
		}
	} else {
		final, err = jobwait.Wait(ctx, c, ns, name, jobwait.Options{IO: ios, Progress: true, Now: now})
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, detached(ios, ctx, name, ns)
		}
		return nil, err
	}
	ReportOutcome(ios, final)
	return final, nil
}

func detached(ios *iostreams.IOStreams, ctx context.Context, name, ns string) error {
	why, code := "interrupted", cmdutil.ExitInterrupted
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		why, code = "timed out", cmdutil.ExitTimeout
	}
	fmt.Fprintf(ios.ErrOut, "\n%s: stopped waiting for mpijob/%s; the job keeps running.\n  Follow it with: odh training logs mpijob %s -n %s --all -f\n  Stop it with:   odh training delete mpijob %s -n %s\n", why, name, name, ns, name, ns)
	return cmdutil.ErrSilent{Code: code}
}

// ReportOutcome prints the final state of a job on stderr.
func ReportOutcome(ios *iostreams.IOStreams, j *job.MPIJob) {
	p := string(j.Status.Phase)
	line := fmt.Sprintf("mpijob/%s %s", j.Metadata.Name, ios.Colorize(iostreams.PhaseColor(p), p))
	if !j.Status.StartTime.IsZero() && !j.Status.CompletionTime.IsZero() {
		line += " in " + printers.HumanDuration(j.Status.CompletionTime.Sub(j.Status.StartTime))
	}
	if j.Status.Phase != job.PhaseSucceeded && j.Status.Reason != "" {
		line += fmt.Sprintf(" (%s)", j.Status.Reason)
	}
	fmt.Fprintln(ios.ErrOut, line)
	if j.Status.Phase == job.PhaseFailed && j.Status.Message != "" {
		fmt.Fprintf(ios.ErrOut, "  %s\n", j.Status.Message)
	}
}

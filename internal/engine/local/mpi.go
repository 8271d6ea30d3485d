package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/odh-training/odh-training/internal/job"
)

// flavour is the command-line dialect of a launcher.
type flavour int

const (
	flavourOpenMPI flavour = iota // Open MPI's mpirun (ORTE)
	flavourHydra                  // MPICH's and Intel MPI's Hydra mpiexec
)

// mpiInstall is an MPI implementation found on this machine.
type mpiInstall struct {
	impl    job.MPIImplementation
	path    string // absolute path of the launcher
	version string // e.g. "Open MPI 4.1.4"
	flavour flavour
}

// mpiDetector finds launchers. Successes are cached; failures are retried
// on every call so installing an MPI does not need a server restart.
type mpiDetector struct {
	overrides map[job.MPIImplementation]string
	mu        sync.Mutex
	found     map[job.MPIImplementation]*mpiInstall
}

var (
	reOpenMPIVersion = regexp.MustCompile(`(?:Open MPI|OpenRTE|Open RTE)\)?\s+v?([0-9][0-9A-Za-z.]*)`)
	reHydraVersion   = regexp.MustCompile(`Version:\s+(\S+)`)
	reIntelVersion   = regexp.MustCompile(`Intel\(R\) MPI Library[^\n]*?Version\s+(\S+)`)
)

func launcherVersion(path string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	return string(out)
}

func identify(path string) (*mpiInstall, bool) {
	out := launcherVersion(path)
	switch {
	case strings.Contains(out, "Intel(R) MPI"):
		v := "Intel MPI"
		if m := reIntelVersion.FindStringSubmatch(out); m != nil {
			v += " " + m[1]
		}
		return &mpiInstall{impl: job.Intel, path: path, version: v, flavour: flavourHydra}, true
	case reOpenMPIVersion.MatchString(out):
		m := reOpenMPIVersion.FindStringSubmatch(out)
		return &mpiInstall{impl: job.OpenMPI, path: path, version: "Open MPI " + m[1], flavour: flavourOpenMPI}, true
	case strings.Contains(out, "HYDRA"):
		v := "MPICH"
		if m := reHydraVersion.FindStringSubmatch(out); m != nil {
			v += " " + m[1]
		}
		return &mpiInstall{impl: job.MPICH, path: path, version: v, flavour: flavourHydra}, true
	}
	return nil, false
}

// candidates are the launcher names tried in order for each
// implementation; the generic names only count when their version output
// names the implementation (Debian's alternatives may point mpirun at
// either MPI).
var candidates = map[job.MPIImplementation][]string{
	job.OpenMPI: {"mpiexec.openmpi", "mpirun.openmpi", "mpiexec", "mpirun"},
	job.MPICH:   {"mpiexec.hydra", "mpiexec.mpich", "mpirun.mpich", "mpiexec", "mpirun"},
	job.Intel:   {"mpiexec", "mpirun", "mpiexec.hydra"},
}

func (d *mpiDetector) get(impl job.MPIImplementation) (*mpiInstall, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if in, ok := d.found[impl]; ok {
		return in, nil
	}
	in, err := d.detect(impl)
	if err != nil {
		return nil, err
	}
	if d.found == nil {
		d.found = map[job.MPIImplementation]*mpiInstall{}
	}
	d.found[impl] = in
	return in, nil
}

func (d *mpiDetector) detect(impl job.MPIImplementation) (*mpiInstall, error) {
	if p, ok := d.overrides[impl]; ok {
		path, err := exec.LookPath(p)
		if err != nil {
			return nil, notInstalled(impl, fmt.Sprintf("the configured launcher %q is not found", p))
		}
		in, ok := identify(path)
		if !ok {
			in = &mpiInstall{impl: impl, path: path, version: string(impl)}
			if impl != job.OpenMPI {
				in.flavour = flavourHydra
			}
		}
		in.impl = impl
		return in, nil
	}
	var dirs []string
	if impl == job.Intel {
		if root := os.Getenv("I_MPI_ROOT"); root != "" {
			dirs = append(dirs, filepath.Join(root, "bin"), filepath.Join(root, "intel64", "bin"))
		}
	}
	for _, dir := range dirs {
		for _, name := range []string{"mpiexec", "mpiexec.hydra", "mpirun"} {
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				in, ok := identify(p)
				if !ok || in.impl != job.Intel {
					in = &mpiInstall{impl: job.Intel, path: p, version: "Intel MPI", flavour: flavourHydra}
				}
				return in, nil
			}
		}
	}
	for _, name := range candidates[impl] {
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		in, ok := identify(path)
		if ok && in.impl == impl {
			return in, nil
		}
		if !ok && strings.Contains(name, ".") && impl != job.Intel {
			// An implementation-specific name whose version output we
			// could not read: trust the name.
			in = &mpiInstall{impl: impl, path: path, version: string(impl), flavour: flavourOpenMPI}
			if impl != job.OpenMPI {
				in.flavour = flavourHydra
			}
			return in, nil
		}
	}
	return nil, notInstalled(impl, "")
}

func notInstalled(impl job.MPIImplementation, detail string) *job.Error {
	var msg string
	switch impl {
	case job.OpenMPI:
		msg = "Open MPI is not installed on this machine: no mpiexec.openmpi, mpirun.openmpi or Open MPI mpirun/mpiexec on PATH. Install it (Debian/Ubuntu: apt-get install openmpi-bin; Fedora/RHEL: dnf install openmpi) or set mpiImplementation to MPICH"
	case job.MPICH:
		msg = "MPICH is not installed on this machine: no mpiexec.hydra, mpiexec.mpich or MPICH mpiexec on PATH. Install it (Debian/Ubuntu: apt-get install mpich; Fedora/RHEL: dnf install mpich) or set mpiImplementation to OpenMPI"
	case job.Intel:
		msg = "Intel MPI is not installed on this machine: I_MPI_ROOT is not set and no mpiexec on PATH is Intel MPI's. Install Intel oneAPI MPI (package intel-oneapi-mpi) and source its setvars.sh before starting odh-server, or set mpiImplementation to OpenMPI or MPICH"
	default:
		msg = fmt.Sprintf("MPI implementation %q is not supported by the local engine; use OpenMPI, MPICH or Intel", impl)
	}
	if detail != "" {
		msg = detail + ". " + msg
	}
	return &job.Error{
		Kind:    job.KindInvalid,
		Reason:  job.ReasonMPINotInstalled,
		Message: "the job cannot run on this machine:",
		Fields:  job.FieldErrors{{Field: "spec.mpiImplementation", Type: job.FieldInvalid, Value: string(impl), Message: msg}},
	}
}

// plan is how a job's command runs: prefix (launcher and its options),
// then, when wrapped, the rank wrapper, then the program.
type plan struct {
	prefix  []string
	program []string
	// wrapped is false when the user's mpirun command could not be parsed
	// safely; then ranks are told apart by the launcher's output tags.
	wrapped  bool
	flavour  flavour
	warnings []string
}

// argv returns the full command for one attempt.
func (p *plan) argv(self, attemptDir string) []string {
	out := append([]string(nil), p.prefix...)
	if p.wrapped {
		out = append(out, self, RankExecArg, "--dir", attemptDir, "--")
	}
	return append(out, p.program...)
}

var (
	openMPINames = map[string]bool{"mpirun.openmpi": true, "mpiexec.openmpi": true, "orterun": true, "orterun.openmpi": true}
	hydraNames   = map[string]bool{"mpirun.mpich": true, "mpiexec.mpich": true, "mpiexec.hydra": true, "mpirun.hydra": true}
	genericNames = map[string]bool{"mpirun": true, "mpiexec": true}
)

// isLauncher reports whether a command's first word is an MPI launcher.
func isLauncher(arg string) bool {
	b := filepath.Base(arg)
	return genericNames[b] || openMPINames[b] || hydraNames[b]
}

// Options of each launcher that take arguments, by name without leading
// dashes; 0 = a flag. An option not in the table makes the command
// unparseable (we cannot know whether it eats the next word).
var openMPIOptions = map[string]int{
	"np": 1, "n": 1, "c": 1, "H": 1, "host": 1, "hostfile": 1, "machinefile": 1, "default-hostfile": 1,
	"x": 1, "am": 1, "tune": 1, "map-by": 1, "rank-by": 1, "bind-to": 1, "npernode": 1, "N": 1,
	"npersocket": 1, "ppr": 1, "wdir": 1, "wd": 1, "path": 1, "prefix": 1, "preload-files": 1,
	"output-filename": 1, "cpu-set": 1, "cpu-list": 1, "rankfile": 1, "rf": 1, "timeout": 1, "stdin": 1,
	"report-uri": 1, "report-pid": 1, "personality": 1, "launch-agent": 1, "max-restarts": 1,
	"cpus-per-proc": 1, "cpus-per-rank": 1, "slot-list": 1, "tmpdir": 1, "ompi-server": 1,
	"mca": 2, "gmca": 2,
	"oversubscribe": 0, "nooversubscribe": 0, "allow-run-as-root": 0, "tag-output": 0, "timestamp-output": 0,
	"merge-stderr-to-stdout": 0, "display-map": 0, "display-allocation": 0, "display-devel-map": 0,
	"report-bindings": 0, "v": 0, "verbose": 0, "q": 0, "quiet": 0, "d": 0, "debug-devel": 0,
	"debug-daemons": 0, "noprefix": 0, "use-hwthread-cpus": 0, "nolocal": 0, "enable-recovery": 0,
	"disable-recovery": 0, "continuous": 0, "show-progress": 0, "leave-session-attached": 0,
	"bind-to-core": 0, "bind-to-socket": 0, "bynode": 0, "byslot": 0, "bycore": 0, "bysocket": 0,
	"use-regexp": 0, "hetero-nodes": 0, "s": 0, "preload-binary": 0,
}

var hydraOptions = map[string]int{
	"n": 1, "np": 1, "f": 1, "hostfile": 1, "machinefile": 1, "host": 1, "hosts": 1, "ppn": 1, "perhost": 1,
	"wdir": 1, "genvlist": 1, "envlist": 1, "launcher": 1, "launcher-exec": 1, "bootstrap": 1,
	"bootstrap-exec": 1, "rmk": 1, "demux": 1, "iface": 1, "bind-to": 1, "binding": 1, "map-by": 1,
	"membind": 1, "topolib": 1, "nameserver": 1, "prepend-pattern": 1, "outfile-pattern": 1,
	"errfile-pattern": 1, "gpus-per-proc": 1, "usize": 1, "localhost": 1, "ckpointlib": 1,
	"ckpoint-prefix": 1, "ckpoint-interval": 1, "ckpoint-num": 1, "genvexcl": 1,
	"genv": 2, "env": 2,
	"genvall": 0, "genvnone": 0, "envall": 0, "envnone": 0, "prepend-rank": 0, "l": 0, "verbose": 0,
	"v": 0, "info": 0, "enable-x": 0, "disable-x": 0, "print-all-exitcodes": 0, "disable-auto-cleanup": 0,
	"disable-hostname-propagation": 0, "enable-hostname-propagation": 0, "silent": 0, "rr": 0,
	"ordered-output": 0, "profile": 0, "order-nodes": 0, "pmi-port": 0, "skip-launch-node": 0,
}

// parsedLauncher is what parseLauncherCommand learnt.
type parsedLauncher struct {
	program  int    // index of the program's first word; -1 if unknown
	np       string // value of -np/-n/-c, "" if absent
	oversub  bool
	hostOpts bool
}

func parseLauncherCommand(cmd []string, fl flavour) parsedLauncher {
	table := openMPIOptions
	if fl == flavourHydra {
		table = hydraOptions
	}
	p := parsedLauncher{program: -1}
	for i := 1; i < len(cmd); i++ {
		a := cmd[i]
		if a == ":" {
			return parsedLauncher{program: -1} // MPMD: several programs
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			// ":" anywhere later means MPMD.
			for _, rest := range cmd[i:] {
				if rest == ":" {
					return parsedLauncher{program: -1}
				}
			}
			p.program = i
			return p
		}
		name := strings.TrimLeft(a, "-")
		value, hasValue := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, value, hasValue = k, v, true
		}
		arity, ok := table[name]
		if !ok {
			return parsedLauncher{program: -1}
		}
		if hasValue {
			arity--
		}
		if arity < 0 || i+arity >= len(cmd) {
			return parsedLauncher{program: -1}
		}
		if arity > 0 {
			value = cmd[i+1]
		}
		switch name {
		case "np", "n", "c":
			p.np = value
		case "oversubscribe":
			p.oversub = true
		case "H", "host", "hosts", "hostfile", "machinefile", "f", "default-hostfile", "rankfile", "rf":
			p.hostOpts = true
		}
		i += max(arity, 0)
	}
	return p
}

// makePlan decides how the job's command runs with the given MPI.
func makePlan(spec *job.Spec, in *mpiInstall, ncpu int) (*plan, error) {
	ranks := int(spec.Ranks())
	cmd := spec.Command
	p := &plan{flavour: in.flavour}
	npFlag := "-np"
	if in.flavour == flavourHydra {
		npFlag = "-n"
	}
	if !isLauncher(cmd[0]) {
		p.prefix = []string{in.path, npFlag, strconv.Itoa(ranks)}
		if in.flavour == flavourOpenMPI {
			if ranks > ncpu {
				p.prefix = append(p.prefix, "--oversubscribe")
			}
			// Several local jobs share the cores; let the kernel schedule
			// ranks instead of pinning every job's rank 0 to core 0.
			p.prefix = append(p.prefix, "--bind-to", "none")
		}
		p.program = append([]string(nil), cmd...)
		p.wrapped = true
		return p, nil
	}

	base := filepath.Base(cmd[0])
	switch {
	case openMPINames[base] && in.impl != job.OpenMPI,
		hydraNames[base] && in.impl == job.OpenMPI:
		which := "Open MPI"
		if hydraNames[base] {
			which = "MPICH/Intel MPI (Hydra)"
		}
		return nil, &job.Error{
			Kind:    job.KindInvalid,
			Message: "the job's command does not match its MPI implementation:",
			Fields: job.FieldErrors{{
				Field: "spec.command[0]", Type: job.FieldInvalid, Value: cmd[0],
				Message: fmt.Sprintf("%s is %s's launcher but spec.mpiImplementation is %s; start the command with mpirun (the engine picks the launcher of the implementation) or set mpiImplementation to match", base, which, in.impl),
			}},
		}
	}
	launcher := in.path
	if strings.Contains(cmd[0], "/") {
		launcher = cmd[0] // the user named a launcher explicitly
	}
	parsed := parseLauncherCommand(cmd, in.flavour)
	if parsed.program < 0 {
		// Unknown options: run the command as written and tell ranks
		// apart by the launcher's output tags.
		tag := "--tag-output"
		if in.flavour == flavourHydra {
			tag = "-prepend-rank"
		}
		p.prefix = append([]string{launcher, tag}, cmd[1:]...)
		p.warnings = append(p.warnings, fmt.Sprintf("the local engine cannot parse the options of %q, so it runs the command as written: per-rank exit codes are not available and ranks are told apart by %s", strings.Join(cmd, " "), tag))
		return p, nil
	}
	p.prefix = []string{launcher}
	if parsed.np == "" {
		p.prefix = append(p.prefix, npFlag, strconv.Itoa(ranks))
	} else if n, err := strconv.Atoi(parsed.np); err == nil && n != ranks {
		p.warnings = append(p.warnings, fmt.Sprintf("the command starts %d ranks but the job asks for %d (workers × slotsPerWorker); capacity and per-worker logs use %d", n, ranks, ranks))
	}
	if in.flavour == flavourOpenMPI && ranks > ncpu && !parsed.oversub && !parsed.hostOpts {
		p.prefix = append(p.prefix, "--oversubscribe")
	}
	p.prefix = append(p.prefix, cmd[1:parsed.program]...)
	p.program = append([]string(nil), cmd[parsed.program:]...)
	p.wrapped = true
	return p, nil
}

var (
	reOpenMPITag = regexp.MustCompile(`^\[\d+,(\d+)\]<(stdout|stderr)>:(.*)$`)
	reHydraTag   = regexp.MustCompile(`^\[(\d+)\] ?(.*)$`)
)

// untag splits a tagged launcher output line into rank, stream and text.
func untag(fl flavour, stream, line string) (rank int, outStream, text string, ok bool) {
	if fl == flavourOpenMPI {
		m := reOpenMPITag.FindStringSubmatch(line)
		if m == nil {
			return 0, "", "", false
		}
		r, _ := strconv.Atoi(m[1])
		return r, m[2], m[3], true
	}
	m := reHydraTag.FindStringSubmatch(line)
	if m == nil {
		return 0, "", "", false
	}
	r, _ := strconv.Atoi(m[1])
	return r, stream, m[2], true
}

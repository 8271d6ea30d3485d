package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Pinned versions. Changing one means changing the tool module's go.mod too
// (TestToolModulesPinVersions checks they agree).
const (
	KubernetesVersion       = "v1.35.4"
	KwokVersion             = "v0.7.0"
	MPIOperatorVersion      = "v0.8.2"
	KueueVersion            = "v0.17.0"
	JobSetVersion           = "v0.11.1"
	TrainerVersion          = "v2.2.0"
	SchedulerPluginsVersion = "v0.32.7"
	MetricsServerVersion    = "v0.8.0"
	VolcanoAPIsVersion      = "v1.12.1"
	ControllerToolsVersion  = "v0.17.3"
)

// toolBuild is one `go build` invocation in one tool module producing one or
// more binaries. Binaries built together share compilation.
type toolBuild struct {
	module   string   // directory below test/cluster/tools
	packages []string // import paths of the commands
	binaries []string // their installed names, in the order of packages
	ldflags  string
	// patchModule is a dependency built from a patched copy: patches maps a
	// file (path relative to the module root) to a function returning its
	// patched text. The copy is used through a generated -modfile with a
	// replace directive, so the committed tool module stays as it is.
	patchModule string
	patches     map[string]func(orig string) (string, error)
	// patchDirs are the patched module's directories to copy besides
	// cmd and pkg.
	patchDirs []string
	// generate, if set, runs after the build with the built binaries (and
	// again if outputs are missing): e.g. CRDs generated from Go types.
	generate func(ctx context.Context, l Layout, opts BuildOptions, dir string) error
	// outputs are files generate writes; missing ones mean a rebuild.
	outputs func(l Layout) []string
}

func kubeVersionLDFlags() string {
	var b strings.Builder
	b.WriteString("-s -w")
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		for _, kv := range [][2]string{
			{"gitVersion", KubernetesVersion},
			{"gitMajor", "1"},
			{"gitMinor", "35"},
			{"gitTreeState", "clean"},
		} {
			fmt.Fprintf(&b, " -X %s.%s=%s", pkg, kv[0], kv[1])
		}
	}
	return b.String()
}

func toolBuilds() []toolBuild {
	return []toolBuild{
		{
			module: "kubernetes",
			packages: []string{
				"k8s.io/kubernetes/cmd/kube-apiserver",
				"k8s.io/kubernetes/cmd/kube-controller-manager",
				"k8s.io/kubernetes/cmd/kube-scheduler",
				"k8s.io/kubernetes/cmd/kubectl",
			},
			binaries: []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"},
			ldflags:  kubeVersionLDFlags(),
		},
		{
			module:   "kwok",
			packages: []string{"sigs.k8s.io/kwok/cmd/kwok"},
			binaries: []string{"kwok"},
			ldflags:  "-s -w",
		},
		{
			module:      "mpi-operator",
			packages:    []string{"github.com/kubeflow/mpi-operator/cmd/mpi-operator"},
			binaries:    []string{"mpi-operator"},
			ldflags:     "-s -w",
			patchModule: "github.com/kubeflow/mpi-operator",
			patches: map[string]func(string) (string, error){
				"cmd/mpi-operator/app/server.go": patchOperatorHealthAddr,
			},
		},
		{
			module:      "kueue",
			packages:    []string{"sigs.k8s.io/kueue/cmd/kueue"},
			binaries:    []string{"kueue"},
			ldflags:     "-s -w -X sigs.k8s.io/kueue/pkg/version.GitVersion=" + KueueVersion,
			patchModule: "sigs.k8s.io/kueue",
			patchDirs:   []string{"apis", "client-go"},
			patches: map[string]func(string) (string, error){
				"cmd/kueue/main.go":        patchKueueMetricsCertDir,
				"pkg/visibility/server.go": patchKueueVisibilityCertDir,
			},
		},
		{
			module:   "jobset",
			packages: []string{"sigs.k8s.io/jobset"},
			binaries: []string{"jobset"},
			ldflags:  "-s -w -X sigs.k8s.io/jobset/pkg/version.GitVersion=" + JobSetVersion,
		},
		{
			module:   "trainer",
			packages: []string{"github.com/kubeflow/trainer/v2/cmd/trainer-controller-manager"},
			binaries: []string{"trainer-controller-manager"},
			ldflags:  "-s -w",
		},
		{
			module:   "scheduler-plugins",
			packages: []string{"sigs.k8s.io/scheduler-plugins/cmd/scheduler", "sigs.k8s.io/scheduler-plugins/cmd/controller"},
			binaries: []string{"scheduler-plugins-scheduler", "scheduler-plugins-controller"},
			ldflags:  "-s -w",
		},
		{
			module:   "metrics-server",
			packages: []string{"sigs.k8s.io/metrics-server/cmd/metrics-server"},
			binaries: []string{"metrics-server"},
			ldflags:  "-s -w",
		},
		{
			module:   "volcano",
			packages: []string{"sigs.k8s.io/controller-tools/cmd/controller-gen"},
			binaries: []string{"controller-gen"},
			ldflags:  "-s -w",
			generate: generateVolcanoCRDs,
			outputs: func(l Layout) []string {
				return []string{
					filepath.Join(l.VolcanoCRDDir(), "scheduling.volcano.sh_podgroups.yaml"),
					filepath.Join(l.VolcanoCRDDir(), "scheduling.volcano.sh_queues.yaml"),
				}
			},
		},
	}
}

// generateVolcanoCRDs generates the CRDs of Volcano's scheduling API
// (PodGroup, Queue) from the Go types of volcano.sh/apis with
// controller-gen, as Volcano's own build does, into bin/cluster/crds/volcano.
func generateVolcanoCRDs(ctx context.Context, l Layout, opts BuildOptions, dir string) error {
	tmp, err := os.MkdirTemp(l.BinDir(), ".crds-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, l.Bin("controller-gen"),
		"crd:crdVersions=v1,allowDangerousTypes=true",
		"paths=volcano.sh/apis/pkg/apis/scheduling/v1beta1",
		"output:crd:dir="+tmp)
	cmd.Dir = dir
	cmd.Env = goEnv()
	cmd.Stdout, cmd.Stderr = opts.Output, opts.Output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("controller-gen for volcano.sh/apis %s: %w", VolcanoAPIsVersion, err)
	}
	if err := os.RemoveAll(l.VolcanoCRDDir()); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(l.VolcanoCRDDir()), 0o755); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, l.VolcanoCRDDir())
}

// goEnv is the environment of the go commands the build runs in tool
// modules: their own go.mod, never changed.
func goEnv() []string {
	return append(os.Environ(), "GOWORK=off", "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=readonly"))
}

// BuildOptions tunes Build.
type BuildOptions struct {
	// Go is the go command; default "go" (or $GO).
	Go string
	// Force rebuilds even when the stamps match.
	Force bool
	// Output receives the go command's output; default os.Stderr.
	Output io.Writer
	// Jobs is how many `go build`s run at once; default $ODH_CLUSTER_BUILD_JOBS
	// or 2. Each one compiles in parallel itself; running two overlaps one's
	// single-threaded link and module loading with the other's compiling.
	Jobs int
}

// Build builds every pinned binary whose stamp (a hash of its tool module's
// go.mod and go.sum, the build flags, the overlay patches and the Go version)
// changed, into bin/cluster/, and odh-webhook from the main module when a
// source file it is built from changed. It also makes sure etcd is
// installed.
func Build(ctx context.Context, l Layout, log *slog.Logger, opts BuildOptions) error {
	if opts.Go == "" {
		opts.Go = goCommand()
	}
	if opts.Output == nil {
		opts.Output = os.Stderr
	}
	if opts.Jobs == 0 {
		opts.Jobs, _ = strconv.Atoi(os.Getenv("ODH_CLUSTER_BUILD_JOBS"))
	}
	if opts.Jobs <= 0 {
		opts.Jobs = 2
	}
	if err := os.MkdirAll(filepath.Join(l.BinDir(), ".stamps"), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", l.BinDir(), err)
	}
	// One build at a time (e.g. `make cluster-build` while a test starts the harness).
	unlock, err := lockFile(ctx, filepath.Join(l.BinDir(), ".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	goVersion, err := goVersionOf(ctx, opts.Go)
	if err != nil {
		return err
	}
	builds := []func() error{func() error { return buildWebhook(ctx, l, log, opts, goVersion) }}
	for _, tb := range toolBuilds() {
		builds = append(builds, func() error { return buildOne(ctx, l, log, opts, tb, goVersion) })
	}
	var (
		wg   sync.WaitGroup
		errs = make([]error, len(builds))
		sem  = make(chan struct{}, opts.Jobs)
	)
	for i, b := range builds {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = b()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return EnsureEtcd(ctx, log, opts.Output)
}

// goVersionOf returns the version of the go command: part of every stamp.
// It is read from $GOTOOLCHAIN when that names a toolchain (as the Makefile
// sets it), saving a process start on every `up`.
func goVersionOf(ctx context.Context, goCmd string) (string, error) {
	if tc := os.Getenv("GOTOOLCHAIN"); strings.HasPrefix(tc, "go1.") && !strings.Contains(tc, "+") && goCmd == "go" {
		return tc, nil
	}
	v, err := commandOutput(ctx, "", goCmd, "env", "GOVERSION")
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	return strings.TrimSpace(v), nil
}

func buildOne(ctx context.Context, l Layout, log *slog.Logger, opts BuildOptions, tb toolBuild, goVersion string) error {
	dir := filepath.Join(l.ToolsDir(), tb.module)
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return fmt.Errorf("tool module %s: %w", tb.module, err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	fmt.Fprintf(h, "go=%s goos=%s goarch=%s\nldflags=%s\npackages=%s\n", goVersion, runtime.GOOS, runtime.GOARCH, tb.ldflags, strings.Join(tb.packages, ","))
	for i, pkg := range tb.packages {
		// Installed under another name than go build gives it. (Only then:
		// the stamps of earlier harness versions stay valid.)
		if path.Base(pkg) != tb.binaries[i] {
			fmt.Fprintf(h, "install %s as %s\n", pkg, tb.binaries[i])
		}
	}

	var (
		modDir string
		texts  map[string]string
	)
	if len(tb.patches) > 0 {
		var err error
		if modDir, err = moduleDir(ctx, opts.Go, dir, tb.patchModule); err != nil {
			return err
		}
		if texts, err = patchedTexts(modDir, tb); err != nil {
			return err
		}
		stampPatches(h, texts)
	}
	stamp := hex.EncodeToString(h.Sum(nil))

	upToDate := !opts.Force
	for _, bin := range tb.binaries {
		if _, err := os.Stat(l.Bin(bin)); err != nil {
			upToDate = false
		}
		if old, err := os.ReadFile(stampFile(l, bin)); err != nil || strings.TrimSpace(string(old)) != stamp {
			upToDate = false
		}
	}
	if tb.outputs != nil {
		for _, f := range tb.outputs(l) {
			if !fileExists(f) {
				upToDate = false
			}
		}
	}
	if upToDate {
		log.Debug("binaries up to date", "module", tb.module, "binaries", tb.binaries)
		return nil
	}
	var modfile string
	if len(tb.patches) > 0 {
		var err error
		if modfile, err = preparePatchedModule(l, dir, modDir, tb, texts); err != nil {
			return err
		}
	}

	log.Info("building pinned binaries (cold builds take minutes)", "module", tb.module, "binaries", tb.binaries)
	start := time.Now()
	// Build into a temporary directory and move into place, so an interrupted
	// build never leaves a half-written binary behind a valid stamp.
	tmp, err := os.MkdirTemp(l.BinDir(), ".build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// One `go build` for all the module's commands: they share compilation.
	out := filepath.Join(tmp, path.Base(tb.packages[0]))
	if len(tb.packages) > 1 {
		out = tmp + string(filepath.Separator)
	}
	args := []string{"build", "-trimpath", "-ldflags=" + tb.ldflags, "-o", out}
	if modfile != "" {
		args = append(args, "-modfile="+modfile)
	}
	cmd := exec.CommandContext(ctx, opts.Go, append(args, tb.packages...)...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	cmd.Stdout = opts.Output
	cmd.Stderr = opts.Output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s in %s: %w", strings.Join(tb.binaries, ", "), dir, err)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	for i, bin := range tb.binaries {
		// go build names each binary after its package's last element.
		if err := os.Rename(filepath.Join(tmp, path.Base(tb.packages[i])), l.Bin(bin)); err != nil {
			return fmt.Errorf("install %s: %w", bin, err)
		}
	}
	if tb.generate != nil {
		if err := tb.generate(ctx, l, opts, dir); err != nil {
			return err
		}
	}
	for _, bin := range tb.binaries {
		if err := os.WriteFile(stampFile(l, bin), []byte(stamp+"\n"), 0o644); err != nil {
			return err
		}
	}
	log.Info("built", "module", tb.module, "duration", time.Since(start).Round(time.Second), "cpu", cpu.Round(time.Second))
	return nil
}

func stampFile(l Layout, bin string) string {
	return filepath.Join(l.BinDir(), ".stamps", bin+".stamp")
}

// moduleDir returns the module-cache directory of module as required by the
// tool module in toolDir, downloading it if needed. The version the tool
// module requires is read from its go.mod, and the directory looked up in
// the module cache directly (a `go list` costs a process start on every
// `up`); `go list -m` answers when that is not enough (a replace, a module
// not downloaded yet).
func moduleDir(ctx context.Context, goCmd, toolDir, module string) (string, error) {
	if dir := cachedModuleDir(toolDir, module); dir != "" {
		return dir, nil
	}
	out, err := commandOutput(ctx, toolDir, goCmd, "list", "-m", "-json", module)
	if err != nil {
		return "", fmt.Errorf("locate module %s: %w", module, err)
	}
	var m struct{ Dir, Version string }
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return "", fmt.Errorf("locate module %s: %w", module, err)
	}
	if m.Dir == "" {
		if _, err := commandOutput(ctx, toolDir, goCmd, "mod", "download", module); err != nil {
			return "", fmt.Errorf("download module %s: %w", module, err)
		}
		return moduleDir(ctx, goCmd, toolDir, module)
	}
	return m.Dir, nil
}

// cachedModuleDir finds module in the module cache at the version the
// go.mod in toolDir requires, or returns "".
func cachedModuleDir(toolDir, module string) string {
	b, err := os.ReadFile(filepath.Join(toolDir, "go.mod"))
	if err != nil {
		return ""
	}
	version := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		replace := strings.HasPrefix(line, "replace ")
		f := strings.Fields(strings.TrimPrefix(strings.TrimPrefix(line, "require "), "replace "))
		if len(f) < 2 || f[0] != module {
			continue
		}
		if replace || f[1] == "=>" || (len(f) > 2 && f[2] == "=>") {
			return "" // replaced: ask go list
		}
		version = f[1]
	}
	cache := moduleCache()
	if version == "" || cache == "" {
		return ""
	}
	var esc strings.Builder
	for _, r := range module {
		if 'A' <= r && r <= 'Z' {
			esc.WriteByte('!')
			r += 'a' - 'A'
		}
		esc.WriteRune(r)
	}
	dir := filepath.Join(cache, filepath.FromSlash(esc.String())+"@"+version)
	if !fileExists(filepath.Join(dir, "go.mod")) && !fileExists(filepath.Join(dir, "LICENSE")) {
		return ""
	}
	return dir
}

// moduleCache is the module cache directory as the go command resolves it
// by default ($GOMODCACHE, else $GOPATH/pkg/mod, else ~/go/pkg/mod).
func moduleCache() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if p := filepath.SplitList(os.Getenv("GOPATH")); len(p) > 0 && p[0] != "" {
		return filepath.Join(p[0], "pkg", "mod")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, "go", "pkg", "mod")
}

func commandOutput(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// EtcdPath is where Debian's etcd-server package installs etcd.
const EtcdPath = "/usr/bin/etcd"

// EnsureEtcd installs Debian's etcd-server package if /usr/bin/etcd is missing.
func EnsureEtcd(ctx context.Context, log *slog.Logger, out io.Writer) error {
	if _, err := os.Stat(EtcdPath); err == nil {
		return nil
	}
	log.Info("installing etcd-server with apt-get")
	install := func() error {
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", "etcd-server")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = out, out
		return cmd.Run()
	}
	if err := install(); err != nil {
		update := exec.CommandContext(ctx, "apt-get", "update")
		update.Stdout, update.Stderr = out, out
		if uerr := update.Run(); uerr != nil {
			return fmt.Errorf("apt-get update: %w", uerr)
		}
		if err := install(); err != nil {
			return fmt.Errorf("apt-get install etcd-server: %w (needs root and Debian's package lists)", err)
		}
	}
	if _, err := os.Stat(EtcdPath); err != nil {
		return fmt.Errorf("etcd-server installed but %s is missing: %w", EtcdPath, err)
	}
	return nil
}

// moduleCacheDir locates a module required by one of the tool modules, e.g.
// the MPI operator's manifests.
func moduleCacheDir(ctx context.Context, l Layout, toolModule, module string) (string, error) {
	return moduleDir(ctx, goCommand(), filepath.Join(l.ToolsDir(), toolModule), module)
}

func goCommand() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

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
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Pinned versions. Changing one means changing the tool module's go.mod too.
const (
	KubernetesVersion  = "v1.35.4"
	KwokVersion        = "v0.7.0"
	MPIOperatorVersion = "v0.8.2"
	KueueVersion       = "v0.17.0"
)

// toolBuild is one `go build` invocation in one tool module producing one or
// more binaries. Binaries built together share compilation.
type toolBuild struct {
	module   string   // directory below test/cluster/tools
	packages []string // import paths of the commands
	binaries []string // their binary names (last path element)
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

// operatorHealthAddrEnv names the environment variable our build of the MPI
// operator reads for its health-check listen address.
const operatorHealthAddrEnv = "ODH_MPI_OPERATOR_HEALTH_ADDR"

// patchOperatorHealthAddr makes the operator's health server listen where
// operatorHealthAddrEnv says (loopback) instead of the hard-coded ":8080" on
// all interfaces (it would also collide with anything else on 8080). The
// patch is applied at build time to a copy of the module, so the operator's
// code is otherwise exactly v0.8.2.
func patchOperatorHealthAddr(orig string) (string, error) {
	const from = `Addr:    fmt.Sprintf(":%d", healthCheckPort),`
	if strings.Count(orig, from) != 1 {
		return "", errors.New("mpi-operator cmd/mpi-operator/app/server.go: health server address line not found; the overlay patch needs updating")
	}
	patched := strings.Replace(orig, from, `Addr:    odhHealthCheckAddr(),`, 1)
	patched += `
// odhHealthCheckAddr is added by odh-training's test harness build: listen on the address in $` + operatorHealthAddrEnv + `, or on
// loopback, never on all interfaces.
func odhHealthCheckAddr() string {
	if a := os.Getenv("` + operatorHealthAddrEnv + `"); a != "" {
		return a
	}
	return fmt.Sprintf("127.0.0.1:%d", healthCheckPort)
}
`
	return patched, nil
}

// kueueMetricsCertDirEnv names the environment variable our build of Kueue
// reads for its metrics server certificate directory.
const kueueMetricsCertDirEnv = "ODH_KUEUE_METRICS_CERT_DIR"

// patchKueueMetricsCertDir makes Kueue read its metrics serving certificate
// from the directory in kueueMetricsCertDirEnv instead of the hard-coded
// /etc/kueue/metrics/certs, which it requires whenever its internal
// certificate management is off (as here: the harness CA signs its
// certificates).
func patchKueueMetricsCertDir(orig string) (string, error) {
	const from = `metricsCertPath := "/etc/kueue/metrics/certs"`
	if strings.Count(orig, from) != 1 {
		return "", errors.New("kueue cmd/kueue/main.go: metrics certificate path line not found; the overlay patch needs updating")
	}
	return strings.Replace(orig, from, `metricsCertPath := os.Getenv("`+kueueMetricsCertDirEnv+`") // patched by odh-training's test harness build`, 1), nil
}

// kueueVisibilityCertDirEnv names the environment variable our build of
// Kueue reads for its visibility server's certificate directory.
const kueueVisibilityCertDirEnv = "ODH_KUEUE_VISIBILITY_CERT_DIR"

// patchKueueVisibilityCertDir does the same for the visibility server,
// which reads a hard-coded /visibility/tls.{crt,key} then.
func patchKueueVisibilityCertDir(orig string) (string, error) {
	const from, imp = `certDir = "/visibility"`, "import (\n"
	if strings.Count(orig, from) != 1 || !strings.Contains(orig, imp) {
		return "", errors.New("kueue pkg/visibility/server.go: certificate directory line not found; the overlay patch needs updating")
	}
	patched := strings.Replace(orig, from, `certDir = os.Getenv("`+kueueVisibilityCertDirEnv+`") // patched by odh-training's test harness build`, 1)
	return strings.Replace(patched, imp, imp+"\t\"os\"\n", 1), nil
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
	}
}

// BuildOptions tunes Build.
type BuildOptions struct {
	// Go is the go command; default "go" (or $GO).
	Go string
	// Force rebuilds even when the stamps match.
	Force bool
	// Output receives the go command's output; default os.Stderr.
	Output io.Writer
}

// Build builds every pinned binary whose stamp (a hash of its tool module's
// go.mod and go.sum, the build flags, the overlay patches and the Go version)
// changed, into bin/cluster/. It also makes sure etcd is installed.
func Build(ctx context.Context, l Layout, log *slog.Logger, opts BuildOptions) error {
	if opts.Go == "" {
		opts.Go = os.Getenv("GO")
	}
	if opts.Go == "" {
		opts.Go = "go"
	}
	if opts.Output == nil {
		opts.Output = os.Stderr
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
	goVersion, err := commandOutput(ctx, "", opts.Go, "env", "GOVERSION")
	if err != nil {
		return fmt.Errorf("go env GOVERSION: %w", err)
	}
	for _, tb := range toolBuilds() {
		if err := buildOne(ctx, l, log, opts, tb, strings.TrimSpace(goVersion)); err != nil {
			return err
		}
	}
	return EnsureEtcd(ctx, log, opts.Output)
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

	var modfile string
	if len(tb.patches) > 0 {
		f, patched, err := preparePatchedModule(ctx, l, opts, dir, tb)
		if err != nil {
			return err
		}
		modfile = f
		h.Write(patched)
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
	if upToDate {
		log.Debug("binaries up to date", "module", tb.module, "binaries", tb.binaries)
		return nil
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
	out := tmp + string(filepath.Separator)
	if len(tb.binaries) == 1 {
		out = filepath.Join(tmp, tb.binaries[0])
	}
	args := []string{"build", "-trimpath", "-ldflags=" + tb.ldflags, "-o", out}
	if modfile != "" {
		args = append(args, "-modfile="+modfile)
	}
	args = append(args, tb.packages...)
	cmd := exec.CommandContext(ctx, opts.Go, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=readonly"))
	cmd.Stdout = opts.Output
	cmd.Stderr = opts.Output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s in %s: %w", strings.Join(tb.binaries, ", "), dir, err)
	}
	for _, bin := range tb.binaries {
		if err := os.Rename(filepath.Join(tmp, bin), l.Bin(bin)); err != nil {
			return fmt.Errorf("install %s: %w", bin, err)
		}
		if err := os.WriteFile(stampFile(l, bin), []byte(stamp+"\n"), 0o644); err != nil {
			return err
		}
	}
	log.Info("built", "module", tb.module, "duration", time.Since(start).Round(time.Second))
	return nil
}

func stampFile(l Layout, bin string) string {
	return filepath.Join(l.BinDir(), ".stamps", bin+".stamp")
}

// preparePatchedModule copies tb.patchModule (as required by the tool module
// in toolDir) to bin/cluster/.src/<module>/, applies tb.patches, and writes a
// modfile that replaces the module with that copy. It returns the modfile
// and the patched texts (for the stamp).
func preparePatchedModule(ctx context.Context, l Layout, opts BuildOptions, toolDir string, tb toolBuild) (modfile string, patched []byte, err error) {
	modDir, err := moduleDir(ctx, opts.Go, toolDir, tb.patchModule)
	if err != nil {
		return "", nil, err
	}
	src := filepath.Join(l.BinDir(), ".src", tb.module)
	if err := os.RemoveAll(src); err != nil {
		return "", nil, err
	}
	for _, sub := range append([]string{"go.mod", "go.sum", "LICENSE", "cmd", "pkg"}, tb.patchDirs...) {
		if err := copyTree(filepath.Join(modDir, sub), filepath.Join(src, sub)); err != nil {
			return "", nil, fmt.Errorf("copy %s: %w", tb.patchModule, err)
		}
	}
	// In a fixed order: the patched texts go into the stamp.
	for _, rel := range slices.Sorted(maps.Keys(tb.patches)) {
		patch := tb.patches[rel]
		f := filepath.Join(src, filepath.FromSlash(rel))
		b, err := os.ReadFile(f)
		if err != nil {
			return "", nil, fmt.Errorf("patch %s: %w", tb.patchModule, err)
		}
		text, err := patch(string(b))
		if err != nil {
			return "", nil, err
		}
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			return "", nil, err
		}
		patched = append(patched, text...)
	}
	gomod, err := os.ReadFile(filepath.Join(toolDir, "go.mod"))
	if err != nil {
		return "", nil, err
	}
	gosum, err := os.ReadFile(filepath.Join(toolDir, "go.sum"))
	if err != nil {
		return "", nil, err
	}
	modfile = filepath.Join(l.BinDir(), ".src", tb.module+".mod")
	gomod = fmt.Appendf(gomod, "\n// Added by the harness build: the patched copy.\nreplace %s => %s\n", tb.patchModule, src)
	if err := os.WriteFile(modfile, gomod, 0o644); err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(strings.TrimSuffix(modfile, ".mod")+".sum", gosum, 0o644); err != nil {
		return "", nil, err
	}
	return modfile, patched, nil
}

// copyTree copies a file or directory tree, leaving out tests.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// moduleDir returns the module-cache directory of module as required by the
// tool module in toolDir, downloading it if needed.
func moduleDir(ctx context.Context, goCmd, toolDir, module string) (string, error) {
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

package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

const mainModule = "github.com/odh-training/odh-training"

func isMainModule(gomod []byte) bool {
	for _, line := range bytes.Split(gomod, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) == 2 && string(f[0]) == "module" && string(f[1]) == mainModule {
			return true
		}
	}
	return false
}

// Layout is where the harness keeps its files, all below the repository root.
type Layout struct {
	// Root is the repository root (the directory holding the main go.mod).
	Root string
}

// FindLayout walks up from dir to the repository root. An empty dir means the
// working directory; ODH_REPO_ROOT overrides the search.
func FindLayout(dir string) (Layout, error) {
	if r := os.Getenv("ODH_REPO_ROOT"); r != "" {
		return Layout{Root: r}, nil
	}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return Layout{}, fmt.Errorf("find repository root: %w", err)
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Layout{}, fmt.Errorf("find repository root: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && isMainModule(b) {
			return Layout{Root: d}, nil
		}
		if filepath.Dir(d) == d {
			return Layout{}, errors.New("find repository root: no go.mod of github.com/odh-training/odh-training above " + dir + " (set ODH_REPO_ROOT)")
		}
	}
}

// BinDir holds the pinned binaries (git-ignored via /bin/).
func (l Layout) BinDir() string { return filepath.Join(l.Root, "bin", "cluster") }

// Bin is the path of one pinned binary.
func (l Layout) Bin(name string) string { return filepath.Join(l.BinDir(), name) }

// VolcanoCRDDir holds the Volcano CRDs the build generates.
func (l Layout) VolcanoCRDDir() string { return filepath.Join(l.BinDir(), "crds", "volcano") }

// ToolsDir holds the tool modules.
func (l Layout) ToolsDir() string { return filepath.Join(l.Root, "test", "cluster", "tools") }

// StateDir is the harness's runtime directory (.cluster/, git-ignored).
func (l Layout) StateDir() string { return filepath.Join(l.Root, ".cluster") }

// StateFile records ports and pids of the running harness.
func (l Layout) StateFile() string { return filepath.Join(l.StateDir(), "state.json") }

// PKIDir holds the CA, certificates, keys and the static token file.
func (l Layout) PKIDir() string { return filepath.Join(l.StateDir(), "pki") }

// LogDir holds one log file per component.
func (l Layout) LogDir() string { return filepath.Join(l.StateDir(), "logs") }

// LogFile is the log of one component.
func (l Layout) LogFile(component string) string {
	return filepath.Join(l.LogDir(), component+".log")
}

// EtcdDir is etcd's data directory.
func (l Layout) EtcdDir() string { return filepath.Join(l.StateDir(), "etcd") }

// KwokDir holds kwok's configuration and the pod log files it serves.
func (l Layout) KwokDir() string { return filepath.Join(l.StateDir(), "kwok") }

// PodLogDir holds the per-pod log files written by Cluster.SetPodLogs.
func (l Layout) PodLogDir() string { return filepath.Join(l.KwokDir(), "podlogs") }

// Kubeconfig is the kubeconfig of one identity.
func (l Layout) Kubeconfig(identity string) string {
	return filepath.Join(l.StateDir(), identity+".kubeconfig")
}

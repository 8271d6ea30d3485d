package cluster

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Source patches: a few upstream commands hard-code paths or addresses a
// harness on loopback cannot use. The build copies the module to
// bin/cluster/.src/<tool module>/, applies the patch (each one replaces one
// exact line and fails loudly when upstream changes it) and builds through a
// generated -modfile with a replace; the committed tool module is untouched.

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

// patchedTexts reads the files tb.patches names from the module-cache copy
// of tb.patchModule in modDir and returns their patched texts, by path
// relative to the module root.
func patchedTexts(modDir string, tb toolBuild) (map[string]string, error) {
	texts := map[string]string{}
	for rel, patch := range tb.patches {
		b, err := os.ReadFile(filepath.Join(modDir, filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("patch %s: %w", tb.patchModule, err)
		}
		text, err := patch(string(b))
		if err != nil {
			return nil, err
		}
		texts[rel] = text
	}
	return texts, nil
}

// stampPatches feeds the patched texts into a stamp, in a fixed order.
func stampPatches(w io.Writer, texts map[string]string) {
	for _, rel := range slices.Sorted(maps.Keys(texts)) {
		io.WriteString(w, texts[rel])
	}
}

// preparePatchedModule copies tb.patchModule from modDir to
// bin/cluster/.src/<tool module>/, writes the patched texts, and writes a
// modfile that replaces the module with that copy. It returns the modfile.
func preparePatchedModule(l Layout, toolDir, modDir string, tb toolBuild, texts map[string]string) (modfile string, err error) {
	src := filepath.Join(l.BinDir(), ".src", tb.module)
	if err := os.RemoveAll(src); err != nil {
		return "", err
	}
	for _, sub := range append([]string{"go.mod", "go.sum", "LICENSE", "cmd", "pkg"}, tb.patchDirs...) {
		if err := copyTree(filepath.Join(modDir, sub), filepath.Join(src, sub)); err != nil {
			return "", fmt.Errorf("copy %s: %w", tb.patchModule, err)
		}
	}
	for rel, text := range texts {
		if err := os.WriteFile(filepath.Join(src, filepath.FromSlash(rel)), []byte(text), 0o644); err != nil {
			return "", err
		}
	}
	gomod, err := os.ReadFile(filepath.Join(toolDir, "go.mod"))
	if err != nil {
		return "", err
	}
	gosum, err := os.ReadFile(filepath.Join(toolDir, "go.sum"))
	if err != nil {
		return "", err
	}
	modfile = filepath.Join(l.BinDir(), ".src", tb.module+".mod")
	gomod = fmt.Appendf(gomod, "\n// Added by the harness build: the patched copy.\nreplace %s => %s\n", tb.patchModule, src)
	if err := os.WriteFile(modfile, gomod, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(strings.TrimSuffix(modfile, ".mod")+".sum", gosum, 0o644); err != nil {
		return "", err
	}
	return modfile, nil
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

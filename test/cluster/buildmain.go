package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// odh-webhook is built from the main module, which changes all the time.
// Its stamp is a hash of every file it is built from: the go.mod and go.sum
// of the main module, and the files of each main-module package it imports
// (every file directly in the package's directory, tests excepted, plus its
// embedded files), as the last `go list -deps` named them. A change to any
// of those files changes the stamp, including a new import (it is written in
// one of them) and a new or removed file; hashing them takes milliseconds,
// where a `go build` that finds nothing to do still costs seconds of linking.
// On a change `go build` rebuilds incrementally from the shared build cache.

const (
	webhookPackage = "./cmd/odh-webhook"
	webhookBinary  = "odh-webhook"
)

// mainInputs are the main-module packages a command is built from: their
// directories (relative to the repository root) and embedded files.
type mainInputs struct {
	Dirs  []string `json:"dirs"`
	Embed []string `json:"embed"`
}

func inputsFile(l Layout, bin string) string {
	return filepath.Join(l.BinDir(), ".stamps", bin+".inputs.json")
}

// listMainInputs asks the go command which main-module packages pkg is built
// from.
func listMainInputs(ctx context.Context, l Layout, goCmd, pkg string) (*mainInputs, error) {
	out, err := commandOutput(ctx, l.Root, goCmd, "list", "-deps", "-f",
		`{{if and .Module .Module.Main}}{{.Dir}}{{range .EmbedFiles}}{{"\t"}}{{.}}{{end}}{{"\n"}}{{end}}`, pkg)
	if err != nil {
		return nil, err
	}
	in := &mainInputs{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\t")
		rel, err := filepath.Rel(l.Root, f[0])
		if err != nil {
			return nil, err
		}
		in.Dirs = append(in.Dirs, filepath.ToSlash(rel))
		for _, e := range f[1:] {
			in.Embed = append(in.Embed, filepath.ToSlash(filepath.Join(rel, e)))
		}
	}
	slices.Sort(in.Dirs)
	slices.Sort(in.Embed)
	return in, nil
}

// mainStamp hashes the inputs of a main-module command.
func mainStamp(l Layout, in *mainInputs, goVersion string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "go=%s goflags=%s cgo=%s\n", goVersion, os.Getenv("GOFLAGS"), os.Getenv("CGO_ENABLED"))
	hashFile := func(rel string) error {
		b, err := os.ReadFile(filepath.Join(l.Root, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "file %s %d\n", rel, len(b))
		h.Write(b)
		return nil
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := hashFile(f); err != nil {
			return "", err
		}
	}
	for _, dir := range in.Dirs {
		entries, err := os.ReadDir(filepath.Join(l.Root, filepath.FromSlash(dir)))
		if err != nil {
			// A package moved away: the stamp changes, the build re-lists.
			fmt.Fprintf(h, "missing %s\n", dir)
			continue
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			if err := hashFile(dir + "/" + e.Name()); err != nil {
				return "", err
			}
		}
	}
	for _, f := range in.Embed {
		if err := hashFile(f); err != nil {
			fmt.Fprintf(h, "missing %s\n", f)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// buildWebhook builds odh-webhook into bin/cluster/ when its stamp changed.
func buildWebhook(ctx context.Context, l Layout, log *slog.Logger, opts BuildOptions, goVersion string) error {
	if !opts.Force && fileExists(l.Bin(webhookBinary)) {
		if b, err := os.ReadFile(inputsFile(l, webhookBinary)); err == nil {
			var in mainInputs
			if json.Unmarshal(b, &in) == nil {
				stamp, err := mainStamp(l, &in, goVersion)
				if old, rerr := os.ReadFile(stampFile(l, webhookBinary)); err == nil && rerr == nil && strings.TrimSpace(string(old)) == stamp {
					log.Debug("binary up to date", "binary", webhookBinary)
					return nil
				}
			}
		}
	}
	start := time.Now()
	in, err := listMainInputs(ctx, l, opts.Go, webhookPackage)
	if err != nil {
		return err
	}
	// The stamp of the sources as they are before the build: an edit
	// during the build leaves a stamp that differs next time.
	stamp, err := mainStamp(l, in, goVersion)
	if err != nil {
		return err
	}
	log.Info("building odh-webhook from this checkout", "package", webhookPackage)
	tmp, err := os.MkdirTemp(l.BinDir(), ".build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, opts.Go, "build", "-trimpath", "-o", filepath.Join(tmp, webhookBinary), webhookPackage)
	cmd.Dir = l.Root
	cmd.Env = append(os.Environ(), "GOWORK=off")
	cmd.Stdout = opts.Output
	cmd.Stderr = opts.Output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s: %w", webhookPackage, err)
	}
	if err := os.Rename(filepath.Join(tmp, webhookBinary), l.Bin(webhookBinary)); err != nil {
		return err
	}
	b, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(inputsFile(l, webhookBinary), b, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(stampFile(l, webhookBinary), []byte(stamp+"\n"), 0o644); err != nil {
		return err
	}
	log.Info("built", "binary", webhookBinary, "duration", time.Since(start).Round(100*time.Millisecond),
		"cpu", (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Round(100*time.Millisecond))
	return nil
}

// Package discovery lets clients on the same machine find a local server's
// token without copying it by hand: a server listening on loopback writes
// ${XDG_STATE_HOME:-~/.local/state}/odh-training/servers/<host>_<port>.json
// (mode 0600), and the CLI and SDK read it when they target that address
// without a token.
package discovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// Entry describes a running local server.
type Entry struct {
	Server   string `json:"server"`
	Token    string `json:"token"`
	StateDir string `json:"stateDir,omitempty"`
	PID      int    `json:"pid,omitempty"`
	Engine   string `json:"engine,omitempty"`
}

// Dir is where discovery files live.
func Dir() (string, error) {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "odh-training", "servers"), nil
}

// DefaultStateDir is the local engine's default state directory.
func DefaultStateDir() string {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ".odh-state"
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "odh-training", "local")
}

func fileFor(hostport string) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, strings.NewReplacer(":", "_", "[", "", "]", "").Replace(host)+"_"+port+".json"), nil
}

// IsLoopback reports whether hostport names this machine.
func IsLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Write records a server listening on hostport.
func Write(hostport string, e Entry) (string, error) {
	p, err := fileFor(hostport)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return "", err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return "", err
	}
	return p, os.Rename(tmp, p)
}

// Lookup returns the entry for a loopback server, trying the other loopback
// spelling (localhost vs 127.0.0.1) too.
func Lookup(hostport string) (*Entry, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	candidates := []string{hostport}
	switch host {
	case "localhost":
		candidates = append(candidates, net.JoinHostPort("127.0.0.1", port))
	case "127.0.0.1":
		candidates = append(candidates, net.JoinHostPort("localhost", port))
	}
	for _, c := range candidates {
		p, err := fileFor(c)
		if err != nil {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var e Entry
		if err := json.Unmarshal(data, &e); err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		return &e, nil
	}
	return nil, errors.New("no local server recorded at " + hostport)
}

// Remove deletes the entry for hostport if it still belongs to pid, so a
// stopped server leaves no stale token behind for a later one on the port.
func Remove(hostport string, pid int) {
	p, err := fileFor(hostport)
	if err != nil {
		return
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return
	}
	var e Entry
	if json.Unmarshal(data, &e) == nil && e.PID == pid {
		_ = os.Remove(p)
	}
}

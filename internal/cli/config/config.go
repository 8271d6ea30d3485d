// Package config reads and writes the CLI's configuration file and resolves
// which server, token and namespace a command uses: flags, then ODH_SERVER /
// ODH_TOKEN / ODH_NAMESPACE, then the current context of the config file,
// then the local default server (whose token is found through discovery).
// The Python SDK resolves the same way.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/discovery"
	"github.com/odh-training/odh-training/internal/job"
)

// DefaultServer is where `make run` starts the local server.
const DefaultServer = "http://127.0.0.1:8080"

// File is the config file (JSON, so the stdlib-only SDK can read it).
type File struct {
	CurrentContext string    `json:"currentContext,omitempty"`
	Contexts       []Context `json:"contexts,omitempty"`
}

// Context is a named server connection.
type Context struct {
	Name                  string `json:"name"`
	Server                string `json:"server"`
	Token                 string `json:"token,omitempty"`
	Namespace             string `json:"namespace,omitempty"`
	InsecureSkipTLSVerify bool   `json:"insecureSkipTLSVerify,omitempty"`
	CertificateAuthority  string `json:"certificateAuthority,omitempty"`
}

// Path is the config file's location: $ODH_CONFIG or ~/.config/odh/config.json.
func Path() string {
	if p := os.Getenv("ODH_CONFIG"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ".odh-config.json"
	}
	return filepath.Join(dir, "odh", "config.json")
}

// Load reads the config file; a missing file is an empty config.
func Load() (*File, error) {
	p := Path()
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return &File{}, nil
	}
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("config file %s is not valid JSON: %w (fix or remove it)", p, err)
	}
	return &f, nil
}

// Save writes the config file with mode 0600 (it holds tokens).
func (f *File) Save() error {
	p := Path()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// Current returns the current context, if any.
func (f *File) Current() *Context {
	for i := range f.Contexts {
		if f.Contexts[i].Name == f.CurrentContext {
			return &f.Contexts[i]
		}
	}
	return nil
}

// Find returns the context named name, or nil.
func (f *File) Find(name string) *Context {
	for i := range f.Contexts {
		if f.Contexts[i].Name == name {
			return &f.Contexts[i]
		}
	}
	return nil
}

// Delete removes the context named name (and unsets it as current); false
// when there is none.
func (f *File) Delete(name string) bool {
	for i := range f.Contexts {
		if f.Contexts[i].Name == name {
			f.Contexts = append(f.Contexts[:i], f.Contexts[i+1:]...)
			if f.CurrentContext == name {
				f.CurrentContext = ""
			}
			return true
		}
	}
	return false
}

// NotFound is the error for a context that is not in the config file.
func NotFound(name string) error {
	return &job.Error{Kind: job.KindNotFound, Message: fmt.Sprintf("context %q is not in %s", name, Path()),
		Hint: fmt.Sprintf("List contexts with: odh config get-contexts. Create one with: odh login --name %s --server URL --token TOKEN", name)}
}

// Upsert adds or replaces a context and makes it current.
func (f *File) Upsert(c Context) {
	for i := range f.Contexts {
		if f.Contexts[i].Name == c.Name {
			f.Contexts[i] = c
			f.CurrentContext = c.Name
			return
		}
	}
	f.Contexts = append(f.Contexts, c)
	f.CurrentContext = c.Name
}

// Overrides are values given on the command line.
type Overrides struct {
	Server    string
	Token     string
	Namespace string
	Context   string
	Insecure  bool
	CAFile    string
	// Direct mode: run the service in-process against a cluster.
	Direct      bool
	Kubeconfig  string
	KubeContext string
	// ReconnectTimeout: how long a dropped stream (watch, wait, log
	// follow) keeps reconnecting before the command gives up (0: default).
	ReconnectTimeout time.Duration
}

// Resolved is the connection a command uses, and where each value came from.
type Resolved struct {
	Server      string
	Token       string
	Namespace   string
	Insecure    bool
	CAFile      string
	ServerFrom  string
	TokenFrom   string
	ContextName string
}

// Resolve applies the precedence rules.
func Resolve(o Overrides) (Resolved, error) {
	var r Resolved
	f, err := Load()
	if err != nil {
		return r, err
	}
	ctx := f.Current()
	if o.Context == "" {
		o.Context = os.Getenv("ODH_CONTEXT")
	}
	if o.Context != "" {
		if ctx = f.Find(o.Context); ctx == nil {
			return r, NotFound(o.Context)
		}
	}
	if ctx != nil {
		r.ContextName = ctx.Name
	}
	pick := func(flag, env string, fromCtx func(*Context) string) (string, string) {
		if flag != "" {
			return flag, "flag"
		}
		if v := os.Getenv(env); v != "" {
			return v, env
		}
		if ctx != nil {
			if v := fromCtx(ctx); v != "" {
				return v, "context " + ctx.Name
			}
		}
		return "", ""
	}
	r.Server, r.ServerFrom = pick(o.Server, "ODH_SERVER", func(c *Context) string { return c.Server })
	if r.Server == "" {
		r.Server, r.ServerFrom = DefaultServer, "default"
	}
	r.Token, r.TokenFrom = pick(o.Token, "ODH_TOKEN", func(c *Context) string {
		if c.Server == r.Server {
			return c.Token
		}
		return ""
	})
	r.Namespace, _ = pick(o.Namespace, "ODH_NAMESPACE", func(c *Context) string { return c.Namespace })
	if r.Namespace == "" {
		r.Namespace = "default"
	}
	r.Insecure = o.Insecure || (ctx != nil && ctx.InsecureSkipTLSVerify)
	r.CAFile = o.CAFile
	if r.CAFile == "" && ctx != nil {
		r.CAFile = ctx.CertificateAuthority
	}
	if r.Token == "" {
		if target, _, err := apiclient.ParseServer(r.Server); err == nil && discovery.IsLoopback(target) {
			if e, err := discovery.Lookup(target); err == nil && e.Token != "" {
				r.Token, r.TokenFrom = e.Token, "local server discovery"
			}
		}
	}
	return r, nil
}

// Command vulnreport reads `govulncheck -format json` from standard input
// and reports the vulnerabilities the code calls. It exits 1 when a called
// vulnerability is in a module (fix: upgrade that module), and reports
// called vulnerabilities of the standard library as warnings naming the Go
// release that fixes them (fix: a newer toolchain), unless
// VULNCHECK_STDLIB=fail. Vulnerabilities in code that is not called are
// counted only. Used by hack/vulncheck.sh (make vulncheck).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

type frame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
	Position *struct {
		Filename string `json:"filename"`
		Line     int    `json:"line"`
	} `json:"position"`
}

type message struct {
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *struct {
		OSV          string  `json:"osv"`
		FixedVersion string  `json:"fixed_version"`
		Trace        []frame `json:"trace"`
	} `json:"finding"`
	Config *struct {
		GoVersion string `json:"go_version"`
		DB        string `json:"db"`
	} `json:"config"`
}

type called struct {
	id, module, version, fixed, summary, where string
}

func main() {
	code, err := run(os.Stdin, os.Stdout, os.Getenv("VULNCHECK_STDLIB") == "fail")
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulnreport:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(in io.Reader, out io.Writer, strictStdlib bool) (int, error) {
	dec := json.NewDecoder(in)
	summaries := map[string]string{}
	calls := map[string]*called{}
	notCalled := map[string]bool{}
	goVersion := ""
	for {
		var m message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return 0, fmt.Errorf("decode govulncheck output: %w", err)
		}
		switch {
		case m.Config != nil:
			goVersion = m.Config.GoVersion
		case m.OSV != nil:
			summaries[m.OSV.ID] = m.OSV.Summary
		case m.Finding != nil && len(m.Finding.Trace) > 0:
			f := m.Finding
			top := f.Trace[0]
			if top.Function == "" {
				notCalled[f.OSV] = true
				continue
			}
			if _, ok := calls[f.OSV]; ok {
				continue
			}
			c := &called{id: f.OSV, module: top.Module, version: top.Version, fixed: f.FixedVersion}
			last := f.Trace[len(f.Trace)-1]
			c.where = last.Function
			if last.Position != nil {
				c.where = fmt.Sprintf("%s:%d %s", last.Position.Filename, last.Position.Line, last.Function)
			}
			calls[f.OSV] = c
		}
	}
	var mods, std []*called
	for id, c := range calls {
		c.summary = summaries[id]
		delete(notCalled, id)
		if c.module == "stdlib" {
			std = append(std, c)
		} else {
			mods = append(mods, c)
		}
	}
	byID := func(l []*called) {
		sort.Slice(l, func(i, j int) bool { return l[i].id < l[j].id })
	}
	byID(mods)
	byID(std)
	for _, c := range mods {
		fmt.Fprintf(out, "VULNERABLE %s %s@%s (fixed in %s): %s\n    called from %s\n", c.id, c.module, c.version, c.fixed, c.summary, c.where)
	}
	newest := ""
	for _, c := range std {
		fmt.Fprintf(out, "STDLIB     %s %s (fixed in go%s): %s\n", c.id, goVersion, strings.TrimPrefix(c.fixed, "v"), c.summary)
		if newer(c.fixed, newest) {
			newest = c.fixed
		}
	}
	fmt.Fprintf(out, "govulncheck: %d called in modules, %d called in the standard library of %s, %d more not called\n", len(mods), len(std), goVersion, len(notCalled))
	code := 0
	if len(mods) > 0 {
		fmt.Fprintln(out, "error: upgrade the modules above to their fixed versions (go get module@version)")
		code = 1
	}
	if len(std) > 0 {
		fmt.Fprintf(out, "warning: the Go toolchain (%s) has known vulnerabilities the code reaches; all are fixed in go%s: build with a newer Go (docs/admin/security.md)\n", goVersion, strings.TrimPrefix(newest, "v"))
		if strictStdlib {
			code = 1
		}
	}
	return code, nil
}

// newer compares versions like v1.26.10 and v1.26.9 numerically.
func newer(a, b string) bool {
	pa, pb := strings.Split(strings.TrimPrefix(a, "v"), "."), strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x > y
		}
	}
	return false
}

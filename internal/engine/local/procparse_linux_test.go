// The parsers of procparse.go, checked against what Linux reports of the
// same processes (/proc and procps' ps).

package local

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"testing"
	"time"
)

// procargs2 builds a kern.procargs2 buffer as macOS lays it out.
func procargs2(exe string, args, env []string) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.NativeEndian, int32(len(args)))
	b.WriteString(exe)
	b.Write(make([]byte, 7)) // path terminator and alignment padding
	for _, a := range args {
		b.WriteString(a + "\x00")
	}
	for _, e := range env {
		b.WriteString(e + "\x00")
	}
	b.WriteString("\x00\x00ptr_munge=\x00") // what follows the environment
	return b.Bytes()
}

func TestParseProcArgs2(t *testing.T) {
	// This process's real environment, as /proc has it, must come back
	// byte for byte.
	want, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	var env []string
	for kv := range bytes.SplitSeq(bytes.TrimSuffix(want, []byte{0}), []byte{0}) {
		env = append(env, string(kv))
	}
	got, err := parseProcArgs2(procargs2("/usr/local/bin/odh-server", os.Args, env))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("environment differs:\ngot  %q\nwant %q", got, want)
	}
	if envValue(got, "PATH") != os.Getenv("PATH") {
		t.Errorf("PATH = %q", envValue(got, "PATH"))
	}

	for name, buf := range map[string][]byte{
		"empty":     {},
		"no path":   {1, 0, 0, 0, 'x'},
		"truncated": procargs2("/bin/x", []string{"a", "b"}, nil)[:14],
	} {
		if _, err := parseProcArgs2(buf); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParsePSTime(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0:01.23":    1230 * time.Millisecond,
		"12:34.56":   12*time.Minute + 34560*time.Millisecond,
		"1:02:03":    time.Hour + 2*time.Minute + 3*time.Second,
		"2-01:02:03": 49*time.Hour + 2*time.Minute + 3*time.Second,
		"00:00:00":   0,
	} {
		got, err := parsePSTime(in)
		if err != nil || got != want {
			t.Errorf("parsePSTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "12", "a:b", "1:2:3:4", "x-1:2"} {
		if _, err := parsePSTime(bad); err == nil {
			t.Errorf("parsePSTime(%q): no error", bad)
		}
	}
}

// parsePS reads the real ps of this machine (procps on Linux accepts the
// same -o list as macOS's ps) and agrees with /proc about this process.
func TestParsePS(t *testing.T) {
	ps, err := exec.LookPath("ps")
	if err != nil {
		t.Skip("no ps")
	}
	out, err := exec.Command(ps, "-A", "-o", "pid=,ppid=,stat=,time=,rss=").Output()
	if err != nil {
		t.Fatal(err)
	}
	procs := parsePS(out)
	var self *procInfo
	for i := range procs {
		if procs[i].pid == os.Getpid() {
			self = &procs[i]
		}
	}
	if self == nil {
		t.Fatalf("this process (%d) is not in ps's %d processes", os.Getpid(), len(procs))
	}
	if self.ppid != os.Getppid() || self.rss == 0 {
		t.Errorf("ps says ppid %d rss %d; want ppid %d and some memory", self.ppid, self.rss, os.Getppid())
	}
	if fromProc, ok := readStat(os.Getpid(), make([]byte, 512)); ok && (self.rss > 4*fromProc.rss || fromProc.rss > 4*self.rss) {
		t.Errorf("ps rss %d and /proc rss %d disagree", self.rss, fromProc.rss)
	}
	if got := parsePS([]byte("garbage\n1 0 S x 10\n  7   1 Ss 0:00.01 2048\n")); len(got) != 1 || got[0].pid != 7 || got[0].rss != 2048<<10 || got[0].cpu != 10*time.Millisecond {
		t.Errorf("parsePS on mixed input = %+v", got)
	}
}

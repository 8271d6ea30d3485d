package logging

import (
	"bytes"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	var b bytes.Buffer
	log, err := New("warn", "json", &b)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", "v")
	if out := b.String(); strings.Contains(out, "hidden") || !strings.Contains(out, `"msg":"shown"`) {
		t.Errorf("json at warn: %q", out)
	}
	for _, c := range []struct{ level, format, want string }{
		{"loud", "text", `--log-level "loud": use debug, info, warn or error`},
		{"info", "xml", `--log-format "xml": use text or json`},
	} {
		if _, err := New(c.level, c.format, &b); err == nil || err.Error() != c.want {
			t.Errorf("New(%q, %q): %v, want %s", c.level, c.format, err, c.want)
		}
	}
}

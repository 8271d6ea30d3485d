package iostreams

import "testing"

func TestColorChoice(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		tty  bool
		want bool
	}{
		{"terminal", map[string]string{"TERM": "xterm"}, true, true},
		{"pipe", map[string]string{"TERM": "xterm"}, false, false},
		{"dumb terminal", map[string]string{"TERM": "dumb"}, true, false},
		{"NO_COLOR on a terminal", map[string]string{"TERM": "xterm", "NO_COLOR": ""}, true, false},
		{"NO_COLOR beats CLICOLOR_FORCE", map[string]string{"NO_COLOR": "1", "CLICOLOR_FORCE": "1"}, false, false},
		{"CLICOLOR_FORCE on a pipe", map[string]string{"CLICOLOR_FORCE": "1"}, false, true},
		{"CLICOLOR_FORCE=0", map[string]string{"CLICOLOR_FORCE": "0"}, false, false},
		{"CLICOLOR=0 on a terminal", map[string]string{"TERM": "xterm", "CLICOLOR": "0"}, true, false},
	}
	for _, tt := range tests {
		lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
		if got := colorFromEnv(lookup, tt.tty); got != tt.want {
			t.Errorf("%s: colour %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSetColorMode(t *testing.T) {
	s, _, _, _ := Test()
	if err := s.SetColorMode("always"); err != nil || !s.ColorEnabled() || s.Colorize(Bold, "x") == "x" {
		t.Errorf("always: %v, enabled %v", err, s.ColorEnabled())
	}
	if err := s.SetColorMode("auto"); err != nil || !s.ColorEnabled() {
		t.Errorf("auto keeps the choice: %v", err)
	}
	if err := s.SetColorMode("never"); err != nil || s.ColorEnabled() || s.Colorize(Bold, "x") != "x" {
		t.Errorf("never: %v", err)
	}
	if err := s.SetColorMode("sometimes"); err == nil {
		t.Error("a bad mode was accepted")
	}
}

package notify

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odh-training/odh-training/internal/job"
)

const testSecret = "0123456789abcdef-secret"

func validSub() *Subscription {
	return &Subscription{Name: "ops", Namespace: "team-a", URL: "https://hooks.example.com/odh", Secret: testSecret}
}

// Every hostile or broken input is refused with a field path.
func TestValidateRefusesMisuse(t *testing.T) {
	guard := &Guard{}
	tests := []struct {
		name  string
		edit  func(*Subscription)
		field string
		text  string
	}{
		{"file scheme", func(s *Subscription) { s.URL = "file:///etc/passwd" }, "subscription.url", "scheme"},
		{"gopher scheme", func(s *Subscription) { s.URL = "gopher://hooks.example.com/" }, "subscription.url", "scheme"},
		{"javascript", func(s *Subscription) { s.URL = "javascript:alert(1)" }, "subscription.url", "scheme"},
		{"loopback v4", func(s *Subscription) { s.URL = "http://127.0.0.1:8080/hook" }, "subscription.url", "loopback"},
		{"loopback v6", func(s *Subscription) { s.URL = "http://[::1]/hook" }, "subscription.url", "loopback"},
		{"localhost", func(s *Subscription) { s.URL = "http://localhost/hook" }, "subscription.url", "own machine"},
		{"mapped loopback", func(s *Subscription) { s.URL = "http://[::ffff:127.0.0.1]/" }, "subscription.url", "loopback"},
		{"metadata ip", func(s *Subscription) { s.URL = "http://169.254.169.254/latest/meta-data/" }, "subscription.url", "metadata"},
		{"metadata name", func(s *Subscription) { s.URL = "http://metadata.google.internal/computeMetadata/v1/" }, "subscription.url", "metadata"},
		{"link-local", func(s *Subscription) { s.URL = "http://169.254.10.1/" }, "subscription.url", "link-local"},
		{"unspecified", func(s *Subscription) { s.URL = "http://0.0.0.0/" }, "subscription.url", "cannot receive"},
		{"credentials in url", func(s *Subscription) { s.URL = "https://user:pw@hooks.example.com/" }, "subscription.url", "credentials"},
		{"huge url", func(s *Subscription) { s.URL = "https://hooks.example.com/" + strings.Repeat("a", 3000) }, "subscription.url", "more than"},
		{"no url", func(s *Subscription) { s.URL = "" }, "subscription.url", "required"},
		{"no secret", func(s *Subscription) { s.Secret = "" }, "subscription.secret", "required"},
		{"short secret", func(s *Subscription) { s.Secret = "short" }, "subscription.secret", "characters"},
		{"huge secret", func(s *Subscription) { s.Secret = strings.Repeat("s", 300) }, "subscription.secret", "characters"},
		{"bad name", func(s *Subscription) { s.Name = "../etc" }, "subscription.name", "invalid name"},
		{"unknown type", func(s *Subscription) { s.EventTypes = []Type{"exploded"} }, "subscription.eventTypes[0]", "unknown event type"},
		{"duplicate type", func(s *Subscription) { s.EventTypes = []Type{TypeFailed, TypeFailed} }, "subscription.eventTypes[1]", "twice"},
		{"bad selector", func(s *Subscription) { s.LabelSelector = "team in (" }, "subscription.labelSelector", "invalid label selector"},
		{"huge selector", func(s *Subscription) { s.LabelSelector = strings.Repeat("a", 2000) }, "subscription.labelSelector", "more than"},
		{"bad job name", func(s *Subscription) { s.JobName = "A B" }, "subscription.jobName", "invalid job name"},
		{"unknown format", func(s *Subscription) { s.Format = "xml" }, "subscription.format", "unknown format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSub()
			tt.edit(s)
			err := Validate(s, guard)
			var je *job.Error
			if !errors.As(err, &je) || je.Kind != job.KindInvalid {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			for _, f := range je.Fields {
				if f.Field == tt.field && strings.Contains(f.Message, tt.text) {
					return
				}
			}
			t.Errorf("no field error %s mentioning %q in %+v", tt.field, tt.text, je.Fields)
		})
	}
	if err := Validate(validSub(), guard); err != nil {
		t.Errorf("valid subscription refused: %v", err)
	}
	slack := validSub()
	slack.Secret, slack.Format = "", FormatSlack
	if err := Validate(slack, guard); err != nil {
		t.Errorf("a Slack subscription may do without a secret: %v", err)
	}
	// The admin may allow receivers on loopback, never metadata services.
	local := validSub()
	local.URL = "http://127.0.0.1:9999/hook"
	if err := Validate(local, &Guard{AllowLoopback: true}); err != nil {
		t.Errorf("loopback allowed by the admin, still refused: %v", err)
	}
	local.URL = "http://169.254.169.254/"
	if err := Validate(local, &Guard{AllowLoopback: true}); err == nil {
		t.Error("metadata address accepted with loopback allowed")
	}
}

func TestStoreKeepsSecretsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify", "subscriptions.json")
	st, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	created, err := st.Create(validSub())
	if err != nil {
		t.Fatal(err)
	}
	if created.Secret != "" {
		t.Error("Create returned the secret")
	}
	if got, _ := st.Get("team-a", "ops"); got.Secret != "" {
		t.Error("Get returned the secret")
	}
	for _, s := range st.List("") {
		if s.Secret != "" {
			t.Error("List returned the secret")
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("subscriptions file mode %v, want 0600", fi.Mode().Perm())
	}
	// Reopened (a server restart), the secret is still there to sign with.
	st2, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := st2.current("team-a/ops"); !ok || s.Secret != testSecret {
		t.Errorf("secret not persisted: %+v", s)
	}
	if _, err := st2.Create(validSub()); !isKind(err, job.KindAlreadyExists) {
		t.Errorf("duplicate: want AlreadyExists, got %v", err)
	}
	if _, err := st2.Delete("team-b", "ops"); !isKind(err, job.KindNotFound) {
		t.Errorf("another namespace's delete: want NotFound, got %v", err)
	}
	if _, err := st2.Delete("team-a", "ops"); err != nil {
		t.Fatal(err)
	}
	if len(st2.List("")) != 0 {
		t.Error("deleted subscription still listed")
	}
}

func TestStoreLimitsANamespace(t *testing.T) {
	st, err := OpenStore(filepath.Join(t.TempDir(), "subscriptions.json"))
	if err != nil {
		t.Fatal(err)
	}
	st.MaxPerNamespace = 2
	for _, n := range []string{"a", "b"} {
		s := validSub()
		s.Name = n
		if _, err := st.Create(s); err != nil {
			t.Fatal(err)
		}
	}
	s := validSub()
	s.Name = "c"
	if _, err := st.Create(s); !isKind(err, job.KindQuotaExceeded) {
		t.Fatalf("want QuotaExceeded, got %v", err)
	}
	if len(st.List("team-a")) != 2 {
		t.Error("a refused subscription was saved")
	}
	other := validSub()
	other.Namespace = "team-b"
	if _, err := st.Create(other); err != nil {
		t.Errorf("another namespace has its own limit: %v", err)
	}
	bad := validSub()
	bad.Namespace = "../x"
	if _, err := st.Create(bad); err == nil {
		t.Error("invalid namespace accepted")
	}
}

func isKind(err error, k job.ErrorKind) bool {
	var je *job.Error
	return errors.As(err, &je) && je.Kind == k
}

func TestMatches(t *testing.T) {
	e := &Event{Namespace: "team-a", Job: "train", Type: TypeFailed, Labels: map[string]string{"team": "nlp"}}
	tests := []struct {
		name string
		sub  Subscription
		want bool
	}{
		{"namespace", Subscription{Namespace: "team-a"}, true},
		{"other namespace", Subscription{Namespace: "team-b"}, false},
		{"job", Subscription{Namespace: "team-a", JobName: "train"}, true},
		{"other job", Subscription{Namespace: "team-a", JobName: "eval"}, false},
		{"type", Subscription{Namespace: "team-a", EventTypes: []Type{TypeSucceeded, TypeFailed}}, true},
		{"other type", Subscription{Namespace: "team-a", EventTypes: []Type{TypeSucceeded}}, false},
		{"selector", Subscription{Namespace: "team-a", LabelSelector: "team=nlp"}, true},
		{"other selector", Subscription{Namespace: "team-a", LabelSelector: "team=cv"}, false},
	}
	for _, tt := range tests {
		if got := tt.sub.Matches(e); got != tt.want {
			t.Errorf("%s: Matches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/odh-training/odh-training/internal/job"
)

// Payload formats of a subscription.
const (
	FormatCloudEvents = "cloudevents"
	FormatSlack       = "slack"
)

// Subscription asks for a namespace's job events (optionally one job's,
// or those of jobs matching a label selector, and only some types) at a
// webhook URL.
type Subscription struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	URL       string `json:"url"`
	// Secret signs every delivery (HMAC-SHA256 of the body). It is stored
	// in the store's 0600 file only: never logged, never returned.
	Secret        string    `json:"secret,omitempty"`
	Format        string    `json:"format,omitempty"`
	EventTypes    []Type    `json:"eventTypes,omitempty"`
	JobName       string    `json:"jobName,omitempty"`
	LabelSelector string    `json:"labelSelector,omitempty"`
	Creator       string    `json:"creator,omitempty"`
	CreateTime    time.Time `json:"createTime"`

	selector labels.Selector
}

// Limits on what a tenant may store.
const (
	MaxURLLength       = 2048
	MinSecretLength    = 16
	MaxSecretLength    = 256
	MaxSelectorLength  = 1024
	DefaultMaxPerNS    = 20
	maxNameLength      = 63
	secretRedactedHint = "the secret is write-only: it is never shown again; delete and recreate the subscription to change it"
)

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Key identifies a subscription.
func (s *Subscription) Key() string { return s.Namespace + "/" + s.Name }

// Redacted returns a copy without the secret, for everything that leaves
// the store.
func (s *Subscription) Redacted() *Subscription {
	c := *s
	c.Secret = ""
	c.EventTypes = slices.Clone(s.EventTypes)
	return &c
}

// Matches reports whether an event is for this subscription.
func (s *Subscription) Matches(e *Event) bool {
	if e.Namespace != s.Namespace {
		return false
	}
	if s.JobName != "" && e.Job != s.JobName {
		return false
	}
	if len(s.EventTypes) > 0 && !slices.Contains(s.EventTypes, e.Type) {
		return false
	}
	if s.LabelSelector != "" {
		sel := s.selector
		if sel == nil {
			var err error
			if sel, err = labels.Parse(s.LabelSelector); err != nil {
				return false
			}
		}
		if !sel.Matches(labels.Set(e.Labels)) {
			return false
		}
	}
	return true
}

// Validate checks a subscription a tenant sent, all fields at once, with
// field paths. guard checks the URL's destination (SSRF); nil skips it.
func Validate(s *Subscription, guard *Guard) error {
	var errs job.FieldErrors
	add := func(field, value, msg string, typ string) {
		errs = append(errs, job.FieldError{Field: field, Type: typ, Value: value, Message: msg})
	}
	switch {
	case s.Name == "":
		add("subscription.name", "", "a subscription needs a name", job.FieldRequired)
	case len(s.Name) > maxNameLength || !nameRE.MatchString(s.Name):
		add("subscription.name", s.Name, fmt.Sprintf("invalid name %q: use at most %d lowercase letters, digits and '-', starting and ending with a letter or digit", s.Name, maxNameLength), job.FieldInvalid)
	}
	if err := checkURL(s.URL, guard); err != nil {
		add("subscription.url", truncate(s.URL, 200), err.Error(), job.FieldInvalid)
	}
	switch s.Format {
	case "", FormatCloudEvents:
		s.Format = FormatCloudEvents
	case FormatSlack:
	default:
		add("subscription.format", truncate(s.Format, 64), fmt.Sprintf("unknown format %q: use %q (CloudEvents 1.0 JSON) or %q (a Slack incoming-webhook body)", truncate(s.Format, 64), FormatCloudEvents, FormatSlack), job.FieldNotSupported)
	}
	switch {
	case s.Secret == "" && s.Format == FormatCloudEvents:
		add("subscription.secret", "", fmt.Sprintf("a secret of %d to %d characters is required: every delivery is signed with it (header %s)", MinSecretLength, MaxSecretLength, SignatureHeader), job.FieldRequired)
	case s.Secret != "" && (len(s.Secret) < MinSecretLength || len(s.Secret) > MaxSecretLength):
		add("subscription.secret", "", fmt.Sprintf("the secret has %d characters: use %d to %d (e.g. openssl rand -hex 32)", len(s.Secret), MinSecretLength, MaxSecretLength), job.FieldInvalid)
	}
	seen := map[Type]bool{}
	for i, t := range s.EventTypes {
		if !slices.Contains(Types, t) {
			names := make([]string, len(Types))
			for i, x := range Types {
				names[i] = string(x)
			}
			add(fmt.Sprintf("subscription.eventTypes[%d]", i), truncate(string(t), 64), fmt.Sprintf("unknown event type %q: use any of %s", truncate(string(t), 64), strings.Join(names, ", ")), job.FieldNotSupported)
		} else if seen[t] {
			add(fmt.Sprintf("subscription.eventTypes[%d]", i), string(t), fmt.Sprintf("event type %q is listed twice", t), job.FieldDuplicate)
		}
		seen[t] = true
	}
	if s.JobName != "" && (len(s.JobName) > maxNameLength || !nameRE.MatchString(s.JobName)) {
		add("subscription.jobName", truncate(s.JobName, 80), "invalid job name: use lowercase letters, digits and '-'", job.FieldInvalid)
	}
	if s.LabelSelector != "" {
		if len(s.LabelSelector) > MaxSelectorLength {
			add("subscription.labelSelector", truncate(s.LabelSelector, 80), fmt.Sprintf("the selector has %d characters, more than %d", len(s.LabelSelector), MaxSelectorLength), job.FieldInvalid)
		} else if sel, err := labels.Parse(s.LabelSelector); err != nil {
			add("subscription.labelSelector", s.LabelSelector, fmt.Sprintf("invalid label selector: %v (examples: \"team=nlp\", \"tier in (gold,silver)\")", err), job.FieldInvalid)
		} else {
			s.selector = sel
		}
	}
	if len(errs) > 0 {
		return &job.Error{Kind: job.KindInvalid, Message: fmt.Sprintf("subscription %q is invalid; nothing was saved:", truncate(s.Name, 80)), Fields: errs}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func checkURL(raw string, guard *Guard) error {
	if raw == "" {
		return errors.New("a webhook URL is required, e.g. https://hooks.example.com/odh")
	}
	if len(raw) > MaxURLLength {
		return fmt.Errorf("the URL has %d characters, more than %d", len(raw), MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q is not allowed: use an http:// or https:// URL", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("the URL has no host")
	}
	if u.User != nil {
		return errors.New("credentials in the URL are not allowed: use the subscription's secret to authenticate deliveries")
	}
	if guard != nil {
		return guard.CheckHost(u.Hostname())
	}
	return nil
}

// Store keeps subscriptions, secrets included, in one JSON file readable
// by its owner only (mode 0600).
type Store struct {
	path string
	// MaxPerNamespace bounds a namespace's subscriptions (0: DefaultMaxPerNS).
	MaxPerNamespace int

	mu   sync.Mutex
	subs map[string]*Subscription
}

// OpenStore loads (or starts) the store file at path.
func OpenStore(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create notification state dir: %w", err)
	}
	st := &Store{path: path, subs: map[string]*Subscription{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read subscriptions: %w", err)
	}
	var list []*Subscription
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("read subscriptions %s: %w", path, err)
	}
	for _, s := range list {
		if s.LabelSelector != "" {
			s.selector, _ = labels.Parse(s.LabelSelector)
		}
		st.subs[s.Key()] = s
	}
	// Tighten a file someone loosened.
	_ = os.Chmod(path, 0o600)
	return st, nil
}

// Create saves a validated subscription.
func (st *Store) Create(s *Subscription) (*Subscription, error) {
	if err := job.CheckNamespace(s.Namespace); err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.subs[s.Key()]; ok {
		return nil, job.Errorf(job.KindAlreadyExists, "subscription %q already exists in namespace %q", s.Name, s.Namespace)
	}
	maxN := st.MaxPerNamespace
	if maxN <= 0 {
		maxN = DefaultMaxPerNS
	}
	n := 0
	for _, o := range st.subs {
		if o.Namespace == s.Namespace {
			n++
		}
	}
	if n >= maxN {
		return nil, &job.Error{Kind: job.KindQuotaExceeded,
			Message: fmt.Sprintf("namespace %q already has %d notification subscriptions, the most a namespace may have; nothing was saved", s.Namespace, n),
			Hint:    "Delete subscriptions you no longer use (odh training notify delete NAME -n " + s.Namespace + "), or widen one subscription's filter."}
	}
	c := *s
	if c.CreateTime.IsZero() {
		c.CreateTime = time.Now().UTC()
	}
	st.subs[c.Key()] = &c
	if err := st.saveLocked(); err != nil {
		delete(st.subs, c.Key())
		return nil, err
	}
	return c.Redacted(), nil
}

// Delete removes a subscription.
func (st *Store) Delete(ns, name string) (*Subscription, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.subs[ns+"/"+name]
	if !ok {
		return nil, notFound(ns, name)
	}
	delete(st.subs, s.Key())
	if err := st.saveLocked(); err != nil {
		st.subs[s.Key()] = s
		return nil, err
	}
	return s.Redacted(), nil
}

func notFound(ns, name string) error {
	return &job.Error{Kind: job.KindNotFound, Message: fmt.Sprintf("notification subscription %q not found in namespace %q", truncate(name, 80), ns),
		Hint: "List subscriptions with: odh training notify list -n " + ns}
}

// Get returns a subscription without its secret.
func (st *Store) Get(ns, name string) (*Subscription, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.subs[ns+"/"+name]
	if !ok {
		return nil, notFound(ns, name)
	}
	return s.Redacted(), nil
}

// List returns a namespace's subscriptions ("" = all) without secrets,
// sorted by namespace and name.
func (st *Store) List(ns string) []*Subscription {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*Subscription
	for _, s := range st.subs {
		if ns == "" || s.Namespace == ns {
			out = append(out, s.Redacted())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// matching returns the subscriptions (with secrets) an event goes to.
func (st *Store) matching(e *Event) []*Subscription {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*Subscription
	for _, s := range st.subs {
		if s.Matches(e) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// current returns a subscription with its secret, and whether it still
// exists.
func (st *Store) current(key string) (*Subscription, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.subs[key]
	return s, ok
}

func (st *Store) saveLocked() error {
	list := make([]*Subscription, 0, len(st.subs))
	for _, s := range st.subs {
		list = append(list, s)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Key() < list[j].Key() })
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	tmp := st.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("save subscriptions: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("save subscriptions: %w", err)
	}
	if err := os.Rename(tmp, st.path); err != nil {
		return fmt.Errorf("save subscriptions: %w", err)
	}
	return nil
}

// Signed reports whether a subscription has a secret (its deliveries are
// signed), without revealing it.
func (st *Store) Signed(key string) bool {
	s, ok := st.current(key)
	return ok && s.Secret != ""
}

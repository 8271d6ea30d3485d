package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Roles of the local policy file, from least to most powerful. They mirror
// the cluster personas of deploy/rbac (docs/admin/security.md).
const (
	RoleViewer        = "viewer"
	RoleDataScientist = "data-scientist"
	RoleMLOps         = "mlops"
	RoleAdmin         = "admin"
)

// Roles lists the roles in order of power.
var Roles = []string{RoleViewer, RoleDataScientist, RoleMLOps, RoleAdmin}

// PolicyDocument is the JSON policy file of odh-server --policy-file: who
// the tokens belong to and which role each user or group has in which
// namespaces ("*" = every namespace).
//
//	{
//	  "users": [
//	    {"name": "alice", "groups": ["team-a"], "tokenSHA256": "<hex of sha256(token)>"},
//	    {"name": "ci", "token": "<plain token>"}
//	  ],
//	  "bindings": [
//	    {"role": "data-scientist", "namespaces": ["team-a"], "groups": ["team-a"]},
//	    {"role": "admin", "namespaces": ["*"], "users": ["root"]}
//	  ]
//	}
type PolicyDocument struct {
	Users    []PolicyUser    `json:"users"`
	Bindings []PolicyBinding `json:"bindings"`
}

// PolicyUser is one user and their token (plain or as a SHA-256 hex digest).
type PolicyUser struct {
	Name        string   `json:"name"`
	Groups      []string `json:"groups,omitempty"`
	Token       string   `json:"token,omitempty"`
	TokenSHA256 string   `json:"tokenSHA256,omitempty"`
}

// PolicyBinding gives a role to users and groups in namespaces.
type PolicyBinding struct {
	Role       string   `json:"role"`
	Namespaces []string `json:"namespaces"`
	Users      []string `json:"users,omitempty"`
	Groups     []string `json:"groups,omitempty"`
}

// Policy authenticates the tokens of a policy file and authorizes by its
// roles. Build it with ParsePolicy or LoadPolicy.
type Policy struct {
	byHash   map[[sha256.Size]byte]User
	bindings []PolicyBinding
}

var (
	_ Authenticator = (*Policy)(nil)
	_ Authorizer    = (*Policy)(nil)
)

// ParsePolicy reads and checks a policy document; every problem is reported.
func ParsePolicy(data []byte) (*Policy, error) {
	var doc PolicyDocument
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a valid policy document: %w", err)
	}
	var errs []error
	p := &Policy{byHash: map[[sha256.Size]byte]User{}}
	names := map[string]bool{}
	for i, u := range doc.Users {
		at := fmt.Sprintf("users[%d]", i)
		if u.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name is required", at))
		}
		if names[u.Name] {
			errs = append(errs, fmt.Errorf("%s: user %q is listed twice", at, u.Name))
		}
		names[u.Name] = true
		var h [sha256.Size]byte
		switch {
		case u.Token != "" && u.TokenSHA256 != "":
			errs = append(errs, fmt.Errorf("%s: set token or tokenSHA256, not both", at))
			continue
		case u.Token != "":
			h = sha256.Sum256([]byte(u.Token))
		case u.TokenSHA256 != "":
			b, err := hex.DecodeString(strings.ToLower(u.TokenSHA256))
			if err != nil || len(b) != sha256.Size {
				errs = append(errs, fmt.Errorf("%s: tokenSHA256 must be 64 hex digits (sha256sum of the token)", at))
				continue
			}
			copy(h[:], b)
		default:
			errs = append(errs, fmt.Errorf("%s: token or tokenSHA256 is required", at))
			continue
		}
		if _, dup := p.byHash[h]; dup {
			errs = append(errs, fmt.Errorf("%s: the token of %q is also another user's", at, u.Name))
		}
		groups := append(slices.Clone(u.Groups), "system:authenticated")
		p.byHash[h] = User{Name: u.Name, Groups: groups}
	}
	for i, b := range doc.Bindings {
		at := fmt.Sprintf("bindings[%d]", i)
		if !slices.Contains(Roles, b.Role) {
			errs = append(errs, fmt.Errorf("%s: unknown role %q: use one of %s", at, b.Role, strings.Join(Roles, ", ")))
		}
		if len(b.Namespaces) == 0 {
			errs = append(errs, fmt.Errorf("%s: namespaces is required (\"*\" for every namespace)", at))
		}
		if len(b.Users) == 0 && len(b.Groups) == 0 {
			errs = append(errs, fmt.Errorf("%s: name users or groups", at))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p.bindings = doc.Bindings
	return p, nil
}

// SeparatesUsers reports whether the policy gives some user less than
// every right everywhere: a role other than admin, or a binding limited to
// some namespaces, or a user with no binding at all.
func (p *Policy) SeparatesUsers() bool {
	full := map[string]bool{}
	for _, b := range p.bindings {
		if b.Role != RoleAdmin || !slices.Contains(b.Namespaces, "*") {
			return true
		}
		for _, u := range b.Users {
			full["user:"+u] = true
		}
		for _, g := range b.Groups {
			full["group:"+g] = true
		}
	}
	for _, u := range p.byHash {
		if full["user:"+u.Name] {
			continue
		}
		if !slices.ContainsFunc(u.Groups, func(g string) bool { return full["group:"+g] }) {
			return true
		}
	}
	return false
}

// LoadPolicy reads a policy file.
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy file: %w", err)
	}
	p, err := ParsePolicy(data)
	if err != nil {
		return nil, fmt.Errorf("policy file %s: %w", path, err)
	}
	return p, nil
}

// Authenticate looks the token up by its SHA-256 digest.
func (p *Policy) Authenticate(_ context.Context, token string) (User, error) {
	if token == "" {
		return User{}, ErrBadToken
	}
	h := sha256.Sum256([]byte(token))
	for k, u := range p.byHash {
		if subtle.ConstantTimeCompare(k[:], h[:]) == 1 {
			return u, nil
		}
	}
	return User{}, ErrBadToken
}

// role returns the most powerful role u has in namespace ns ("" = none).
// ns == "" asks about every namespace at once: only "*" bindings count.
func (p *Policy) role(u User, ns string) string {
	best := -1
	for _, b := range p.bindings {
		if !slices.Contains(b.Users, u.Name) && !slices.ContainsFunc(b.Groups, func(g string) bool { return slices.Contains(u.Groups, g) }) {
			continue
		}
		if !slices.Contains(b.Namespaces, "*") && (ns == "" || !slices.Contains(b.Namespaces, ns)) {
			continue
		}
		if i := slices.Index(Roles, b.Role); i > best {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return Roles[best]
}

// Authorize decides an action by the caller's role in the namespace:
// viewers read; data scientists also create, and change or delete what
// they created; MLOps engineers and admins change and delete anything.
func (p *Policy) Authorize(_ context.Context, u User, a Action) error {
	role := p.role(u, a.Namespace)
	switch a.Verb {
	case VerbGet, VerbList, VerbWatch:
		if role != "" {
			return nil
		}
	case VerbCreate:
		if role != "" && role != RoleViewer {
			return nil
		}
		if role == RoleViewer {
			return forbidden(u, a, fmt.Sprintf("%s is a viewer there, and viewers only read", u.Name),
				fmt.Sprintf("Ask a platform administrator for the data-scientist role in namespace %q in the server's policy file.", a.Namespace))
		}
	case VerbUpdate, VerbDelete:
		switch role {
		case RoleMLOps, RoleAdmin:
			return nil
		case RoleViewer:
			return forbidden(u, a, fmt.Sprintf("%s is a viewer there, and viewers only read", u.Name),
				fmt.Sprintf("Ask its creator or an MLOps engineer of namespace %q to do it.", a.Namespace))
		case RoleDataScientist:
			if a.Owner == nil {
				return forbidden(u, a, "data scientists may change only the jobs they created", "")
			}
			owner, err := a.Owner()
			if err != nil {
				return err
			}
			if owner == u.Name {
				return nil
			}
			by := "someone else"
			if owner != "" {
				by = fmt.Sprintf("%q", owner)
			}
			return forbidden(u, a, fmt.Sprintf("it was created by %s, and data scientists may change only what they created", by),
				fmt.Sprintf("Ask its creator or an MLOps engineer of namespace %q (role mlops) to do it.", a.Namespace))
		}
	default:
		if role == RoleAdmin {
			return nil
		}
	}
	why := fmt.Sprintf("%s has no role in namespace %q", u.Name, a.Namespace)
	grant := fmt.Sprintf("Ask a platform administrator to give you a role in namespace %q in the server's policy file (odh-server --policy-file).", a.Namespace)
	if a.Namespace == "" {
		why = fmt.Sprintf("%s has no role in every namespace", u.Name)
		grant = "Name a namespace with -n/--namespace, or ask a platform administrator for a role in every namespace (\"*\") in the server's policy file."
	}
	if role != "" {
		why = fmt.Sprintf("the %s role does not allow it", role)
	}
	return forbidden(u, a, why, grant)
}

// PolicyFile is a policy file that is read again when it changes (checked
// at most every two seconds), so access can be granted or revoked without
// a restart. A file that no longer parses is logged and the last good
// policy stays in force.
type PolicyFile struct {
	path  string
	log   *slog.Logger
	check func(*Policy) error

	mu      sync.Mutex
	cur     *Policy
	mod     time.Time
	size    int64
	checked time.Time
}

var (
	_ Authenticator = (*PolicyFile)(nil)
	_ Authorizer    = (*PolicyFile)(nil)
)

// OpenPolicyFile loads the policy file at path. check, when set, must
// accept the policy, at start and at every reload (a reloaded policy it
// refuses is logged and the previous one stays in force).
func OpenPolicyFile(path string, log *slog.Logger, check func(*Policy) error) (*PolicyFile, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	p, err := LoadPolicy(path)
	if err == nil && check != nil {
		if err = check(p); err != nil {
			err = fmt.Errorf("policy file %s: %w", path, err)
		}
	}
	if err != nil {
		return nil, err
	}
	return &PolicyFile{path: path, log: log, check: check, cur: p, mod: st.ModTime(), size: st.Size(), checked: time.Now()}, nil
}

func (f *PolicyFile) policy() *Policy {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.checked) < 2*time.Second {
		return f.cur
	}
	f.checked = time.Now()
	st, err := os.Stat(f.path)
	if err != nil || (st.ModTime().Equal(f.mod) && st.Size() == f.size) {
		return f.cur
	}
	p, err := LoadPolicy(f.path)
	if err == nil && f.check != nil {
		err = f.check(p)
	}
	if err != nil {
		f.log.Error("policy file changed but is not valid; keeping the previous policy", "error", err)
	} else {
		f.cur = p
		f.log.Info("policy file reloaded", "path", f.path)
	}
	f.mod, f.size = st.ModTime(), st.Size()
	return f.cur
}

// Authenticate uses the current policy.
func (f *PolicyFile) Authenticate(ctx context.Context, token string) (User, error) {
	return f.policy().Authenticate(ctx, token)
}

// Authorize uses the current policy.
func (f *PolicyFile) Authorize(ctx context.Context, u User, a Action) error {
	return f.policy().Authorize(ctx, u, a)
}

package odhserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/odh-training/odh-training/internal/auth"
)

// checkPrivate refuses a path that another user could have prepared or can
// read: one owned by someone else (e.g. a --state-dir=/tmp/odh made by
// another user first, with their token file or jobs planted in it), or
// readable or writable by group or others (the token, the jobs' logs).
func checkPrivate(what, path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return fmt.Errorf("%s %s belongs to another user (uid %d, not %d): it could hold their token or jobs; use a path of your own (e.g. the default --state-dir)", what, path, sys.Uid, os.Geteuid())
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s %s can be read or written by other users (mode %#o); make it private (chmod %s %s) or use another path", what, path, perm, map[bool]string{true: "700", false: "600"}[st.IsDir()], path)
	}
	return nil
}

// errSeparation is the refusal of a policy file that would separate users
// of the local engine.
var errSeparation = errors.New("the local engine runs every job as this server's OS user, in its environment, with access to every job's logs, the state directory and the policy file itself: it cannot keep users apart. A policy file here may only give several people their own tokens with the same full access (role admin in namespaces [\"*\"] for everyone); to separate users, run jobs on a cluster (--engine=kubernetes, where the cluster's RBAC decides)")

// checkLocalPolicy refuses a policy that claims a separation the local
// engine does not have.
func checkLocalPolicy(p *auth.Policy) error {
	if p.SeparatesUsers() {
		return errSeparation
	}
	return nil
}

// Package userns lets an ordinary user build: kiwi re-executes itself in a
// user namespace where the user's own id is root and the subordinate ids
// of /etc/subuid and /etc/subgid are everyone else, the way rootless
// podman and buildah do (containers/storage's pkg/unshare makes the
// namespace). Inside, files get the owners an image needs (root:root,
// setuid binaries, /etc/shadow root:shadow) while the host sees only ids
// the user was given.
package userns

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.podman.io/storage/pkg/unshare"
)

// MinIDs is how many subordinate ids a user needs: a Debian or SUSE root
// uses ids up to 65534 (nobody, nogroup), and every id a root holds must
// map to one on the host.
const MinIDs = 65536

// Inside reports whether this process runs as root of a user namespace
// that does not map every id: it is not the host's root, whatever its
// euid says. Mounting a filesystem, making device nodes and loop devices
// then need other ways.
func Inside() bool {
	if os.Geteuid() != 0 {
		return false
	}
	m, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	// The initial namespace maps 4294967295 ids from 0; the kernel
	// refuses that count in any other.
	return !bytes.Contains(m, []byte("4294967295"))
}

// HostRoot reports whether this process is root on the host, as mounts,
// loop devices and virtiofsd need.
func HostRoot() bool {
	return os.Geteuid() == 0 && !Inside()
}

// Enter re-executes kiwi inside a user namespace when an ordinary user
// runs it, and does not return then: the process exits with the status
// of its copy. It returns nil at once for root and inside the namespace.
// Before anything runs it checks what the namespace needs and names the
// fix: subordinate id ranges and the newuidmap/newgidmap helpers.
func Enter() error {
	if os.Geteuid() == 0 {
		return nil
	}
	if !supported {
		return fmt.Errorf("this kiwi was built without cgo, which running as an ordinary user needs (the user namespace is set up before Go starts); run as root or build kiwi with CGO_ENABLED=1")
	}
	me, err := user.Current()
	if err != nil {
		return fmt.Errorf("who is running kiwi: %w", err)
	}
	if err := checkIDs(me.Username); err != nil {
		return err
	}
	for _, helper := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(helper); err != nil {
			return fmt.Errorf("running as an ordinary user needs %s (setuid, from shadow's uidmap package) to map the subordinate ids: install uidmap (apt-get install uidmap, zypper/dnf install shadow-utils)", helper)
		}
	}
	unshare.MaybeReexecUsingUserNamespace(false)
	// Reached only when storage decided no namespace is needed.
	return nil
}

// checkIDs makes sure the user has MinIDs subordinate user and group ids:
// without them storage would warn and map one id only, and the first
// package owned by another user would fail far into the build.
func checkIDs(name string) error {
	uids, gids, err := unshare.GetSubIDMappings(name, name)
	fix := fmt.Sprintf("give the user subordinate ids as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s (any free range of %d ids)", name, MinIDs)
	if err != nil {
		return fmt.Errorf("running as user %s needs subordinate ids in /etc/subuid and /etc/subgid (%v); %s", name, err, fix)
	}
	if n := count(uids); n < MinIDs {
		return fmt.Errorf("user %s has %d subordinate user ids in /etc/subuid, kiwi needs %d; %s", name, n, MinIDs, fix)
	}
	if n := count(gids); n < MinIDs {
		return fmt.Errorf("user %s has %d subordinate group ids in /etc/subgid, kiwi needs %d; %s", name, n, MinIDs, fix)
	}
	return nil
}

// count is how many ids the ranges hold.
func count(ranges []specs.LinuxIDMapping) (n uint64) {
	for _, r := range ranges {
		n += uint64(r.Size)
	}
	return n
}

// reexecSuffix is what pkg/unshare appends to the name of the copy it
// starts in the namespace.
const reexecSuffix = "-in-a-user-namespace"

// Executable is the path of the running kiwi binary, also in the copy in
// the namespace: there os.Executable (/proc/self/exe) was seen to give
// "/", while the name the copy was started by is the original's path plus
// a suffix.
func Executable() (string, error) {
	if p, err := os.Executable(); err == nil && !Inside() {
		return p, nil
	}
	name := strings.TrimSuffix(os.Args[0], reexecSuffix)
	if !strings.Contains(name, "/") {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("the kiwi binary %s: %w", name, err)
		}
		name = p
	}
	p, err := filepath.Abs(name)
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("the kiwi binary %s is not a file (%v)", p, err)
	}
	return p, nil
}

// CommandName is the name kiwi was started by, without the suffix of the
// copy in the namespace.
func CommandName(arg0 string) string {
	return strings.TrimSuffix(filepath.Base(arg0), reexecSuffix)
}

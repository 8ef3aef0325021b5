package pkgmanager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/chroot"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// rpmDB is the rpm database of a root, used through the host's rpm (and
// the host's zypper or dnf, which link librpm). The host's macros are
// not the image's: Debian's rpm keeps its database in ~/.rpmdb. So every
// run gets HOME set to the build's private dir, whose .rpmmacros names
// the root's database path and the description's rpm settings; librpm
// reads ~/.rpmmacros last, so they win.
type rpmDB struct {
	root string
	// home is the private dir holding .rpmmacros.
	home string
	// path is the database dir inside the root.
	path string
	run  runner.Runner
}

// rpmDBPaths are where rpm roots keep their database, newest layout
// first (openSUSE and Fedora since 2021 use /usr/lib/sysimage/rpm, with
// /var/lib/rpm a link to it on many).
var rpmDBPaths = []string{"/usr/lib/sysimage/rpm", "/var/lib/rpm"}

// rpmDBPathOf is the database dir of the root: the one holding a
// database, or the current layout for a root that has none yet.
func rpmDBPathOf(root string) string {
	for _, p := range rpmDBPaths {
		for _, f := range []string{"rpmdb.sqlite", "Packages.db", "Packages"} {
			if fi, err := os.Stat(filepath.Join(root, p, f)); err == nil && fi.Mode().IsRegular() {
				return p
			}
		}
	}
	return rpmDBPaths[0]
}

// newRPMDB writes the private .rpmmacros for d's root into home.
func newRPMDB(d *description.Description, root, home string, r runner.Runner) (*rpmDB, error) {
	db := &rpmDB{root: root, home: home, path: rpmDBPathOf(root), run: r}
	macros := "%_dbpath " + db.path + "\n"
	if d != nil {
		if d.Preferences.RPMExcludeDocs {
			macros += "%_excludedocs 1\n"
		}
		if d.Preferences.RPMLocaleFiltering {
			macros += "%_install_langs " + installLangs(d.Preferences.Locale) + "\n"
		}
	}
	if err := writeFiles(home, map[string]string{".rpmmacros": macros}); err != nil {
		return nil, fmt.Errorf("rpm macros: %w", err)
	}
	return db, nil
}

// installLangs is rpm's %_install_langs for the description's locales:
// those and the C/POSIX ones every system needs (KIWI's
// rpm-locale-filtering).
func installLangs(locales []string) string {
	langs := []string{"C", "C.UTF-8", "POSIX"}
	for _, l := range locales {
		if !slices.Contains(langs, l) {
			langs = append(langs, l)
		}
	}
	return strings.Join(langs, ":")
}

// env is the environment of rpm and of the managers linking librpm.
func (db *rpmDB) env() []string {
	return []string{"HOME=" + db.home, "LANG=C", "LC_ALL=C"}
}

// has tells whether the root holds a database.
func (db *rpmDB) has() bool {
	return rpmDBPathOf(db.root) == db.path && exists(filepath.Join(db.root, db.path))
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// rpm runs the host's rpm on the root's database.
func (db *rpmDB) rpm(ctx context.Context, args ...string) ([]byte, error) {
	return db.run.Run(ctx, runner.Cmd{Name: "rpm", Args: append([]string{"--root", db.root, "--dbpath", db.path}, args...), Env: db.env()})
}

// Installed names the packages in the root's database and what they
// provide: a description asking for kernel-default is satisfied by the
// package providing it, as zypper and dnf would be.
func (db *rpmDB) Installed(ctx context.Context) (map[string]bool, error) {
	if !db.has() {
		return nil, fmt.Errorf("%w (%s in %s): it is no rpm root yet, or packagemanager is wrong", ErrNoDatabase, db.path, db.root)
	}
	out, err := db.rpm(ctx, "-qa", "--qf", "%{NAME}\n[%{PROVIDENAME}\n]")
	if err != nil {
		return nil, fmt.Errorf("list the root's packages: %w", err)
	}
	return nameSet(out), nil
}

// nameSet is the set of the whitespace-separated names in out.
func nameSet(out []byte) map[string]bool {
	have := map[string]bool{}
	for _, n := range strings.Fields(string(out)) {
		have[n] = true
	}
	return have
}

// Packages are KIWI's .packages lines of an rpm root, sorted.
func (db *rpmDB) Packages(ctx context.Context) ([]string, error) {
	if !db.has() {
		return nil, ErrNoDatabase
	}
	out, err := db.rpm(ctx, "-qa", "--qf", "%{NAME}|%{EPOCH}|%{VERSION}|%{RELEASE}|%{ARCH}|%{DISTURL}|%{LICENSE}\n")
	if err != nil {
		return nil, fmt.Errorf("list packages: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	sort.Strings(lines)
	return lines, nil
}

// Changes is rpm's changelog of every package, as KIWI queries it.
func (db *rpmDB) Changes(ctx context.Context) ([]byte, error) {
	if !db.has() {
		return nil, ErrNoDatabase
	}
	out, err := db.rpm(ctx, "-qa", "--qf", "%{NAME}|\n", "--changelog")
	if err != nil {
		return nil, fmt.Errorf("package changelogs: %w", err)
	}
	return out, nil
}

// Verify is rpm -Va: it exits 1 when files changed, and their list is
// the result.
func (db *rpmDB) Verify(ctx context.Context) ([]byte, error) {
	if !db.has() {
		return nil, ErrNoDatabase
	}
	out, err := db.rpm(ctx, "-Va")
	var re *runner.Error
	if err != nil && !(errors.As(err, &re) && re.Code == 1) {
		return nil, fmt.Errorf("verify packages: %w", err)
	}
	return out, nil
}

// Delete removes pkgs without their scripts and whatever depends on them
// (KIWI's delete: rpm -e --nodeps --allmatches --noscripts).
func (db *rpmDB) Delete(ctx context.Context, pkgs []string) error {
	if len(pkgs) == 0 {
		return nil
	}
	if _, err := db.rpm(ctx, append([]string{"-e", "--nodeps", "--allmatches", "--noscripts"}, pkgs...)...); err != nil {
		return fmt.Errorf("delete packages %s: %w", strings.Join(pkgs, ", "), err)
	}
	return nil
}

// importKeys imports signing keys into the root's database, so the
// manager checks signatures against them (rpm --import, as KIWI does).
func (db *rpmDB) importKeys(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(db.root, db.path), 0o755); err != nil {
		return err
	}
	for _, k := range keys {
		if _, err := db.rpm(ctx, "--import", k); err != nil {
			return fmt.Errorf("import signing key %s: %w", k, err)
		}
	}
	return nil
}

// onHost runs a host program (zypper, dnf, pacman) against the root with
// the root's /proc, /sys and /dev mounted for the package scripts, the
// host's resolv.conf and binds, in a private mount namespace that ends
// with it.
func onHost(ctx context.Context, r runner.Runner, root string, env []string, binds []chroot.Bind, name string, args ...string) ([]byte, error) {
	binds = append(binds, chroot.Bind{Host: "/etc/resolv.conf", InRoot: "/etc/resolv.conf", File: true})
	return chroot.RunCmd(ctx, r, chroot.Cmd{Root: root, Env: env, Name: name, Args: args, OnHost: true, Binds: binds})
}

// imageRepoFiles writes the repositories the image keeps into the root's
// own configuration dir (zypper's repos.d, dnf's yum.repos.d, pacman.d).
func imageRepoFiles(root, dir string, files map[string]string) error {
	if len(files) == 0 {
		return nil
	}
	d := filepath.Join(root, dir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("include repository %s in the image: %w", name, err)
		}
	}
	return nil
}

// removeEmpty removes the directories dirs of root, in order, where
// they are empty (mount points and scratch dirs the build made).
func removeEmpty(root string, dirs ...string) {
	for _, d := range dirs {
		_ = os.Remove(filepath.Join(root, d))
	}
}

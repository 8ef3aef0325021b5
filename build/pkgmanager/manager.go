// Package pkgmanager installs, removes, lists and verifies the packages
// of a root tree with the package manager a KIWI description names
// (<packagemanager>): apt, zypper, dnf (dnf4, dnf5) and pacman. One
// table (managers) says which names exist and what each needs; prepare
// (bootstrap, image packages, uninstall, delete, clean-up) and create
// (the .packages and .verified results) use the Manager interface only.
//
// Every manager but apt runs the host's tool against the root (zypper
// --root, dnf --installroot, pacman --root), as KIWI does for the
// bootstrap, for all phases: the root needs no package manager of its
// own. The tool's configuration and repository files live in a private
// directory of the build (never the host's /etc), downloaded packages and
// metadata in the shared cache (<cache>/<manager>/), one build at a time
// per manager (a flock, as for apt).
package pkgmanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// Manager is one package manager working on one root.
type Manager interface {
	// Bootstrap fills the empty root with pkgs (and what they need)
	// from the build's repositories.
	Bootstrap(ctx context.Context, pkgs []string) error
	// Installed names the packages the root's database holds.
	Installed(ctx context.Context) (map[string]bool, error)
	// Install installs pkgs into the root from the build's repositories.
	Install(ctx context.Context, pkgs []string) error
	// Uninstall removes pkgs and what only they needed (<packages
	// type="uninstall">).
	Uninstall(ctx context.Context, pkgs []string) error
	// Delete removes pkgs by force, leaving what depends on them
	// (<packages type="delete">), as KIWI's rpm -e --nodeps does.
	Delete(ctx context.Context, pkgs []string) error
	// Update upgrades every installed package from the build's
	// repositories (system update).
	Update(ctx context.Context) error
	// Finish removes what the build put into the root for the package
	// manager and writes the repositories the image keeps
	// (imageinclude, imageonly) into the root's own configuration.
	Finish() error
	// ClearCache drops the cached repository metadata, so the next
	// install reads the repositories again (--clear-cache).
	ClearCache() error
	// Packages lists the root's packages as KIWI's .packages lines
	// (name|epoch|version|release|arch|disturl|license).
	Packages(ctx context.Context) ([]string, error)
	// Verify checks the installed files against the database: the
	// changed ones are the result (KIWI's .verified).
	Verify(ctx context.Context) ([]byte, error)
	// Changes is every installed package's changelog, each after a
	// "name|" line (KIWI's .changes); ErrNoChanges for a manager KIWI
	// makes none for (pacman).
	Changes(ctx context.Context) ([]byte, error)
	// Close removes the build's private configuration.
	Close() error
}

// ErrNoDatabase is the error of Installed, Packages and Verify for a
// root without the manager's package database.
var ErrNoDatabase = errors.New("the root has no package database")

// ErrNoChanges is the error of Changes for a manager without changelogs
// in its database.
var ErrNoChanges = errors.New("the package manager keeps no changelogs KIWI exports")

// Options are what a Manager works with.
type Options struct {
	Root string
	// CacheDir is the shared cache; each manager keeps its packages and
	// metadata in CacheDir/<manager>.
	CacheDir string
	// TempDir holds the private configuration directory (default
	// os.TempDir()).
	TempDir string
	// SigningKeys are key files the repositories are trusted with
	// (--signing-key), besides the description's <signing> keys.
	SigningKeys []string
	Run         runner.Runner
	Log         *slog.Logger
}

// kind is one entry of the managers table.
type kind struct {
	// tool is the host program the manager runs ("" for apt, which runs
	// the root's own apt-get; debootstrap is checked by Bootstrap).
	tool string
	// refused, when set, is why this kiwi does not use the manager.
	refused string
	// repoTypes are the <repository type=> values the manager reads (an
	// unset type lets the manager find out: zypper probes for rpm-md or
	// a plain directory of rpms, KIWI 9's rpm-dir, which the schema
	// upgrade turns into an unset type).
	repoTypes []string
	// collection and product name a <namedCollection> and a <product>
	// in the manager's install syntax; nil where it has none.
	collection, product func(string) string
	// index is where the manager reads a repository's index (what
	// RepositoryState hashes), for a target arch and release version.
	index func(r repo, targetArch, release string) index
	new   func(d *description.Description, o Options, name string, repos []repo) (Manager, error)
}

func prefixed(p string) func(string) string { return func(n string) string { return p + n } }

// managers is the table of KIWI's package managers.
var managers = map[string]kind{
	"apt":    {repoTypes: []string{"apt-deb"}, index: aptIndex, new: newApt},
	"zypper": {tool: "zypper", repoTypes: []string{"rpm-md"}, collection: prefixed("pattern:"), product: prefixed("product:"), index: rpmmdIndex, new: newZypper},
	"dnf":    {tool: "dnf", repoTypes: []string{"rpm-md"}, collection: prefixed("@"), index: rpmmdIndex, new: newDnf},
	"dnf4":   {tool: "dnf", repoTypes: []string{"rpm-md"}, collection: prefixed("@"), index: rpmmdIndex, new: newDnf},
	"dnf5":   {tool: "dnf5", repoTypes: []string{"rpm-md"}, collection: prefixed("@"), index: rpmmdIndex, new: newDnf},
	// pacman installs a group by its name.
	"pacman": {tool: "pacman", repoTypes: []string{"rpm-md"}, collection: prefixed(""), index: pacmanIndex, new: newPacman},
	"microdnf": {refused: "microdnf is dnf's reduced front end for minimal containers; this kiwi does not drive it: " +
		"use <packagemanager>dnf</packagemanager> (the same repositories and packages)"},
	"apk": {refused: "Alpine's apk is not supported by this kiwi (Debian serves no apk to build with): " +
		"build Alpine roots elsewhere and bring them in with kiwi system stash"},
}

// Names are the package managers KIWI's schema knows, sorted.
func Names() []string {
	out := make([]string, 0, len(managers))
	for n := range managers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Check checks d's package manager and repositories without touching
// anything: the name is one this kiwi uses, and every repository is one
// it can read (type, source). The host's tool is checked by CheckHost.
func Check(d *description.Description) error {
	name := d.Preferences.PackageManager
	k, ok := managers[name]
	if !ok {
		return fmt.Errorf("%s: packagemanager %q: KIWI has no such package manager; use one of %s", d.File, name, strings.Join(Names(), ", "))
	}
	if k.refused != "" {
		return fmt.Errorf("%s: packagemanager %q: %s", d.File, name, k.refused)
	}
	_, err := repositories(d, name, k)
	return err
}

// CheckHost is Check plus the host program the manager runs.
func CheckHost(d *description.Description) error {
	if err := Check(d); err != nil {
		return err
	}
	name := d.Preferences.PackageManager
	if tool := managers[name].tool; tool != "" {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s: packagemanager %q needs %s on this host (%s), or build in a box (kiwi system boxbuild)", d.File, name, tool, installHint(tool))
		}
	}
	return nil
}

// installHint says how this host gets a manager's tool.
func installHint(tool string) string {
	switch tool {
	case "pacman":
		return "apt-get install pacman-package-manager"
	case "dnf5":
		return "Debian 12 has no dnf5 package; use <packagemanager>dnf</packagemanager> (dnf 4) or a host with dnf5"
	}
	return "apt-get install " + tool
}

// New returns the manager d names, working on o.Root; it checks the
// description and the host first (CheckHost) and makes nothing.
func New(d *description.Description, o Options) (Manager, error) {
	if err := CheckHost(d); err != nil {
		return nil, err
	}
	return ForResults(d, o)
}

// ForResults returns the manager d names for listing and verifying the
// packages of o.Root (create's .packages and .verified): the description
// is checked, the host's manager is not (only its database tool runs).
func ForResults(d *description.Description, o Options) (Manager, error) {
	if err := Check(d); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	name := d.Preferences.PackageManager
	k := managers[name]
	repos, err := repositories(d, name, k)
	if err != nil {
		return nil, err
	}
	return k.new(d, o, name, repos)
}

// repo is one <repository> as the managers read it.
type repo struct {
	pos   description.Pos
	alias string
	// uri is the source as a URL the tool reads (http, https, file).
	uri          string
	typ          string
	priority     int
	components   []string
	dist         string
	user, secret string
	// repoCheck and pkgCheck are the repository's gpg settings, nil
	// when the description leaves them to the manager.
	repoCheck, pkgCheck *bool
	// build: the build installs from it (not imageonly); image: the
	// image keeps it (imageinclude or imageonly).
	build, image bool
	keys         []string
}

// repositories reads d's repositories for manager name: each must have
// a type the manager reads and a source it can reach.
func repositories(d *description.Description, name string, k kind) ([]repo, error) {
	var out []repo
	for i, r := range d.Repositories {
		typ := r.Type
		if typ != "" && !slices.Contains(k.repoTypes, typ) {
			return nil, fmt.Errorf("%s: repository type %q cannot be used with packagemanager %s: use type=%q", r.Pos, typ, name, k.repoTypes[0])
		}
		uri, err := sourceURL(r, filepath.Dir(d.File))
		if err != nil {
			return nil, err
		}
		alias := r.Alias
		if alias == "" {
			alias = fmt.Sprintf("repo%d", i+1)
		}
		if strings.ContainsAny(alias, "/ \t\n[]") {
			return nil, fmt.Errorf("%s: repository alias %q: use letters, digits, '-', '_' and '.' only", r.Pos, alias)
		}
		keys := make([]string, 0, len(r.SigningKeys))
		for _, key := range r.SigningKeys {
			p, err := localPath(key, filepath.Dir(d.File))
			if err != nil {
				return nil, fmt.Errorf("%s: signing key %s: %w", r.Pos, key, err)
			}
			keys = append(keys, p)
		}
		out = append(out, repo{
			pos: r.Pos, alias: alias, uri: uri, typ: typ, priority: r.Priority,
			components: strings.Fields(r.Components), dist: r.Distribution,
			user: r.Username, secret: r.Password,
			repoCheck: r.RepositoryGPGCheck, pkgCheck: r.PackageGPGCheck,
			build: !r.ImageOnly, image: r.ImageInclude || r.ImageOnly, keys: keys,
		})
	}
	return out, nil
}

// sourceURL turns a <source path=> into a URL the package managers
// read: http(s) and file URLs as they are, dir:// and absolute paths as
// file URLs, this:// relative to the description directory. Sources only
// the Open Build Service resolves are refused with what to use instead.
func sourceURL(r description.Repository, descDir string) (string, error) {
	src := r.Source
	switch {
	case strings.HasPrefix(src, "http://"), strings.HasPrefix(src, "https://"), strings.HasPrefix(src, "file://"):
		return src, nil
	case strings.HasPrefix(src, "dir://"), strings.HasPrefix(src, "this://"), strings.HasPrefix(src, "/"):
		p, err := localPath(src, descDir)
		if err != nil {
			return "", fmt.Errorf("%s: repository source %q: %w", r.Pos, description.RedactURL(src), err)
		}
		return "file://" + p, nil
	case strings.HasPrefix(src, "obs://"), strings.HasPrefix(src, "obsrepositories:"):
		return "", fmt.Errorf("%s: repository %s is resolved by the Open Build Service, which kiwi cannot reach: "+
			"replace the source with the repository's download URL (for obs://PROJECT/REPO: https://download.opensuse.org/repositories/PROJECT/REPO/, "+
			"for openSUSE Leap 15.x: https://download.opensuse.org/distribution/leap/15.x/repo/oss/)", r.Pos, description.RedactURL(src))
	}
	return "", fmt.Errorf("%s: repository source %q: use an http://, https://, file://, dir:// or this:// URL or an absolute path", r.Pos, description.RedactURL(src))
}

// localPath resolves dir://, this:// (relative to descDir), file:// and
// absolute paths to an absolute path.
func localPath(src, descDir string) (string, error) {
	var p string
	switch {
	case strings.HasPrefix(src, "this://"):
		p = filepath.Join(descDir, strings.TrimPrefix(src, "this://"))
	case strings.HasPrefix(src, "dir://"):
		p = strings.TrimPrefix(src, "dir://")
	case strings.HasPrefix(src, "file://"):
		p = strings.TrimPrefix(src, "file://")
	default:
		p = src
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%q is not an absolute path (this:// is relative to the description)", p)
	}
	return filepath.Clean(p), nil
}

// privateDir makes the build's own configuration directory of a manager.
func privateDir(o Options, name string) (string, error) {
	dir, err := os.MkdirTemp(o.TempDir, "kiwi-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("%s configuration dir: %w", name, err)
	}
	return dir, nil
}

// writeFiles writes name → content into dir, private to the build (the
// files may hold credentials).
func writeFiles(dir string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// Wanted is the install request of d's package sections: the packages,
// then the collections (patterns, groups) and products in the syntax of
// d's manager; those it has none of are left out (the features table
// warns about them).
func Wanted(d *description.Description, sections ...string) []string {
	out := d.PackageNames(sections...)
	k := managers[d.Preferences.PackageManager]
	seen := map[string]bool{}
	add := func(f func(string) string, names []string) {
		for _, n := range names {
			if f != nil && n != "" && !seen[f(n)] {
				seen[f(n)] = true
				out = append(out, f(n))
			}
		}
	}
	for _, sec := range sections {
		if p := d.Packages[sec]; p != nil {
			add(k.collection, p.Collections)
			add(k.product, p.Products)
		}
	}
	return out
}

// Missing returns the names of want that have does not hold, sorted.
func Missing(want []string, have map[string]bool) []string {
	var out []string
	for _, p := range want {
		if !have[p] {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// flag is the "1"/"0" of a gpg setting.
func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

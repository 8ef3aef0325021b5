package prepare

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/arch"
	"github.com/kiwi-go/kiwi/internal/chroot"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// apt installs Debian and Ubuntu packages: debootstrap (on the host)
// fills an empty root, and the root's own apt-get and dpkg do the rest,
// run inside the root. Downloaded packages and repository lists live in
// the shared cache, bound into the root while apt runs, so the next build
// of the same description downloads nothing again.
type apt struct {
	root string
	// arch is the root's Debian architecture (debootstrap --arch) when
	// it is not the host's.
	arch  string
	repos []aptRepo
	// cache is <shared cache>/apt: archives/ (.deb files) and lists/.
	cache string
	// keys are signing key files to trust (--signing-key).
	keys []string
	run  runner.Runner
}

// aptRepo is one repository as apt's sources.list line needs it.
type aptRepo struct {
	alias, uri, dist string
	components       []string
	trusted          bool
	imageInclude     bool
}

// buildSources is where the build-time sources.list lives inside the
// root while packages are installed; it is removed afterwards.
const buildSources = "/var/lib/kiwi/apt"

func newApt(d *description.Description, root, cacheDir string, r runner.Runner) (*apt, error) {
	a := &apt{root: root, cache: filepath.Join(cacheDir, "apt"), run: r}
	for i, repo := range d.Repositories {
		ar, err := aptRepoOf(repo, i)
		if err != nil {
			return nil, err
		}
		a.repos = append(a.repos, ar)
	}
	// The host's arch is debootstrap's default; another one is named.
	if d.TargetArch != "" && d.TargetArch != arch.Host() {
		arch, err := arch.Debian(d.TargetArch)
		if err != nil {
			return nil, err
		}
		a.arch = arch
	}
	return a, nil
}

func aptRepoOf(r description.Repository, i int) (aptRepo, error) {
	if r.Type != "" && r.Type != "apt-deb" {
		return aptRepo{}, fmt.Errorf("%s: repository type %q cannot be used with packagemanager apt: use type=\"apt-deb\"", r.Pos, r.Type)
	}
	uri := r.Source
	switch {
	case strings.HasPrefix(uri, "http://"), strings.HasPrefix(uri, "https://"), strings.HasPrefix(uri, "file://"):
	case strings.HasPrefix(uri, "/"):
		uri = "file://" + uri
	case strings.HasPrefix(uri, "obs://"):
		return aptRepo{}, fmt.Errorf("%s: repository %s needs the Open Build Service, which kiwi cannot reach: replace its source with an http(s) mirror (e.g. http://deb.debian.org/debian, type apt-deb, components main, distribution bookworm)", r.Pos, description.RedactURL(uri))
	default:
		return aptRepo{}, fmt.Errorf("%s: repository source %q: use an http://, https:// or file:// URL", r.Pos, description.RedactURL(uri))
	}
	ar := aptRepo{alias: r.Alias, uri: uri, dist: r.Distribution, imageInclude: r.ImageInclude}
	if ar.alias == "" {
		ar.alias = fmt.Sprintf("repo%d", i+1)
	}
	ar.components = strings.Fields(r.Components)
	if len(ar.components) == 0 {
		ar.components = []string{"main"}
	}
	if r.RepositoryGPGCheck != nil && !*r.RepositoryGPGCheck {
		ar.trusted = true
	}
	return ar, nil
}

// line is the repository's sources.list line. A repository without a
// distribution is a flat one ("./").
func (r aptRepo) line() string {
	opts := ""
	if r.trusted {
		opts = "[trusted=yes] "
	}
	if r.dist == "" {
		return fmt.Sprintf("deb %s%s ./\n", opts, r.uri)
	}
	return fmt.Sprintf("deb %s%s %s %s\n", opts, r.uri, r.dist, strings.Join(r.components, " "))
}

// Bootstrap fills the empty root with debootstrap from the first
// repository that names a distribution, with the bootstrap packages
// included.
func (a *apt) Bootstrap(ctx context.Context, pkgs []string) error {
	var repo *aptRepo
	for i := range a.repos {
		if a.repos[i].dist != "" {
			repo = &a.repos[i]
			break
		}
	}
	if repo == nil {
		return fmt.Errorf("bootstrapping an apt root needs a repository with a distribution (e.g. <repository type=\"apt-deb\" distribution=\"bookworm\" components=\"main\"><source path=\"http://deb.debian.org/debian\"/></repository>)")
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return fmt.Errorf("bootstrapping an apt root needs debootstrap on this host (apt-get install debootstrap), or build in a box (kiwi system boxbuild)")
	}
	archives := filepath.Join(a.cache, "archives")
	if err := os.MkdirAll(archives, 0o755); err != nil {
		return fmt.Errorf("package cache: %w", err)
	}
	args := []string{"--variant=minbase", "--cache-dir=" + archives, "--components=" + strings.Join(repo.components, ",")}
	if len(pkgs) > 0 {
		args = append(args, "--include="+strings.Join(pkgs, ","))
	}
	if repo.trusted {
		args = append(args, "--no-check-gpg")
	}
	if a.arch != "" {
		// Another arch than the host's: debootstrap runs its second
		// stage in the root through QEMU's binfmt_misc handler
		// (Prepare checked that it is there).
		args = append(args, "--arch="+a.arch)
	}
	args = append(args, repo.dist, a.root, repo.uri)
	// debootstrap mounts /proc and /sys in the new root while it
	// configures packages; in a private mount namespace those mounts
	// vanish with it, also when it is interrupted.
	args = append([]string{"--mount", "--propagation", "private", "--fork", "--kill-child", "debootstrap"}, args...)
	if _, err := a.run.Run(ctx, runner.Cmd{Name: "unshare", Args: args}); err != nil {
		return fmt.Errorf("debootstrap %s from %s: %w", repo.dist, repo.uri, err)
	}
	// debootstrap copies the packages it installed into the root's own
	// cache as well; the image does not need them.
	debs, _ := filepath.Glob(filepath.Join(a.root, "var/cache/apt/archives/*.deb"))
	for _, d := range debs {
		if err := os.Remove(d); err != nil {
			return err
		}
	}
	return nil
}

// Installed lists the packages dpkg has installed in the root.
func (a *apt) Installed(ctx context.Context) (map[string]bool, error) {
	admin := filepath.Join(a.root, "var/lib/dpkg")
	if _, err := os.Stat(filepath.Join(admin, "status")); err != nil {
		return nil, fmt.Errorf("the root has no dpkg database (%s): it is not a Debian-based root, or packagemanager is not apt", admin)
	}
	out, err := a.run.Run(ctx, runner.Cmd{Name: "dpkg-query", Args: []string{"--admindir=" + admin, "-W", "-f", "${Package} ${db:Status-Abbrev}\n"}})
	if err != nil {
		return nil, fmt.Errorf("list the root's packages: %w", err)
	}
	have := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && strings.HasPrefix(f[1], "ii") {
			have[f[0]] = true
		}
	}
	return have, nil
}

// Install installs pkgs with the root's apt-get. With repositories in the
// description, apt reads only those (the root's own sources stay as they
// are); without, the root's own configuration is used.
func (a *apt) Install(ctx context.Context, pkgs []string) error {
	if len(pkgs) == 0 {
		return nil
	}
	if err := a.trustKeys(); err != nil {
		return err
	}
	if err := a.aptGet(ctx, "update"); err != nil {
		return err
	}
	args := append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)
	return a.aptGet(ctx, args...)
}

// trustKeys copies the signing keys into the root's apt trust store
// (binary keys as .gpg, armored ones as .asc, as apt wants them).
func (a *apt) trustKeys() error {
	for i, k := range a.keys {
		b, err := os.ReadFile(k)
		if err != nil {
			return fmt.Errorf("signing key %s: %w", k, err)
		}
		ext := ".gpg"
		if strings.Contains(string(b), "BEGIN PGP PUBLIC KEY BLOCK") {
			ext = ".asc"
		}
		dir := filepath.Join(a.root, "etc/apt/trusted.gpg.d")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("kiwi-key-%d%s", i+1, ext)), b, 0o644); err != nil {
			return fmt.Errorf("signing key %s: %w", k, err)
		}
	}
	return nil
}

// Uninstall removes pkgs and what only they needed (<packages
// type="uninstall">).
func (a *apt) Uninstall(ctx context.Context, pkgs []string) error {
	if len(pkgs) == 0 {
		return nil
	}
	return a.aptGet(ctx, append([]string{"purge", "-y", "--auto-remove"}, pkgs...)...)
}

// Delete removes pkgs by force, leaving what depends on them (<packages
// type="delete">, --delete-package), as KIWI's rpm -e --nodeps does.
func (a *apt) Delete(ctx context.Context, pkgs []string) error {
	if len(pkgs) == 0 {
		return nil
	}
	_, err := a.inRoot(ctx, nil, "dpkg", append([]string{"--purge", "--force-depends", "--force-remove-essential"}, pkgs...)...)
	if err != nil {
		return fmt.Errorf("delete packages %s: %w", strings.Join(pkgs, ", "), err)
	}
	return nil
}

// Finish writes the repositories marked imageinclude into the image
// (/etc/apt/sources.list.d/<alias>.list) and removes the build's own.
func (a *apt) Finish() error {
	if err := os.RemoveAll(filepath.Join(a.root, buildSources)); err != nil {
		return err
	}
	// Binary caches of package lists the image does not have (an apt
	// run in config.sh, or a root built elsewhere, may leave them).
	for _, f := range []string{"pkgcache.bin", "srcpkgcache.bin"} {
		if err := os.Remove(filepath.Join(a.root, "var/cache/apt", f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	for _, r := range a.repos {
		if !r.imageInclude {
			continue
		}
		dir := filepath.Join(a.root, "etc/apt/sources.list.d")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, r.alias+".list"), []byte(r.line()), 0o644); err != nil {
			return fmt.Errorf("include repository %s in the image: %w", r.alias, err)
		}
	}
	return nil
}

// aptGet runs apt-get in the root with the build's sources, the shared
// package cache, the host's DNS configuration, and services kept from
// starting (policy-rc.d), all of which are gone afterwards.
func (a *apt) aptGet(ctx context.Context, args ...string) error {
	var opts []string
	if len(a.repos) > 0 {
		dir := filepath.Join(a.root, buildSources)
		if err := os.MkdirAll(filepath.Join(dir, "sources.list.d"), 0o755); err != nil {
			return err
		}
		var b strings.Builder
		for _, r := range a.repos {
			b.WriteString(r.line())
		}
		if err := os.WriteFile(filepath.Join(dir, "sources.list"), []byte(b.String()), 0o644); err != nil {
			return err
		}
		opts = append(opts, "-o", "Dir::Etc::SourceList="+buildSources+"/sources.list",
			"-o", "Dir::Etc::SourceParts="+buildSources+"/sources.list.d")
	}
	// No pkgcache.bin/srcpkgcache.bin (~80 MB for bookworm main): they
	// cache the package lists, which stay in the shared cache, so in the
	// image they would be stale bytes in every layer and disk.
	opts = append(opts, "-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache=",
		"-o", "Binary::apt::APT::Keep-Downloaded-Packages=true", "-o", "Dpkg::Options::=--force-confdef",
		"-o", "Dpkg::Options::=--force-confold", "-q")
	undo, err := a.denyServiceStarts()
	if err != nil {
		return err
	}
	defer undo()
	unlock, err := lockPackageCache(ctx, a.cache, a.run.Log)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := a.inRoot(ctx, a.cacheBinds(), "apt-get", append(opts, args...)...); err != nil {
		return fmt.Errorf("apt-get %s: %w", args[0], err)
	}
	return nil
}

// cacheBinds are the shared cache's archives and lists, seen by apt in
// the root.
func (a *apt) cacheBinds() []chroot.Bind {
	return []chroot.Bind{
		{Host: filepath.Join(a.cache, "archives"), InRoot: "/var/cache/apt/archives"},
		{Host: filepath.Join(a.cache, "lists"), InRoot: "/var/lib/apt/lists"},
		{Host: "/etc/resolv.conf", InRoot: "/etc/resolv.conf", File: true},
	}
}

func (a *apt) inRoot(ctx context.Context, binds []chroot.Bind, name string, args ...string) ([]byte, error) {
	for _, b := range binds {
		if b.File {
			continue
		}
		if err := os.MkdirAll(filepath.Join(b.Host, "partial"), 0o755); err != nil {
			return nil, fmt.Errorf("package cache: %w", err)
		}
	}
	// INITRD=No: the kernel package makes no initrd; create builds the
	// image's own with the options of its type.
	env := []string{"DEBIAN_FRONTEND=noninteractive", "DEBCONF_NONINTERACTIVE_SEEN=true", "LC_ALL=C", "INITRD=No", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	return chroot.RunCmd(ctx, a.run, chroot.Cmd{Root: a.root, Env: env, Binds: binds, Name: name, Args: args})
}

// denyServiceStarts installs a policy-rc.d that keeps maintainer scripts
// from starting services in the root while packages are installed; undo
// restores what was there.
func (a *apt) denyServiceStarts() (func(), error) {
	p := filepath.Join(a.root, "usr/sbin/policy-rc.d")
	old, err := os.ReadFile(p)
	had := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n# kiwi: no service starts while the image is built\nexit 101\n"), 0o755); err != nil {
		return nil, fmt.Errorf("write policy-rc.d: %w", err)
	}
	return func() {
		if had {
			_ = os.WriteFile(p, old, 0o755)
		} else {
			_ = os.Remove(p)
		}
	}, nil
}

// missing returns the names of want that have does not hold, sorted.
func missing(want []string, have map[string]bool) []string {
	var out []string
	for _, p := range want {
		if !have[p] {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

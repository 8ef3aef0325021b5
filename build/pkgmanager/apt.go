package pkgmanager

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/arch"
	"github.com/kiwi-go/kiwi/internal/chroot"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/internal/userns"
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
	log  *slog.Logger
}

// aptRepo is one repository as apt's sources.list line needs it.
type aptRepo struct {
	alias, uri, dist string
	components       []string
	trusted          bool
	build, image     bool
}

// buildSources is where the build-time sources.list lives inside the
// root while packages are installed; it is removed afterwards.
const buildSources = "/var/lib/kiwi/apt"

func newApt(d *description.Description, o Options, name string, repos []repo) (Manager, error) {
	a := &apt{root: o.Root, cache: filepath.Join(o.CacheDir, "apt"), run: o.Run, keys: o.SigningKeys, log: o.Log}
	for _, r := range repos {
		a.repos = append(a.repos, aptRepoOf(r))
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

func aptRepoOf(r repo) aptRepo {
	ar := aptRepo{alias: r.alias, uri: r.uri, dist: r.dist, components: r.components, build: r.build, image: r.image}
	if len(ar.components) == 0 {
		ar.components = []string{"main"}
	}
	if r.repoCheck != nil && !*r.repoCheck {
		ar.trusted = true
	}
	return ar
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
		if a.repos[i].build && a.repos[i].dist != "" {
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
	var env []string
	if userns.Inside() {
		// Root of a user namespace makes no device nodes: debootstrap's
		// container mode (container=lxc) binds the host's /dev nodes
		// instead of making them.
		env = []string{"container=lxc"}
	}
	args = append(append(chroot.Namespaces(), "debootstrap"), args...)
	if _, err := a.run.Run(ctx, runner.Cmd{Name: "unshare", Args: args, Env: env}); err != nil {
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
		return nil, fmt.Errorf("%w (%s): it is not a Debian-based root, or packagemanager is not apt", ErrNoDatabase, admin)
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

// Update upgrades the root's packages with its apt-get, as KIWI's
// apt-get upgrade.
func (a *apt) Update(ctx context.Context) error {
	if err := a.trustKeys(); err != nil {
		return err
	}
	if err := a.aptGet(ctx, "update"); err != nil {
		return err
	}
	return a.aptGet(ctx, "upgrade", "-y")
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
		if !r.image {
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
	if len(a.buildRepos()) > 0 {
		dir := filepath.Join(a.root, buildSources)
		if err := os.MkdirAll(filepath.Join(dir, "sources.list.d"), 0o755); err != nil {
			return err
		}
		var b strings.Builder
		for _, r := range a.buildRepos() {
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
	unlock, err := lockCache(ctx, a.cache, a.log)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := a.inRoot(ctx, a.cacheBinds(), "apt-get", append(opts, args...)...); err != nil {
		return fmt.Errorf("apt-get %s: %w", args[0], err)
	}
	return nil
}

// buildRepos are the repositories the build installs from (not
// imageonly).
func (a *apt) buildRepos() []aptRepo {
	var out []aptRepo
	for _, r := range a.repos {
		if r.build {
			out = append(out, r)
		}
	}
	return out
}

// ClearCache drops the repository lists.
func (a *apt) ClearCache() error {
	if err := os.RemoveAll(filepath.Join(a.cache, "lists")); err != nil {
		return fmt.Errorf("clear the repository cache: %w", err)
	}
	return nil
}

// Close has nothing to remove: apt's build files live in the root and
// go with Finish.
func (a *apt) Close() error { return nil }

// Packages lists dpkg's installed packages as KIWI does for apt roots
// (no epoch, release, disturl or license: "None").
func (a *apt) Packages(ctx context.Context) ([]string, error) {
	admin := filepath.Join(a.root, "var/lib/dpkg")
	if _, err := os.Stat(filepath.Join(admin, "status")); err != nil {
		return nil, ErrNoDatabase
	}
	out, err := a.run.Run(ctx, runner.Cmd{Name: "dpkg-query", Args: []string{"--admindir=" + admin, "-W",
		"-f", "${Package}|${db:Status-Abbrev}|${Version}|None|${Architecture}|None|None\n"}})
	if err != nil {
		return nil, fmt.Errorf("list packages: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Split(l, "|")
		if len(f) != 7 || !strings.HasPrefix(f[1], "ii") {
			continue
		}
		f[1] = "None"
		lines = append(lines, strings.Join(f, "|"))
	}
	return lines, nil
}

// Verify is dpkg --verify over the root; it exits 1 when it found
// changed files, and that list is the result.
func (a *apt) Verify(ctx context.Context) ([]byte, error) {
	admin := filepath.Join(a.root, "var/lib/dpkg")
	if _, err := os.Stat(filepath.Join(admin, "status")); err != nil {
		return nil, ErrNoDatabase
	}
	out, err := a.run.Run(ctx, runner.Cmd{Name: "dpkg", Args: []string{"--root=" + a.root, "--admindir=" + admin, "--verify"}})
	var re *runner.Error
	if err != nil && !(errors.As(err, &re) && re.Code == 1) {
		return nil, fmt.Errorf("verify packages: %w", err)
	}
	return out, nil
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

// Changes is each package's Debian changelog, as KIWI exports them: for
// every directory of /usr/share/doc (sorted) with a changelog.Debian.gz,
// "name|", then the changelog and an empty line. Links are followed
// inside the root only.
func (a *apt) Changes(context.Context) ([]byte, error) {
	if _, err := os.Stat(filepath.Join(a.root, "var/lib/dpkg/status")); err != nil {
		return nil, ErrNoDatabase
	}
	docs := filepath.Join(a.root, "usr/share/doc")
	entries, err := os.ReadDir(docs)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("package changelogs: %w", err)
	}
	var b bytes.Buffer
	for _, e := range entries {
		p, err := securejoin.SecureJoin(a.root, path.Join("/usr/share/doc", e.Name(), "changelog.Debian.gz"))
		if err != nil {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		text, err := gunzip(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("package changelogs: %s: %w", p, err)
		}
		b.WriteString(e.Name() + "|\n")
		b.Write(text)
		b.WriteString("\n")
	}
	return b.Bytes(), nil
}

func gunzip(r io.Reader) ([]byte, error) {
	z, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	defer z.Close()
	return io.ReadAll(z)
}

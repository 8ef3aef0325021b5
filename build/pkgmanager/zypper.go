package pkgmanager

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// zypper fills rpm roots with the host's zypper (--root), as KIWI does:
// repositories, credentials and libzypp's configuration (ZYPP_CONF) in
// the build's private dir, packages and metadata in <cache>/zypper.
type zypper struct {
	root, dir, cache string
	repos            []repo
	// noRecommends: the packages' patternType is onlyRequired (KIWI's
	// default), so zypper installs no recommended packages.
	noRecommends bool
	// locks is the <ignore> list: packages the solver must not install.
	locks []string
	keys  []string
	// The root's rpm database lists, verifies and deletes.
	*rpmDB
	run runner.Runner
	log *slog.Logger
}

// zypperRun is where the build's package locks and repository
// credentials live in the root while zypper runs: libzypp reads both
// relative to the target root, whatever its configuration says. They are
// written before each run and removed after it, so no layer of the root
// and no image holds them.
const (
	zypperRun         = "/var/lib/kiwi/zypp"
	zypperLocks       = zypperRun + "/locks"
	zypperCredentials = zypperRun + "/credentials.d"
)

func newZypper(d *description.Description, o Options, name string, repos []repo) (Manager, error) {
	dir, err := privateDir(o, name)
	if err != nil {
		return nil, err
	}
	z := &zypper{root: o.Root, dir: dir, cache: filepath.Join(o.CacheDir, "zypper"), repos: repos,
		noRecommends: onlyRequired(d), locks: ignored(d), run: o.Run, log: o.Log}
	z.keys = append(append(z.keys, o.SigningKeys...), repoKeys(repos)...)
	if z.rpmDB, err = newRPMDB(d, o.Root, dir, o.Run); err != nil {
		z.Close()
		return nil, err
	}
	files := map[string]string{
		"zypper.conf": "[main]\n",
		"zypp.conf":   z.zyppConf(d),
	}
	for _, r := range repos {
		if !r.build {
			continue
		}
		files["repos.d/"+r.alias+".repo"] = r.zypperRepo(true)
	}
	if err := writeFiles(dir, files); err != nil {
		z.Close()
		return nil, fmt.Errorf("zypper configuration: %w", err)
	}
	return z, nil
}

// zyppConf is libzypp's configuration of the build.
func (z *zypper) zyppConf(d *description.Description) string {
	var b strings.Builder
	b.WriteString("[main]\n")
	fmt.Fprintf(&b, "credentials.global.dir = %s\n", zypperCredentials)
	fmt.Fprintf(&b, "gpgcheck = %s\n", flag(d.Preferences.RPMCheckSignatures))
	if d.Preferences.RPMExcludeDocs {
		b.WriteString("rpm.install.excludedocs = yes\n")
	}
	fmt.Fprintf(&b, "locksfile.path = %s\n", zypperLocks)
	return b.String()
}

// zypperRepo is the repository's .repo file; for the build (forBuild)
// its credentials are referenced, in the image they are left out.
func (r repo) zypperRepo(forBuild bool) string {
	var b strings.Builder
	uri := r.uri
	if forBuild && r.user != "" {
		uri += "?credentials=" + r.alias
	}
	fmt.Fprintf(&b, "[%s]\nname=%s\nenabled=1\nautorefresh=1\nbaseurl=%s\n", r.alias, r.alias, uri)
	if r.typ != "" {
		// Unset, zypper probes the source: rpm-md, or a plain directory
		// of rpms (KIWI 9's rpm-dir).
		fmt.Fprintf(&b, "type=%s\n", r.typ)
	}
	if forBuild {
		b.WriteString("keeppackages=1\n")
	}
	if r.priority != 0 {
		fmt.Fprintf(&b, "priority=%d\n", r.priority)
	}
	if r.repoCheck != nil {
		fmt.Fprintf(&b, "repo_gpgcheck=%s\n", flag(*r.repoCheck))
	}
	if r.pkgCheck != nil {
		fmt.Fprintf(&b, "pkg_gpgcheck=%s\n", flag(*r.pkgCheck))
	}
	return b.String()
}

// zypper runs the host's zypper on the root with the build's
// configuration and the shared cache.
func (z *zypper) zypper(ctx context.Context, args ...string) error {
	unlock, err := lockCache(ctx, z.cache, z.log)
	if err != nil {
		return err
	}
	defer unlock()
	// A system solvable cached from another root would be taken for
	// this one's installed packages (KIWI removes it too).
	if err := os.RemoveAll(filepath.Join(z.cache, "solv", "@System")); err != nil {
		return err
	}
	if err := z.writeRunFiles(); err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Join(z.root, zypperRun))
	full := []string{"--non-interactive", "--gpg-auto-import-keys",
		"--pkg-cache-dir", filepath.Join(z.cache, "packages"),
		"--solv-cache-dir", filepath.Join(z.cache, "solv"),
		"--raw-cache-dir", filepath.Join(z.cache, "raw"),
		"--cache-dir", z.cache,
		"--reposd-dir", filepath.Join(z.dir, "repos.d"),
		"--config", filepath.Join(z.dir, "zypper.conf"),
		"--root", z.root}
	env := append(z.env(), "ZYPP_CONF="+filepath.Join(z.dir, "zypp.conf"))
	if _, err := onHost(ctx, z.run, z.root, env, nil, "zypper", append(full, args...)...); err != nil {
		return fmt.Errorf("zypper %s: %w", args[0], err)
	}
	return nil
}

// writeRunFiles writes the <ignore> packages as libzypp locks and the
// repositories' credentials into the root for one zypper run.
func (z *zypper) writeRunFiles() error {
	files := map[string]string{}
	if len(z.locks) > 0 {
		var b strings.Builder
		for _, n := range z.locks {
			fmt.Fprintf(&b, "type: package\nmatch_type: exact\nsolvable_name: %s\n\n", n)
		}
		files["locks"] = b.String()
	}
	for _, r := range z.repos {
		if r.build && r.user != "" {
			files["credentials.d/"+r.alias] = fmt.Sprintf("username=%s\npassword=%s\n", r.user, r.secret)
		}
	}
	if len(files) == 0 {
		return nil
	}
	return writeFiles(filepath.Join(z.root, zypperRun), files)
}

func (z *zypper) install(ctx context.Context, pkgs []string) error {
	if len(pkgs) == 0 {
		return nil
	}
	if err := z.importKeys(ctx, z.keys); err != nil {
		return err
	}
	args := []string{"install", "--auto-agree-with-licenses"}
	if z.noRecommends {
		args = append(args, "--no-recommends")
	}
	return z.zypper(ctx, append(append(args, "--"), pkgs...)...)
}

// Bootstrap installs the bootstrap packages into the empty root.
func (z *zypper) Bootstrap(ctx context.Context, pkgs []string) error {
	if len(pkgs) == 0 {
		return fmt.Errorf("bootstrapping an rpm root needs <packages type=\"bootstrap\"> with at least one package (openSUSE: filesystem)")
	}
	return z.install(ctx, pkgs)
}

// Install installs the image packages.
func (z *zypper) Install(ctx context.Context, pkgs []string) error { return z.install(ctx, pkgs) }

// Update upgrades the root's packages (zypper update).
func (z *zypper) Update(ctx context.Context) error {
	if err := z.importKeys(ctx, z.keys); err != nil {
		return err
	}
	args := []string{"update", "--auto-agree-with-licenses"}
	if z.noRecommends {
		args = append(args, "--no-recommends")
	}
	return z.zypper(ctx, args...)
}

// Uninstall removes pkgs and what only they needed (zypper remove
// --clean-deps, KIWI's uninstall).
func (z *zypper) Uninstall(ctx context.Context, pkgs []string) error {
	if len(pkgs) == 0 {
		return nil
	}
	return z.zypper(ctx, append([]string{"remove", "--clean-deps", "--force-resolution", "--"}, pkgs...)...)
}

// ClearCache drops the cached metadata of every repository.
func (z *zypper) ClearCache() error {
	for _, d := range []string{"raw", "solv"} {
		if err := os.RemoveAll(filepath.Join(z.cache, d)); err != nil {
			return fmt.Errorf("clear the repository cache: %w", err)
		}
	}
	return nil
}

// Finish removes the build's locks and writes the repositories the image
// keeps into /etc/zypp/repos.d (without credentials: those stay with the
// build).
func (z *zypper) Finish() error {
	if err := os.RemoveAll(filepath.Join(z.root, zypperRun)); err != nil {
		return err
	}
	removeEmpty(z.root, "var/lib/kiwi")
	files := map[string]string{}
	for _, r := range z.repos {
		if r.image {
			if r.user != "" {
				z.log.Warn("the image's copy of the repository has no credentials (they are the build's)", "repository", r.alias)
			}
			files[r.alias+".repo"] = r.zypperRepo(false)
		}
	}
	return imageRepoFiles(z.root, "etc/zypp/repos.d", files)
}

// Close removes the build's configuration.
func (z *zypper) Close() error { return os.RemoveAll(z.dir) }

// onlyRequired tells whether the image packages are installed without
// recommended ones: KIWI's patternType, onlyRequired unless a section
// says plusRecommended.
func onlyRequired(d *description.Description) bool {
	for _, sec := range []string{"bootstrap", "image"} {
		if p := d.Packages[sec]; p != nil && p.PatternType == "plusRecommended" {
			return false
		}
	}
	return true
}

// ignored is the <ignore> list of the bootstrap and image sections.
func ignored(d *description.Description) []string {
	var out []string
	for _, sec := range []string{"bootstrap", "image"} {
		if p := d.Packages[sec]; p != nil {
			out = append(out, p.Ignore...)
		}
	}
	return out
}

// repoKeys are the <signing> keys of the repositories the build uses.
func repoKeys(repos []repo) []string {
	var out []string
	for _, r := range repos {
		if r.build {
			out = append(out, r.keys...)
		}
	}
	return out
}

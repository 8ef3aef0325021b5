package pkgmanager

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/chroot"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// dnf fills rpm roots with the host's dnf (--installroot), as KIWI does
// for dnf, dnf4 and dnf5: dnf.conf and the repository files in the
// build's private dir, packages and metadata in <cache>/dnf.
type dnf struct {
	tool, root, dir, cache string
	repos                  []repo
	releasever             string
	keys                   []string
	// The root's rpm database lists, verifies and deletes.
	*rpmDB
	run runner.Runner
	log *slog.Logger
}

// dnfCache is where the shared cache shows inside the root while dnf
// runs: dnf puts its cachedir under the installroot whatever it is told,
// so the cache is bound there, and the empty mount point removed after.
const dnfCache = "/var/cache/kiwi/dnf"

func newDnf(d *description.Description, o Options, name string, repos []repo) (Manager, error) {
	dir, err := privateDir(o, name)
	if err != nil {
		return nil, err
	}
	tool := "dnf"
	if name == "dnf5" {
		tool = "dnf5"
	}
	m := &dnf{tool: tool, root: o.Root, dir: dir, cache: filepath.Join(o.CacheDir, "dnf"),
		repos: repos, releasever: d.Preferences.ReleaseVersion, run: o.Run, log: o.Log}
	if m.releasever == "" {
		// KIWI's default: an empty root has no release package for dnf
		// to read $releasever from.
		m.releasever = "0"
	}
	m.keys = append(append(m.keys, o.SigningKeys...), repoKeys(repos)...)
	if m.rpmDB, err = newRPMDB(d, o.Root, dir, o.Run); err != nil {
		m.Close()
		return nil, err
	}
	files := map[string]string{"dnf.conf": m.conf(d)}
	for _, r := range repos {
		if r.build {
			files["repos.d/"+r.alias+".repo"] = r.dnfRepo(true)
		}
	}
	if err := writeFiles(dir, files); err != nil {
		m.Close()
		return nil, fmt.Errorf("%s configuration: %w", name, err)
	}
	return m, nil
}

// conf is the build's dnf.conf.
func (m *dnf) conf(d *description.Description) string {
	var b strings.Builder
	b.WriteString("[main]\n")
	fmt.Fprintf(&b, "cachedir=%s\nreposdir=%s\nkeepcache=1\nplugins=0\nbest=1\nobsoletes=1\ndebuglevel=2\n", dnfCache, filepath.Join(m.dir, "repos.d"))
	fmt.Fprintf(&b, "gpgcheck=%s\n", flag(d.Preferences.RPMCheckSignatures))
	if onlyRequired(d) {
		b.WriteString("install_weak_deps=0\n")
	}
	if d.Preferences.RPMExcludeDocs {
		b.WriteString("tsflags=nodocs\n")
	}
	if locks := ignored(d); len(locks) > 0 {
		fmt.Fprintf(&b, "excludepkgs=%s\n", strings.Join(locks, ","))
	}
	return b.String()
}

// dnfRepo is the repository's .repo file; credentials only for the
// build's copy.
func (r repo) dnfRepo(forBuild bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s]\nname=%s\nbaseurl=%s\nenabled=1\n", r.alias, r.alias, r.uri)
	if r.priority != 0 {
		fmt.Fprintf(&b, "priority=%d\n", r.priority)
	}
	if r.repoCheck != nil {
		fmt.Fprintf(&b, "repo_gpgcheck=%s\n", flag(*r.repoCheck))
	}
	if r.pkgCheck != nil {
		fmt.Fprintf(&b, "gpgcheck=%s\n", flag(*r.pkgCheck))
	}
	if forBuild && r.user != "" {
		fmt.Fprintf(&b, "username=%s\npassword=%s\n", r.user, r.secret)
	}
	return b.String()
}

// dnf runs the host's dnf on the root.
func (m *dnf) dnf(ctx context.Context, args ...string) error {
	unlock, err := lockCache(ctx, m.cache, m.log)
	if err != nil {
		return err
	}
	defer unlock()
	full := []string{"--config", filepath.Join(m.dir, "dnf.conf"), "-y", "--installroot", m.root,
		"--releasever", m.releasever, "--setopt=reposdir=" + filepath.Join(m.dir, "repos.d")}
	_, err = onHost(ctx, m.run, m.root, m.env(), []chroot.Bind{{Host: m.cache, InRoot: dnfCache}}, m.tool, append(full, args...)...)
	if err != nil {
		return fmt.Errorf("%s %s: %w", m.tool, args[0], err)
	}
	return nil
}

func (m *dnf) install(ctx context.Context, pkgs []string) error {
	if len(pkgs) == 0 {
		return nil
	}
	if err := os.MkdirAll(m.cache, 0o755); err != nil {
		return fmt.Errorf("package cache: %w", err)
	}
	if err := m.importKeys(ctx, m.keys); err != nil {
		return err
	}
	return m.dnf(ctx, append([]string{"install"}, pkgs...)...)
}

// Bootstrap installs the bootstrap packages into the empty root.
func (m *dnf) Bootstrap(ctx context.Context, pkgs []string) error {
	if len(pkgs) == 0 {
		return fmt.Errorf("bootstrapping an rpm root needs <packages type=\"bootstrap\"> with at least one package (Fedora: filesystem, basesystem)")
	}
	return m.install(ctx, pkgs)
}

// Install installs the image packages.
func (m *dnf) Install(ctx context.Context, pkgs []string) error { return m.install(ctx, pkgs) }

// Update upgrades the root's packages (dnf upgrade).
func (m *dnf) Update(ctx context.Context) error {
	if err := os.MkdirAll(m.cache, 0o755); err != nil {
		return fmt.Errorf("package cache: %w", err)
	}
	if err := m.importKeys(ctx, m.keys); err != nil {
		return err
	}
	return m.dnf(ctx, "upgrade")
}

// Uninstall removes pkgs and what only they needed.
func (m *dnf) Uninstall(ctx context.Context, pkgs []string) error {
	if len(pkgs) == 0 {
		return nil
	}
	return m.dnf(ctx, append([]string{"remove", "--setopt=clean_requirements_on_remove=1"}, pkgs...)...)
}

// ClearCache drops the cached metadata (the packages stay).
func (m *dnf) ClearCache() error {
	entries, _ := os.ReadDir(m.cache)
	for _, e := range entries {
		if e.IsDir() {
			if err := os.RemoveAll(filepath.Join(m.cache, e.Name(), "repodata")); err != nil {
				return fmt.Errorf("clear the repository cache: %w", err)
			}
		}
		if strings.HasSuffix(e.Name(), ".solv") || strings.HasSuffix(e.Name(), ".solvx") {
			_ = os.Remove(filepath.Join(m.cache, e.Name()))
		}
	}
	return nil
}

// Finish removes the cache's mount point from the root and writes the
// repositories the image keeps into /etc/yum.repos.d.
func (m *dnf) Finish() error {
	removeEmpty(m.root, dnfCache, filepath.Dir(dnfCache))
	files := map[string]string{}
	for _, r := range m.repos {
		if r.image {
			files[r.alias+".repo"] = r.dnfRepo(false)
		}
	}
	return imageRepoFiles(m.root, "etc/yum.repos.d", files)
}

// Close removes the build's configuration.
func (m *dnf) Close() error { return os.RemoveAll(m.dir) }

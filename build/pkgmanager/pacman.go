package pkgmanager

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// pacman fills Arch-style roots with the host's pacman (--root), as KIWI
// does: pacman.conf and one file per repository in the build's private
// dir, packages in <cache>/pacman. A repository's components are the
// repository (database) names its Server serves, as in KIWI; without
// components its alias is.
type pacman struct {
	root, dir, cache string
	repos            []repo
	ignore           []string
	run              runner.Runner
	log              *slog.Logger
}

// pacmanDB is the root's package database.
const pacmanDB = "var/lib/pacman"

func newPacman(d *description.Description, o Options, name string, repos []repo) (Manager, error) {
	dir, err := privateDir(o, name)
	if err != nil {
		return nil, err
	}
	p := &pacman{root: o.Root, dir: dir, cache: filepath.Join(o.CacheDir, "pacman"), repos: repos, ignore: ignored(d), run: o.Run, log: o.Log}
	sig := "Never DatabaseNever"
	if d.Preferences.RPMCheckSignatures {
		sig = "Required DatabaseRequired"
	}
	files := map[string]string{"pacman.conf": fmt.Sprintf("[options]\nArchitecture = auto\nCacheDir = %s/\nSigLevel = %s\nLocalFileSigLevel = %s\n\nInclude = %s/*.repo\n",
		p.cache, sig, sig, filepath.Join(dir, "repos"))}
	for _, r := range repos {
		if r.build {
			files["repos/"+r.alias+".repo"] = r.pacmanRepo()
		}
	}
	if err := writeFiles(dir, files); err != nil {
		p.Close()
		return nil, fmt.Errorf("pacman configuration: %w", err)
	}
	return p, nil
}

// pacmanRepo is the repository's sections: one per component (database
// name), or one named by the alias.
func (r repo) pacmanRepo() string {
	names := r.components
	if len(names) == 0 {
		names = []string{r.alias}
	}
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "[%s]\n", n)
		if r.repoCheck != nil || r.pkgCheck != nil {
			pkg, db := "Never", "DatabaseNever"
			if r.pkgCheck != nil && *r.pkgCheck {
				pkg = "Required"
			}
			if r.repoCheck != nil && *r.repoCheck {
				db = "DatabaseRequired"
			}
			fmt.Fprintf(&b, "SigLevel = %s %s\n", pkg, db)
		}
		fmt.Fprintf(&b, "Server = %s\n\n", r.uri)
	}
	return b.String()
}

// pacman runs the host's pacman on the root.
func (p *pacman) pacman(ctx context.Context, args ...string) ([]byte, error) {
	full := []string{"--config", filepath.Join(p.dir, "pacman.conf"), "--root", p.root,
		"--dbpath", filepath.Join(p.root, pacmanDB), "--noconfirm"}
	return onHost(ctx, p.run, p.root, []string{"LANG=C", "LC_ALL=C"}, nil, "pacman", append(full, args...)...)
}

func (p *pacman) install(ctx context.Context, pkgs []string) error {
	if len(pkgs) == 0 {
		return nil
	}
	unlock, err := lockCache(ctx, p.cache, p.log)
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.MkdirAll(filepath.Join(p.root, pacmanDB), 0o755); err != nil {
		return err
	}
	args := []string{"-Sy", "--needed", "--noprogressbar"}
	if len(p.ignore) > 0 {
		args = append(args, "--ignore", strings.Join(p.ignore, ","))
	}
	if _, err := p.pacman(ctx, append(args, pkgs...)...); err != nil {
		return fmt.Errorf("pacman -S: %w", err)
	}
	return nil
}

// Bootstrap installs the bootstrap packages into the empty root.
func (p *pacman) Bootstrap(ctx context.Context, pkgs []string) error {
	if len(pkgs) == 0 {
		return fmt.Errorf("bootstrapping a pacman root needs <packages type=\"bootstrap\"> with at least one package (Arch: base)")
	}
	return p.install(ctx, pkgs)
}

// Install installs the image packages.
func (p *pacman) Install(ctx context.Context, pkgs []string) error { return p.install(ctx, pkgs) }

// Update upgrades the root's packages (pacman -Syu).
func (p *pacman) Update(ctx context.Context) error {
	unlock, err := lockCache(ctx, p.cache, p.log)
	if err != nil {
		return err
	}
	defer unlock()
	args := []string{"-Syu", "--noprogressbar"}
	if len(p.ignore) > 0 {
		args = append(args, "--ignore", strings.Join(p.ignore, ","))
	}
	if _, err := p.pacman(ctx, args...); err != nil {
		return fmt.Errorf("pacman -Syu: %w", err)
	}
	return nil
}

// Uninstall removes pkgs and the dependencies only they needed (-Rs).
func (p *pacman) Uninstall(ctx context.Context, pkgs []string) error {
	if len(pkgs) == 0 {
		return nil
	}
	if _, err := p.pacman(ctx, append([]string{"-Rs"}, pkgs...)...); err != nil {
		return fmt.Errorf("pacman -Rs: %w", err)
	}
	return nil
}

// Delete removes pkgs ignoring what depends on them (-Rdd).
func (p *pacman) Delete(ctx context.Context, pkgs []string) error {
	if len(pkgs) == 0 {
		return nil
	}
	if _, err := p.pacman(ctx, append([]string{"-Rdd"}, pkgs...)...); err != nil {
		return fmt.Errorf("delete packages %s: %w", strings.Join(pkgs, ", "), err)
	}
	return nil
}

func (p *pacman) has() bool { return exists(filepath.Join(p.root, pacmanDB, "local")) }

// Installed names the root's packages.
func (p *pacman) Installed(ctx context.Context) (map[string]bool, error) {
	if !p.has() {
		return nil, fmt.Errorf("%w (/%s/local in %s): it is no pacman root yet, or packagemanager is wrong", ErrNoDatabase, pacmanDB, p.root)
	}
	out, err := p.pacman(ctx, "-Qq")
	if err != nil {
		return nil, fmt.Errorf("list the root's packages: %w", err)
	}
	return nameSet(out), nil
}

// Packages lists the root's packages from pacman -Qi, in KIWI's
// .packages fields (pacman has no epoch field of its own, nor disturl).
func (p *pacman) Packages(ctx context.Context) ([]string, error) {
	if !p.has() {
		return nil, ErrNoDatabase
	}
	out, err := p.pacman(ctx, "-Qi")
	if err != nil {
		return nil, fmt.Errorf("list packages: %w", err)
	}
	return pacmanPackageLines(out), nil
}

// pacmanPackageLines turns pacman -Qi's blocks into .packages lines:
// name|None|version|release|arch|None|licenses.
func pacmanPackageLines(out []byte) []string {
	var lines []string
	fields := map[string]string{}
	flush := func() {
		if fields["Name"] != "" {
			ver, rel := fields["Version"], "None"
			if i := strings.LastIndex(ver, "-"); i > 0 {
				ver, rel = ver[:i], ver[i+1:]
			}
			lic := fields["Licenses"]
			if lic == "" {
				lic = "None"
			}
			lines = append(lines, strings.Join([]string{fields["Name"], "None", ver, rel, fields["Architecture"], "None", lic}, "|"))
		}
		fields = map[string]string{}
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		if strings.TrimSpace(l) == "" {
			flush()
			continue
		}
		if k, v, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, " ") {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	flush()
	sort.Strings(lines)
	return lines
}

// Verify is pacman -Qkk: it exits 1 when files changed; its report is the
// result.
func (p *pacman) Verify(ctx context.Context) ([]byte, error) {
	if !p.has() {
		return nil, ErrNoDatabase
	}
	out, err := p.pacman(ctx, "-Qkk")
	var re *runner.Error
	if err != nil && !(errors.As(err, &re) && re.Code == 1) {
		return nil, fmt.Errorf("verify packages: %w", err)
	}
	return out, nil
}

// ClearCache drops the root's copies of the repository databases.
func (p *pacman) ClearCache() error {
	return os.RemoveAll(filepath.Join(p.root, pacmanDB, "sync"))
}

// Finish writes the repositories the image keeps into /etc/pacman.d (as
// KIWI does; the image's pacman.conf includes them if it says so).
func (p *pacman) Finish() error {
	files := map[string]string{}
	for _, r := range p.repos {
		if r.image {
			files[r.alias+".repo"] = r.pacmanRepo()
		}
	}
	return imageRepoFiles(p.root, "etc/pacman.d", files)
}

// Close removes the build's configuration.
func (p *pacman) Close() error { return os.RemoveAll(p.dir) }

// Changes: pacman's database has no changelogs, and KIWI writes no
// .changes for pacman roots.
func (p *pacman) Changes(context.Context) ([]byte, error) { return nil, ErrNoChanges }

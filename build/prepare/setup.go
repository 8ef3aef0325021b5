package prepare

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/chroot"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// setup configures a root tree from a description, in KIWI's order after
// the packages: description import, .profile, overlay files, archives and
// files, users, keytable/locale/timezone, then config.sh.
type setup struct {
	d    *description.Description
	root string
	run  runner.Runner
}

// importDescription copies the description into root/image/: the
// processed config.xml (includes resolved, the command line's changes
// applied: what create reads later) and the scripts.
func (s setup) importDescription() error {
	imageDir := filepath.Join(s.root, "image")
	if err := os.MkdirAll(imageDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(imageDir, "config.xml"), s.d.XML(), 0o644); err != nil {
		return fmt.Errorf("import description: %w", err)
	}
	// The edit boot scripts are named by <type> (editbootconfig, any
	// name, relative to the description) and kept under KIWI's names.
	scripts := map[string]string{}
	for _, script := range []string{"post_bootstrap.sh", "config.sh", "images.sh", "disk.sh", "pre_disk_sync.sh"} {
		scripts[script] = filepath.Join(s.d.Dir, script)
	}
	if p := s.d.Type.EditBootConfig; p != "" {
		if !filepath.IsAbs(p) {
			p = filepath.Join(s.d.Dir, p)
		}
		scripts["edit_boot_config.sh"] = p
	}
	for script, src := range scripts {
		b, err := os.ReadFile(src)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("import %s: %w", script, err)
		}
		if err := os.WriteFile(filepath.Join(imageDir, script), b, 0o755); err != nil {
			return fmt.Errorf("import %s: %w", script, err)
		}
	}
	return nil
}

// profileVars are the kiwi_* shell variables KIWI writes to /.profile
// for config.sh and images.sh.
func (s setup) profileVars() [][2]string {
	d, t := s.d, s.d.Type
	vars := [][2]string{
		{"kiwi_iname", d.Name}, {"kiwi_iversion", d.Version}, {"kiwi_displayname", d.DisplayName},
		{"kiwi_type", t.Image}, {"kiwi_profiles", strings.Join(d.Profiles, ",")},
		{"kiwi_firmware", t.Firmware}, {"kiwi_rootpartuuid", ""},
		{"kiwi_keytable", d.Preferences.Keytable}, {"kiwi_language", strings.Join(d.Preferences.Locale, ",")},
		{"kiwi_timezone", d.Preferences.Timezone}, {"kiwi_revision", ""},
	}
	if t.Bootloader != nil {
		vars = append(vars, [2]string{"kiwi_bootloader", t.Bootloader.Name})
	}
	if t.Filesystem != "" {
		vars = append(vars, [2]string{"kiwi_fstype", t.Filesystem})
	}
	for _, u := range d.Users {
		if u.Name == "root" {
			continue
		}
		vars = append(vars, [2]string{"kiwi_user_" + shellName(u.Name), u.Name})
	}
	return vars
}

// writeProfile writes root/.profile (and image/.profile, where KIWI's
// scripts also look).
func (s setup) writeProfile() error {
	var b strings.Builder
	for _, v := range s.profileVars() {
		fmt.Fprintf(&b, "%s=%s\n", v[0], shellQuote(v[1]))
	}
	for _, p := range []string{".profile", "image/.profile"} {
		if err := os.WriteFile(filepath.Join(s.root, p), []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

// overlay copies the overlay files over the root: root.tar.gz (or
// root/), then one directory per selected profile, in profile order.
func (s setup) overlay(ctx context.Context) error {
	for _, tarball := range []string{"root.tar.gz", "root.tar.xz", "root.tar"} {
		p := filepath.Join(s.d.Dir, tarball)
		if _, err := os.Stat(p); err == nil {
			if _, err := s.run.Run(ctx, runner.Cmd{Name: "tar", Args: []string{"-x", "-p", "--xattrs", "--xattrs-include=*", "-f", p, "-C", s.root}}); err != nil {
				return fmt.Errorf("overlay archive %s: %w", p, err)
			}
		}
	}
	dirs := []string{filepath.Join(s.d.Dir, "root")}
	for _, p := range s.d.Profiles {
		dirs = append(dirs, filepath.Join(s.d.Dir, p))
	}
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		// cp keeps modes, owners, links and xattrs; the trailing /. copies
		// the contents over the root.
		if _, err := s.run.Run(ctx, runner.Cmd{Name: "cp", Args: []string{"-a", "--no-target-directory", dir + "/.", s.root}}); err != nil {
			return fmt.Errorf("overlay %s: %w", dir, err)
		}
	}
	return nil
}

// inDescription resolves a file named by the description (archives,
// files) inside its directory, refusing names that leave it.
func (s setup) inDescription(pos description.Pos, name string) (string, error) {
	if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(filepath.Clean(name), "../") {
		return "", fmt.Errorf("%s: %q is outside the description directory %s: keep archives and files inside it", pos, name, s.d.Dir)
	}
	p := filepath.Join(s.d.Dir, name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s: %s not found in the description directory %s", pos, name, s.d.Dir)
	}
	// A symlink in the description must not lead out of it either.
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", pos, name, err)
	}
	dir, err := filepath.EvalSymlinks(s.d.Dir)
	if err != nil {
		return "", err
	}
	if real != dir && !strings.HasPrefix(real, dir+string(filepath.Separator)) {
		return "", fmt.Errorf("%s: %q is a symlink to %s, outside the description directory %s: keep archives and files inside it", pos, name, real, s.d.Dir)
	}
	return p, nil
}

// archivesAndFiles unpacks the <archive> tarballs and copies the <file>
// entries of the image and type package sections into the root.
func (s setup) archivesAndFiles(ctx context.Context) error {
	for _, section := range []string{"image", s.d.Type.Image} {
		p := s.d.Packages[section]
		if p == nil {
			continue
		}
		for _, a := range p.Archives {
			src, err := s.inDescription(a.Pos, a.Name)
			if err != nil {
				return err
			}
			dest := filepath.Join(s.root, a.TargetDir)
			if err := os.MkdirAll(dest, 0o755); err != nil {
				return err
			}
			if _, err := s.run.Run(ctx, runner.Cmd{Name: "tar", Args: []string{"-x", "-p", "-f", src, "-C", dest}}); err != nil {
				return fmt.Errorf("%s: archive %s: %w", a.Pos, a.Name, err)
			}
		}
		for _, f := range p.Files {
			src, err := s.inDescription(f.Pos, f.Name)
			if err != nil {
				return err
			}
			target := f.Target
			if target == "" {
				target = "/" + f.Name
			}
			dest := filepath.Join(s.root, target)
			if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
				return err
			}
			if _, err := s.run.Run(ctx, runner.Cmd{Name: "cp", Args: []string{"-a", "--no-target-directory", src, dest}}); err != nil {
				return fmt.Errorf("%s: file %s: %w", f.Pos, f.Name, err)
			}
			if f.Permissions != "" {
				if _, err := s.run.Run(ctx, runner.Cmd{Name: "chmod", Args: []string{f.Permissions, dest}}); err != nil {
					return fmt.Errorf("%s: file %s: %w", f.Pos, f.Name, err)
				}
			}
			if f.Owner != "" {
				if _, err := s.run.Run(ctx, runner.Cmd{Name: "chroot", Args: []string{s.root, "chown", f.Owner, target}}); err != nil {
					return fmt.Errorf("%s: file %s: %w", f.Pos, f.Name, err)
				}
			}
		}
	}
	return nil
}

// users creates or updates the description's users and groups with the
// root's own shadow tools.
func (s setup) users(ctx context.Context) error {
	for _, u := range s.d.Users {
		if err := s.user(ctx, u); err != nil {
			return fmt.Errorf("%s: user %s: %w", u.Pos, u.Name, err)
		}
	}
	return nil
}

func (s setup) chroot(ctx context.Context, args ...string) ([]byte, error) {
	return s.run.Run(ctx, runner.Cmd{Name: "chroot", Args: append([]string{s.root}, args...)})
}

// exists asks getent in the root whether db (passwd, group) has name.
func (s setup) exists(ctx context.Context, db, name string) (bool, error) {
	_, err := s.chroot(ctx, "getent", db, name)
	var re *runner.Error
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &re) && re.Code == 2:
		return false, nil
	}
	return false, err
}

func (s setup) user(ctx context.Context, u description.User) error {
	// groups="name[:gid],...": the first is the login group. Missing
	// groups are created first, as KIWI does.
	var groups []string
	for _, g := range u.Groups {
		name, gid, _ := strings.Cut(g, ":")
		groups = append(groups, name)
		ok, err := s.exists(ctx, "group", name)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		args := []string{"groupadd"}
		if gid != "" {
			args = append(args, "--gid", gid)
		}
		if _, err := s.chroot(ctx, append(args, name)...); err != nil {
			return fmt.Errorf("create group %s: %w", name, err)
		}
	}
	exists, err := s.exists(ctx, "passwd", u.Name)
	if err != nil {
		return err
	}
	args := []string{"useradd", "--create-home"}
	if exists {
		args = []string{"usermod"}
	}
	if u.Home != "" {
		if exists {
			args = append(args, "--home", u.Home)
		} else {
			args = append(args, "--home-dir", u.Home)
		}
	}
	if u.Shell != "" {
		args = append(args, "--shell", u.Shell)
	}
	if u.ID != nil && !exists {
		args = append(args, "--uid", fmt.Sprint(*u.ID))
	}
	if u.RealName != "" {
		args = append(args, "--comment", u.RealName)
	}
	if len(groups) > 0 {
		args = append(args, "--gid", groups[0])
	} else if !exists {
		args = append(args, "--user-group")
	}
	if len(groups) > 1 {
		args = append(args, "--groups", strings.Join(groups[1:], ","))
	}
	if !exists || len(args) > 1 {
		if _, err := s.chroot(ctx, append(args, u.Name)...); err != nil {
			return err
		}
	}
	if u.Password == "" {
		return nil
	}
	if u.PwdFormat == "plain" {
		_, err := s.run.Run(ctx, runner.Cmd{Name: "chroot", Args: []string{s.root, "chpasswd"}, Stdin: strings.NewReader(u.Name + ":" + u.Password + "\n")})
		return err
	}
	_, err = s.chroot(ctx, "usermod", "--password", u.Password, u.Name)
	return err
}

// localization writes the keytable, locale and timezone of the
// preferences the way systemd reads them (vconsole.conf, locale.conf,
// localtime), plus Debian's /etc/default/locale and /etc/timezone.
func (s setup) localization() error {
	p := s.d.Preferences
	write := func(rel, content string) error {
		path := filepath.Join(s.root, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", rel, err)
		}
		return nil
	}
	if p.Keytable != "" {
		if err := write("etc/vconsole.conf", "KEYMAP="+p.Keytable+"\n"); err != nil {
			return err
		}
	}
	if len(p.Locale) > 0 && p.Locale[0] != "" {
		lang := p.Locale[0]
		if lang != "POSIX" && lang != "C" && !strings.Contains(lang, ".") {
			lang += ".UTF-8"
		}
		for _, f := range []string{"etc/locale.conf", "etc/default/locale"} {
			if err := write(f, "LANG="+lang+"\n"); err != nil {
				return err
			}
		}
	}
	if tz := p.Timezone; tz != "" {
		if _, err := os.Stat(filepath.Join(s.root, "usr/share/zoneinfo", tz)); err != nil {
			return fmt.Errorf("timezone %q: no /usr/share/zoneinfo/%s in the image (install tzdata, or fix <timezone>)", tz, tz)
		}
		lt := filepath.Join(s.root, "etc/localtime")
		if err := os.Remove(lt); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.Symlink("/usr/share/zoneinfo/"+tz, lt); err != nil {
			return err
		}
		if err := write("etc/timezone", tz+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// script runs an imported script (image/config.sh) inside the root with
// the .profile variables in its environment (chroot.Script).
func (s setup) script(ctx context.Context, name string) error {
	var env []string
	for _, v := range s.profileVars() {
		env = append(env, v[0]+"="+v[1])
	}
	return chroot.Script(ctx, s.run, s.root, name, env)
}

// postBootstrap runs the description's post_bootstrap.sh in the root
// just bootstrapped, at KIWI's moment: before the image packages. It is
// put into root/image first (the configuration phase imports the
// description there again).
func (s setup) postBootstrap(ctx context.Context, log *slog.Logger) error {
	b, err := os.ReadFile(filepath.Join(s.d.Dir, "post_bootstrap.sh"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("import post_bootstrap.sh: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(s.root, "image"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.root, "image", "post_bootstrap.sh"), b, 0o755); err != nil {
		return fmt.Errorf("import post_bootstrap.sh: %w", err)
	}
	log.Info("post_bootstrap.sh")
	return s.script(ctx, "post_bootstrap.sh")
}

// shellName makes a user name usable in a shell variable name.
func shellName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

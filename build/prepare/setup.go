package prepare

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
	// revision is this kiwi's version, kiwi_revision in .profile.
	revision string
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
	// The edit boot scripts are named by <type> (editbootconfig,
	// editbootinstall: any name, relative to the description) and kept
	// under KIWI's names; a named one must exist, as in KIWI.
	scripts := map[string]string{}
	for _, script := range []string{"post_bootstrap.sh", "config.sh", "config-overlay.sh", "config-host-overlay.sh", "images.sh", "disk.sh", "pre_disk_sync.sh"} {
		scripts[script] = filepath.Join(s.d.Dir, script)
	}
	for _, e := range []struct{ attr, value, name string }{
		{"editbootconfig", s.d.Type.EditBootConfig, "edit_boot_config.sh"},
		{"editbootinstall", s.d.Type.EditBootInstall, "edit_boot_install.sh"},
	} {
		if e.value == "" {
			continue
		}
		p := e.value
		if !filepath.IsAbs(p) {
			p = filepath.Join(s.d.Dir, p)
		}
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s: <type %s=%q>: %w (a relative name is looked up in the description's directory)", s.d.File, e.attr, e.value, err)
		}
		scripts[e.name] = p
	}
	// A vagrant box's own Vagrantfile: create reads it next to config.xml.
	for _, c := range s.d.Type.Children {
		if f := c.Attr["embedded_vagrantfile"]; c.Name == "vagrantconfig" && f != "" {
			src, err := s.inDescription(s.d.Type.Pos, f)
			if err != nil {
				return fmt.Errorf("<vagrantconfig embedded_vagrantfile>: %w", err)
			}
			scripts[filepath.Clean(f)] = src
		}
	}
	for script, src := range scripts {
		b, err := os.ReadFile(src)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("import %s: %w", script, err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(imageDir, script)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(imageDir, script), b, 0o755); err != nil {
			return fmt.Errorf("import %s: %w", script, err)
		}
	}
	return nil
}

// profileVars are the variables KIWI writes to /.profile for the
// description's scripts, by KIWI's names and with its values (as written
// in the description; booleans true or false; unset ones empty), sorted
// by name as KIWI writes them. docs/scripts.md lists each one.
func (s setup) profileVars() [][2]string {
	d, t := s.d, s.d.Type
	v := map[string]string{
		"kiwi_iname": d.Name, "kiwi_displayname": d.DisplayName, "kiwi_iversion": d.Version,
		"kiwi_profiles":     strings.Join(d.Profiles, ","),
		"kiwi_delete":       strings.Join(sortedUnique(d.PackageNames("delete")), " "),
		"kiwi_drivers":      strings.Join(d.Drivers, ","),
		"kiwi_strip_delete": strings.Join(d.Strip["delete"], " "), "kiwi_strip_tools": strings.Join(d.Strip["tools"], " "),
		"kiwi_strip_libs": strings.Join(d.Strip["libs"], " "),
		// The root partition's UUID is known only when a disk is made.
		"kiwi_rootpartuuid": "", "kiwi_shasum_suffix": ".sha256",
		// KIWI's disk geometry defaults and its own version.
		"kiwi_align": "1048576", "kiwi_sectorsize": "512", "kiwi_revision": s.revision,
	}
	if v["kiwi_displayname"] == "" {
		v["kiwi_displayname"] = d.Name
	}
	if t.Image == "cpio" {
		v["kiwi_cpio_name"] = d.Name
	}
	// The type's settings.
	attr := func(name string) string { return t.Attr[name] }
	flag := func(name string) string {
		raw, ok := t.Attr[name]
		if !ok {
			return ""
		}
		if b, err := strconv.ParseBool(raw); err == nil {
			return strconv.FormatBool(b)
		}
		return raw
	}
	for key, name := range map[string]string{
		"kiwi_wwid_wait_timeout": "wwid_wait_timeout", "kiwi_hybridpersistent_filesystem": "hybridpersistent_filesystem",
		"kiwi_cmdline": "kernelcmdline", "kiwi_firmware": "firmware", "kiwi_devicepersistency": "devicepersistency",
		"kiwi_installboot": "installboot", "kiwi_bootkernel": "bootkernel", "kiwi_fsmountoptions": "fsmountoptions",
		"kiwi_bootprofile": "bootprofile",
	} {
		v[key] = attr(name)
	}
	for key, name := range map[string]string{
		"kiwi_compressed": "compressed", "kiwi_hybridpersistent": "hybridpersistent", "kiwi_ramonly": "ramonly",
		"kiwi_target_removable": "target_removable", "kiwi_btrfs_root_is_snapshot": "btrfs_root_is_snapper_snapshot",
		"kiwi_btrfs_root_is_snapper_snapshot": "btrfs_root_is_snapper_snapshot", "kiwi_gpt_hybrid_mbr": "gpt_hybrid_mbr",
	} {
		v[key] = flag(name)
	}
	v["kiwi_type"] = t.Image
	v["kiwi_target_blocksize"] = cmp.Or(attr("target_blocksize"), "512")
	v["kiwi_startsector"] = cmp.Or(attr("disk_start_sector"), "2048")
	v["kiwi_initrd_system"] = initrdSystem(t)
	v["kiwi_luks_empty_passphrase"] = strconv.FormatBool(t.IsSet("luks") && t.Luks == "")
	if b, _ := strconv.ParseBool(attr("xen_server")); b {
		v["kiwi_xendomain"] = "dom0"
	}
	switch t.Image {
	case "oem":
		v["kiwi_install_volid"] = cmp.Or(t.VolID, "INSTALL")
	case "iso":
		v["kiwi_live_volid"] = cmp.Or(t.VolID, "CDROM")
	}
	// The bootloader: grub2 unless named; consoles output:input, the
	// input one defaulting to the output one, "default" where unset.
	v["kiwi_bootloader"], v["kiwi_boot_timeout"], v["kiwi_vga"] = "grub2", "", "auto"
	out, in := "", ""
	if b := t.Bootloader; b != nil {
		v["kiwi_bootloader"] = cmp.Or(b.Name, "grub2")
		if b.Timeout != nil {
			v["kiwi_boot_timeout"] = strconv.Itoa(*b.Timeout)
		}
		v["kiwi_vga"] = cmp.Or(b.Attr["video_mode"], "auto")
		out, in = b.Console, cmp.Or(b.InputConsole, b.Console)
	}
	if out == "none" {
		out = ""
	}
	if in == "none" {
		in = ""
	}
	v["kiwi_bootloader_console"] = cmp.Or(out, "default") + ":" + cmp.Or(in, "default")
	// The preferences.
	p := d.Preferences
	v["kiwi_keytable"], v["kiwi_timezone"] = p.Keytable, p.Timezone
	v["kiwi_language"] = strings.Join(p.Locale, ",")
	v["kiwi_splash_theme"], v["kiwi_loader_theme"] = p.BootsplashTheme, p.BootloaderTheme
	v["kiwi_showlicense"] = ""
	if len(p.ShowLicense) > 0 {
		v["kiwi_showlicense"] = p.ShowLicense[0]
	}
	// <oemconfig>, when the type has one: each element's text.
	if o := t.OEMConfig; o != nil && len(o.All) > 0 {
		for key, name := range oemProfileNames {
			v[key] = o.All[name]
		}
	}
	out2 := make([][2]string, 0, len(v))
	for _, k := range slices.Sorted(maps.Keys(v)) {
		out2 = append(out2, [2]string{k, v[k]})
	}
	return out2
}

// oemProfileNames maps KIWI's .profile names to the <oemconfig> elements
// they come from.
var oemProfileNames = map[string]string{
	"kiwi_oemvmcp_parmfile": "oem-vmcp-parmfile", "kiwi_oemmultipath_scan": "oem-multipath-scan",
	"kiwi_oemswapMB": "oem-swapsize", "kiwi_oemrootMB": "oem-systemsize", "kiwi_oemresizeonce": "oem-resize-once",
	"kiwi_oempartition_install": "oem-partition-install", "kiwi_oemramdisksize": "oem-ramdisk-size",
	"kiwi_oemdevicefilter": "oem-device-filter", "kiwi_oemtitle": "oem-boot-title", "kiwi_oemkboot": "oem-kiwi-initrd",
	"kiwi_oemnicfilter": "oem-nic-filter", "kiwi_oemreboot": "oem-reboot",
	"kiwi_oemrebootinteractive": "oem-reboot-interactive", "kiwi_oemshutdown": "oem-shutdown",
	"kiwi_oemshutdowninteractive": "oem-shutdown-interactive", "kiwi_oemsilentboot": "oem-silent-boot",
	"kiwi_oemsilentinstall": "oem-silent-install", "kiwi_oemsilentverify": "oem-silent-verify",
	"kiwi_oemskipverify": "oem-skip-verify", "kiwi_oembootwait": "oem-bootwait", "kiwi_oemunattended": "oem-unattended",
	"kiwi_oemunattended_id": "oem-unattended-id", "kiwi_oemrecovery": "oem-recovery", "kiwi_oemrecoveryID": "oem-recoveryID",
	"kiwi_oemrecoveryPartSize": "oem-recovery-part-size", "kiwi_oemrecoveryInPlace": "oem-inplace-recovery",
}

// initrdSystem is KIWI's initrd system of a type: dracut for the types
// that boot (unless the type names another), none for the others.
func initrdSystem(t description.Type) string {
	switch t.Image {
	case "oem", "iso", "kis", "vmx":
		return cmp.Or(t.InitrdSystem, "dracut")
	case "pxe":
		return cmp.Or(t.InitrdSystem, "kiwi")
	}
	return "none"
}

// sortedUnique is names sorted, each once.
func sortedUnique(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
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

// touchSystemFiles appends a newline to the root's /systemfiles (the
// package file list a base built with provide_system_files carries),
// making it if missing, as KIWI does for require_system_files: a delta
// root holds only what changed, and this makes the list one of them.
func (s setup) touchSystemFiles() error {
	if !s.d.Type.RequireSystemFiles {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(s.root, "systemfiles"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("require_system_files: %w", err)
	}
	if _, err := f.WriteString("\n"); err != nil {
		f.Close()
		return fmt.Errorf("require_system_files: %w", err)
	}
	return f.Close()
}

// shellQuote quotes a value for the shell as KIWI's baseQuoteFile does:
// in single quotes, each single quote closed, escaped and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kiwi-go/kiwi/boot"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// OnTopOptions are the inputs of ApplyOnTop.
type OnTopOptions struct {
	Root string
	Run  runner.Runner
}

// ApplyOnTop configures an existing root tree (a stack of containers)
// from a description that installs nothing: it imports the description
// into root/image/, copies the overlay files (root/ of the description),
// sets up the users and runs config.sh, in KIWI's order. Packages the
// description lists must already be in the root: installing packages is
// kiwi system build's work, so missing ones are an error that names them
// before anything is changed.
func ApplyOnTop(ctx context.Context, d *Description, o OnTopOptions) error {
	if err := checkInstalled(ctx, d, o); err != nil {
		return err
	}
	imageDir := filepath.Join(o.Root, "image")
	if err := os.MkdirAll(imageDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(imageDir, "config.xml"), d.XML(), 0o644); err != nil {
		return fmt.Errorf("import description: %w", err)
	}
	for _, script := range []string{"config.sh", "images.sh"} {
		src := filepath.Join(d.Dir, script)
		if b, err := os.ReadFile(src); err == nil {
			if err := os.WriteFile(filepath.Join(imageDir, script), b, 0o755); err != nil {
				return fmt.Errorf("import %s: %w", script, err)
			}
		}
	}
	overlays := []string{filepath.Join(d.Dir, "root")}
	for _, p := range d.Profiles {
		overlays = append(overlays, filepath.Join(d.Dir, p))
	}
	for _, dir := range overlays {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		// cp keeps modes, owners, links and xattrs; the trailing /. copies
		// the contents over the root.
		if _, err := o.Run.Run(ctx, runner.Cmd{Name: "cp", Args: []string{"-a", "--no-target-directory", dir + "/.", o.Root}}); err != nil {
			return fmt.Errorf("overlay %s: %w", dir, err)
		}
	}
	for _, u := range d.Users {
		if err := setupUser(ctx, o, u); err != nil {
			return fmt.Errorf("user %s: %w", u.Name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(imageDir, "config.sh")); err == nil {
		if _, err := boot.InRoot(ctx, o.Run, o.Root, nil, "/bin/bash", "/image/config.sh"); err != nil {
			return fmt.Errorf("config.sh failed: %w", err)
		}
	}
	return nil
}

// checkInstalled fails when the description wants packages the root
// does not have.
func checkInstalled(ctx context.Context, d *Description, o OnTopOptions) error {
	var want []string
	// Bootstrap packages are skipped for an existing root, as KIWI does.
	for _, section := range []string{"image", d.Type.Image} {
		want = append(want, d.Packages[section].Names()...)
	}
	if len(want) == 0 {
		return nil
	}
	admin := filepath.Join(o.Root, "var/lib/dpkg")
	if _, err := os.Stat(filepath.Join(admin, "status")); err != nil {
		return fmt.Errorf("the description lists packages (%s) and the root has no dpkg database to check them: installing packages needs kiwi system build", strings.Join(want, ", "))
	}
	out, err := o.Run.Run(ctx, runner.Cmd{Name: "dpkg-query", Args: []string{"--admindir=" + admin, "-W", "-f", "${Package} ${db:Status-Abbrev}\n"}})
	if err != nil {
		return fmt.Errorf("list the root's packages: %w", err)
	}
	have := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && strings.HasPrefix(f[1], "ii") {
			have[f[0]] = true
		}
	}
	var missing []string
	for _, p := range want {
		if !have[p] {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("%s: packages not in the stacked root: %s (installing packages on a stack needs kiwi system build, which is not available yet; add them to a stash instead)", d.File, strings.Join(missing, ", "))
	}
	return nil
}

// setupUser creates or updates a user inside the root with the root's own
// shadow tools (chroot, nothing mounted).
func setupUser(ctx context.Context, o OnTopOptions, u User) error {
	chroot := func(args ...string) error {
		_, err := o.Run.Run(ctx, runner.Cmd{Name: "chroot", Args: append([]string{o.Root}, args...)})
		return err
	}
	_, err := o.Run.Run(ctx, runner.Cmd{Name: "chroot", Args: []string{o.Root, "getent", "passwd", u.Name}})
	exists := err == nil
	var re *runner.Error
	if err != nil && !(errors.As(err, &re) && re.Code == 2) {
		return err
	}
	var groups []string
	for _, g := range u.Groups {
		name, _, _ := strings.Cut(g, ":")
		groups = append(groups, name)
	}
	if !exists {
		args := []string{"useradd", "--create-home"}
		if u.Home != "" {
			args = append(args, "--home-dir", u.Home)
		}
		if u.Shell != "" {
			args = append(args, "--shell", u.Shell)
		}
		if u.ID != nil {
			args = append(args, "--uid", fmt.Sprint(*u.ID))
		}
		if u.RealName != "" {
			args = append(args, "--comment", u.RealName)
		}
		if len(groups) > 1 {
			args = append(args, "--groups", strings.Join(groups[1:], ","))
		}
		if err := chroot(append(args, u.Name)...); err != nil {
			return err
		}
	}
	if u.Password == "" {
		return nil
	}
	if u.PwdFormat == "plain" {
		_, err := o.Run.Run(ctx, runner.Cmd{Name: "chroot", Args: []string{o.Root, "chpasswd"}, Stdin: strings.NewReader(u.Name + ":" + u.Password + "\n")})
		return err
	}
	return chroot("usermod", "--password", u.Password, u.Name)
}

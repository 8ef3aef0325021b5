package tests

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// distroRepos returns the directory of the tests' rpm-md (rpm/) and
// pacman (pacman/) repositories: the bookworm-boot root's packages
// repacked (hack/distro-repos.sh, built once and cached).
func distroRepos(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(s.repo, "hack", "distro-repos.sh")).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("rpm-md and pacman repositories: %v\n%s", err, tail(stderr, 3000))
	}
	return strings.TrimSpace(string(out))
}

// distroDescription copies the test description name into a temp dir,
// with its repository sources (/srv/kiwi-test-repos/...) pointing at the
// repositories in repos.
func distroDescription(t *testing.T, name, repos string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("cp", "-a", filepath.Join(s.repo, "tests", "testdata", name), dir).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v %s", name, err, out)
	}
	conf := filepath.Join(dir, "config.xml")
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(mustRead(t, conf), "/srv/kiwi-test-repos", repos)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// distroCache is the shared cache of the distribution builds: one per
// repository build, since the repacked packages of a new fixture keep
// their names (pacman trusts a cached file by its name).
func distroCache(t *testing.T, repos string) string {
	t.Helper()
	dir := filepath.Join(sharedCache(t), "distro-"+filepath.Base(repos))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDistributions is issue 15's end-to-end check of the package
// managers other than apt: kiwi system build of a zypper oem disk (EFI,
// xfs), a dnf oem disk (BIOS, ext4) and a pacman kis set, each from the
// tests' repositories with the host's zypper, dnf and pacman; each boots
// to login, and .packages comes from the root's own rpm or pacman
// database.
func TestDistributions(t *testing.T) {
	pooled(t, 283)
	repos := distroRepos(t)
	cache := distroCache(t, repos)
	build := func(t *testing.T, name string) (target, root string) {
		t.Helper()
		desc := distroDescription(t, name, repos)
		target = filepath.Join(t.TempDir(), "out")
		start := time.Now()
		r := kiwi(t, "--shared-cache-dir", cache, "system", "build", "--description", desc, "--target-dir", target)
		if r.err != nil {
			t.Fatalf("kiwi system build %s: %v\n%s", name, r.err, tail(r.stdout+r.stderr, 6000))
		}
		t.Logf("build %s took %v", name, time.Since(start).Round(time.Second))
		return target, filepath.Join(target, "build", "image-root")
	}
	// rpmLine is the kernel's .packages line from an rpm database:
	// name|epoch|version|release|arch|disturl|license.
	rpmLine := regexp.MustCompile(`(?m)^linux-image-amd64\|0\|6\.1\.[^|]+\|[^|]+\|x86_64\|\(none\)\|[^|]+$`)
	// rpmResult checks an rpm build: .packages has the kernel's rpm line
	// and not the package the description removed, the root has an rpm
	// database and no dpkg one, and grub's files have the rpm family's
	// names (grub2-mkconfig wrote /boot/grub2/grub.cfg).
	rpmResult := func(t *testing.T, target, root, base, removed, section string) {
		t.Helper()
		pk := mustRead(t, filepath.Join(target, base+".packages"))
		if !rpmLine.MatchString(pk) {
			t.Errorf(".packages has no rpm line for the kernel:\n%.600s", pk)
		}
		if strings.Contains(pk, removed+"|") {
			t.Errorf("the %s section's package is still installed", section)
		}
		if _, err := os.Stat(filepath.Join(root, "usr/lib/sysimage/rpm/rpmdb.sqlite")); err != nil {
			t.Errorf("the root has no rpm database: %v", err)
		}
		if _, err := os.Stat(filepath.Join(root, "var/lib/dpkg/status")); err == nil {
			t.Error("the rpm root has a dpkg database")
		}
		if cfg, err := os.ReadFile(filepath.Join(root, "boot/grub2/grub.cfg")); err != nil || !strings.Contains(string(cfg), "BEGIN /etc/grub.d/10_linux") {
			t.Errorf("no /boot/grub2/grub.cfg from grub2-mkconfig: %v", err)
		}
		if _, err := os.Stat(filepath.Join(root, "boot/grub")); err == nil {
			t.Error("the rpm root has a /boot/grub")
		}
		// .changes from rpm's changelogs (the repacked packages have
		// none: each package's name line only).
		if ch := mustRead(t, filepath.Join(target, base+".changes")); !strings.Contains(ch, "linux-image-amd64|\n") {
			t.Errorf(".changes does not list the kernel:\n%.300s", ch)
		}
	}

	t.Run("ZypperOEMEFIXfs", func(t *testing.T) {
		target, root := build(t, "zypper-oem")
		base := "zypper-oem.x86_64-1.0.0"
		rpmResult(t, target, root, base, "cloud-guest-utils", "uninstall")
		// rpm-excludedocs: the repacked packages mark /usr/share/doc
		// as documentation.
		if out, _ := exec.Command("find", filepath.Join(root, "usr/share/doc"), "-type", "f").Output(); len(out) > 0 {
			t.Errorf("rpm-excludedocs: documentation installed:\n%.300s", out)
		}
		repo := mustRead(t, filepath.Join(root, "etc/zypp/repos.d/fixture.repo"))
		if !strings.Contains(repo, "baseurl=file://"+repos+"/rpm") || !strings.Contains(repo, "priority=90") {
			t.Errorf("the imageinclude repository in the image:\n%s", repo)
		}
		if _, err := os.Stat(filepath.Join(root, "var/lib/kiwi")); err == nil {
			t.Error("the build's zypper locks dir is left in the image")
		}
		info := kiwi(t, "image", "info", "--description", distroDescription(t, "zypper-oem", repos))
		var got struct {
			Preferences struct {
				PackageManager string `json:"packagemanager"`
			} `json:"preferences"`
			Build string `json:"build_refused"`
		}
		if err := json.Unmarshal([]byte(info.stdout), &got); err != nil || got.Preferences.PackageManager != "zypper" || got.Build != "" {
			t.Errorf("image info: %v %+v\n%.500s", err, got, info.stdout)
		}
		v := boot(t, bootOptions{Disk: filepath.Join(target, base+".raw"), Format: "raw", EFI: true, Extra: []string{"-snapshot"}}, "login:", 4*time.Minute)
		pos := v.Login(t)
		if out, _ := v.Run(t, pos, "cat /etc/kiwi-distro-marker"); !strings.Contains(out, "with zypper") {
			t.Errorf("the booted system lacks the overlay file: %q", out)
		}
	})

	t.Run("DnfOEMBIOSExt4", func(t *testing.T) {
		target, root := build(t, "dnf-oem")
		base := "dnf-oem.x86_64-1.0.0"
		rpmResult(t, target, root, base, "gdisk", "delete")
		boot(t, bootOptions{Disk: filepath.Join(target, base+".raw"), Format: "raw", Extra: []string{"-snapshot"}}, "login:", 4*time.Minute)
	})

	t.Run("PacmanKis", func(t *testing.T) {
		target, root := build(t, "pacman-kis")
		base := "pacman-kis.x86_64-1.0.0"
		pk := mustRead(t, filepath.Join(target, base+".packages"))
		if !regexp.MustCompile(`(?m)^linux-image-amd64\|None\|6\.1\.[^|]+\|[^|]+\|x86_64\|None\|custom$`).MatchString(pk) {
			t.Errorf(".packages has no pacman line for the kernel:\n%.600s", pk)
		}
		if _, err := os.Stat(filepath.Join(root, "var/lib/pacman/local")); err != nil {
			t.Errorf("the root has no pacman database: %v", err)
		}
		kernels, _ := filepath.Glob(filepath.Join(target, base+"-*.kernel"))
		if len(kernels) != 1 {
			t.Fatalf("kernel files: %v", kernels)
		}
		appendLine := strings.TrimSpace(mustRead(t, filepath.Join(target, base+".append")))
		boot(t, bootOptions{Kernel: kernels[0], Initrd: filepath.Join(target, base+".initrd"), Append: appendLine,
			Disk: filepath.Join(target, base), Format: "raw", Extra: []string{"-snapshot"}}, "login:", 4*time.Minute)
	})
}

// TestDistributionBadInput: what cannot work fails before the root is
// made, names the input and the fix, and leaves no target dir.
func TestDistributionBadInput(t *testing.T) {
	repos := distroRepos(t)
	cache := distroCache(t, repos)
	edit := func(t *testing.T, name string, from, to string) string {
		t.Helper()
		desc := distroDescription(t, name, repos)
		conf := filepath.Join(desc, "config.xml")
		b := mustRead(t, conf)
		if !strings.Contains(b, from) {
			t.Fatalf("%s has no %q", name, from)
		}
		if err := os.WriteFile(conf, []byte(strings.Replace(b, from, to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		return desc
	}
	noZypper := t.TempDir()
	for _, tool := range []string{"unshare", "sh", "mount", "chroot", "mkdir"} {
		if p, err := exec.LookPath(tool); err == nil {
			_ = os.Symlink(p, filepath.Join(noZypper, tool))
		}
	}
	cases := []struct {
		name string
		desc func(t *testing.T) string
		env  []string
		want []string
	}{
		{"repo type the manager cannot use", func(t *testing.T) string {
			return edit(t, "dnf-oem", `type="rpm-md"`, `type="apt-deb"`)
		}, nil, []string{"config.xml:", `repository type "apt-deb" cannot be used with packagemanager dnf`, `use type="rpm-md"`}},
		{"obs source", func(t *testing.T) string {
			return edit(t, "zypper-oem", "dir://"+repos+"/rpm", "obs://openSUSE:Leap:15.3/standard")
		}, nil, []string{"config.xml:", "Open Build Service", "https://download.opensuse.org/repositories/"}},
		{"unreachable repo", func(t *testing.T) string {
			return edit(t, "zypper-oem", "dir://"+repos+"/rpm", "http://127.0.0.1:1/leap")
		}, nil, []string{"zypper install", "127.0.0.1:1"}},
		{"package no repo has", func(t *testing.T) string {
			return edit(t, "pacman-kis", `<package name="login"/>`, `<package name="no-such-package"/>`)
		}, nil, []string{"pacman -S", "no-such-package"}},
		{"microdnf", func(t *testing.T) string {
			return edit(t, "dnf-oem", "<packagemanager>dnf<", "<packagemanager>microdnf<")
		}, nil, []string{`packagemanager "microdnf"`, "use <packagemanager>dnf</packagemanager>"}},
		{"missing host tool", func(t *testing.T) string { return distroDescription(t, "zypper-oem", repos) },
			[]string{"PATH=" + noZypper}, []string{`packagemanager "zypper" needs zypper on this host`, "apt-get install zypper", "boxbuild"}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			desc := c.desc(t)
			target := filepath.Join(t.TempDir(), "out")
			env := append(append([]string{}, s.env...), c.env...)
			r := kiwiEnv(t, env, "--shared-cache-dir", cache, "system", "build", "--description", desc, "--target-dir", target)
			if r.err == nil {
				t.Fatalf("the build succeeded:\n%s", tail(r.stderr, 2000))
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("the error does not say %q:\n%s", w, tail(r.stderr, 2000))
				}
			}
			if _, err := os.Stat(target); err == nil {
				t.Errorf("the failed build left %s: %v", target, dirNames(target))
			}
		})
	}
}

// TestSeedsLeapStackbuild replays the seeds' stackbuild example ("Turn a
// container into a VM image"): a root prepared with zypper stands in for
// the Leap 15.3 container, is stashed and pushed to the tests' registry
// as opensuse/leap:15.3, and
//
//	kiwi system stackbuild --stash leap:15.3 --from-registry REG/opensuse --description D
//
// with D the seeds' Leap-VM description (schema 6.8, config.kiwi),
// unchanged but for its repository source, installs the kernel, grub and
// shim it asks for (by their openSUSE names) with zypper into the stack
// and makes a uefi xfs disk that boots to login with the description's
// root password. As the seed has it (obs://), the description is refused
// before anything is pulled, with the URL to use instead.
func TestSeedsLeapStackbuild(t *testing.T) {
	pooled(t, 142)
	repos := distroRepos(t)
	cache := distroCache(t, repos)
	addr := startRegistry(t)
	leap := filepath.Join(t.TempDir(), "leap-root")
	mustKiwi(t, "--shared-cache-dir", cache, "system", "prepare", "--description", distroDescription(t, "leap-container", repos), "--root", leap)
	mustKiwi(t, "system", "stash", "--root", leap, "--container-name", "leap", "--tag", "15.3",
		"--push", "docker://"+addr+"/opensuse/leap:15.3")

	seed := filepath.Join(s.repo, "tests", "testdata", "leap-vm")
	target := filepath.Join(t.TempDir(), "myLeap")
	r := kiwi(t, "--shared-cache-dir", cache, "system", "stackbuild", "--stash", "leap:15.3", "--from-registry", addr+"/opensuse",
		"--description", seed, "--target-dir", target)
	if r.err == nil || !strings.Contains(r.stderr, "obs://openSUSE:Leap:15.3/standard") || !strings.Contains(r.stderr, "https://download.opensuse.org/") {
		t.Errorf("the seed's obs:// repository: err=%v\n%s", r.err, tail(r.stderr, 1500))
	}
	if _, err := os.Stat(target); err == nil {
		t.Errorf("the refused stackbuild left %s", target)
	}

	desc := filepath.Join(t.TempDir(), "container_to_VM_layer")
	if err := os.MkdirAll(desc, 0o755); err != nil {
		t.Fatal(err)
	}
	kiwiFile := strings.Replace(mustRead(t, filepath.Join(seed, "config.kiwi")), "obs://openSUSE:Leap:15.3/standard", "dir://"+repos+"/rpm", 1)
	if err := os.WriteFile(filepath.Join(desc, "config.kiwi"), []byte(kiwiFile), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r = kiwi(t, "--shared-cache-dir", cache, "system", "stackbuild", "--stash", "leap:15.3", "--from-registry", addr+"/opensuse",
		"--description", desc, "--target-dir", target)
	if r.err != nil {
		t.Fatalf("stackbuild of the seeds' Leap-VM: %v\n%s", r.err, tail(r.stderr, 5000))
	}
	t.Logf("stackbuild took %v", time.Since(start).Round(time.Second))
	if !strings.Contains(r.stderr, "packagemanager=zypper") {
		t.Errorf("the stack's packages were not installed with zypper:\n%s", tail(r.stderr, 3000))
	}
	disk := filepath.Join(target, "Leap-VM.x86_64-1.99.1.raw")
	v := boot(t, bootOptions{Disk: disk, Format: "raw", EFI: true, Extra: []string{"-snapshot"}}, "login:", 5*time.Minute)
	pos := v.Login(t)
	if out, _ := v.Run(t, pos, "ls /usr/lib/sysimage/rpm"); !strings.Contains(out, "rpmdb.sqlite") {
		t.Errorf("the booted Leap-VM has no rpm database: %q", out)
	}
	if vc := mustRead(t, filepath.Join(target, "build", "image-root", "etc", "vconsole.conf")); !strings.Contains(vc, "KEYMAP=us") {
		t.Errorf("the description's keytable: %q", vc)
	}

	// The built root stashed holds everything the description asks for
	// (kernel-default and friends by the names their packages provide):
	// stacked again, it builds with no repository at all.
	mustKiwi(t, "system", "stash", "--root", filepath.Join(target, "build", "image-root"), "--container-name", "leap-vm", "--tag", "1")
	offline := filepath.Join(t.TempDir(), "offline")
	r = kiwi(t, "--shared-cache-dir", cache, "system", "stackbuild", "--stash", "leap-vm:1", "--description", desc, "--target-dir", offline,
		"--", "--set-repo", "http://127.0.0.1:1/nothing,rpm-md")
	if r.err != nil {
		t.Fatalf("offline stackbuild of a complete rpm stack: %v\n%s", r.err, tail(r.stderr, 3000))
	}
	if !strings.Contains(r.stderr, "all image packages are installed already") {
		t.Errorf("the complete stack was not recognised as complete:\n%s", tail(r.stderr, 2000))
	}
}

// TestRepositoryCredentials: a repository behind HTTP basic auth (a
// server of the test's on 127.0.0.1 serving the rpm-md repository) is
// read by zypper with --set-repo-credentials, as USER:PASSWORD and as
// USER:FILE; without them the build fails naming the repository. The
// password appears in no output, and the image's copy of the repository
// (imageinclude) carries no credentials.
func TestRepositoryCredentials(t *testing.T) {
	pooled(t, 17)
	repos := distroRepos(t)
	cache := distroCache(t, repos)
	const user, secret = "tux", "s3cret-Pa55"
	files := http.FileServer(http.Dir(filepath.Join(repos, "rpm")))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != secret {
			w.Header().Set("WWW-Authenticate", `Basic realm="kiwi-test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		files.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	url := "http://" + l.Addr().String() + "/"
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	desc := filepath.Join(s.repo, "tests", "testdata", "box-vm-zypper")
	for _, c := range []struct {
		name  string
		creds []string
		ok    bool
	}{
		{"none", nil, false},
		{"password", []string{"--set-repo-credentials", user + ":" + secret}, true},
		{"file", []string{"--set-repo-credentials", user + ":" + pwFile}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "out")
			// --clear-cache: credentials are no part of a phase's key, so
			// without it the later variants would reuse the first one's
			// phases and results and never reach the repository.
			args := append([]string{"--debug", "--shared-cache-dir", cache, "system", "build", "--description", desc, "--target-dir", target,
				"--set-repo", url + ",rpm-md,private,,true", "--clear-cache"}, c.creds...)
			r := kiwi(t, args...)
			if (r.err == nil) != c.ok {
				t.Fatalf("build with credentials %q: err=%v\n%s", c.name, r.err, tail(r.stderr, 3000))
			}
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Errorf("the password is in kiwi's output")
			}
			if !c.ok {
				if !strings.Contains(r.stderr, "private") && !strings.Contains(r.stderr, l.Addr().String()) {
					t.Errorf("the failure does not name the repository:\n%s", tail(r.stderr, 2000))
				}
				return
			}
			repo := mustRead(t, filepath.Join(target, "build", "image-root", "etc", "zypp", "repos.d", "private.repo"))
			if strings.Contains(repo, "credentials") || strings.Contains(repo, secret) {
				t.Errorf("the image's copy of the repository carries the credentials:\n%s", repo)
			}
		})
	}
}

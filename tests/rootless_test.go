package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// osUser is an ordinary account the test makes, as useradd on Debian
// makes one: a home and 65536 subordinate uids and gids.
type osUser struct {
	name             string
	uid, gid         int
	home, runtime    string
	subuid, subgid   int // first subordinate id
	subCount         int
	kiwi             string // a copy of the binary under test the user can run
	storageConf      string
	startMarker      string
	allowedWriteDirs []string
}

// newUser adds a user for one test and removes it, its home and its
// runtime dir afterwards.
func newUser(t *testing.T) *osUser {
	t.Helper()
	// One name per user of the run: the uid of a removed user comes back
	// with the next useradd.
	name := fmt.Sprintf("kiwit%d-%d", os.Getpid()%100000, s.users.Add(1))
	if out, err := userdb("useradd", "--create-home", "--shell", "/bin/sh", name); err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	u := &osUser{name: name}
	t.Cleanup(func() {
		// Rootless podman keeps the user's namespace open with a pause
		// process: the test started it, the test ends it.
		if b, err := os.ReadFile(filepath.Join(u.runtime, "libpod", "tmp", "pause.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		// Files of the user's namespace belong to its subordinate ids:
		// root removes them with the home.
		if out, err := userdb("userdel", "--remove", "--force", name); err != nil {
			t.Errorf("userdel %s: %v\n%s", name, err, out)
		}
		os.RemoveAll(u.home)
		if u.runtime != "" {
			os.RemoveAll(u.runtime)
		}
	})
	pw, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	u.uid, _ = strconv.Atoi(pw.Uid)
	u.gid, _ = strconv.Atoi(pw.Gid)
	u.home = pw.HomeDir
	for _, f := range []struct {
		file  string
		start *int
	}{{"/etc/subuid", &u.subuid}, {"/etc/subgid", &u.subgid}} {
		start, count := subIDs(t, f.file, name)
		if count < 65536 {
			t.Fatalf("useradd gave %s %d ids in %s; the test needs Debian's default of 65536 (SUB_UID_COUNT in /etc/login.defs)", name, count, f.file)
		}
		*f.start, u.subCount = start, count
	}
	// What a login session has: a runtime dir of the user's own
	// (logind makes /run/user/UID), so nothing lands in /tmp.
	u.runtime = filepath.Join("/run/user", strconv.Itoa(u.uid))
	if err := os.MkdirAll(u.runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(u.runtime, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	// Debian 12's podman (4.3) picks vfs for a user without a storage
	// configuration where kiwi's newer containers/storage picks native
	// overlay: the user's storage.conf makes both use overlay (see
	// docs/rootless.md).
	u.storageConf = filepath.Join(u.home, ".config", "containers", "storage.conf")
	u.write(t, u.storageConf, "[storage]\ndriver = \"overlay\"\n")
	u.kiwi = filepath.Join(u.home, "bin", "kiwi")
	b, err := os.ReadFile(s.kiwi)
	if err != nil {
		t.Fatal(err)
	}
	u.write(t, u.kiwi, string(b))
	if err := os.Chmod(u.kiwi, 0o755); err != nil {
		t.Fatal(err)
	}
	// podman, which the test runs as the user too, keeps its locks in
	// shared memory.
	u.allowedWriteDirs = []string{u.home, u.runtime, fmt.Sprintf("/dev/shm/libpod_rootless_lock_%d", u.uid)}
	return u
}

// userdb runs useradd, usermod or userdel, one at a time in the run.
func userdb(name string, args ...string) ([]byte, error) {
	s.userdb.Lock()
	defer s.userdb.Unlock()
	return exec.Command(name, args...).CombinedOutput()
}

// markStart notes the time from which checkWritesOutside looks.
func (u *osUser) markStart(t *testing.T) {
	t.Helper()
	u.startMarker = filepath.Join(u.home, ".kiwi-test-start")
	u.write(t, u.startMarker, "")
	// find -newer compares with the marker's mtime: let a tick pass.
	time.Sleep(1100 * time.Millisecond)
}

// subIDs reads the user's range from /etc/subuid or /etc/subgid.
func subIDs(t *testing.T, file, name string) (start, count int) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ":")
		if len(parts) == 3 && parts[0] == name {
			start, _ = strconv.Atoi(parts[1])
			count, _ = strconv.Atoi(parts[2])
			return start, count
		}
	}
	t.Fatalf("useradd gave %s no range in %s", name, file)
	return 0, 0
}

// write makes a file of the user's (and its parent dirs below home).
func (u *osUser) write(t *testing.T, path, content string) {
	t.Helper()
	rel, err := filepath.Rel(u.home, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		t.Fatalf("%s is outside %s", path, u.home)
	}
	dir := u.home
	for _, part := range strings.Split(filepath.Dir(rel), string(filepath.Separator)) {
		if part == "." {
			continue
		}
		dir = filepath.Join(dir, part)
		if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
		if err := os.Chown(dir, u.uid, u.gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies root's tree src to dst below the user's home as the
// user's namespace shows it: root's files owned by the user, the others
// by subordinate ids (podman's namespace is the same as kiwi's).
func (u *osUser) copyTree(t *testing.T, src, dst string) {
	t.Helper()
	u.write(t, filepath.Join(dst, ".keep"), "")
	pack := exec.Command("tar", "-C", src, "--exclude=./dev/*", "--xattrs", "--xattrs-include=*", "-cf", "-", ".")
	unpack := u.command(nil, "podman", "unshare", "tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", "-", "-C", dst)
	pipe(t, pack, unpack)
	os.Remove(filepath.Join(dst, ".keep"))
}

// treeForRoot copies the user's tree src into a temp dir of root's as
// the user's namespace shows it (the inverse of copyTree): the same tree
// for a create by root.
func (u *osUser) treeForRoot(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	pack := u.command(nil, "podman", "unshare", "tar", "-C", src, "--format=posix", "--xattrs", "--xattrs-include=*", "-cf", "-", ".")
	pipe(t, pack, exec.Command("tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", "-", "-C", dst))
	return dst
}

// chownAll gives dir and everything below it to the user.
func (u *osUser) chownAll(t *testing.T, dir string) {
	t.Helper()
	if out, err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", u.uid, u.gid), dir).CombinedOutput(); err != nil {
		t.Fatalf("chown %s: %v\n%s", dir, err, out)
	}
}

// command runs name as the user, with a login's environment and
// nothing of the test's (no storage or containers.conf of root's).
func (u *osUser) command(env []string, name string, args ...string) *exec.Cmd {
	full := append([]string{"--reuid", strconv.Itoa(u.uid), "--regid", strconv.Itoa(u.gid), "--init-groups", "--", name}, args...)
	c := exec.Command("setpriv", full...)
	c.Dir = u.home
	c.Env = append([]string{
		"HOME=" + u.home, "USER=" + u.name, "LOGNAME=" + u.name, "LANG=C.UTF-8",
		"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
		"XDG_RUNTIME_DIR=" + u.runtime,
	}, env...)
	return c
}

// mustRun runs name as the user and fails the test when it fails.
func (u *osUser) mustRun(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	c := u.command(env, name, args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		t.Fatalf("%s %s as %s: %v\n%s%s", name, strings.Join(args, " "), u.name, err, out.String(), tail(errb.String(), 4000))
	}
	return out.String() + errb.String()
}

// ownedByUser reports whether uid (or gid) is one the user's runs may
// leave on the host: its own, or one of its subordinate ids.
func (u *osUser) owns(id, own, sub int) bool {
	return id == own || (id >= sub && id < sub+u.subCount)
}

// checkWritesOutside fails t for each file the user's ids created or
// changed since markStart outside the dirs the user may write to.
func (u *osUser) checkWritesOutside(t *testing.T) {
	t.Helper()
	args := []string{"/", "/run", "/tmp", "/var/tmp", "/dev/shm", "-xdev", "("}
	for i, d := range append([]string{"/proc", "/sys"}, u.allowedWriteDirs...) {
		if i > 0 {
			args = append(args, "-o")
		}
		args = append(args, "-path", d)
	}
	args = append(args, ")", "-prune", "-o", "-newer", u.startMarker, "(",
		"-uid", strconv.Itoa(u.uid), "-o", "-gid", strconv.Itoa(u.gid),
		"-o", "(", "-uid", "+"+strconv.Itoa(u.subuid-1), "-uid", "-"+strconv.Itoa(u.subuid+u.subCount), ")",
		"-o", "(", "-gid", "+"+strconv.Itoa(u.subgid-1), "-gid", "-"+strconv.Itoa(u.subgid+u.subCount), ")",
		")", "-print")
	out, _ := exec.Command("find", args...).Output()
	if files := strings.Fields(string(out)); len(files) > 0 {
		t.Errorf("the user's kiwi runs wrote outside the user's home and runtime dir:\n%s", strings.Join(files, "\n"))
	}
}

// TestRootlessMainJob is the main job as an ordinary user (issue 19): a
// root tree in the user's namespace is stashed into the user's storage
// and pushed to a registry; stackbuild pulls it back and builds the demo
// description into a disk that boots with the owners and modes an image
// needs, while the host sees only the user's ids and nothing outside the
// user's dirs changes. The same disk made by root from the same tree
// with SOURCE_DATE_EPOCH has the same bytes.
func TestRootlessMainJob(t *testing.T) {
	pooled(t, 200)
	u := newUser(t)
	addr := startRegistry(t)
	registry := addr + "/library"

	// Without subordinate ids the user is told the fix, before any work.
	// (First: usermod refuses while a process of the user runs, and
	// podman leaves one.)
	ids := fmt.Sprintf("%d-%d", u.subuid, u.subuid+u.subCount-1)
	if out, err := userdb("usermod", "--del-subuids", ids, u.name); err != nil {
		t.Fatalf("usermod --del-subuids: %v\n%s", err, out)
	}
	c := u.command(nil, u.kiwi, "system", "stash", "--root", u.home, "--container-name", "debian", "--tag", "bookworm")
	if refusal, err := c.CombinedOutput(); err == nil || !strings.Contains(string(refusal), "usermod --add-subuids") {
		t.Errorf("kiwi run by a user without subordinate uids: %v, want an error naming usermod --add-subuids:\n%s", err, refusal)
	}
	if out, err := userdb("usermod", "--add-subuids", ids, u.name); err != nil {
		t.Fatalf("usermod --add-subuids: %v\n%s", err, out)
	}

	// The user's root tree: the minbase fixture as the user's namespace
	// shows it (root's files owned by the user, the others by
	// subordinate ids), copied in by podman's own namespace.
	root := filepath.Join(u.home, "root")
	u.copyTree(t, debianRoot(t), root)
	u.markStart(t)

	kiwiAs := func(env []string, args ...string) string {
		t.Helper()
		return u.mustRun(t, env, u.kiwi, args...)
	}
	kiwiAs(nil, "system", "stash", "--root", root, "--container-name", "debian", "--tag", "bookworm",
		"--push", "docker://"+registry+"/debian:bookworm")
	if out := u.mustRun(t, nil, "podman", "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, "localhost/debian:bookworm") {
		t.Errorf("podman images run by the user does not show the stash:\n%s", out)
	}

	desc := filepath.Join(u.home, "demo")
	u.write(t, filepath.Join(desc, "config.xml"), mustRead(t, filepath.Join(s.repo, "hack", "demo", "config.xml")))
	target := filepath.Join(u.home, "target")
	epoch := []string{"SOURCE_DATE_EPOCH=1700000000"}
	tmp := filepath.Join(u.home, "tmp")
	u.write(t, filepath.Join(tmp, ".keep"), "")
	kiwiAs(epoch, "--temp-dir", tmp, "system", "stackbuild", "--stash", "debian:bookworm",
		"--from-registry", registry, "--description", desc, "--target-dir", target)

	// The host sees only the user's ids in the target dir.
	err := filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if !u.owns(int(st.Uid), u.uid, u.subuid) || !u.owns(int(st.Gid), u.gid, u.subgid) {
			t.Errorf("%s belongs to %d:%d on the host, not to the user's ids", p, st.Uid, st.Gid)
			return fs.SkipAll
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	u.checkWritesOutside(t)

	base := filepath.Join(target, "debian-demo.x86_64-1.0.0")
	v := boot(t, bootOptions{Disk: base + ".qcow2", Format: "qcow2", EFI: true, Extra: []string{"-snapshot"}}, "login:", 4*time.Minute)
	v.Send(t, "root\n")
	pos := v.Expect(t, 0, "Password:", time.Minute)
	v.Send(t, "kiwi\n")
	pos = v.Expect(t, pos, "# ", time.Minute)
	out, _ := v.Run(t, pos, "stat -c '%n %a %U:%G' /usr/bin/passwd /etc/shadow")
	for _, want := range []string{"/usr/bin/passwd 4755 root:root", "/etc/shadow 640 root:shadow"} {
		if !strings.Contains(out, want) {
			t.Errorf("the booted disk lacks %q:\n%s", want, out)
		}
	}
	v.Send(t, "poweroff\n")

	// Root and the user create from the same tree: the user's prepared
	// root, and root's copy of it as the user's namespace shows it.
	userOut := filepath.Join(u.home, "again")
	kiwiAs(epoch, "--temp-dir", tmp, "system", "create", "--root", filepath.Join(target, "build", "image-root"), "--target-dir", userOut)
	rootTree := u.treeForRoot(t, filepath.Join(target, "build", "image-root"))
	rootOut := filepath.Join(t.TempDir(), "out")
	if r := kiwiEnv(t, append(append([]string{}, s.env...), epoch...), "system", "create", "--root", rootTree, "--target-dir", rootOut); r.err != nil {
		t.Fatalf("create as root: %v\n%s", r.err, tail(r.stderr, 3000))
	}
	for _, ext := range []string{"raw", "qcow2", "packages"} {
		name := "debian-demo.x86_64-1.0.0." + ext
		a := mustOutput(t, "sha256sum", filepath.Join(userOut, name))[:64]
		b := mustOutput(t, "sha256sum", filepath.Join(rootOut, name))[:64]
		if a != b {
			diff, _ := exec.Command("sh", "-c", `cmp -l "$1" "$2" 2>&1 | head -20`, "sh", filepath.Join(userOut, name), filepath.Join(rootOut, name)).Output()
			t.Errorf("%s made by the user (%s) differs from root's (%s):\n%s", name, a, b, diff)
		}
	}
}

// pipe runs from | to and fails the test when either fails.
func pipe(t *testing.T, from, to *exec.Cmd) {
	t.Helper()
	r, err := from.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	to.Stdin = r
	var e1, e2 bytes.Buffer
	from.Stderr, to.Stderr = &e1, &e2
	if err := from.Start(); err != nil {
		t.Fatal(err)
	}
	if err := to.Run(); err != nil {
		from.Process.Kill()
		from.Wait()
		t.Fatalf("%s: %v\n%s", strings.Join(to.Args, " "), err, e2.String())
	}
	if err := from.Wait(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(from.Args, " "), err, e1.String())
	}
}

// TestRootlessCreateTypes is issue 19's check of the types besides the
// main job's ext4 disk: an ordinary user creates a live ISO, a kis set
// and a btrfs oem disk from the boot fixture as the user's namespace
// shows it, and root creates them from its copy of that tree;
// with SOURCE_DATE_EPOCH every result file has the same bytes (btrfs:
// see sameBtrfsDisk). Root's
// ISO, kis and btrfs disks boot in TestLiveISO, TestKis and
// TestOEMEfiBtrfsQcow2GrowsWithoutLoopDevices.
func TestRootlessCreateTypes(t *testing.T) {
	pooled(t, 210)
	u := newUser(t)
	desc := filepath.Join(s.repo, "tests", "testdata", "rootless-types", "config.xml")
	userRoot := filepath.Join(u.home, "root")
	u.copyTree(t, strings.TrimSpace(mustOutput(t, filepath.Join(s.repo, "hack", "debian-root.sh"), "bookworm-boot")), userRoot)
	u.write(t, filepath.Join(userRoot, "image", "config.xml"), mustRead(t, desc))
	// Root's copy of the user's tree (the fixture without its /dev nodes,
	// which a namespace cannot make).
	rootRoot := u.treeForRoot(t, userRoot)
	tmp := filepath.Join(u.home, "tmp")
	u.write(t, filepath.Join(tmp, ".keep"), "")
	u.markStart(t)

	epoch := []string{"SOURCE_DATE_EPOCH=1700000000"}
	// One tree each for all three: create writes the initrd and boot
	// files into the root, the same way for both.
	for _, profile := range []string{"iso", "kis", "btrfs"} {
		userOut := filepath.Join(u.home, "out-"+profile)
		start := time.Now()
		u.mustRun(t, epoch, u.kiwi, "--temp-dir", tmp, "--profile", profile, "system", "create", "--root", userRoot, "--target-dir", userOut)
		t.Logf("%s: the user's create took %v", profile, time.Since(start).Round(time.Second))
		rootOut := filepath.Join(t.TempDir(), "out")
		if r := kiwiEnv(t, append(slices.Clone(s.env), epoch...), "--profile", profile, "system", "create", "--root", rootRoot, "--target-dir", rootOut); r.err != nil {
			t.Fatalf("create %s as root: %v\n%s", profile, r.err, tail(r.stderr, 3000))
		}
		entries, err := os.ReadDir(rootOut)
		if err != nil {
			t.Fatal(err)
		}
		var compared []string
		for _, e := range entries {
			// kiwi.result.json names the target dir.
			if !e.Type().IsRegular() || e.Name() == "kiwi.result.json" {
				continue
			}
			compared = append(compared, e.Name())
			a, b := filepath.Join(userOut, e.Name()), filepath.Join(rootOut, e.Name())
			if _, err := os.Stat(a); err != nil {
				t.Errorf("%s: root made %s, the user did not: %v", profile, e.Name(), err)
				continue
			}
			// The btrfs disk and its checksum: see sameBtrfsDisk.
			if profile == "btrfs" && strings.Contains(e.Name(), ".raw") {
				if e.Name() != "rootless-types.x86_64-1.0.0.raw" {
					continue
				}
				sameBtrfsDisk(t, a, b)
				continue
			}
			if sa, sb := mustOutput(t, "sha256sum", a)[:64], mustOutput(t, "sha256sum", b)[:64]; sa != sb {
				diff, _ := exec.Command("sh", "-c", `cmp -l "$1" "$2" 2>&1 | head -20`, "sh", a, b).Output()
				t.Errorf("%s: %s made by the user (%s) differs from root's (%s):\n%s", profile, e.Name(), sa, sb, diff)
			}
		}
		t.Logf("%s: compared %s", profile, strings.Join(compared, " "))
	}
	u.checkWritesOutside(t)
}

// TestRootlessPrepare is issue 19's check of the package managers run by
// an ordinary user: system prepare of a Debian minbase description
// (debootstrap, then the root's apt-get) and of the zypper, dnf and
// pacman test descriptions (the tests' repositories, hard-linked into
// the user's home) runs them in the user's namespace. The roots have their package database and the
// owners and modes the packages gave (passwd setuid root, chage setgid
// shadow): as the host sees them, the user's id for root and
// subordinate ids for the others.
func TestRootlessPrepare(t *testing.T) {
	pooled(t, 165)
	repos := distroRepos(t)
	u := newUser(t)
	userRepos := filepath.Join(u.home, "repos")
	u.write(t, filepath.Join(userRepos, ".keep"), "")
	for _, kind := range []string{"rpm", "pacman"} {
		// Hard links: read-only, the same files (nothing chowns them).
		if out, err := exec.Command("cp", "-al", filepath.Join(repos, kind), userRepos).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
	// debootstrap and apt download what the user's cache lacks: the
	// packages the apt tests fetched are copied in.
	if archives := filepath.Join(sharedCache(t), "apt", "archives"); dirNames(archives) != nil {
		mine := filepath.Join(u.home, ".cache", "kiwi", "apt")
		u.write(t, filepath.Join(mine, ".keep"), "")
		if out, err := exec.Command("cp", "-a", archives, mine).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		u.chownAll(t, mine)
	}
	tmp := filepath.Join(u.home, "tmp")
	u.write(t, filepath.Join(tmp, ".keep"), "")
	u.markStart(t)
	for _, c := range []struct{ name, db string }{
		{"rootless-apt", "var/lib/dpkg/status"},
		{"zypper-oem", "usr/lib/sysimage/rpm/rpmdb.sqlite"},
		{"dnf-oem", "usr/lib/sysimage/rpm/rpmdb.sqlite"},
		{"pacman-kis", "var/lib/pacman/local"},
	} {
		t.Run(c.name, func(t *testing.T) {
			desc := filepath.Join(u.home, c.name)
			src := filepath.Join(s.repo, "tests", "testdata", c.name)
			if c.name != "rootless-apt" {
				src = distroDescription(t, c.name, userRepos)
			}
			if out, err := exec.Command("cp", "-a", src, desc).CombinedOutput(); err != nil {
				t.Fatalf("%v %s", err, out)
			}
			u.chownAll(t, desc)
			root := filepath.Join(u.home, "root-"+c.name)
			start := time.Now()
			u.mustRun(t, nil, u.kiwi, "--temp-dir", tmp, "system", "prepare", "--description", desc, "--root", root)
			t.Logf("prepare took %v", time.Since(start).Round(time.Second))
			if _, err := os.Stat(filepath.Join(root, c.db)); err != nil {
				t.Errorf("no package database: %v", err)
			}
			u.checkSetIDs(t, root)
		})
	}
	u.checkWritesOutside(t)
}

// checkSetIDs checks, in a root tree of the user's, what a namespace
// must keep: /usr/bin/passwd setuid root and /usr/bin/chage setgid
// shadow (Debian's passwd package), as the host sees them: the user's id
// for root and the subordinate id of group shadow.
func (u *osUser) checkSetIDs(t *testing.T, root string) {
	t.Helper()
	shadowGid := groupID(t, filepath.Join(root, "etc", "group"), "shadow")
	for _, f := range []struct {
		path     string
		mode     fs.FileMode
		uid, gid int
	}{
		{"usr/bin/passwd", fs.ModeSetuid | 0o755, u.uid, u.gid},
		{"usr/bin/chage", fs.ModeSetgid | 0o755, u.uid, u.subgid + shadowGid - 1},
	} {
		fi, err := os.Lstat(filepath.Join(root, f.path))
		if err != nil {
			t.Error(err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if mode := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid); mode != f.mode || int(st.Uid) != f.uid || int(st.Gid) != f.gid {
			t.Errorf("/%s is %v %d:%d on the host, want %v %d:%d (root:root or root:shadow in the user's namespace)", f.path, mode, st.Uid, st.Gid, f.mode, f.uid, f.gid)
		}
	}
}

// groupID reads a group's id from a root's /etc/group.
func groupID(t *testing.T, file, name string) int {
	t.Helper()
	for _, line := range strings.Split(mustRead(t, file), "\n") {
		if f := strings.Split(line, ":"); len(f) >= 3 && f[0] == name {
			id, err := strconv.Atoi(f[2])
			if err != nil {
				t.Fatalf("%s: %q", file, line)
			}
			return id
		}
	}
	t.Fatalf("%s has no group %s", file, name)
	return 0
}

// sameBtrfsDisk compares the user's (a) and root's (b) btrfs oem raw
// disks as far as btrfs-progs 6.2 lets two disks be equal at all: it
// draws the chunk tree's and the device's UUIDs at random, stamps the
// clock on the root tree and places blocks in no fixed order, so two
// btrfs disks made by root from one tree differ too (docs/rootless.md).
// Everything before the root partition (GPT, BIOS boot, ESP, spare
// partition) has the same bytes, and the root filesystem has the same
// inodes: mode, links, owner and size, as dump-tree lists them.
func sameBtrfsDisk(t *testing.T, a, b string) {
	t.Helper()
	var parts struct {
		PartitionTable struct {
			Partitions []struct {
				Start, Size int64
				Name        string
			}
		}
	}
	if err := json.Unmarshal([]byte(mustOutput(t, "sfdisk", "--json", b)), &parts); err != nil {
		t.Fatal(err)
	}
	p := parts.PartitionTable.Partitions
	if len(p) == 0 || p[len(p)-1].Name != "p.lxroot" {
		t.Fatalf("%s: the last partition is not the root: %+v", b, p)
	}
	root := p[len(p)-1]
	if out, err := exec.Command("cmp", "-n", strconv.FormatInt(root.Start*512, 10), a, b).CombinedOutput(); err != nil {
		t.Errorf("the user's btrfs disk differs from root's before the root partition: %v %s", err, out)
	}
	inodes := regexp.MustCompile(`size (\d+) nbytes \d+\s+block group \d+ mode (\d+) links (\d+) uid (\d+) gid (\d+)`)
	list := func(disk string) []string {
		part := filepath.Join(t.TempDir(), "root.btrfs")
		if out, err := exec.Command("dd", "if="+disk, "of="+part, "bs=512", "skip="+strconv.FormatInt(root.Start, 10),
			"count="+strconv.FormatInt(root.Size, 10), "conv=sparse", "status=none").CombinedOutput(); err != nil {
			t.Fatalf("dd: %v %s", err, out)
		}
		var got []string
		for _, m := range inodes.FindAllStringSubmatch(mustOutput(t, "btrfs", "inspect-internal", "dump-tree", part), -1) {
			got = append(got, strings.Join(m[1:], " "))
		}
		slices.Sort(got)
		return got
	}
	ia, ib := list(a), list(b)
	if len(ia) < 1000 || !slices.Equal(ia, ib) {
		t.Errorf("the user's btrfs root has %d inodes, root's %d, not the same (size mode links uid gid); first of the user's: %v", len(ia), len(ib), ia[:min(len(ia), 5)])
	}
}

// TestRootlessStorageDrivers: a user whose storage uses the vfs driver
// (Debian 12's podman default for a new user) or overlay through
// fuse-overlayfs stashes a root there (podman of the user lists it) and
// stackbuild composes it back, from the layer blobs (vfs) or from the
// layer directories (overlay), with the owners and modes the root had.
func TestRootlessStorageDrivers(t *testing.T) {
	pooled(t, 60)
	for _, c := range []struct{ name, driver, conf, log string }{
		{"vfs", "vfs", "[storage]\ndriver = \"vfs\"\n", " ref=containers-storage:"},
		{"fuse-overlayfs", "overlay", "[storage]\ndriver = \"overlay\"\n[storage.options.overlay]\nmount_program = \"/usr/bin/fuse-overlayfs\"\n", " layers="},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := newUser(t)
			u.write(t, u.storageConf, c.conf)
			root := filepath.Join(u.home, "root")
			u.copyTree(t, debianRoot(t), root)
			u.markStart(t)
			u.mustRun(t, nil, u.kiwi, "system", "stash", "--root", root, "--container-name", "debian", "--tag", c.name)
			if out := u.mustRun(t, nil, "podman", "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, "localhost/debian:"+c.name) {
				t.Errorf("podman images run by the user does not show the stash:\n%s", out)
			}
			if out := u.mustRun(t, nil, "podman", "info", "--format", "{{.Store.GraphDriverName}}"); strings.TrimSpace(out) != c.driver {
				t.Errorf("podman of the user uses the %s driver", out)
			}
			target := filepath.Join(u.home, "target")
			log := u.mustRun(t, nil, u.kiwi, "system", "stackbuild", "--stash", "debian:"+c.name, "--target-dir", target, "--compose-only")
			if !strings.Contains(log, c.log) {
				t.Errorf("stackbuild did not compose the way %s allows (%q):\n%s", c.name, c.log, tail(log, 2000))
			}
			composed := filepath.Join(target, "build", "image-root")
			u.checkSetIDs(t, composed)
			u.checkWritesOutside(t)
		})
	}
}

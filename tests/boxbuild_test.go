package tests

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kiwi-go/kiwi/box"
)

// boxSuite is what the boxbuild tests share: one podman service and one
// box cache with the Debian box, built once per run.
type boxSuite struct {
	env    []string // s.env plus the box cache
	socket string   // the test's podman service
	cache  string   // --shared-cache-dir of the builds
}

// newBoxSuite starts t's podman service; the box cache is the run's, so
// the Debian box is built once.
func newBoxSuite(t *testing.T) boxSuite {
	t.Helper()
	return boxSuite{
		cache:  sharedCache(t),
		socket: startPodmanService(t),
		env:    append(append([]string{}, s.env...), "KIWI_BOXED_CACHE_DIR="+filepath.Join(s.workDir, "boxes")),
	}
}

// startPodmanService runs `podman system service` on a private socket
// with the suite's storage and containers.conf, stopped (by PID) at the
// end of t.
func startPodmanService(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "kiwi-podman-test-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "podman.sock")
	c := exec.Command("podman", "system", "service", "--time=0", "unix://"+sock)
	c.Env = s.env
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatalf("podman system service: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		}
		os.RemoveAll(dir)
	})
	for i := 0; i < 150; i++ {
		if _, err := os.Stat(sock); err == nil {
			return "unix://" + sock
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the podman service made no socket within 30 s")
	return ""
}

// kiwiEnv runs kiwi with env instead of the suite's.
func kiwiEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	c := exec.Command(s.kiwi, args...)
	c.Env = env
	var out, errb strings.Builder
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	return result{out.String(), errb.String(), err}
}

// TestBoxbuild builds the Debian box once, then runs the container-mode
// checks of issues 8 and 21 that look at every container and process: bad
// build arguments fail before any container starts (and before any
// manifest is written); a failing build returns non-zero with its log in
// the target dir; an interrupted or killed build leaves no container; the
// Job manifest is valid, has no host path and its box image carries this
// kiwi. The builds that succeed are TestBoxbuildContainerBuilds, in the
// pool.
func TestBoxbuild(t *testing.T) {
	bs := newBoxSuite(t)
	desc := filepath.Join(s.repo, "tests", "testdata", "debian-build")

	t.Run("BadArgsFailBeforeAnyContainer", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "t")
		// The package manager is checked on the host, before a box
		// starts.
		microdnf := filepath.Join(t.TempDir(), "microdnf")
		if out, err := exec.Command("cp", "-a", desc, microdnf).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		conf := filepath.Join(microdnf, "config.xml")
		if err := os.WriteFile(conf, []byte(strings.Replace(mustRead(t, conf), "<packagemanager>apt<", "<packagemanager>microdnf<", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		// A description over a ConfigMap's 1 MiB (an overlay archive).
		big := filepath.Join(t.TempDir(), "big")
		if out, err := exec.Command("cp", "-a", desc, big).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		noise := make([]byte, 3<<20)
		rand.Read(noise)
		if err := os.WriteFile(filepath.Join(big, "root.tar.gz"), noise, 0o644); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			args []string
			want string
		}{
			{[]string{"--box", "debian", "--container", "--", "--description", desc, "--target-dir", target, "--bogus"}, "arguments after --: unknown flag: --bogus"},
			{[]string{"--box", "debian", "--container", "--", "--description", desc}, "needs the build's --description DIR"},
			{[]string{"--box", "debian", "--container", "--", "--description", t.TempDir(), "--target-dir", target}, "--description"},
			{[]string{"--box", "debian", "--container", "--", "--description", desc, "--target-dir", target, "--set-repo", "a,b,c,d,e,f,g,h,i,j,k,l"}, "--set-repo"},
			{[]string{"--box", "nosuchbox", "--container", "--", "--description", desc, "--target-dir", target}, `no box "nosuchbox"`},
			{[]string{"--box", "debian", "--container", "--kube-yaml", filepath.Join(target, "x.yaml"), "--kube-kind", "deployment", "--kube-push", "127.0.0.1:1/x:1", "--", "--description", desc}, "--kube-kind"},
			// Issue 21's bad input: no way out for the results, a
			// description too big for a ConfigMap and no registry, an
			// unreachable push target.
			{[]string{"--box", "debian", "--container", "--kube-yaml", filepath.Join(target, "x.yaml"), "--", "--description", desc}, "--kube-push REF"},
			{[]string{"--box", "debian", "--container", "--kube-yaml", filepath.Join(target, "x.yaml"), "--kube-target-claim", "results", "--", "--description", big}, "more than a Kubernetes ConfigMap holds"},
			{[]string{"--box", "debian", "--container", "--kube-yaml", filepath.Join(target, "x.yaml"), "--kube-push", "127.0.0.1:1/x:1", "--", "--description", desc}, "registry 127.0.0.1:1 cannot be reached"},
			{[]string{"--box", "debian", "--container", "--kube-yaml", filepath.Join(target, "x.yaml"), "--kube-push", "127.0.0.1:1/x:1", "--", "--description", desc, "--target-dir", target}, "leave it out"},
			{[]string{"--box", "debian", "--container", "--shared-path", "/etc", "--", "--description", desc, "--target-dir", target}, "--shared-path: shared path /etc"},
			{[]string{"--box", "debian", "--container", "--", "--description", microdnf, "--target-dir", target}, `packagemanager "microdnf"`},
		}
		for _, c := range cases {
			start := time.Now()
			r := kiwiEnv(t, bs.env, append([]string{"--shared-cache-dir", bs.cache, "system", "boxbuild", "--connection", bs.socket}, c.args...)...)
			if r.err == nil || !strings.Contains(r.stderr, c.want) {
				t.Errorf("boxbuild %s: err=%v stderr=%q, want failure mentioning %q", strings.Join(c.args, " "), r.err, tail(r.stderr, 600), c.want)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("boxbuild %s took %v to fail: it did work before checking", strings.Join(c.args, " "), time.Since(start))
			}
		}
		if _, err := os.Stat(target); err == nil {
			t.Error("a refused boxbuild made the target dir (or wrote a manifest into it)")
		}
		if out := mustOutput(t, "podman", "ps", "-a", "--format", "{{.Names}}"); strings.Contains(out, "kiwi-boxbuild") {
			t.Errorf("a refused boxbuild left a container: %s", out)
		}
	})

	t.Run("BuildBox", func(t *testing.T) {
		start := time.Now()
		r := kiwiEnv(t, bs.env, "--shared-cache-dir", bs.cache, "box", "build", "debian")
		if r.err != nil {
			t.Fatalf("kiwi box build debian: %v\n%s", r.err, tail(r.stderr, 4000))
		}
		t.Logf("box built in %v", time.Since(start).Round(time.Second))
		dir := strings.TrimSpace(r.stdout)
		for _, f := range []string{"kernel", "initrd", "root", "append", "container.oci.tar", "SHA256SUMS", "box.json"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("box file %s: %v", f, err)
			}
		}
		sums := mustOutput(t, "sh", "-c", "cd "+dir+" && sha256sum -c SHA256SUMS")
		if strings.Count(sums, ": OK") != 5 {
			t.Errorf("checksums of the box files:\n%s", sums)
		}
		list := kiwiEnv(t, bs.env, "system", "boxbuild", "--list-boxes")
		if list.err != nil || !strings.Contains(list.stdout, dir) {
			t.Errorf("--list-boxes does not show the cached box %s: %v\n%s", dir, list.err, list.stdout)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("FailingBuildReturnsNonZeroWithItsLog", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "t")
		r := kiwiEnv(t, bs.env, "--shared-cache-dir", bs.cache, "system", "boxbuild", "--connection", bs.socket, "--box", "debian", "--container",
			"--", "--description", desc, "--target-dir", target, "--set-repo", "http://127.0.0.1:1/nothing,apt-deb,none,,,,,main,bookworm")
		if r.err == nil {
			t.Fatalf("a build against a repository that does not exist succeeded:\n%s", tail(r.stdout, 2000))
		}
		if !strings.Contains(r.stderr, "failed with exit code") {
			t.Errorf("the error does not give the box's exit code:\n%s", tail(r.stderr, 1000))
		}
		log, err := os.ReadFile(filepath.Join(target, "boxbuild.log"))
		if err != nil || !strings.Contains(string(log), "127.0.0.1:1") {
			t.Errorf("the box's log in the target dir does not show the failure: %v\n%s", err, tail(string(log), 1000))
		}
		code, err := os.ReadFile(filepath.Join(target, "boxbuild.exitcode"))
		if err != nil || strings.TrimSpace(string(code)) == "0" {
			t.Errorf("exit code file: %v %q", err, code)
		}
	})

	// SIGINT while the box installs packages: the container gets SIGTERM,
	// the build in it removes its unfinished root, the container is
	// removed; the target dir keeps only the box's log and exit code.
	t.Run("InterruptedBuildLeavesNoContainer", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "t")
		interrupt(t, interruption{
			Args: []string{"--shared-cache-dir", bs.cache, "system", "boxbuild", "--connection", bs.socket, "--box", "debian", "--container",
				"--", "--description", desc, "--target-dir", target},
			At: `installing image packages`, Sig: syscall.SIGINT, Target: target, Env: bs.env,
			Allowed: []string{"boxbuild.log", "boxbuild.exitcode"},
		})
		if code, err := os.ReadFile(filepath.Join(target, "boxbuild.exitcode")); err == nil && strings.TrimSpace(string(code)) == "0" {
			t.Error("the interrupted build wrote exit code 0")
		}
	})

	// kill -9 of boxbuild leaves its container building; cleanup finds the
	// container by its run label, removes it, then the scratch dir and the
	// root it was making in the target dir.
	t.Run("KilledBuildIsCleanedUp", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "t")
		temp := t.TempDir()
		c := exec.Command(s.kiwi, "--debug", "--shared-cache-dir", bs.cache, "--temp-dir", temp, "system", "boxbuild", "--connection", bs.socket,
			"--box", "debian", "--container", "--", "--description", desc, "--target-dir", target)
		c.Env = bs.env
		w := &watcher{re: regexp.MustCompile(`installing image packages`), hit: make(chan struct{})}
		c.Stdout, c.Stderr = w, w
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-w.hit:
		case <-time.After(5 * time.Minute):
			_ = c.Process.Kill()
			t.Fatalf("the build did not reach package installation:\n%s", tail(w.String(), 2000))
		}
		_ = c.Process.Kill()
		_ = c.Wait()
		boxes := func() []string {
			var names []string
			for _, n := range podmanNames(t, bs.env) {
				if strings.HasPrefix(n, "kiwi-boxbuild-") {
					names = append(names, n)
				}
			}
			return names
		}
		left := boxes()
		if len(left) != 1 {
			t.Fatalf("want the killed run's container still there, got %v", left)
		}
		r := kiwiEnv(t, bs.env, "--temp-dir", temp, "system", "cleanup", "--connection", bs.socket)
		if r.err != nil {
			t.Fatalf("cleanup: %v\n%s\n%s", r.err, r.stdout, tail(r.stderr, 2000))
		}
		// The root in the target dir may be gone before cleanup looks for
		// it: the build in the box removes it itself on the SIGTERM that
		// comes with the container's removal.
		for _, want := range []string{"removed container " + left[0], filepath.Join(temp, "kiwi-box-")} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("cleanup did not report removing %s:\n%s", want, r.stdout)
			}
		}
		if now := boxes(); len(now) > 0 {
			t.Errorf("containers left after cleanup: %v", now)
		}
		if rest := dirNames(temp); len(rest) > 0 {
			t.Errorf("left in --temp-dir after cleanup: %v", rest)
		}
		if _, err := os.Stat(filepath.Join(target, "build", "image-root")); err == nil {
			t.Error("the killed build's root is still in the target dir")
		}
		if ps, _ := exec.Command("pgrep", "-a", "-f", temp).Output(); len(ps) > 0 {
			t.Errorf("processes of the killed run still running:\n%s", ps)
		}
	})

	t.Run("KubeJobHasNoHostPathAndItsBoxCarriesKiwi", func(t *testing.T) {
		manifest := filepath.Join(t.TempDir(), "job.yaml")
		r := kiwiEnv(t, bs.env, "--shared-cache-dir", bs.cache, "system", "boxbuild", "--connection", bs.socket, "--box", "debian", "--container",
			"--kube-yaml", manifest, "--kube-target-claim", "kiwi-results", "--", "--description", desc)
		if r.err != nil {
			t.Fatalf("--kube-yaml: %v\n%s", r.err, tail(r.stderr, 2000))
		}
		b, err := os.ReadFile(manifest)
		if err != nil {
			t.Fatal(err)
		}
		if err := box.ValidateKube(b); err != nil || strings.Contains(string(b), "hostPath") || !strings.Contains(string(b), "kind: Job") || !strings.Contains(string(b), "kind: ConfigMap") {
			t.Fatalf("the manifest is not a ConfigMap and a valid batch/v1 Job without host paths: %v\n%s", err, b)
		}
		image := regexp.MustCompile(`image: (\S+)`).FindStringSubmatch(string(b))
		if image == nil {
			t.Fatalf("no image in\n%s", b)
		}
		// The box image's kiwi is this one.
		out := mustOutput(t, "podman", "run", "--rm", "--entrypoint", "/kiwi-box/kiwi", image[1], "--version")
		if want := strings.TrimSpace(kiwi(t, "--version").stdout); strings.TrimSpace(out) != want {
			t.Errorf("the box image's kiwi says %q, this one %q", out, want)
		}
		// A box image without kiwi is refused before a manifest is
		// written.
		plain := strings.TrimSpace(mustOutput(t, "podman", "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=localhost/kiwi-box-debian"))
		for _, ref := range strings.Fields(plain) {
			if strings.Contains(ref, "-kiwi-") {
				continue
			}
			again := filepath.Join(t.TempDir(), "job.yaml")
			r := kiwiEnv(t, bs.env, "--shared-cache-dir", bs.cache, "system", "boxbuild", "--connection", bs.socket, "--box", "debian", "--container",
				"--kube-yaml", again, "--kube-target-claim", "kiwi-results", "--kube-box-image", ref, "--", "--description", desc)
			if r.err == nil || !strings.Contains(r.stderr, "carries no kiwi") {
				t.Errorf("--kube-box-image %s (no kiwi): err=%v\n%s", ref, r.err, tail(r.stderr, 600))
			}
			if _, err := os.Stat(again); err == nil {
				t.Error("a manifest was written for a box image without kiwi")
			}
			return
		}
		t.Errorf("no box image without kiwi among %q", plain)
	})
}

// TestBoxbuildContainerBuilds runs the container-mode builds of issues 8,
// 15 and 21 on the Debian box (built by TestBoxbuild before the pool
// starts, or by the first build here when run alone): a zypper description
// builds an rpm root's disk; two builds at once into different target
// dirs both succeed; two builds written by one --kube-yaml and played by
// podman run side by side without host paths, push their results to a
// registry, and the pulled disk boots to login. Pooled: no other pooled
// test makes boxbuild containers or pods in the suite's storage.
func TestBoxbuildContainerBuilds(t *testing.T) {
	pooled(t, 450)
	bs := newBoxSuite(t)
	desc := filepath.Join(s.repo, "tests", "testdata", "debian-build")

	// Issue 15: the box carries zypper; a zypper description (its
	// repository copied into the description, which the box sees)
	// builds an rpm root and its disk in container mode. ext4: an xfs
	// root (made with a loop mount, the one exception) left podman's
	// container in state Created after the build, and boxbuild waiting.
	t.Run("ZypperDescriptionBuildsADisk", func(t *testing.T) {
		repos := distroRepos(t)
		zdesc := filepath.Join(t.TempDir(), "zypper-oem")
		if out, err := exec.Command("cp", "-a", filepath.Join(s.repo, "tests", "testdata", "zypper-oem"), zdesc).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		if out, err := exec.Command("sh", "-c", `cp -al "$1" "$2" 2>/dev/null || cp -a "$1" "$2"`, "sh", filepath.Join(repos, "rpm"), filepath.Join(zdesc, "repo")).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		conf := filepath.Join(zdesc, "config.xml")
		if err := os.WriteFile(conf, []byte(strings.Replace(mustRead(t, conf), "dir:///srv/kiwi-test-repos/rpm", "this://repo", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(t.TempDir(), "t")
		start := time.Now()
		r := kiwiEnv(t, bs.env, "--shared-cache-dir", distroCache(t, repos), "system", "boxbuild", "--connection", bs.socket, "--box", "debian", "--container",
			"--", "--description", zdesc, "--target-dir", target, "--set-type-attr", "filesystem=ext4")
		if r.err != nil {
			t.Fatalf("boxbuild of the zypper description: %v\n%s\n%s", r.err, tail(r.stdout, 3000), tail(r.stderr, 2000))
		}
		t.Logf("boxbuild of the zypper description took %v", time.Since(start).Round(time.Second))
		if _, err := os.Stat(filepath.Join(target, "zypper-oem.x86_64-1.0.0.raw")); err != nil {
			t.Errorf("no disk: %v", err)
		}
		if pk := mustRead(t, filepath.Join(target, "zypper-oem.x86_64-1.0.0.packages")); !strings.Contains(pk, "linux-image-amd64|0|") {
			t.Errorf(".packages of the box-built rpm root:\n%.300s", pk)
		}
	})

	// The first good build's target dir is compared with the played pod's,
	// so it lives in the parent test's temp dir, not the subtest's (which
	// is removed when the subtest ends).
	var first string
	kept := t.TempDir()
	t.Run("TwoContainerBuildsAtOnce", func(t *testing.T) {
		targets := []string{filepath.Join(kept, "a"), filepath.Join(kept, "b")}
		// A file of the user's in the target dir must survive.
		if err := os.MkdirAll(targets[0], 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(targets[0], "mine"), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		// A private --temp-dir: what the runs leave there is theirs.
		temp := t.TempDir()
		var wg sync.WaitGroup
		results := make([]result, 2)
		took := make([]time.Duration, 2)
		for i, target := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				args := []string{"--shared-cache-dir", bs.cache, "--temp-dir", temp, "system", "boxbuild", "--box", "debian", "--container"}
				if i == 0 {
					// The other one starts its own podman service.
					args = append(args, "--connection", bs.socket)
				}
				results[i] = kiwiEnv(t, bs.env, append(args, "--", "--description", desc, "--target-dir", target)...)
				took[i] = time.Since(start)
			}()
		}
		wg.Wait()
		for i, r := range results {
			if r.err != nil {
				log, _ := os.ReadFile(filepath.Join(targets[i], "boxbuild.log"))
				dmesg, _ := exec.Command("dmesg").Output()
				t.Fatalf("boxbuild %d: %v\n%s\n%s\nits boxbuild.log:\n%s\nkernel:\n%s", i, r.err, tail(r.stdout, 3000), tail(r.stderr, 3000), tail(string(log), 2000), tail(string(dmesg), 1500))
			}
			t.Logf("boxbuild %d took %v", i, took[i].Round(time.Second))
			if !strings.Contains(r.stdout, "installing image packages") {
				t.Errorf("boxbuild %d did not stream the build's output:\n%s", i, tail(r.stdout, 1000))
			}
			checkBoxResult(t, targets[i], true)
		}
		if b, err := os.ReadFile(filepath.Join(targets[0], "mine")); err != nil || string(b) != "keep" {
			t.Errorf("the user's file in the target dir was touched: %v %q", err, b)
		}
		if out := mustOutput(t, "podman", "ps", "-a", "--format", "{{.Names}}"); strings.Contains(out, "kiwi-boxbuild") {
			t.Errorf("boxbuild left its container: %s", out)
		}
		if left, _ := os.ReadDir(temp); len(left) > 0 {
			t.Errorf("boxbuild left %d entries in its --temp-dir (scratch dirs, podman service dir), first %s", len(left), left[0].Name())
		}
		first = targets[1] // targets[0] holds the user's file as well
	})

	// Issue 21: two builds from one --kube-yaml (Pods: podman 4's kube
	// play runs no Job) with no host path run side by side, one with its
	// description from a ConfigMap, one (too big for that) from an
	// artifact in the registry, the shared cache on a claim (a podman
	// volume), and push their results to the registry; kiwi result pull
	// brings them back verified, and the disk boots.
	t.Run("KubeBuildsPushTheirResultsAndTheDiskBoots", func(t *testing.T) {
		reg := startRegistry(t)
		// The second build: the same description with its container
		// type only, without the kernel and boot loader (it boots not:
		// half the time).
		docker := filepath.Join(t.TempDir(), "debian-build-docker")
		if out, err := exec.Command("cp", "-a", desc, docker).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		conf := filepath.Join(docker, "config.xml")
		oem := regexp.MustCompile(`(?s)<type image="oem".*?</type>\s*`)
		bootPkgs := regexp.MustCompile(`<package name="(linux-image-amd64|dracut|grub-pc-bin|grub-efi-amd64-bin|grub2-common)"/>`)
		if err := os.WriteFile(conf, []byte(bootPkgs.ReplaceAllString(oem.ReplaceAllString(mustRead(t, conf), ""), "")), 0o644); err != nil {
			t.Fatal(err)
		}
		// A file the build does not use makes it bigger than a
		// ConfigMap holds: it travels as an artifact the pod pulls.
		extra := make([]byte, 1200<<10)
		rand.Read(extra)
		if err := os.WriteFile(filepath.Join(docker, "extra.bin"), extra, 0o644); err != nil {
			t.Fatal(err)
		}
		cache := fmt.Sprintf("kiwi-test-cache-%d", time.Now().UnixNano())
		mustOutput(t, "podman", "volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", "device="+bs.cache, cache)
		t.Cleanup(func() { command(t, "podman", "volume", "rm", "-f", cache) })
		manifest := filepath.Join(t.TempDir(), "pods.yaml")
		push := reg + "/kiwi-tests/results:1"
		r := kiwiEnv(t, bs.env, "system", "boxbuild", "--connection", bs.socket, "--box", "debian", "--container",
			"--kube-yaml", manifest, "--kube-kind", "pod", "--kube-push", push, "--kube-cache-claim", cache,
			"--", "--description", desc, "--description", docker)
		if r.err != nil {
			t.Fatalf("--kube-yaml: %v\n%s", r.err, tail(r.stderr, 2000))
		}
		b := mustRead(t, manifest)
		if err := box.ValidateKube([]byte(b)); err != nil || strings.Contains(b, "hostPath") || strings.Count(b, "kind: Pod") != 2 || strings.Count(b, "kind: ConfigMap") != 1 ||
			!strings.Contains(b, "value: "+push+"-debian-build-docker-description") {
			t.Fatalf("want one ConfigMap, one pushed description and two Pods, valid, without host paths: %v\n%s", err, b)
		}
		mustOutput(t, "podman", "kube", "play", manifest)
		t.Cleanup(func() {
			command(t, "podman", "kube", "down", manifest)
			// kube play keeps each ConfigMap as a volume of its name.
			for _, m := range regexp.MustCompile(`name: (kiwi-\S+-description)`).FindAllStringSubmatch(b, -1) {
				command(t, "podman", "volume", "rm", "-f", m[1])
			}
		})
		pods := strings.Fields(mustOutput(t, "podman", "pod", "ps", "--format", "{{.Name}}", "--filter", "label=app.kubernetes.io/name=kiwi-boxbuild"))
		if len(pods) != 2 {
			t.Fatalf("want two played pods, got %q", pods)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		for _, pod := range pods {
			wait := exec.CommandContext(ctx, "podman", "wait", pod+"-build")
			wait.Env = s.env
			out, err := wait.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "0" {
				logs := command(t, "podman", "logs", "--tail", "60", pod+"-build")
				t.Fatalf("pod %s: %v exit %s\n%s%s", pod, err, out, logs.stdout, logs.stderr)
			}
		}
		// Each build's results, pulled into an empty dir.
		oemDir, dockerDir := filepath.Join(t.TempDir(), "oem"), filepath.Join(t.TempDir(), "docker")
		for ref, dir := range map[string]string{push + "-debian-build": oemDir, push + "-debian-build-docker": dockerDir} {
			if r := kiwi(t, "result", "pull", ref, "--target-dir", dir); r.err != nil {
				t.Fatalf("kiwi result pull %s: %v\n%s", ref, r.err, tail(r.stderr, 2000))
			}
			if r := kiwi(t, "result", "list", "--target-dir", dir); r.err != nil {
				t.Errorf("kiwi result list of the pulled %s: %v\n%s", ref, r.err, r.stderr)
			}
		}
		if first != "" {
			pa, _ := os.ReadFile(filepath.Join(first, buildBase+".packages"))
			pb, _ := os.ReadFile(filepath.Join(oemDir, buildBase+".packages"))
			if len(pa) == 0 || string(pa) != string(pb) {
				t.Error("the pushed image has other packages than the container build's")
			}
		}
		if names := resultNames(t, dockerDir); !strings.Contains(names, ".docker.tar") {
			t.Errorf("the container build pushed %s", names)
		}
		v := boot(t, bootOptions{Disk: filepath.Join(oemDir, buildBase+".qcow2"), Format: "qcow2", EFI: true}, "login:", 4*time.Minute)
		pos := v.Login(t)
		out, _ := v.Run(t, pos, "cat /etc/kiwi-marker")
		if !strings.Contains(out, "built-by-config-sh-debian-build") {
			t.Errorf("the pulled disk lacks config.sh's marker:\n%s", out)
		}
	})

}

// TestBoxbuildBoxBuildKilled: a box build killed with -9 leaves its work
// dir (description, the root being prepared) in --temp-dir; its run record
// names that dir, so a cleanup run with another --temp-dir removes it.
func TestBoxbuildBoxBuildKilled(t *testing.T) {
	cache := sharedCache(t)
	temp := t.TempDir()
	env := append(append([]string{}, s.env...), "KIWI_BOXED_CACHE_DIR="+t.TempDir())
	c := exec.Command(s.kiwi, "--debug", "--shared-cache-dir", cache, "--temp-dir", temp, "box", "build", "debian")
	c.Env = env
	var out strings.Builder
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	var work string
	for deadline := time.Now().Add(time.Minute); work == "" && time.Now().Before(deadline); {
		if m, _ := filepath.Glob(filepath.Join(temp, fmt.Sprintf("kiwi-box-%d-*", c.Process.Pid), "description")); len(m) > 0 {
			work = filepath.Dir(m[0])
			break
		}
		select {
		case err := <-done:
			t.Fatalf("box build ended (%v) before making its work dir:\n%s", err, tail(out.String(), 2000))
		case <-time.After(50 * time.Millisecond):
		}
	}
	if work == "" {
		_ = c.Process.Kill()
		<-done
		t.Fatalf("box build made no work dir named for its run in %s within a minute:\n%s", temp, tail(out.String(), 2000))
	}
	time.Sleep(time.Second) // into prepare
	_ = c.Process.Kill()
	<-done
	if _, err := os.Stat(work); err != nil {
		t.Fatalf("the killed box build's work dir: %v", err)
	}
	r := kiwiEnv(t, env, "--shared-cache-dir", cache, "--temp-dir", t.TempDir(), "system", "cleanup")
	if r.err != nil {
		t.Fatalf("cleanup: %v\n%s\n%s", r.err, r.stdout, tail(r.stderr, 2000))
	}
	if !strings.Contains(r.stdout, "removed "+work) {
		t.Errorf("cleanup did not report removing %s:\n%s", work, r.stdout)
	}
	if left := dirNames(temp); len(left) > 0 {
		t.Errorf("left in the killed box build's --temp-dir after cleanup: %v", left)
	}
}

// TestBoxbuildVM is issue 8's VM check: the Debian box boots under TCG
// (KVM hangs guests here), mounts the shares over 9p, builds a small
// ext4 image and powers off; the image holds the description's overlay.
// The image is an rpm root made by the box's zypper from the tests' rpm
// repository, copied into the description (issue 15: boxes build every
// package manager's roots; and a debootstrap under TCG took CI ten
// minutes). It runs as an ordinary user (issue 19): the results are the
// user's and nothing outside the user's dirs changes.
func TestBoxbuildVM(t *testing.T) {
	pooled(t, 258)
	repos := distroRepos(t)
	// An ordinary user builds in the VM (issue 19): kiwi enters the
	// user's namespace, QEMU runs as the user and shares over 9p with
	// mapped-xattr. The user gets the box TestBoxbuild built (a copy,
	// as if pulled); run alone, the user builds it first.
	u := newUser(t)
	if _, err := os.Stat(filepath.Join(s.workDir, "boxes", "debian")); err == nil {
		boxes := filepath.Join(u.home, ".cache", "kiwi", "boxes")
		u.write(t, filepath.Join(boxes, ".keep"), "")
		if out, err := exec.Command("cp", "-a", "--sparse=always", filepath.Join(s.workDir, "boxes", "debian"), boxes).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		u.chownAll(t, boxes)
	}
	desc := filepath.Join(u.home, "box-vm-zypper")
	if out, err := exec.Command("cp", "-a", filepath.Join(s.repo, "tests", "testdata", "box-vm-zypper"), desc).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	// A copy, not hard links: the copy becomes the user's.
	if out, err := exec.Command("cp", "-a", filepath.Join(repos, "rpm"), filepath.Join(desc, "repo")).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	u.chownAll(t, desc)
	target := filepath.Join(u.home, "t")
	temp := filepath.Join(u.home, "tmp")
	u.write(t, filepath.Join(temp, ".keep"), "")
	os.Remove(filepath.Join(temp, ".keep"))
	u.markStart(t)
	start := time.Now()
	c := u.command(nil, u.kiwi, "--temp-dir", temp, "system", "boxbuild", "--box", "debian", "--no-accel",
		"--box-memory", "3G", "--box-smp-cpus", "2",
		"--", "--description", desc, "--target-dir", target)
	var stdout, stderr strings.Builder
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		t.Fatalf("VM boxbuild as %s: %v\n%s\n%s", u.name, err, tail(stdout.String(), 4000), tail(stderr.String(), 3000))
	}
	r := result{stdout.String(), stderr.String(), nil}
	t.Logf("VM boxbuild as an ordinary user took %v", time.Since(start).Round(time.Second))
	img := filepath.Join(target, "box-vm-zypper.x86_64-1.0.0.ext4")
	if out, err := exec.Command("e2fsck", "-fn", img).CombinedOutput(); err != nil {
		t.Fatalf("e2fsck %s: %v\n%s", img, err, out)
	}
	out, err := exec.Command("debugfs", "-R", "cat /etc/kiwi-box-marker", img).Output()
	if err != nil || !strings.Contains(string(out), "built in a VM box") {
		t.Errorf("the image lacks the description's overlay file: %v %q", err, out)
	}
	if out, err := exec.Command("debugfs", "-R", "ls /usr/lib/sysimage/rpm", img).Output(); err != nil || !strings.Contains(string(out), "rpmdb.sqlite") {
		t.Errorf("the image has no rpm database: %v %q", err, out)
	}
	if pk := mustRead(t, filepath.Join(target, "box-vm-zypper.x86_64-1.0.0.packages")); !strings.Contains(pk, "bash|0|") {
		t.Errorf(".packages of the box-built rpm root:\n%.300s", pk)
	}
	if code, err := os.ReadFile(filepath.Join(target, "boxbuild.exitcode")); err != nil || strings.TrimSpace(string(code)) != "0" {
		t.Errorf("exit code file: %v %q", err, code)
	}
	if !strings.Contains(r.stdout, "kiwi-boxbuild") && !strings.Contains(r.stdout, "result") {
		t.Errorf("the VM's console was not shown:\n%s", tail(r.stdout, 1000))
	}
	if !strings.Contains(r.stdout, "/bundle is the host's share share1 (9p)") {
		t.Errorf("the VM did not mount the target dir over 9p:\n%s", tail(r.stdout, 2000))
	}
	if left, _ := os.ReadDir(temp); len(left) > 0 {
		t.Errorf("boxbuild left %d entries in its --temp-dir, first %s", len(left), left[0].Name())
	}
	u.checkWritesOutside(t)
}

// TestBoxbuildVMSharing shares the directories over virtiofs and over
// sshfs instead of 9p: a build against a repository that does not exist
// fails in the box within a minute, and its log and exit code reach the
// host's target dir through the share; no virtiofsd is left running.
func TestBoxbuildVMSharing(t *testing.T) {
	pooled(t, 110)
	cache := sharedCache(t)
	env := append(append([]string{}, s.env...), "KIWI_BOXED_CACHE_DIR="+filepath.Join(s.workDir, "boxes"))
	desc := filepath.Join(s.repo, "tests", "testdata", "box-vm")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--sshfs-sharing", "--virtiofs-sharing"}, "choose one"},
		{[]string{"--ssh-port", "2222"}, "--ssh-key and --ssh-port go with --sshfs-sharing"},
		{[]string{"--sshfs-sharing", "--ssh-key", desc + "/config.xml"}, "unencrypted OpenSSH private key"},
		{[]string{"--sshfs-sharing", "--ssh-port", "70000"}, "--ssh-port 70000"},
	} {
		target := filepath.Join(t.TempDir(), "t")
		r := kiwiEnv(t, env, append(append([]string{"system", "boxbuild", "--box", "debian"}, c.args...), "--", "--description", desc, "--target-dir", target)...)
		if r.err == nil || !strings.Contains(r.stderr, c.want) {
			t.Errorf("boxbuild %v: err=%v, want a failure naming %q:\n%s", c.args, r.err, c.want, tail(r.stderr, 500))
		}
		if _, err := os.Stat(target); err == nil {
			t.Errorf("boxbuild %v made the target dir", c.args)
		}
	}
	for _, sharing := range []string{"virtiofs", "sshfs"} {
		t.Run(sharing, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "t")
			temp := t.TempDir()
			r := kiwiEnv(t, env, "--shared-cache-dir", cache, "--temp-dir", temp, "system", "boxbuild", "--box", "debian", "--no-accel",
				"--box-memory", "2G", "--"+sharing+"-sharing",
				"--", "--description", filepath.Join(s.repo, "tests", "testdata", "box-vm"), "--target-dir", target,
				"--set-repo", "http://127.0.0.1:1/nothing,apt-deb,none,,,,,main,bookworm")
			if r.err == nil || !strings.Contains(r.stderr, "failed with exit code") {
				t.Fatalf("a build against a missing repository: err=%v\n%s\n%s", r.err, tail(r.stdout, 3000), tail(r.stderr, 1000))
			}
			for _, share := range []string{"share0", "share1"} {
				if !strings.Contains(r.stdout, "is the host's share "+share+" ("+sharing+")") {
					t.Errorf("the VM did not mount %s over %s:\n%s", share, sharing, tail(r.stdout, 2000))
				}
			}
			if log, err := os.ReadFile(filepath.Join(target, "boxbuild.log")); err != nil || !strings.Contains(string(log), "127.0.0.1:1") {
				t.Errorf("the box's log did not reach the target dir: %v\n%s", err, tail(string(log), 1000))
			}
			if code, err := os.ReadFile(filepath.Join(target, "boxbuild.exitcode")); err != nil || strings.TrimSpace(string(code)) == "0" {
				t.Errorf("exit code file: %v %q", err, code)
			}
			if out, _ := exec.Command("pgrep", "-a", "-f", temp).Output(); len(out) > 0 {
				t.Errorf("processes of the run are still running: %s", out)
			}
			if left, _ := os.ReadDir(temp); len(left) > 0 {
				t.Errorf("boxbuild left %d entries in its --temp-dir, first %s", len(left), left[0].Name())
			}
		})
	}
}

// checkBoxResult checks what a good boxbuild of debian-build leaves.
// With hostPaths kiwi.result.json must name the host's paths (boxbuild
// rewrites them; a played pod leaves the box's /bundle paths).
func checkBoxResult(t *testing.T, target string, hostPaths bool) {
	t.Helper()
	code, err := os.ReadFile(filepath.Join(target, "boxbuild.exitcode"))
	if err != nil || strings.TrimSpace(string(code)) != "0" {
		t.Errorf("exit code file in %s: %v %q", target, err, code)
	}
	if log, err := os.ReadFile(filepath.Join(target, "boxbuild.log")); err != nil || !strings.Contains(string(log), "result") {
		t.Errorf("box log in %s: %v\n%s", target, err, tail(string(log), 500))
	}
	for _, f := range []string{buildBase + ".qcow2", buildBase + ".raw", buildBase + ".packages"} {
		if _, err := os.Stat(filepath.Join(target, f)); err != nil {
			t.Errorf("result %s: %v", f, err)
		}
	}
	want := filepath.Join(target, buildBase+".raw")
	if !hostPaths {
		want = "/bundle/" + buildBase + ".raw"
	}
	if b, err := os.ReadFile(filepath.Join(target, "kiwi.result.json")); err != nil || !strings.Contains(string(b), want) {
		t.Errorf("kiwi.result.json does not name the results by their host paths: %v\n%s", err, b)
	}
}

// resultNames lists the result files of a target dir (not the build root).
func resultNames(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return fmt.Sprint(names)
}

// TestBoxbuildVMInterrupted: SIGINT while the VM box boots stops QEMU
// and the virtiofsd daemons, removes the scratch dir (scratch disk,
// shared kiwi binary, sockets) and leaves the target dir as it was.
func TestBoxbuildVMInterrupted(t *testing.T) {
	cache := sharedCache(t)
	env := append(append([]string{}, s.env...), "KIWI_BOXED_CACHE_DIR="+filepath.Join(s.workDir, "boxes"))
	target := filepath.Join(t.TempDir(), "t")
	interrupt(t, interruption{
		Args: []string{"--shared-cache-dir", cache, "system", "boxbuild", "--box", "debian", "--no-accel", "--box-memory", "2G", "--virtiofs-sharing",
			"--", "--description", filepath.Join(s.repo, "tests", "testdata", "box-vm"), "--target-dir", target},
		At:     `\| starting the VM box`,
		Delay:  5 * time.Second,
		Sig:    syscall.SIGINT,
		Target: target,
		Env:    env,
	})
}

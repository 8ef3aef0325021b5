package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// editedDescription copies the debian-build test description into a new
// directory with each of edits (old -> new) applied to its config.xml.
func editedDescription(t *testing.T, edits ...[2]string) string {
	t.Helper()
	dir := t.TempDir()
	b := mustRead(t, filepath.Join(s.repo, "tests", "testdata", "debian-build", "config.xml"))
	for _, e := range edits {
		if !strings.Contains(b, e[0]) {
			t.Fatalf("test description has no %q", e[0])
		}
		b = strings.Replace(b, e[0], e[1], 1)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(b), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const buildType = `<type image="oem" filesystem="ext4" firmware="efi" format="qcow2" kernelcmdline="console=ttyS0" editbootconfig="edit_boot_config.sh" editbootinstall="edit_boot_install.sh">`

// TestRefusedSettingsFailBeforeAnyWork: a setting this kiwi does not
// build fails system build within a second, names the attribute (never a
// passphrase) and leaves no target dir; system create refuses it too,
// before writing anything.
func TestRefusedSettingsFailBeforeAnyWork(t *testing.T) {
	cases := []struct {
		name, edit, want string
	}{
		{"luks", `<type image="oem" luks="topsecret" filesystem="ext4" firmware="efi" format="qcow2" kernelcmdline="console=ttyS0">`, "luks"},
		{"ova controller", `<type image="oem" filesystem="ext4" firmware="efi" format="ova" kernelcmdline="console=ttyS0"><machine><vmdisk controller="legacyESX" id="0"/></machine>`, `<vmdisk controller="legacyESX">`},
		{"installiso", `<type image="oem" installiso="true" filesystem="ext4" firmware="efi" format="qcow2" kernelcmdline="console=ttyS0">`, "installiso"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			desc := editedDescription(t, [2]string{buildType, c.edit})
			target := filepath.Join(t.TempDir(), "out")
			start := time.Now()
			r := kiwi(t, "system", "build", "--description", desc, "--target-dir", target)
			took := time.Since(start)
			if r.err == nil || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("build: err=%v, want a failure naming %q:\n%s", r.err, c.want, tail(r.stderr, 1500))
			}
			if strings.Contains(r.stderr, "topsecret") {
				t.Errorf("the luks passphrase was printed:\n%s", r.stderr)
			}
			if took > time.Second {
				t.Errorf("the refusal took %s; it must come before any work", took)
			}
			if _, err := os.Stat(target); err == nil {
				t.Error("a refused build left a target dir")
			}
			// create reads the same description from a root.
			root := t.TempDir()
			writeDescription(t, root, mustRead(t, filepath.Join(desc, "config.xml")))
			r = kiwi(t, "system", "create", "--root", root, "--target-dir", target)
			if r.err == nil || !strings.Contains(r.stderr, c.want) {
				t.Errorf("create: err=%v, want a failure naming %q:\n%s", r.err, c.want, tail(r.stderr, 1500))
			}
			if _, err := os.Stat(target); err == nil {
				t.Error("a refused create left a target dir")
			}
		})
	}
}

// TestImageInfoDescribesEveryType: image info reads a description of a
// type this kiwi does not build (docker), says so, and masks secrets in
// the JSON and in --print-xml.
func TestImageInfoDescribesEveryType(t *testing.T) {
	desc := editedDescription(t,
		[2]string{buildType, `<type image="oem" primary="true" luks="topsecret" filesystem="ext4">`},
		[2]string{`<source path="http://deb.debian.org/debian"/>`, `<source path="https://user:repopass@deb.debian.org/debian"/>`},
		[2]string{`alias="bookworm"`, `alias="bookworm" username="repouser" password="repopass"`},
	)
	r := kiwi(t, "image", "info", "--description", desc, "--print-xml")
	if r.err != nil {
		t.Fatalf("image info on a refused oem type: %v\n%s", r.err, tail(r.stderr, 1500))
	}
	for _, secret := range []string{"topsecret", "repopass", "repouser", `password="linux"`} {
		if strings.Contains(r.stdout, secret) || strings.Contains(r.stderr, secret) {
			t.Errorf("image info printed the secret %q:\n%s", secret, r.stdout)
		}
	}
	var info struct {
		Type      struct{ Image string }
		Buildable map[string]bool `json:"buildable"`
		Refused   string          `json:"build_refused"`
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(&info); err != nil {
		t.Fatalf("image info JSON: %v\n%s", err, r.stdout)
	}
	if info.Type.Image != "oem" || !info.Buildable["docker"] || !info.Buildable["oem"] || !strings.Contains(info.Refused, `luks="***"`) {
		t.Errorf("image info: type %q buildable %v refused %q", info.Type.Image, info.Buildable, info.Refused)
	}
}

// TestCreateRefusesAResizeThatCannotRun: an oem disk with <oem-resize>
// from a root without growpart and sfdisk is refused before any work,
// naming the packages to add; no resize that cannot run is shipped.
func TestCreateRefusesAResizeThatCannotRun(t *testing.T) {
	root := bootRoot(t)
	for _, p := range []string{"usr/bin/growpart", "usr/sbin/sfdisk", "sbin/sfdisk"} {
		if err := os.Remove(filepath.Join(root, p)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	target := filepath.Join(t.TempDir(), "out")
	start := time.Now()
	r := kiwi(t, "--profile", "efi-btrfs", "system", "create", "--root", root, "--target-dir", target)
	if r.err == nil || !strings.Contains(r.stderr, "cloud-guest-utils") || !strings.Contains(r.stderr, "fdisk") || !strings.Contains(r.stderr, "oem-resize") {
		t.Fatalf("create: err=%v, want a refusal naming the packages:\n%s", r.err, tail(r.stderr, 1500))
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the refusal took %s; it must come before any work", took)
	}
	if _, err := os.Stat(target); err == nil {
		t.Error("a refused create left a target dir")
	}
	if _, err := os.Stat(filepath.Join(root, "etc/fstab")); err == nil {
		if b, _ := os.ReadFile(filepath.Join(root, "etc/fstab")); strings.Contains(string(b), "UUID=") {
			t.Error("the refused create wrote the root's fstab")
		}
	}
}

// TestInstalledAsKiwiNg: hack/install.sh installs kiwi with the name
// kiwi-ng linked to it, and under that name kiwi works the same (a
// pipeline's `kiwi-ng image info` and `kiwi-ng result list`), naming
// itself kiwi-ng in help and errors.
func TestInstalledAsKiwiNg(t *testing.T) {
	prefix := t.TempDir()
	install := exec.Command(filepath.Join(s.repo, "hack", "install.sh"))
	install.Env = append(os.Environ(), "PREFIX="+prefix)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("hack/install.sh: %v\n%s", err, out)
	}
	ng := filepath.Join(prefix, "bin", "kiwi-ng")
	if l, err := os.Readlink(ng); err != nil || l != "kiwi" {
		t.Fatalf("kiwi-ng is not a link to kiwi: %q %v", l, err)
	}
	r := command(t, ng, "image", "info", "--description", filepath.Join(s.repo, "tests", "testdata", "debian-build"))
	if r.err != nil || !strings.Contains(r.stdout, `"image": "debian-build"`) {
		t.Errorf("kiwi-ng image info: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	r = command(t, ng, "result", "list", "--target-dir", t.TempDir())
	if r.err == nil || !strings.Contains(r.stderr, "kiwi-ng: error: no result information") {
		t.Errorf("kiwi-ng result list of an empty dir: %v\n%s", r.err, r.stderr)
	}
	if r = command(t, ng, "--help"); !strings.Contains(r.stdout, "kiwi-ng [command]") {
		t.Errorf("kiwi-ng --help:\n%s", r.stdout)
	}
}

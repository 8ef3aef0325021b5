package box

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// testShares are a run's shares: description, target, shared cache and a
// shared path with a comma and a space.
var testShares = []Mount{
	{Host: "/home/u/desc", Box: boxDesc},
	{Host: "/home/u/out", Box: boxTarget},
	{Host: "/var/cache/kiwi", Box: boxCache},
	{Host: "/srv/a,b c", Box: "/srv/a,b c"},
}

func TestSharingTable(t *testing.T) {
	for mode := range sharings {
		s, err := sharingFor(mode)
		if err != nil || s.name() != mode {
			t.Errorf("sharingFor(%q): %v %v", mode, s, err)
		}
	}
	if s, err := sharingFor(""); err != nil || s.name() != Share9p {
		t.Errorf("default sharing: %v %v", s, err)
	}
	if _, err := sharingFor("nfs"); err == nil || !strings.Contains(err.Error(), "9p, sshfs, virtiofs") {
		t.Errorf("unknown sharing: %v", err)
	}
	// Each run gets its own strategy: they hold the run's sockets and port.
	a, _ := sharingFor(ShareSSHFS)
	b, _ := sharingFor(ShareSSHFS)
	if a == b {
		t.Error("two runs share one sshfs strategy")
	}
}

func TestSharing9p(t *testing.T) {
	m := &share9pMode{security: "passthrough"}
	stop, err := m.start(context.Background(), VMRun{}, testShares, t.TempDir(), t.TempDir())
	if err != nil || stop == nil {
		t.Fatalf("start: %v", err)
	}
	stop()
	want := []string{
		"-fsdev", "local,id=fs-share0,path=/home/u/desc,security_model=passthrough", "-device", "virtio-9p-pci,fsdev=fs-share0,mount_tag=share0",
		"-fsdev", "local,id=fs-share1,path=/home/u/out,security_model=passthrough", "-device", "virtio-9p-pci,fsdev=fs-share1,mount_tag=share1",
		"-fsdev", "local,id=fs-share2,path=/var/cache/kiwi,security_model=passthrough", "-device", "virtio-9p-pci,fsdev=fs-share2,mount_tag=share2",
		// QEMU's option syntax doubles a comma in a value.
		"-fsdev", "local,id=fs-share3,path=/srv/a,,b c,security_model=passthrough", "-device", "virtio-9p-pci,fsdev=fs-share3,mount_tag=share3",
	}
	if got := m.qemuArgs(VMRun{}, testShares); !slices.Equal(got, want) {
		t.Errorf("qemu args:\n got %q\nwant %q", got, want)
	}
	wantLines := []string{"share0 9p - /description", "share1 9p - /bundle", "share2 9p - /var/cache/kiwi", "share3 9p - /srv/a,b c"}
	if got := m.lines(testShares); !slices.Equal(got, wantLines) {
		t.Errorf("lines:\n got %q\nwant %q", got, wantLines)
	}
	if got := (&share9pMode{security: "mapped-xattr"}).qemuArgs(VMRun{}, testShares[:1]); !strings.Contains(got[1], "security_model=mapped-xattr") {
		t.Errorf("mapped-xattr: %q", got)
	}
	// The kiwibox share is read-only.
	if got := share9p("kiwibox", "/tmp/k", "passthrough", true); got[1] != "local,id=fs-kiwibox,path=/tmp/k,security_model=passthrough,readonly=on" {
		t.Errorf("kiwibox share: %q", got)
	}
}

func TestSharingVirtiofs(t *testing.T) {
	// What start leaves: a socket per share.
	m := &virtiofsMode{socks: []string{"/s/share0.sock", "/s/share1.sock", "/s/share2.sock", "/s/share3.sock"}}
	want := []string{
		// vhost-user needs the guest's memory shared with virtiofsd.
		"-object", "memory-backend-memfd,id=mem,size=2048M,share=on", "-numa", "node,memdev=mem",
		"-chardev", "socket,id=char-share0,path=/s/share0.sock", "-device", "vhost-user-fs-pci,queue-size=1024,chardev=char-share0,tag=share0",
		"-chardev", "socket,id=char-share1,path=/s/share1.sock", "-device", "vhost-user-fs-pci,queue-size=1024,chardev=char-share1,tag=share1",
		"-chardev", "socket,id=char-share2,path=/s/share2.sock", "-device", "vhost-user-fs-pci,queue-size=1024,chardev=char-share2,tag=share2",
		"-chardev", "socket,id=char-share3,path=/s/share3.sock", "-device", "vhost-user-fs-pci,queue-size=1024,chardev=char-share3,tag=share3",
	}
	if got := m.qemuArgs(VMRun{MemoryMB: 2048}, testShares); !slices.Equal(got, want) {
		t.Errorf("qemu args:\n got %q\nwant %q", got, want)
	}
	wantLines := []string{"share0 virtiofs - /description", "share1 virtiofs - /bundle", "share2 virtiofs - /var/cache/kiwi", "share3 virtiofs - /srv/a,b c"}
	if got := m.lines(testShares); !slices.Equal(got, wantLines) {
		t.Errorf("lines:\n got %q\nwant %q", got, wantLines)
	}
	// Without virtiofsd, start fails naming the sharing, and its stop
	// still works.
	if _, err := FindVirtiofsd(); err == nil {
		return
	}
	stop, err := (&virtiofsMode{}).start(context.Background(), VMRun{}, []Mount{{Host: t.TempDir(), Box: boxDesc}}, t.TempDir(), t.TempDir())
	var ie *InputError
	if !errors.As(err, &ie) || ie.Input != InputVirtiofs || !strings.HasPrefix(err.Error(), "virtiofs sharing needs virtiofsd") {
		t.Errorf("start without virtiofsd: %v", err)
	}
	stop()
}

func TestSharingSSHFS(t *testing.T) {
	m := &sshfsMode{port: 2222}
	if got := m.qemuArgs(VMRun{}, testShares); len(got) != 0 {
		t.Errorf("sshfs needs no QEMU arguments (user network): %q", got)
	}
	wantLines := []string{"share0 sshfs 2222 /description", "share1 sshfs 2222 /bundle", "share2 sshfs 2222 /var/cache/kiwi", "share3 sshfs 2222 /srv/a,b c"}
	if got := m.lines(testShares); !slices.Equal(got, wantLines) {
		t.Errorf("lines:\n got %q\nwant %q", got, wantLines)
	}

	// start serves the shares on a free port and gives the box its key
	// and the server's host key under the address the box dials.
	shares := []Mount{{Host: t.TempDir(), Box: boxDesc}, {Host: t.TempDir(), Box: boxTarget}}
	kiwibox := t.TempDir()
	m = &sshfsMode{}
	stop, err := m.start(context.Background(), VMRun{}, shares, t.TempDir(), kiwibox)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if m.port == 0 {
		t.Fatal("no port after start")
	}
	port := strconv.Itoa(m.port)
	if got := m.lines(shares); !slices.Equal(got, []string{"share0 sshfs " + port + " /description", "share1 sshfs " + port + " /bundle"}) {
		t.Errorf("lines after start: %q", got)
	}
	known, err := os.ReadFile(filepath.Join(kiwibox, "known_hosts"))
	if err != nil || !strings.HasPrefix(string(known), "[10.0.2.2]:"+port+" ssh-ed25519 ") {
		t.Errorf("known_hosts: %v %q", err, known)
	}
	if fi, err := os.Stat(filepath.Join(kiwibox, "id_sshfs")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("id_sshfs: %v", err)
	}
	stop()

	// A key file that is no key is the run's input error.
	bad := filepath.Join(t.TempDir(), "key")
	os.WriteFile(bad, []byte("no key"), 0o600)
	stop, err = (&sshfsMode{}).start(context.Background(), VMRun{SSHKey: bad}, shares, t.TempDir(), t.TempDir())
	var ie *InputError
	if !errors.As(err, &ie) || ie.Input != InputSSHKey || !strings.HasPrefix(err.Error(), "ssh key "+bad+": ") {
		t.Errorf("a bad key: %v", err)
	}
	stop()
}

package box

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kiwi-go/kiwi/internal/userns"
)

// The ways a VM box gets the host's directories.
const (
	Share9p       = "9p"
	ShareVirtiofs = "virtiofs"
	ShareSSHFS    = "sshfs"
)

// sharing is one way a VM box gets the host's directories: what the host
// runs to serve them, QEMU's arguments for them and the lines the box's
// boot service reads to mount them. Share i of a run is tagged shareTag(i)
// in every mode.
type sharing interface {
	// name is the mode (Share9p, ...).
	name() string
	// start makes the host serve shares: virtiofsd daemons, the SFTP
	// server. scratch is the run's scratch dir (room for sockets),
	// kiwibox the box's own 9p share, which gets the files the box needs
	// to mount (keys). stop ends what start started; it is never nil,
	// and must be called also when start fails (after it, and after QEMU
	// ended).
	start(ctx context.Context, r VMRun, shares []Mount, scratch, kiwibox string) (stop func(), err error)
	// qemuArgs are QEMU's arguments for the shares, once started.
	qemuArgs(r VMRun, shares []Mount) []string
	// lines are the box's share lines, once started: "tag type port
	// path", the path last so it may hold spaces; "-" for no port.
	lines(shares []Mount) []string
}

// sharings maps each mode to its strategy; each run gets its own (the
// strategies keep the run's sockets and ports).
var sharings = map[string]func() sharing{
	Share9p:       func() sharing { return &share9pMode{security: security9p()} },
	ShareVirtiofs: func() sharing { return &virtiofsMode{} },
	ShareSSHFS:    func() sharing { return &sshfsMode{} },
}

// sharingFor returns the strategy of mode ("" is 9p).
func sharingFor(mode string) (sharing, error) {
	if mode == "" {
		mode = Share9p
	}
	if f, ok := sharings[mode]; ok {
		return f(), nil
	}
	names := make([]string, 0, len(sharings))
	for n := range sharings {
		names = append(names, n)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("sharing %q: a VM box shares directories over %s", mode, strings.Join(names, ", "))
}

func shareTag(i int) string { return fmt.Sprintf("share%d", i) }

func noStop() {}

// security9p is QEMU's 9p security model: passthrough keeps the host's
// owners and modes as they are when kiwi runs as root (the build makes
// device nodes and root-owned trees); as another user QEMU can only map
// them into extended attributes.
func security9p() string {
	if userns.HostRoot() {
		return "passthrough"
	}
	return "mapped-xattr"
}

// share9p is QEMU's 9p export of path under tag.
func share9p(tag, path, security string, readOnly bool) []string {
	// QEMU's option syntax: a comma inside a value is written twice.
	fsdev := "local,id=fs-" + tag + ",path=" + strings.ReplaceAll(path, ",", ",,") + ",security_model=" + security
	if readOnly {
		fsdev += ",readonly=on"
	}
	return []string{"-fsdev", fsdev, "-device", "virtio-9p-pci,fsdev=fs-" + tag + ",mount_tag=" + tag}
}

// share9pMode shares over QEMU's own 9p server: nothing runs on the host.
type share9pMode struct {
	security string
}

func (*share9pMode) name() string { return Share9p }

func (*share9pMode) start(context.Context, VMRun, []Mount, string, string) (func(), error) {
	return noStop, nil
}

func (m *share9pMode) qemuArgs(_ VMRun, shares []Mount) []string {
	var args []string
	for i, s := range shares {
		args = append(args, share9p(shareTag(i), s.Host, m.security, false)...)
	}
	return args
}

func (*share9pMode) lines(shares []Mount) []string {
	var l []string
	for i, s := range shares {
		l = append(l, fmt.Sprintf("%s 9p - %s", shareTag(i), s.Box))
	}
	return l
}

// virtiofsMode shares each directory through its own virtiofsd, which
// QEMU reaches over a vhost-user socket.
type virtiofsMode struct {
	// socks are the sockets of the shares' daemons, by share.
	socks []string
}

func (*virtiofsMode) name() string { return ShareVirtiofs }

func (m *virtiofsMode) start(ctx context.Context, r VMRun, shares []Mount, scratch, _ string) (func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	m.socks = nil
	for i, s := range shares {
		tag := shareTag(i)
		sock := filepath.Join(scratch, tag+".sock")
		if len(sock) > maxSocketPath {
			dir, err := socketDir(os.TempDir(), "kiwi-box-", tag+".sock")
			if err != nil {
				return stop, err
			}
			stops = append(stops, func() { os.RemoveAll(dir) })
			sock = filepath.Join(dir, tag+".sock")
		}
		halt, err := startVirtiofsd(ctx, r, sock, s.Host)
		if err != nil {
			return stop, err
		}
		stops = append(stops, halt)
		m.socks = append(m.socks, sock)
	}
	return stop, nil
}

func (m *virtiofsMode) qemuArgs(r VMRun, shares []Mount) []string {
	// vhost-user devices need the guest's memory shared with virtiofsd.
	args := []string{"-object", fmt.Sprintf("memory-backend-memfd,id=mem,size=%dM,share=on", r.MemoryMB), "-numa", "node,memdev=mem"}
	for i := range shares {
		tag := shareTag(i)
		args = append(args, "-chardev", "socket,id=char-"+tag+",path="+m.socks[i],
			"-device", "vhost-user-fs-pci,queue-size=1024,chardev=char-"+tag+",tag="+tag)
	}
	return args
}

func (*virtiofsMode) lines(shares []Mount) []string {
	var l []string
	for i, s := range shares {
		l = append(l, fmt.Sprintf("%s virtiofs - %s", shareTag(i), s.Box))
	}
	return l
}

// sshfsMode shares over kiwi's own SFTP server on 127.0.0.1, which the
// box reaches through QEMU's user network: QEMU needs nothing more.
type sshfsMode struct {
	port int
}

func (*sshfsMode) name() string { return ShareSSHFS }

// start serves the shares and gives the box what it needs to mount them:
// the client key and the server's host key (the box checks it).
func (m *sshfsMode) start(_ context.Context, r VMRun, shares []Mount, _, kiwibox string) (func(), error) {
	pub, priv, err := sshfsClientKey(r.SSHKey)
	if err != nil {
		return noStop, err
	}
	dirs := map[string]string{}
	for i, s := range shares {
		dirs[shareTag(i)] = s.Host
	}
	srv, err := startSSHFS(dirs, r.SSHPort, pub, logger(r.Log))
	if err != nil {
		return noStop, err
	}
	m.port = srv.Port()
	// QEMU's user network shows the host's 127.0.0.1 to the box as 10.0.2.2.
	host := fmt.Sprintf("[10.0.2.2]:%d", m.port)
	if m.port == 22 {
		host = "10.0.2.2" // known_hosts names the default port without it
	}
	known := host + " " + srv.HostKey + "\n"
	for name, body := range map[string][]byte{"id_sshfs": priv, "known_hosts": []byte(known)} {
		if err := os.WriteFile(filepath.Join(kiwibox, name), body, 0o600); err != nil {
			return srv.Close, err
		}
	}
	logger(r.Log).Debug("sshfs: serving the shares over sftp", "port", m.port)
	return srv.Close, nil
}

func (*sshfsMode) qemuArgs(VMRun, []Mount) []string { return nil }

func (m *sshfsMode) lines(shares []Mount) []string {
	var l []string
	for i, s := range shares {
		l = append(l, fmt.Sprintf("%s sshfs %d %s", shareTag(i), m.port, s.Box))
	}
	return l
}

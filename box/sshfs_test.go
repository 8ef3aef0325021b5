package box

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sftpClient logs in to s with the private key priv and opens sftp.
func sftpClient(t *testing.T, s *sshfsServer, priv []byte) *sftp.Client {
	t.Helper()
	signer, err := ssh.ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s.HostKey))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := ssh.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port())), &ssh.ClientConfig{
		User: sshfsUser, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.FixedHostKey(hostKey),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c, err := sftp.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSSHFSServesSharesAndNothingElse(t *testing.T) {
	box := t.TempDir()
	share := filepath.Join(box, "share")
	if err := os.Mkdir(share, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(box, "victim"), []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A symlink in the share that points out of it.
	if err := os.Symlink("..", filepath.Join(share, "up")); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := sshfsClientKey("")
	if err != nil {
		t.Fatal(err)
	}
	s, err := startSSHFS(map[string]string{"share0": share}, 0, pub, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := sftpClient(t, s, priv)

	// What a build's result copy does: create, write, chmod, times, rename.
	f, err := c.Create("/share0/out.tmp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, "result"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := c.Chmod("/share0/out.tmp", 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Mkdir("/share0/dir"); err != nil {
		t.Fatal(err)
	}
	if err := c.PosixRename("/share0/out.tmp", "/share0/dir/out"); err != nil {
		t.Fatal(err)
	}
	if err := c.Symlink("dir/out", "/share0/link"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(share, "link")); err != nil || string(b) != "result" {
		t.Fatalf("the written file through the link: %v %q", err, b)
	}
	if fi, err := os.Stat(filepath.Join(share, "dir", "out")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode of the written file: %v %v", err, fi)
	}
	if target, err := c.ReadLink("/share0/link"); err != nil || target != "dir/out" {
		t.Fatalf("readlink: %v %q", err, target)
	}
	entries, err := c.ReadDir("/share0")
	if err != nil || len(entries) != 3 {
		t.Fatalf("list: %v %v", err, entries)
	}

	// Nothing outside the share, by name or through its symlink.
	for _, p := range []string{"/share0/../victim", "/victim", "/share0/up/victim", "/share1/x"} {
		if f, err := c.Open(p); err == nil {
			b, _ := io.ReadAll(f)
			f.Close()
			if strings.Contains(string(b), "precious") {
				t.Errorf("read %s outside the share", p)
			}
		}
		if f, err := c.Create(p); err == nil {
			f.Close()
		}
	}
	if err := c.Remove("/share0/up/victim"); err == nil {
		t.Error("removed a file through a symlink out of the share")
	}
	if b, err := os.ReadFile(filepath.Join(box, "victim")); err != nil || string(b) != "precious" {
		t.Errorf("the file beside the share changed: %v %q", err, b)
	}
	if left, _ := os.ReadDir(box); len(left) != 2 {
		t.Errorf("entries beside the share: %v", left)
	}

	// Another key gets nothing.
	_, other, err := sshfsClientKey("")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.ParsePrivateKey(other)
	if _, err := ssh.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port())), &ssh.ClientConfig{
		User: sshfsUser, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	}); err == nil {
		t.Error("a key that is not the box's was let in")
	}
}

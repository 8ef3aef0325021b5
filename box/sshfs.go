package box

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sshfsServer is the host side of the sshfs sharing: an SSH server on
// 127.0.0.1 (QEMU's user network shows it to the box as 10.0.2.2) that
// offers only the sftp subsystem, over the shared directories, to the one
// client key of this run. No sshd of the host is involved and nothing on
// the host has to trust the box beforehand.
type sshfsServer struct {
	ln     net.Listener
	shares *sftpShares
	cfg    *ssh.ServerConfig
	// HostKey is the server's public key as a known_hosts key field.
	HostKey string
	log     *slog.Logger

	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// sshfsUser is the user name the box logs in with (any name would do:
// only the key counts).
const sshfsUser = "kiwi"

// startSSHFS serves dirs (share name to host directory) to the holder of
// clientKey on 127.0.0.1:port (0: a free port).
func startSSHFS(dirs map[string]string, port int, clientKey ssh.PublicKey, log *slog.Logger) (*sshfsServer, error) {
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return nil, err
	}
	want := clientKey.Marshal()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), want) {
				return nil, nil
			}
			return nil, errors.New("not this box's key")
		},
	}
	cfg.AddHostKey(hostSigner)
	shares, err := openShares(dirs)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		shares.Close()
		if port != 0 {
			return nil, inputError(InputSSHPort, "ssh port %d: sshfs sharing: listen on 127.0.0.1:%d: %w", port, port, err)
		}
		return nil, fmt.Errorf("sshfs sharing: listen on 127.0.0.1: %w", err)
	}
	s := &sshfsServer{ln: ln, shares: shares, cfg: cfg, log: log, conns: map[net.Conn]bool{},
		HostKey: string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(hostSigner.PublicKey())))}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Port is the port the server listens on.
func (s *sshfsServer) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *sshfsServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// serve runs one SSH connection: session channels whose only accepted
// request is the sftp subsystem.
func (s *sshfsServer) serve(c net.Conn) {
	_, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		s.log.Debug("sshfs: refused a connection", "remote", c.RemoteAddr().String(), "error", err)
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sftp sessions")
			continue
		}
		ch, requests, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for req := range requests {
				// The payload is an SSH string: 4 bytes of length, the name.
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				_ = req.Reply(ok, nil)
				if !ok {
					continue
				}
				srv := sftp.NewRequestServer(ch, s.shares.handlers())
				if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
					s.log.Debug("sshfs: sftp session ended", "error", err)
				}
				srv.Close()
				return
			}
		}()
	}
}

// Close stops listening, ends every connection and closes the shares.
func (s *sshfsServer) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.shares.Close()
}

// sshfsClientKey is the key the box logs in with: the key file given
// (an unencrypted OpenSSH private key) or one made for this run. It
// returns the public key and the private key in OpenSSH PEM form, which
// the box's ssh reads.
func sshfsClientKey(file string) (ssh.PublicKey, []byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, inputError(InputSSHKey, "ssh key %s: %w", file, err)
		}
		signer, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, nil, inputError(InputSSHKey, "ssh key %s: %w (give an unencrypted OpenSSH private key)", file, err)
		}
		return signer.PublicKey(), b, nil
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "kiwi boxbuild")
	if err != nil {
		return nil, nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return sshPub, pem.EncodeToMemory(block), nil
}

// CheckSSHKey tells whether file is a key the sshfs sharing can use.
func CheckSSHKey(file string) error {
	_, _, err := sshfsClientKey(file)
	return err
}

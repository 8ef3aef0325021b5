package box

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/pkg/sftp"
)

// sftpShares serves host directories over SFTP, for the sshfs sharing of
// a VM box: the first element of a request's path names the share
// ("share0"), the rest is a path in it. Each share is an os.Root, so no
// request reaches outside its directory, whatever ".." or symlinks in
// the share say.
type sftpShares struct {
	roots map[string]*os.Root
}

// openShares opens dirs (share name to host directory) as roots.
func openShares(dirs map[string]string) (*sftpShares, error) {
	s := &sftpShares{roots: map[string]*os.Root{}}
	for name, dir := range dirs {
		r, err := os.OpenRoot(dir)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("share %s over sftp: %w", dir, err)
		}
		s.roots[name] = r
	}
	return s, nil
}

// Close closes the roots.
func (s *sftpShares) Close() {
	for _, r := range s.roots {
		r.Close()
	}
}

func (s *sftpShares) handlers() sftp.Handlers {
	return sftp.Handlers{FileGet: s, FilePut: s, FileCmd: s, FileList: s}
}

// resolve maps an SFTP path to its share's root and the path inside it.
func (s *sftpShares) resolve(p string) (*os.Root, string, error) {
	rest := strings.TrimPrefix(path.Clean("/"+p), "/")
	top, sub, _ := strings.Cut(rest, "/")
	r, ok := s.roots[top]
	if !ok {
		return nil, "", os.ErrNotExist
	}
	if sub == "" {
		sub = "."
	}
	return r, sub, nil
}

// Fileread opens a file to read.
func (s *sftpShares) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	root, p, err := s.resolve(r.Filepath)
	if err != nil {
		return nil, err
	}
	return root.Open(p)
}

// Filewrite opens a file to write.
func (s *sftpShares) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	return s.open(r)
}

// OpenFile opens a file to read and write (sshfs opens files so).
func (s *sftpShares) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) {
	return s.open(r)
}

func (s *sftpShares) open(r *sftp.Request) (*os.File, error) {
	root, p, err := s.resolve(r.Filepath)
	if err != nil {
		return nil, err
	}
	f := r.Pflags()
	flags := os.O_RDONLY
	switch {
	case f.Read && f.Write:
		flags = os.O_RDWR
	case f.Write:
		flags = os.O_WRONLY
	}
	// Append is left out: the client gives every write its offset, and
	// WriteAt refuses files opened with O_APPEND.
	if f.Creat {
		flags |= os.O_CREATE
	}
	if f.Trunc {
		flags |= os.O_TRUNC
	}
	if f.Excl {
		flags |= os.O_EXCL
	}
	perm := os.FileMode(0o644)
	if r.AttrFlags().Permissions {
		perm = r.Attributes().FileMode().Perm()
	}
	return root.OpenFile(p, flags, perm)
}

// Filecmd changes the tree: attributes, names, directories and links.
func (s *sftpShares) Filecmd(r *sftp.Request) error {
	switch r.Method {
	case "Symlink":
		// Filepath is the link's text, Target the link's own path.
		root, p, err := s.resolve(r.Target)
		if err != nil {
			return err
		}
		return root.Symlink(r.Filepath, p)
	case "Rename", "Link":
		root, p, err := s.resolve(r.Filepath)
		if err != nil {
			return err
		}
		troot, tp, err := s.resolve(r.Target)
		if err != nil {
			return err
		}
		if troot != root {
			return syscall.EXDEV
		}
		if r.Method == "Link" {
			return root.Link(p, tp)
		}
		return root.Rename(p, tp)
	}
	root, p, err := s.resolve(r.Filepath)
	if err != nil {
		return err
	}
	switch r.Method {
	case "Setstat":
		return setstat(root, p, r)
	case "Rmdir", "Remove":
		return root.Remove(p)
	case "Mkdir":
		perm := os.FileMode(0o755)
		if r.AttrFlags().Permissions {
			perm = r.Attributes().FileMode().Perm()
		}
		return root.Mkdir(p, perm)
	}
	return fmt.Errorf("sftp %s: %w", r.Method, errors.ErrUnsupported)
}

// PosixRename replaces the target, as rename(2) does.
func (s *sftpShares) PosixRename(r *sftp.Request) error {
	return s.Filecmd(&sftp.Request{Method: "Rename", Filepath: r.Filepath, Target: r.Target})
}

func setstat(root *os.Root, p string, r *sftp.Request) error {
	flags, a := r.AttrFlags(), r.Attributes()
	if flags.Size {
		f, err := root.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		err = f.Truncate(int64(a.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if flags.UidGid {
		if err := root.Chown(p, int(a.UID), int(a.GID)); err != nil {
			return err
		}
	}
	if flags.Permissions {
		mode := a.FileMode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
		if err := root.Chmod(p, mode); err != nil {
			return err
		}
	}
	if flags.Acmodtime {
		if err := root.Chtimes(p, a.AccessTime(), a.ModTime()); err != nil {
			return err
		}
	}
	return nil
}

// Filelist lists a directory or stats a path.
func (s *sftpShares) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	root, p, err := s.resolve(r.Filepath)
	if err != nil {
		return nil, err
	}
	switch r.Method {
	case "List":
		d, err := root.Open(p)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		entries, err := d.Readdir(-1)
		if err != nil {
			return nil, err
		}
		return listerAt(entries), nil
	case "Stat":
		fi, err := root.Stat(p)
		if err != nil {
			return nil, err
		}
		return listerAt{fi}, nil
	}
	return nil, fmt.Errorf("sftp %s: %w", r.Method, errors.ErrUnsupported)
}

// Lstat stats a path without following a final symlink.
func (s *sftpShares) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	root, p, err := s.resolve(r.Filepath)
	if err != nil {
		return nil, err
	}
	fi, err := root.Lstat(p)
	if err != nil {
		return nil, err
	}
	return listerAt{fi}, nil
}

// Readlink returns a symlink's text as it is.
func (s *sftpShares) Readlink(p string) (string, error) {
	root, rel, err := s.resolve(p)
	if err != nil {
		return "", err
	}
	return root.Readlink(rel)
}

type listerAt []os.FileInfo

func (l listerAt) ListAt(buf []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(buf, l[off:])
	if n < len(buf) {
		return n, io.EOF
	}
	return n, nil
}

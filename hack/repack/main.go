// Command repack turns the packages of a Debian root tree into rpm and
// pacman packages, so the tests can build rpm-md and pacman repositories
// from what Debian's mirror serves (no openSUSE, Fedora or Arch mirror is
// reachable here) and run the real zypper, dnf and pacman against them.
//
// Each installed dpkg package becomes one package holding its files as
// they are in the configured root (after the maintainer scripts ran),
// with Debian's dependencies (the installed alternative) and provides,
// and no scripts. The files no package owns (passwd, group, the ld.so
// cache, alternatives links, the merged-/usr links /bin, /lib, ...)
// become the package "filesystem", which every other package requires,
// as openSUSE's filesystem package is installed first; it requires
// Debian's Essential packages (bash, coreutils, libc-bin, ...). dpkg's and apt's
// own state is left out: the result is an rpm or pacman root, not a
// Debian one. Paths under the merged-/usr links are written as their
// /usr paths, so no package has a file below a symlink.
//
// Files under /usr/share/{doc,man,info} are marked as documentation in
// the rpms. Some packages also provide their openSUSE/Fedora names
// (kernel-default, grub2, shim, ...), and the rpms have grub's modules
// and tools at the rpm family's paths (rpmNames).
//
// What it does not cover: real openSUSE/Fedora/Arch packages (their
// scriptlets, rpm's file triggers, their shim and signed grub paths),
// versions in dependencies, and hard links (stored as copies).
//
// Usage: repack -root DIR [-rpm DIR] [-pacman DIR]
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/rpmpack"
)

func main() {
	root := flag.String("root", "", "the Debian root tree")
	rpmDir := flag.String("rpm", "", "write .rpm packages here")
	pacmanDir := flag.String("pacman", "", "write .pkg.tar.gz packages here")
	flag.Parse()
	if *root == "" || (*rpmDir == "" && *pacmanDir == "") {
		flag.Usage()
		os.Exit(2)
	}
	pkgs, err := readPackages(*root)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range []string{*rpmDir, *pacmanDir} {
		if d != "" {
			if err := os.MkdirAll(d, 0o755); err != nil {
				log.Fatal(err)
			}
		}
	}
	users, groups := names(*root, "etc/passwd"), names(*root, "etc/group")
	work := make(chan *pkg)
	var wg sync.WaitGroup
	errs := make(chan error, len(pkgs))
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				files, err := p.read(*root, users, groups)
				if err == nil && *rpmDir != "" {
					err = p.writeRPM(*rpmDir, files)
				}
				if err == nil && *pacmanDir != "" {
					err = p.writePacman(*pacmanDir, files)
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", p.name, err)
				}
			}
		}()
	}
	for _, p := range pkgs {
		work <- p
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		log.Fatal(err)
	}
	fmt.Printf("repacked %d packages\n", len(pkgs))
}

// pkg is one package to write.
type pkg struct {
	name, version, arch, summary string
	requires, provides           []string
	paths                        []string
}

// file is one entry of a package, read from the root.
type file struct {
	path        string
	mode        fs.FileMode
	body        []byte
	link        string
	user, group string
	uid, gid    int
	mtime       time.Time
}

// usrLinks are the merged-/usr links of the root: /bin → usr/bin, ...
func usrLinks(root string) map[string]string {
	out := map[string]string{}
	for _, d := range []string{"bin", "sbin", "lib", "lib32", "lib64", "libx32"} {
		if t, err := os.Readlink(filepath.Join(root, d)); err == nil {
			out["/"+d] = "/" + strings.TrimPrefix(t, "/")
		}
	}
	return out
}

// canonical is p with a merged-/usr link in its first component resolved.
func canonical(p string, links map[string]string) string {
	for l, t := range links {
		if p == l {
			return p // the link itself
		}
		if strings.HasPrefix(p, l+"/") {
			return t + strings.TrimPrefix(p, l)
		}
	}
	return p
}

// skipped are paths that are dpkg's and apt's state or a system's
// runtime contents, not files of the image.
func skipped(p string) bool {
	for _, pre := range []string{"/var/lib/dpkg", "/var/lib/apt", "/var/cache/apt", "/var/cache/debconf", "/image", "/.kconfig", "/.profile"} {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	// Runtime contents; the directories themselves stay.
	for _, dir := range []string{"/proc", "/sys", "/dev", "/run", "/tmp", "/var/log"} {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// readPackages lists the root's installed dpkg packages and their files,
// each path owned by the first package listing it, plus "filesystem".
func readPackages(root string) ([]*pkg, error) {
	out, err := exec.Command("dpkg-query", "--admindir="+filepath.Join(root, "var/lib/dpkg"), "-W",
		"-f", "${Package}\t${Version}\t${Architecture}\t${db:Status-Abbrev}\t${Pre-Depends}, ${Depends}\t${Provides}\t${binary:Summary}\t${Essential}\n").Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg-query: %w", err)
	}
	links := usrLinks(root)
	var pkgs []*pkg
	var essential []string
	installed := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "\t")
		if len(f) != 8 || !strings.HasPrefix(f[3], "ii") {
			continue
		}
		p := &pkg{name: f[0], version: f[1], arch: f[2], summary: f[6]}
		if f[7] == "yes" {
			essential = append(essential, p.name)
		}
		for _, v := range strings.Split(f[5], ",") {
			if n := depName(v); n != "" {
				p.provides = append(p.provides, n)
			}
		}
		p.provides = append(p.provides, otherNames[p.name]...)
		installed[p.name] = true
		for _, v := range p.provides {
			installed[v] = true
		}
		p.requires = strings.Split(f[4], ",") // resolved below
		pkgs = append(pkgs, p)
	}
	owned := map[string]bool{}
	for _, p := range pkgs {
		reqs := []string{"filesystem"}
		for _, alt := range p.requires {
			for _, a := range strings.Split(alt, "|") {
				if n := depName(a); n != "" && installed[n] && n != p.name {
					reqs = append(reqs, n)
					break
				}
			}
		}
		p.requires = reqs
		list, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/info", p.name+".list"))
		if err != nil {
			list, err = os.ReadFile(filepath.Join(root, "var/lib/dpkg/info", p.name+":"+p.arch+".list"))
		}
		if err != nil {
			return nil, fmt.Errorf("files of %s: %w", p.name, err)
		}
		for _, path := range strings.Split(strings.TrimSpace(string(list)), "\n") {
			if path == "/." || path == "" || skipped(path) {
				continue
			}
			c := canonical(path, links)
			if _, link := links[c]; link {
				continue // the merged-/usr links are filesystem's
			}
			if _, err := os.Lstat(filepath.Join(root, c)); err != nil {
				continue // removed after install (a diversion, a cleaned file)
			}
			fi, _ := os.Lstat(filepath.Join(root, c))
			if owned[c] && !fi.IsDir() {
				continue
			}
			owned[c] = true
			p.paths = append(p.paths, c)
		}
	}
	// Debian's Essential packages are nobody's dependency (every
	// package may use them); "filesystem" requires them, so a root
	// bootstrapped with it has them, as openSUSE's has its base.
	base := &pkg{name: "filesystem", version: "1.0", arch: "amd64", summary: "the files of the Debian root no package owns", requires: essential}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(path, root), "/")
		if rel == "/" {
			return nil
		}
		if skipped(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !owned[rel] || d.IsDir() {
			base.paths = append(base.paths, rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(pkgs, base), nil
}

// otherNames are what openSUSE and Fedora call some of Debian's
// packages; the repacked package provides the name too, so descriptions
// written for those distributions (the seeds' Leap-VM) resolve.
var otherNames = map[string][]string{
	"linux-image-amd64":  {"kernel-default", "kernel"},
	"grub2-common":       {"grub2"},
	"grub-efi-amd64-bin": {"grub2-x86_64-efi"},
	"grub-pc-bin":        {"grub2-i386-pc"},
	"shim-signed":        {"shim"},
}

// depName is the package name of one Debian relation ("libc6 (>= 2.34)",
// "awk:any").
func depName(rel string) string {
	f := strings.Fields(rel)
	if len(f) == 0 {
		return ""
	}
	n, _, _ := strings.Cut(f[0], ":")
	return n
}

// names maps the ids of an /etc/passwd or /etc/group to their names.
func names(root, file string) map[int]string {
	out := map[int]string{}
	b, _ := os.ReadFile(filepath.Join(root, file))
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) > 2 {
			if id, err := strconv.Atoi(f[2]); err == nil {
				out[id] = f[0]
			}
		}
	}
	return out
}

// read reads the package's files from the root.
func (p *pkg) read(root string, users, groups map[int]string) ([]file, error) {
	sort.Strings(p.paths)
	var files []file
	for _, path := range p.paths {
		full := filepath.Join(root, path)
		fi, err := os.Lstat(full)
		if err != nil {
			return nil, err
		}
		st := fi.Sys().(*syscall.Stat_t)
		f := file{path: path, mode: fi.Mode(), uid: int(st.Uid), gid: int(st.Gid), user: users[int(st.Uid)], group: groups[int(st.Gid)], mtime: fi.ModTime()}
		if f.user == "" {
			f.user = "root"
		}
		if f.group == "" {
			f.group = "root"
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if f.link, err = os.Readlink(full); err != nil {
				return nil, err
			}
		case fi.Mode().IsRegular():
			if f.body, err = os.ReadFile(full); err != nil {
				return nil, err
			}
		case fi.IsDir():
		default:
			continue // device nodes, fifos, sockets: none in a package
		}
		files = append(files, f)
	}
	return files, nil
}

// unixMode is the st_mode bits of f (type and permissions).
func unixMode(m fs.FileMode) uint {
	perm := uint(m.Perm())
	if m&fs.ModeSetuid != 0 {
		perm |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		perm |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		perm |= 0o1000
	}
	switch {
	case m.IsDir():
		return perm | 0o40000
	case m&fs.ModeSymlink != 0:
		return perm | 0o120000
	}
	return perm | 0o100000
}

// rpmVersion splits a Debian version into rpm's epoch, version and
// release (no '-' or ':' inside them).
func rpmVersion(v string) (epoch uint32, version, release string) {
	if e, rest, ok := strings.Cut(v, ":"); ok {
		n, _ := strconv.Atoi(e)
		epoch, v = uint32(n), rest
	}
	release = "0"
	if i := strings.LastIndex(v, "-"); i > 0 {
		v, release = v[:i], v[i+1:]
	}
	return epoch, strings.ReplaceAll(v, "-", "_"), strings.ReplaceAll(release, "-", "_")
}

func (p *pkg) writeRPM(dir string, files []file) error {
	epoch, version, release := rpmVersion(p.version)
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{
		Name: p.name, Summary: p.summary, Description: p.summary, Version: version, Release: release, Epoch: epoch,
		Arch: "x86_64", OS: "linux", Vendor: "Debian (repacked by kiwi's tests)", Licence: "see /usr/share/doc",
		Compressor: "zstd:1", BuildTime: time.Unix(0, 0),
	})
	if err != nil {
		return err
	}
	for _, n := range p.provides {
		if err := r.Provides.Set(n); err != nil {
			return err
		}
	}
	for _, n := range p.requires {
		if err := r.Requires.Set(n); err != nil {
			return err
		}
	}
	for _, f := range files {
		if f.path == rpmDropped {
			continue
		}
		rf := rpmpack.RPMFile{Name: rpmPath(f.path), Mode: unixMode(f.mode), Owner: f.user, Group: f.group, MTime: uint32(f.mtime.Unix())}
		switch {
		case f.mode&fs.ModeSymlink != 0:
			rf.Body = []byte(f.link)
		case f.mode.IsRegular():
			rf.Body = f.body
			switch {
			case strings.HasPrefix(f.path, "/etc/"):
				rf.Type = rpmpack.ConfigFile | rpmpack.NoReplaceFile
			case strings.HasPrefix(f.path, "/usr/share/doc/"), strings.HasPrefix(f.path, "/usr/share/man/"), strings.HasPrefix(f.path, "/usr/share/info/"):
				// Marked as documentation, so rpm-excludedocs has
				// something to leave out.
				rf.Type = rpmpack.DocFile
			}
		}
		r.AddFile(rf)
	}
	out, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%s-%s.x86_64.rpm", p.name, version, release)))
	if err != nil {
		return err
	}
	if err := r.Write(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// rpmNames are the rpm family's names for some of Debian's grub files
// (prefixes): openSUSE's grub2 keeps its modules in /usr/share/grub2 and
// names its tools grub2-*, so kiwi finds grub where those distributions
// put it (grub2-install makes the boot directory /boot/grub2). Debian's
// grub-mkconfig script keeps calling grub-probe and grub-mkrelpath under
// their Debian names, which therefore stay.
var rpmNames = [][2]string{
	{"/usr/lib/grub/i386-pc/", "/usr/share/grub2/i386-pc/"},
	{"/usr/lib/grub/x86_64-efi/", "/usr/share/grub2/x86_64-efi/"},
	{"/usr/sbin/grub-install", "/usr/sbin/grub2-install"},
	{"/usr/sbin/grub-mkconfig", "/usr/sbin/grub2-mkconfig"},
}

// rpmDropped is Debian's grub theme script, which works in /boot/grub
// only; the rpm distributions have none.
const rpmDropped = "/etc/grub.d/05_debian_theme"

// rpmPath is p as the rpm family names it.
func rpmPath(p string) string {
	for _, n := range rpmNames {
		if p+"/" == n[0] {
			return strings.TrimSuffix(n[1], "/")
		}
		if rest, ok := strings.CutPrefix(p, n[0]); ok && (strings.HasSuffix(n[0], "/") || rest == "") {
			return n[1] + rest
		}
	}
	return p
}

// pacmanVersion is a Debian version as pacman's pkgver-pkgrel.
func pacmanVersion(v string) string {
	epoch, version, release := rpmVersion(v)
	s := version + "-" + strings.NewReplacer("+", "_", "~", "_").Replace(release)
	if epoch > 0 {
		s = fmt.Sprintf("%d:%s", epoch, s)
	}
	return s
}

func (p *pkg) writePacman(dir string, files []file) error {
	var size int64
	for _, f := range files {
		size += int64(len(f.body))
	}
	var info strings.Builder
	fmt.Fprintf(&info, "pkgname = %s\npkgbase = %s\npkgver = %s\npkgdesc = %s\nbuilddate = 0\npackager = kiwi tests\nsize = %d\narch = x86_64\nlicense = custom\n",
		p.name, p.name, pacmanVersion(p.version), p.summary, size)
	for _, n := range p.requires {
		fmt.Fprintf(&info, "depend = %s\n", n)
	}
	for _, n := range p.provides {
		fmt.Fprintf(&info, "provides = %s\n", n)
	}
	out, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%s-x86_64.pkg.tar.gz", p.name, strings.ReplaceAll(pacmanVersion(p.version), ":", "_"))))
	if err != nil {
		return err
	}
	defer out.Close()
	gz, _ := gzip.NewWriterLevel(out, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: ".PKGINFO", Mode: 0o644, Size: int64(info.Len()), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write([]byte(info.String())); err != nil {
		return err
	}
	for _, f := range files {
		h := &tar.Header{Name: strings.TrimPrefix(f.path, "/"), Mode: int64(unixMode(f.mode) & 0o7777), Uid: f.uid, Gid: f.gid,
			Uname: f.user, Gname: f.group, ModTime: f.mtime, Format: tar.FormatPAX}
		switch {
		case f.mode.IsDir():
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		case f.mode&fs.ModeSymlink != 0:
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.body); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

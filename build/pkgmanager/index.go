package pkgmanager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/arch"
)

// indexTimeout bounds the read of one repository index: a repository
// that does not answer in that time is as good as unreachable, and the
// package manager will say so with its own error if it must be read.
const indexTimeout = 60 * time.Second

// RepositoryState is what the build's repositories (those it installs
// from) hold now, one line per repository: the digest of the index a
// change to the repository rewrites (apt's InRelease or Release,
// rpm-md's repodata/repomd.xml, pacman's databases; for a local
// directory without one, its listing). Prepare keys its phase layers
// with it, so packages from a repository that changed under the same
// URL are installed again instead of taken from the cache.
//
// It never fails for a repository it cannot read: that repository's
// line says "unreadable" (logged as a warning), so a phase cached while
// it was readable is not reused, and the package manager, if it runs,
// reports the real error. Credentials are sent as the manager would
// send them and never logged.
func RepositoryState(ctx context.Context, d *description.Description, log *slog.Logger) ([]string, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	name := d.Preferences.PackageManager
	k, ok := managers[name]
	if !ok || k.refused != "" {
		return nil, nil // Check refuses these before any work
	}
	repos, err := repositories(d, name, k)
	if err != nil {
		return nil, err
	}
	targetArch := d.TargetArch
	if targetArch == "" {
		targetArch = arch.Host()
	}
	// dnf's $releasever defaults to KIWI's 0.
	release := d.Preferences.ReleaseVersion
	if release == "" {
		release = "0"
	}
	var out []string
	for _, r := range repos {
		if !r.build {
			continue
		}
		idx := k.index(r, targetArch, release)
		state, err := r.state(ctx, idx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			log.Warn("cannot read the repository's index: phases cached with it are not reused", "repository", r.alias,
				"source", description.RedactURL(r.uri), "error", err)
			state = "unreadable"
		}
		out = append(out, r.alias+" "+state)
	}
	return out, nil
}

// index is where a package manager reads a repository's index: of each
// set, the first URL that exists is read; when none does and listing
// names a local directory, its listing is the index.
type index struct {
	sets    [][]string
	listing string
}

// in is the URLs of paths relative to base.
func in(base string, rel ...string) []string {
	var out []string
	for _, p := range rel {
		out = append(out, strings.TrimSuffix(base, "/")+"/"+p)
	}
	return out
}

// aptIndex: the distribution's InRelease or Release, or a flat
// repository's.
func aptIndex(r repo, _, _ string) index {
	if r.dist == "" {
		return index{sets: [][]string{in(r.uri, "InRelease", "Release", "Packages.xz", "Packages.gz", "Packages")}}
	}
	return index{sets: [][]string{in(r.uri, "dists/"+r.dist+"/InRelease", "dists/"+r.dist+"/Release")}}
}

// rpmmdIndex: repodata/repomd.xml at the URL as zypper and dnf expand
// it; zypper also reads a plain directory of rpms (KIWI 9's rpm-dir).
func rpmmdIndex(r repo, targetArch, release string) index {
	uri := strings.NewReplacer("${releasever}", release, "$releasever", release,
		"${basearch}", targetArch, "$basearch", targetArch, "${arch}", targetArch, "$arch", targetArch).Replace(r.uri)
	dir, ok := strings.CutPrefix(uri, "file://")
	if !ok {
		dir = ""
	}
	return index{sets: [][]string{in(uri, "repodata/repomd.xml")}, listing: dir}
}

// pacmanIndex: one database per component, each at its Server URL
// ($repo and $arch expanded as pacman does).
func pacmanIndex(r repo, targetArch, _ string) index {
	names := r.components
	if len(names) == 0 {
		names = []string{r.alias}
	}
	var sets [][]string
	for _, n := range names {
		sets = append(sets, in(strings.NewReplacer("$repo", n, "$arch", targetArch).Replace(r.uri), n+".db"))
	}
	return index{sets: sets}
}

// state is the digest of r's index files.
func (r repo) state(ctx context.Context, idx index) (string, error) {
	h := sha256.New()
	for _, set := range idx.sets {
		found := false
		for _, u := range set {
			fmt.Fprintf(h, "%s\n", path.Base(u))
			n, err := r.read(ctx, u, h)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%d\n", n)
			found = true
			break
		}
		if found {
			continue
		}
		if idx.listing == "" {
			var names []string
			for _, u := range set {
				names = append(names, description.RedactURL(u))
			}
			return "", fmt.Errorf("none of %s found", strings.Join(names, ", "))
		}
		if err := listing(idx.listing, h); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// read copies the file at URL u into w; fs.ErrNotExist when the
// repository has no such file.
func (r repo) read(ctx context.Context, u string, w io.Writer) (int64, error) {
	if p, ok := strings.CutPrefix(u, "file://"); ok {
		f, err := os.Open(p)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		return io.Copy(w, f)
	}
	ctx, cancel := context.WithTimeout(ctx, indexTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", description.RedactURL(u), err)
	}
	if r.user != "" {
		req.SetBasicAuth(r.user, r.secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// url.Error repeats the URL, which may carry credentials.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("GET %s: %w", description.RedactURL(u), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return 0, fs.ErrNotExist
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("GET %s: %s", description.RedactURL(u), resp.Status)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", description.RedactURL(u), err)
	}
	return n, nil
}

// listing writes the names, sizes and modification times of the files
// below dir into w, sorted.
func listing(dir string, w io.Writer) error {
	var lines []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.Type().IsRegular() {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		lines = append(lines, fmt.Sprintf("%s %d %d", rel, fi.Size(), fi.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		return fmt.Errorf("list repository directory %s: %w", dir, err)
	}
	sort.Strings(lines)
	_, err = io.WriteString(w, strings.Join(lines, "\n"))
	return err
}

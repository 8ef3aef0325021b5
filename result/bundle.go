package result

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/journal"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// BundleOptions are the settings of result bundle.
type BundleOptions struct {
	// Target is the build's target dir, Dir the bundle dir.
	Target, Dir string
	// ID is the bundle id (%I; OBS passes Build<release>).
	ID string
	// Format, when set, replaces the type's bundle_format pattern.
	Format string
	// ZsyncSource, when set, is the URL the bundle will be downloaded
	// from: each checksummed file gets a zsync control file for it.
	ZsyncSource string
	// NoCompress leaves every file uncompressed.
	NoCompress bool
	// XZOptions replace xz's default options (--threads=0), as the
	// runtime config's "xz: - options:" does.
	XZOptions []string
	// RPM packs the bundle into one noarch rpm, as KIWI's
	// --package-as-rpm does: <name>-<version>-0.noarch.rpm holding the
	// files in /var/tmp/<name>, <name> the expanded bundle_format or the
	// image name.
	RPM bool
	Run runner.Runner
	Log *slog.Logger
}

// item is one file of a bundle: the result it is made from and its
// name in the bundle.
type item struct {
	key, src, name string
	file           File
}

// Bundle copies r's bundled results (use_for_bundle) into o.Dir in key
// order, as KIWI's result bundle does: each renamed (Name), xz-compressed
// when flagged (unless NoCompress), with a zsync control file and a
// .sha256 ("<sum>  <name>", what sha256sum -c reads) when checksummed.
// Everything is checked first (id, dirs, source files, zsyncmake); the
// files are made in a staging dir inside o.Dir and moved into place at
// the end, so after an error or an interrupt o.Dir holds no partial
// bundle. It returns the files written, in order.
func Bundle(ctx context.Context, r *Results, o BundleOptions) ([]string, error) {
	done := false
	items, err := plan(r, o)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(o.Dir); os.IsNotExist(err) {
		// A bundle dir made here goes again when the bundle fails.
		if err := os.MkdirAll(o.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("bundle dir: %w", err)
		}
		defer func() {
			if !done {
				os.Remove(o.Dir)
			}
		}()
	}
	stage, err := os.MkdirTemp(o.Dir, journal.TempPattern(".kiwi-bundle-"))
	if err != nil {
		return nil, fmt.Errorf("bundle dir: %w", err)
	}
	defer os.RemoveAll(stage)
	var made []string
	for _, it := range items {
		files, err := bundleOne(ctx, o, stage, it)
		if err != nil {
			return nil, fmt.Errorf("bundle %s (%s): %w", it.key, it.src, err)
		}
		made = append(made, files...)
	}
	if o.RPM {
		rpm, err := packageRPM(ctx, o.Run, stage, made, rpmName(r, o), r.Format.Tags.Version)
		if err != nil {
			return nil, fmt.Errorf("--package-as-rpm: %w", err)
		}
		made = []string{rpm}
	}
	var out []string
	for _, f := range made {
		if err := os.Rename(filepath.Join(stage, f), filepath.Join(o.Dir, f)); err != nil {
			return nil, fmt.Errorf("bundle dir: %w", err)
		}
		out = append(out, filepath.Join(o.Dir, f))
	}
	done = true
	return out, nil
}

// plan checks o and r and names every bundled file; it writes nothing.
func plan(r *Results, o BundleOptions) ([]item, error) {
	switch {
	case o.ID == "":
		return nil, fmt.Errorf("--id is empty: give the bundle id that goes into every file name (OBS uses Build<release>, e.g. --id Build42)")
	case strings.ContainsAny(o.ID, "/\x00"):
		return nil, fmt.Errorf("--id %q: a bundle id is part of file names and cannot hold a '/': use e.g. Build42", o.ID)
	}
	target, err := filepath.Abs(o.Target)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if same(target, dir) {
		return nil, fmt.Errorf("--bundle-dir %s is the --target-dir: the bundle needs a directory of its own", o.Dir)
	}
	if o.RPM {
		if _, err := exec.LookPath("rpmbuild"); err != nil {
			return nil, fmt.Errorf("--package-as-rpm needs rpmbuild on this host (apt-get install rpm)")
		}
		if err := rpmNameAndVersion(rpmName(r, o), r.Format.Tags.Version); err != nil {
			return nil, fmt.Errorf("--package-as-rpm: %w", err)
		}
	}
	if o.ZsyncSource != "" {
		if _, err := exec.LookPath("zsyncmake"); err != nil {
			return nil, fmt.Errorf("--zsync-source needs zsyncmake on this host (apt-get install zsync)")
		}
	}
	pattern := r.Format.Pattern
	if o.Format != "" {
		pattern = o.Format
	}
	var items []item
	seen := map[string]string{}
	for _, k := range r.Keys() {
		f := r.Files[k]
		if !f.Bundle {
			continue
		}
		src := Locate(f, target)
		if fi, err := os.Stat(src); err != nil {
			return nil, fmt.Errorf("result %s: %w (was the target dir changed after the build?)", k, err)
		} else if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("result %s: %s is not a regular file", k, src)
		}
		name := Name(filepath.Base(src), r.Format.Tags, pattern, o.ID)
		if other, ok := seen[name]; ok {
			return nil, fmt.Errorf("results %s and %s would both be bundled as %s: use a bundle format that tells them apart", other, k, name)
		}
		seen[name] = k
		items = append(items, item{key: k, src: src, name: name, file: f})
	}
	return items, nil
}

// same tells whether two absolute paths are one directory (symlinks
// resolved where they exist).
func same(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// bundleOne makes one result's files in stage: the copy (compressed),
// its zsync file and its checksum. It returns their names.
func bundleOne(ctx context.Context, o BundleOptions, stage string, it item) ([]string, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Info("Creating " + it.name)
	name := it.name
	dst := filepath.Join(stage, name)
	// cp keeps a disk's holes (and shares blocks where the filesystem
	// can), which a byte copy would fill.
	if _, err := o.Run.Run(ctx, runner.Cmd{Name: "cp", Args: []string{"--sparse=auto", "--reflink=auto", "--", it.src, dst}}); err != nil {
		return nil, err
	}
	if it.file.Compress && !o.NoCompress {
		log.Info("--> Compressing")
		args := append(append([]string{"-f"}, XZOptions(o.XZOptions)...), "--", dst)
		if _, err := o.Run.Run(ctx, runner.Cmd{Name: "xz", Args: args}); err != nil {
			return nil, err
		}
		name += ".xz"
		dst += ".xz"
	}
	files := []string{name}
	if !it.file.Shasum {
		return files, nil
	}
	if o.ZsyncSource != "" {
		log.Info("--> Creating zsync control file")
		url := strings.TrimSuffix(o.ZsyncSource, "/") + "/" + name
		if _, err := o.Run.Run(ctx, runner.Cmd{Name: "zsyncmake", Dir: stage, Args: []string{"-e", "-u", url, "-o", name + ".zsync", name}}); err != nil {
			return nil, err
		}
		files = append(files, name+".zsync")
	}
	log.Info("--> Creating .sha256 sum")
	sum, err := checksum.File(dst)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(dst+".sha256", []byte(sum+"  "+name+"\n"), 0o644); err != nil {
		return nil, err
	}
	return append(files, name+".sha256"), nil
}

// Name is a result file's name in a bundle. Without a pattern it is
// base with "-<id>" after every occurrence of the version that follows
// the image name (LimeJeOS.x86_64-1.15.3.raw becomes
// LimeJeOS.x86_64-1.15.3-Build42.raw), as KIWI names it. With a
// bundle_format pattern it is the expanded pattern and base's extension
// (the whole of .tar.xz, .docker.tar.xz, .vagrant.libvirt.box, as KIWI
// 10 keeps them).
func Name(base string, t Tags, pattern, id string) string {
	if pattern == "" {
		i := strings.Index(base, t.Name)
		if i < 0 || t.Name == "" || t.Version == "" {
			return base
		}
		head, tail := base[:i+len(t.Name)], base[i+len(t.Name):]
		return head + strings.ReplaceAll(tail, t.Version, t.Version+"-"+id)
	}
	return expand(t, pattern, id) + "." + extension(base)
}

// expand is a bundle_format pattern with its placeholders replaced, in
// KIWI's order: a later placeholder in an earlier value is expanded too,
// and %I last.
func expand(t Tags, pattern, id string) string {
	for _, r := range []struct{ tag, value string }{
		{"%N", t.Name}, {"%P", t.Profiles}, {"%A", t.Arch}, {"%T", t.Type},
		{"%M", t.Major}, {"%m", t.Minor}, {"%p", t.Patch}, {"%v", t.Version}, {"%I", id},
	} {
		pattern = strings.ReplaceAll(pattern, r.tag, r.value)
	}
	return pattern
}

// extension is a result file's extension as KIWI 10's bundle keeps it.
func extension(base string) string {
	parts := strings.Split(base, ".")
	last := func(n int) string {
		if n > len(parts)-1 {
			n = len(parts) - 1
		}
		return strings.Join(parts[len(parts)-n:], ".")
	}
	switch {
	case strings.Contains(base, ".oci.tar."), strings.Contains(base, ".docker.tar."), strings.Contains(base, ".vagrant."):
		return last(3)
	case strings.HasSuffix(base, ".oci.tar"), strings.HasSuffix(base, ".docker.tar"):
		return last(2)
	case strings.Contains(base, ".tar."):
		return "tar." + last(1)
	}
	return last(1)
}

// List is result list's output: "--> key: file" for every result, and
// the bundle format's pattern when the type has one, in key order.
func List(r *Results) []string {
	lines := map[string]string{}
	for k, f := range r.Files {
		lines[k] = f.Filename
	}
	if r.Format.Pattern != "" {
		lines[formatKey] = r.Format.Pattern
	}
	keys := make([]string, 0, len(lines))
	for k := range lines {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, "--> "+k+": "+lines[k])
	}
	return out
}

// XZOptions are the options xz compresses results with: the runtime
// config's "xz: - options:" (opts), or KIWI's default, --threads=0.
func XZOptions(opts []string) []string {
	if opts == nil {
		return []string{"--threads=0"}
	}
	return opts
}

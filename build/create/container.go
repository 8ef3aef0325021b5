package create

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/arch"
	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/internal/tarxz"
	"github.com/kiwi-go/kiwi/oci"
	"github.com/kiwi-go/kiwi/result"
)

// ContainerType is a planned docker or oci image (image="docker",
// image="oci"): KIWI's <containerconfig> read, defaulted and checked.
type ContainerType struct {
	// Format is oci.DockerArchive or oci.OCIArchive.
	Format              string
	Name, Version, Arch string
	// Names are the image's name:tag references as the description
	// gives them: <containerconfig name:tag> first, then additionalnames.
	Names []string
	// DerivedFrom is the base image reference (derived_from), or "".
	DerivedFrom string
	// DeltaRoot (delta_root) makes the image one layer of what the
	// build changed on DerivedFrom, without the base's layers or config:
	// KIWI's delta container, for tools that run it on the base.
	DeltaRoot bool
	// EmptyTmpDirs leaves the contents of /tmp and /run out (KIWI's
	// ensure_empty_tmpdirs, default true).
	EmptyTmpDirs bool

	Maintainer, User, WorkingDir, StopSignal string
	// Entrypoint and Cmd are nil to keep the base's, empty to clear it.
	Entrypoint, Cmd []string
	Expose          []string
	Volumes         []string
	Env, Labels     []description.Option
	// History is the history entry of the image's own layer.
	History ispec.History
}

// containerRecipe changes when what the container builder makes from
// the same inputs changes, so cached images of an older kiwi are not
// reused.
const containerRecipe = "kiwi-container-1"

var (
	portRule   = regexp.MustCompile(`^([0-9]+)(/(tcp|udp))?$`)
	signalRule = regexp.MustCompile(`^(SIG[A-Z0-9+-]+|[0-9]{1,2})$`)
)

// ContainerTypeOf reads and checks a docker or oci type: every value
// that would make a broken image (a name or tag podman cannot take, a
// port, label, environment name, volume or working dir that is no such
// thing, a base reference that cannot be parsed) is an error naming it.
func ContainerTypeOf(d *description.Description) (ContainerType, error) {
	t := d.Type
	ct := ContainerType{Format: oci.DockerArchive, Name: d.Name, Version: d.Version, Arch: d.TargetArch,
		DerivedFrom: t.DerivedFrom, DeltaRoot: t.DeltaRoot, EmptyTmpDirs: true}
	if t.Image == "oci" {
		ct.Format = oci.OCIArchive
	}
	if ct.Version == "" {
		ct.Version = "1.0.0"
	}
	if v, ok := t.Attr["ensure_empty_tmpdirs"]; ok && (v == "false" || v == "0") {
		ct.EmptyTmpDirs = false
	}
	authorContact := fmt.Sprintf("%s <%s>", d.Info.Author, d.Info.Contact)
	ct.Maintainer = authorContact
	ct.History = ispec.History{Author: authorContact}
	name, tag := "kiwi-container", "latest"
	cc := t.ContainerConfig
	if cc != nil {
		name = cc.Name
		if cc.Tag != "" {
			tag = cc.Tag
		}
		if cc.Maintainer != "" {
			ct.Maintainer = cc.Maintainer
		}
		ct.User, ct.WorkingDir, ct.StopSignal = cc.User, cc.WorkingDir, cc.StopSignal
		if c := cc.Entrypoint; c != nil && (c.Execute != "" || c.Clear) {
			ct.Entrypoint = command(c)
		}
		if c := cc.Subcommand; c != nil && (c.Execute != "" || c.Clear) {
			ct.Cmd = command(c)
		}
		ct.Expose, ct.Volumes = cc.Expose, cc.Volumes
		ct.Env, ct.Labels = cc.Environment, cc.Labels
		if h := cc.History; h != nil {
			if h["author"] != "" {
				ct.History.Author = h["author"]
			}
			if h["created_by"] != "" {
				ct.History.CreatedBy = h["created_by"]
			}
			ct.History.Comment = strings.TrimSpace(h["comment"])
		}
	}
	if strings.Contains(tag, ":") || strings.Contains(tag, "/") {
		return ct, fmt.Errorf("<containerconfig tag=%q>: a tag has no ':' or '/'; put the name into name=", tag)
	}
	ct.Names = []string{name + ":" + tag}
	if cc != nil {
		for _, n := range cc.AdditionalNames {
			ct.Names = append(ct.Names, additionalName(n, name, tag))
		}
	}
	for i, n := range ct.Names {
		if _, err := oci.ParseTagged(n); err != nil {
			what := fmt.Sprintf("<containerconfig name=%q tag=%q>", name, tag)
			if i > 0 {
				what = fmt.Sprintf("<containerconfig additionalnames=%q>", strings.Join(cc.AdditionalNames, ","))
			}
			return ct, fmt.Errorf("%s: %w", what, err)
		}
	}
	for _, p := range ct.Expose {
		m := portRule.FindStringSubmatch(p)
		if m == nil || !validPort(m[1]) {
			return ct, fmt.Errorf("<expose><port number=%q>: a port is a number from 1 to 65535, optionally /tcp or /udp", p)
		}
	}
	for _, v := range ct.Volumes {
		if !path.IsAbs(v) {
			return ct, fmt.Errorf("<volumes><volume name=%q>: a volume is an absolute path in the container", v)
		}
	}
	if ct.WorkingDir != "" && !path.IsAbs(ct.WorkingDir) {
		return ct, fmt.Errorf("<containerconfig workingdir=%q>: the working dir is an absolute path", ct.WorkingDir)
	}
	if ct.StopSignal != "" && !signalRule.MatchString(ct.StopSignal) {
		return ct, fmt.Errorf("<stopsignal>%s</stopsignal>: give a signal name (SIGTERM) or number", ct.StopSignal)
	}
	for _, e := range ct.Env {
		if e.Name == "" || strings.ContainsAny(e.Name, "= \t\n") {
			return ct, fmt.Errorf("<environment><env name=%q>: an environment name is not empty and has no '=' or blanks", e.Name)
		}
	}
	for _, l := range ct.Labels {
		if l.Name == "" || strings.ContainsAny(l.Name, "= \t\n") {
			return ct, fmt.Errorf("<labels><label name=%q>: a label name is not empty and has no '=' or blanks", l.Name)
		}
	}
	if ct.DerivedFrom != "" {
		if err := oci.CheckReference(ct.DerivedFrom); err != nil {
			return ct, fmt.Errorf("derived_from=%q: %w", ct.DerivedFrom, err)
		}
	}
	// KIWI ignores both without a base (and require_system_files
	// without delta_root); here they are refused, as they would do
	// nothing.
	if ct.DeltaRoot && ct.DerivedFrom == "" {
		return ct, fmt.Errorf(`delta_root="true": a delta root is what the build changed on its derived_from image; set derived_from or leave delta_root out`)
	}
	if t.RequireSystemFiles && !ct.DeltaRoot {
		return ct, fmt.Errorf(`require_system_files="true": the base's system files are carried into a delta root only; set delta_root="true" or leave require_system_files out`)
	}
	return ct, nil
}

func validPort(s string) bool {
	var n int
	_, err := fmt.Sscan(s, &n)
	return err == nil && n >= 1 && n <= 65535
}

// command is an entrypoint or subcommand as a list; clear gives an
// empty one.
func command(c *description.Command) []string {
	if c.Execute == "" {
		return []string{}
	}
	return append([]string{c.Execute}, c.Args...)
}

// additionalName completes an additionalnames entry the way KIWI does:
// ":tag" is the image's name with that tag, "name" the name with the
// image's tag, "name:tag" itself.
func additionalName(n, name, tag string) string {
	i := strings.LastIndex(n, ":")
	if i < 0 || strings.Contains(n[i:], "/") {
		return n + ":" + tag
	}
	if i == 0 {
		return name + n
	}
	return n
}

// ContainerLayers say which prepared image the root is and which image
// below it the container's own layer goes on. Build sets it after
// prepare; without it the image is the base (derived_from) plus one
// layer, or one layer, as KIWI makes it.
type ContainerLayers struct {
	// RootImage is the local image the root tree is a copy of.
	RootImage string
	// Base is the ID of the derived_from image build fetched already,
	// so create does not fetch it again.
	Base string
	// Lower is the image the container's layer goes on (prepare's
	// packages phase); LowerSnapshot is its tree snapshot file.
	Lower, LowerSnapshot string
}

// Container builds a docker or oci image from the root tree: the base
// image's layers (derived_from) or prepare's phase layers (o.Layers)
// unchanged, plus one layer holding what the root has beyond them,
// without what KIWI leaves out of containers (/image, /.profile, /dev,
// /proc, /sys, and /tmp and /run contents); then the image config of
// <containerconfig>. The image is named in local storage (podman run
// works at once), exported as <base>.<docker|oci>.tar (xz-compressed
// unless the runtime config says compress: none) and pushed to o.Push.
func Container(ctx context.Context, ct ContainerType, o Options) ([]Result, error) {
	o, work, err := begin(ctx, o)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	store := o.Store
	if store == nil {
		if store, err = oci.OpenStore(oci.StoreOptions{}); err != nil {
			return nil, err
		}
		defer store.Close()
	}
	base := fmt.Sprintf("%s.%s-%s", ct.Name, ct.Arch, ct.Version)
	// A delta root's packages are the base's: KIWI writes no package
	// results for it.
	packages := func() ([]Result, error) { return nil, nil }
	if !ct.DeltaRoot {
		packages = startPackageResults(ctx, o, work, base)
		defer packages()
	}

	if ct.History.CreatedBy == "" {
		// KIWI's default is "KIWI <version>": the tool that built it.
		ct.History.CreatedBy = o.Tool
	}
	b := &containerBuild{ct: ct, o: o, store: store, work: work}
	id, err := b.image(ctx)
	if err != nil {
		return nil, err
	}
	file := base + "." + ct.Image() + ".tar"
	if o.ContainerCompress != "none" {
		file += ".xz"
	}
	if err := b.archive(ctx, id, filepath.Join(work, file)); err != nil {
		return nil, err
	}
	// build.CheckPush checked the references before any work.
	for _, p := range o.Push {
		ref, err := store.ParseReference(p)
		if err != nil {
			return nil, fmt.Errorf("push: %w", err)
		}
		src, err := store.ImageReference(id)
		if err != nil {
			return nil, err
		}
		o.Log.Info("pushing the image", "to", description.RedactURL(p))
		if _, err := oci.Copy(ctx, src, ref, o.Copy); err != nil {
			return nil, err
		}
	}
	extra, err := packages()
	if err != nil {
		return nil, err
	}
	// Already xz-compressed (or left plain by the runtime config): the
	// bundle copies it as it is, as KIWI's does.
	results := []Result{{Key: "container", File: result.File{Filename: file, Shasum: true, Bundle: true}}}
	return publish(o, work, append(results, extra...))
}

// Image is the image= value of the type (docker or oci), which is also
// the middle of its result file name.
func (ct ContainerType) Image() string { return ct.Format }

// containerBuild is one run of Container.
type containerBuild struct {
	ct    ContainerType
	o     Options
	store *oci.Store
	work  string
}

// storageName is the name of a name:tag in local storage: names
// without a registry host go under localhost/, as podman names images
// it built.
func storageName(n string) string {
	first, _, ok := strings.Cut(n, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return n
	}
	return "localhost/" + n
}

// image makes (or finds, when nothing changed) the container image in
// local storage, names it and returns its ID.
func (b *containerBuild) image(ctx context.Context) (string, error) {
	ct, o := b.ct, b.o
	baseID := ""
	var err error
	switch {
	case ct.DerivedFrom != "" && o.Layers != nil && o.Layers.Base != "":
		baseID = o.Layers.Base
	case ct.DerivedFrom != "":
		o.Log.Info("providing the base image", "derived_from", description.RedactURL(ct.DerivedFrom))
		if baseID, err = b.store.Provide(ctx, ct.DerivedFrom, o.Copy); err != nil {
			return "", fmt.Errorf("derived_from: %w", err)
		}
	}
	lower, lowerSnap := baseID, ""
	if l := o.Layers; l != nil && !o.Squash && !ct.DeltaRoot && l.Lower != "" {
		lower, lowerSnap = l.Lower, l.LowerSnapshot
	}
	var names []string
	for _, n := range ct.Names {
		names = append(names, storageName(n))
	}
	// A root that is exactly a prepared image gives the same container
	// every time (with the same settings): the image made last time is
	// taken when its key matches. images.sh may change the root in any
	// way, so a root it ran in is always packed.
	if baseID == "" {
		// KIWI sets a root up for a container unless it is derived
		// from a base, which was set up when it was made.
		if err := setupContainerRoot(o.Root); err != nil {
			return "", err
		}
	}
	key := ""
	if l := o.Layers; l != nil && l.RootImage != "" && !exists(filepath.Join(o.Root, "image/images.sh")) {
		key = checksum.JSON(containerRecipe, l.RootImage, lower, baseID, ct, o.Squash, epochString(o.Epoch), excludeFile(o.Root))
		if img, err := b.store.Image(cacheName(names[0], key)); err == nil {
			o.Log.Info("the container image is unchanged", "image", names[0], "id", img.ID[:12])
			return img.ID, b.store.AddNames(img.ID, names)
		}
	}
	var prev *oci.Snapshot
	if lower != "" {
		if prev, err = b.lowerSnapshot(ctx, lower, lowerSnap); err != nil {
			return "", err
		}
	}
	exclude, err := containerExcludes(o.Root)
	if err != nil {
		return "", err
	}
	skip := slices.Clone(oci.HostDirs)
	if ct.EmptyTmpDirs {
		skip = append(skip, "tmp", "run")
	}
	snap, err := oci.TakeSnapshotExcept(o.Root, skip, exclude, nil)
	if err != nil {
		return "", err
	}
	changes, err := snap.Changes(prev)
	if err != nil {
		return "", err
	}
	parent := lower
	if ct.DeltaRoot {
		// One layer on nothing, the config the containerconfig's alone.
		parent = ""
		if changes, err = deltaChanges(o.Root, prev, snap, skip, exclude); err != nil {
			return "", err
		}
	}
	var baseCfg ispec.ImageConfig
	if baseID != "" && !ct.DeltaRoot {
		cfg, err := b.store.ImageConfig(ctx, baseID)
		if err != nil {
			return "", fmt.Errorf("read the base image's config: %w", err)
		}
		baseCfg = cfg.Config
	}
	created := time.Now()
	if o.Epoch != nil {
		created = *o.Epoch
	}
	o.Log.Info("writing the container layer", "changes", len(changes), "on", shortID(parent))
	first := names[0]
	if key != "" {
		first = cacheName(names[0], key)
	}
	out, err := b.store.AppendLayer(ctx, oci.Append{
		ParentID: parent,
		Name:     first,
		Arch:     arch.OCI(ct.Arch),
		Layer: func(w io.Writer) error {
			return oci.WriteLayer(w, o.Root, changes, o.Epoch)
		},
		History:   ct.History,
		Created:   created,
		Configure: func(cfg *ispec.Image) { ct.configure(cfg, baseCfg, baseID != "" && !ct.DeltaRoot) },
		TempDir:   o.TempDir,
	})
	if err != nil {
		return "", fmt.Errorf("commit the container image: %w", err)
	}
	return out.ImageID, b.store.AddNames(out.ImageID, names)
}

// removedFile is the file of a delta root that lists what the build
// removed from the base (KIWI's Defaults.get_removed_files_name), one
// relative path a line: a delta layer has no whiteouts, so the tool that
// runs it on the base learns from this what to take away.
const removedFile = "removed"

// deltaChanges turns the changes from the base (prev) to the root (snap)
// into a delta root's, as KIWI makes them: what the build added or
// changed, no whiteouts, and root/removed listing the base's files
// (not directories) that are gone, written (or, with none, removed) in
// the root as KIWI writes it there. Paths the container leaves out
// (skip's contents, exclude) are not "gone".
func deltaChanges(root string, prev, snap *oci.Snapshot, skip []string, exclude func(string) bool) ([]oci.Change, error) {
	var gone []string
	now := map[string]bool{}
	for _, f := range snap.Files {
		now[f.Path] = true
	}
	for i := range prev.Files {
		f := &prev.Files[i]
		if now[f.Path] || f.IsDir() || f.Path == removedFile || exclude(f.Path) {
			continue
		}
		if slices.ContainsFunc(skip, func(d string) bool { return strings.HasPrefix(f.Path, d+"/") }) {
			continue
		}
		gone = append(gone, f.Path)
	}
	p := filepath.Join(root, removedFile)
	if len(gone) == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("delta root: %w", err)
		}
	} else if err := os.WriteFile(p, []byte(strings.Join(gone, "\n")+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("delta root: write /%s: %w", removedFile, err)
	}
	// Snapshot again for the list itself (file digests are reused).
	again, err := oci.TakeSnapshotExcept(root, skip, exclude, snap)
	if err != nil {
		return nil, err
	}
	changes, err := again.Changes(prev)
	if err != nil {
		return nil, err
	}
	return oci.WithoutDeletions(changes), nil
}

// cacheName is the storage name that remembers which inputs made a
// container image.
func cacheName(name, key string) string {
	repo := name
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo = name[:i]
	}
	return "localhost/kiwi-container/" + path.Base(repo) + ":" + key[:16]
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	if id == "" {
		return "scratch"
	}
	return id
}

func epochString(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// configure writes the image config: the base image's config (derived
// images) or an empty one, then <containerconfig>. The config of the
// layers below (prepare's phase images) is not inherited: their command
// and labels are prepare's, not the image's.
func (ct ContainerType) configure(cfg *ispec.Image, base ispec.ImageConfig, derived bool) {
	c := base
	c.Labels = maps(base.Labels)
	c.ExposedPorts = structs(base.ExposedPorts)
	c.Volumes = structs(base.Volumes)
	c.Env = slices.Clone(base.Env)
	cfg.Author = ct.Maintainer
	if ct.User != "" {
		c.User = ct.User
	}
	if ct.WorkingDir != "" {
		c.WorkingDir = ct.WorkingDir
	}
	if ct.StopSignal != "" {
		c.StopSignal = ct.StopSignal
	}
	if ct.Entrypoint != nil {
		c.Entrypoint = nilIfEmpty(ct.Entrypoint)
	}
	switch {
	case ct.Cmd != nil:
		c.Cmd = nilIfEmpty(ct.Cmd)
	case !derived && ct.Entrypoint == nil:
		// KIWI's default command, for images that are no one's
		// derivative and say nothing else.
		c.Cmd = []string{"/bin/bash"}
	}
	for _, p := range ct.Expose {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		c.ExposedPorts[p] = struct{}{}
	}
	for _, v := range ct.Volumes {
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		c.Volumes[v] = struct{}{}
	}
	// Environment and labels sorted by name, as KIWI passes them.
	env := slices.Clone(ct.Env)
	slices.SortStableFunc(env, func(a, b description.Option) int { return strings.Compare(a.Name, b.Name) })
	for _, e := range env {
		c.Env = slices.DeleteFunc(c.Env, func(s string) bool { return strings.HasPrefix(s, e.Name+"=") })
		c.Env = append(c.Env, e.Name+"="+e.Value)
	}
	for _, l := range ct.Labels {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		c.Labels[l.Name] = l.Value
	}
	cfg.Config = c
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

func maps(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func structs(m map[string]struct{}) map[string]struct{} {
	if m == nil {
		return nil
	}
	out := make(map[string]struct{}, len(m))
	for k := range m {
		out[k] = struct{}{}
	}
	return out
}

// lowerSnapshot is the tree snapshot of the image the layer goes on:
// the file prepare kept, one this builder kept, or one taken of the
// image unpacked into a temp dir (and kept for next time).
func (b *containerBuild) lowerSnapshot(ctx context.Context, id, file string) (*oci.Snapshot, error) {
	if file != "" {
		if s, err := oci.ReadSnapshot(file); err == nil {
			return s, nil
		}
	}
	kept := filepath.Join(b.o.CacheDir, "container", "snapshots", id+".snapshot")
	if b.o.CacheDir != "" {
		if s, err := oci.ReadSnapshot(kept); err == nil {
			return s, nil
		}
	}
	b.o.Log.Info("unpacking the base image to see what it holds", "image", shortID(id))
	tmp, err := os.MkdirTemp(b.work, "base-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	ref, err := b.store.ImageReference(id)
	if err != nil {
		return nil, err
	}
	if err := oci.ApplyImage(ctx, ref, tmp, oci.CopyOptions{}); err != nil {
		return nil, fmt.Errorf("unpack base image %s: %w", shortID(id), err)
	}
	s, err := oci.TakeSnapshot(tmp, oci.HostDirs, nil)
	if err != nil {
		return nil, err
	}
	if b.o.CacheDir != "" {
		if err := os.MkdirAll(filepath.Dir(kept), 0o755); err == nil {
			_ = s.WriteFile(kept)
		}
	}
	return s, nil
}

// archive writes image id as the result file: from the archive cache
// when the same image was exported with the same names before, else
// exported by containers/image (through xz when compressing, which
// reads the archive as it is written) and then kept in the cache.
func (b *containerBuild) archive(ctx context.Context, id, file string) error {
	o := b.o
	cached := ""
	if o.CacheDir != "" {
		cached = filepath.Join(o.CacheDir, "container", "archives",
			id[:16]+"-"+checksum.JSON(containerRecipe, b.ct.Format, b.ct.Names, filepath.Ext(file))[:16]+filepath.Ext(file))
		if exists(cached) {
			o.Log.Info("the archive of this image is cached", "image", id[:12])
			_, err := o.Run.Run(ctx, runner.Cmd{Name: "cp", Args: []string{"--reflink=auto", cached, file}})
			return err
		}
	}
	o.Log.Info("exporting the image", "format", b.ct.Format, "file", filepath.Base(file))
	if err := b.export(ctx, id, file); err != nil {
		return err
	}
	if cached != "" {
		b.keepArchive(ctx, file, cached)
	}
	return nil
}

func (b *containerBuild) export(ctx context.Context, id, file string) error {
	o := b.o
	if !strings.HasSuffix(file, ".xz") {
		return b.store.Export(ctx, id, b.ct.Format, file, b.ct.Names)
	}
	// containers/image writes the archive into a FIFO; tarxz reads it
	// as it comes and compresses it layer by layer, taking the layers
	// an earlier build compressed from the cache.
	fifo := filepath.Join(b.work, "archive.fifo")
	if err := mkfifo(fifo); err != nil {
		return err
	}
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	defer out.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	xzo := tarxz.Options{MinSize: 1 << 20, Run: o.Run}
	if o.CacheDir != "" {
		xzo.CacheDir = filepath.Join(o.CacheDir, "container", "xz")
		tarxz.Prune(xzo.CacheDir, 30*24*time.Hour)
	}
	type done struct {
		st  tarxz.Stats
		err error
	}
	xzDone := make(chan done, 1)
	go func() {
		in, err := os.Open(fifo) // waits for the writer
		if err != nil {
			xzDone <- done{err: err}
			return
		}
		// Closing the FIFO on an error makes the writer fail rather
		// than block.
		defer in.Close()
		st, err := tarxz.Compress(ctx, in, out, xzo)
		xzDone <- done{st, err}
	}()
	err = b.store.Export(ctx, id, b.ct.Format, fifo, b.ct.Names)
	if err != nil {
		// A reader still waiting for a writer is released by one
		// that closes at once (O_RDWR: on Linux this open never waits,
		// whether the reader is there or gone).
		cancel()
		if w, werr := os.OpenFile(fifo, os.O_RDWR, 0); werr == nil {
			w.Close()
		}
		<-xzDone
		return err
	}
	d := <-xzDone
	if d.err != nil {
		return fmt.Errorf("compress the archive: %w", d.err)
	}
	o.Log.Info("compressed the archive", "layers_compressed_mb", d.st.Compressed>>20, "layers_from_cache_mb", d.st.Reused>>20)
	return out.Close()
}

// keepArchive copies a new archive into the cache, dropping archives of
// images that are gone from storage.
func (b *containerBuild) keepArchive(ctx context.Context, file, cached string) {
	dir := filepath.Dir(cached)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		id, _, _ := strings.Cut(e.Name(), "-")
		if strings.HasSuffix(e.Name(), ".tmp") {
			// A copy a killed run left; one of a live run is younger.
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
				_ = os.Remove(filepath.Join(dir, e.Name()))
			}
			continue
		}
		if _, err := b.store.Image(id); err != nil {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	tmp := fmt.Sprintf("%s.%d.tmp", cached, os.Getpid())
	if _, err := b.o.Run.Run(ctx, runner.Cmd{Name: "cp", Args: []string{"--reflink=auto", file, tmp}}); err != nil {
		b.o.Log.Warn("the archive was not cached", "error", err)
		_ = os.Remove(tmp)
		return
	}
	_ = os.Rename(tmp, cached)
}

// containerExcludes is what KIWI leaves out of a container besides the
// contents of /dev, /proc, /sys (and /tmp, /run): its own files in the
// root, and the paths of image/exclude_files.yaml.
func containerExcludes(root string) (func(string) bool, error) {
	pats := []string{"image", ".profile", ".kconfig", ".buildenv", "var/cache/kiwi"}
	more, err := readExcludeFile(root)
	if err != nil {
		return nil, err
	}
	pats = append(pats, more...)
	return func(rel string) bool {
		for _, p := range pats {
			if ok, _ := path.Match(p, rel); ok {
				return true
			}
		}
		return false
	}, nil
}

// excludeFile is the content of image/exclude_files.yaml, for cache keys.
func excludeFile(root string) string {
	b, _ := os.ReadFile(filepath.Join(root, "image/exclude_files.yaml"))
	return string(b)
}

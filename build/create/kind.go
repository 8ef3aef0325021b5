package create

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kiwi-go/kiwi/boot"
	"github.com/kiwi-go/kiwi/build/description"
)

// Job is one image planned from a description: the kind that builds it,
// its settings read, defaulted and checked. Planning reads the
// description only; nothing on disk is touched until Run.
type Job struct {
	// Kind is the table entry that builds the image (oem, iso, kis,
	// filesystem).
	Kind string
	// Image is the description's image= value.
	Image string
	// Ignored are the settings that have no effect on this image, each
	// with the reason, for the caller to warn about.
	Ignored []string
	// Mounts names what the job fills through a loop mount, "" when
	// nothing (xfs: Debian's xfsprogs cannot fill an image from a
	// directory). Only the host's root can do that.
	Mounts string

	run       func(context.Context, Options) ([]Result, error)
	rootCheck func(root string) error
	desc      *description.Description
}

// kind is one entry of the table of image kinds: the image= values it
// builds and its plan, which reads and checks the description and
// returns the builder and the check of a root that the builder needs.
type kind struct {
	name   string
	images []string
	plan   func(d *description.Description) (builder, error)
}

// builder is what a kind's plan returns.
type builder struct {
	run       func(context.Context, Options) ([]Result, error)
	rootCheck func(root string) error
	mounts    string // Job.Mounts
}

// kinds is the one place where the image types this kiwi builds are
// chosen among. An image= value in none of them is refused by Plan.
var kinds = []kind{
	{name: "oem", images: []string{"oem"}, plan: planOEM},
	{name: "iso", images: []string{"iso"}, plan: planLive},
	{name: "kis", images: []string{"kis"}, plan: planKis},
	{name: "filesystem", images: []string{"ext2", "ext3", "ext4", "btrfs", "xfs", "squashfs", "erofs"}, plan: planFS},
	{name: "container", images: []string{"docker", "oci"}, plan: planContainer},
}

// Images lists the image= values this kiwi builds, in table order.
func Images() []string {
	var out []string
	for _, k := range kinds {
		out = append(out, k.images...)
	}
	return out
}

// Buildable tells whether this kiwi builds image= value image (the
// settings of a particular description may still be refused by Plan).
func Buildable(image string) bool {
	return slices.Contains(Images(), image)
}

// Plan checks everything about d's selected type that can be checked
// without a root tree and returns the job that builds it: an image type
// this kiwi does not build, a setting it does not build yet (luks,
// volumes, install media...), a value a kind cannot take (a format,
// filesystem or firmware), or an arch whose boot loader kiwi does not
// install are errors naming the element, attribute and value. Settings
// that have no effect here are listed in Job.Ignored. Plan writes
// nothing.
func Plan(d *description.Description) (*Job, error) {
	image := d.Type.Image
	i := slices.IndexFunc(kinds, func(k kind) bool { return slices.Contains(k.images, image) })
	if i < 0 {
		return nil, fmt.Errorf("%s: <type image=%q>: this kiwi does not build image type %q yet; it builds %s",
			d.File, image, image, strings.Join(Images(), ", "))
	}
	k := kinds[i]
	ignored, err := checkSettings(d, k.name)
	if err != nil {
		return nil, err
	}
	b, err := k.plan(d)
	if err != nil {
		return nil, fmt.Errorf("%s: <type image=%q>: %w", d.File, image, err)
	}
	return &Job{Kind: k.name, Image: image, Ignored: ignored, Mounts: b.mounts, run: b.run, rootCheck: b.rootCheck, desc: d}, nil
}

// mountsFor is a builder's mounts for a filesystem fs it fills from the
// root tree, named what: only xfs is filled through a loop mount.
func mountsFor(fs, what string) string {
	if fs != "xfs" {
		return ""
	}
	return what
}

// CheckRoot checks that root has what the job needs inside it (a kernel,
// dracut, the tools of first-boot steps) before any work. It writes
// nothing.
func (j *Job) CheckRoot(root string) error {
	if j.rootCheck == nil {
		return nil
	}
	return j.rootCheck(root)
}

// Run builds the image from the root tree o.Root into o.TargetDir. When
// the root is an image in local storage whose results from the same
// description, options and kiwi were kept, they are copied instead (see
// cache.go).
func (j *Job) Run(ctx context.Context, o Options) ([]Result, error) {
	o.desc = j.desc
	c := j.resultCache(o)
	if c != nil && o.ClearCache {
		if err := c.drop(); err != nil {
			return nil, fmt.Errorf("clear the cached results: %w", err)
		}
	} else if c != nil {
		res, ok, err := c.reuse(ctx, o)
		if err != nil || ok {
			return res, err
		}
	}
	res, err := j.run(ctx, o)
	if err != nil || c == nil {
		return res, err
	}
	if err := c.keep(o, res); err != nil {
		o.Log.Warn("the results were not cached: the next build of the same input makes them again", "error", err)
	}
	return res, nil
}

// bootableArch fails for disks and live ISOs of other arches than
// x86_64: the boot loader kiwi installs (grub for i386-pc and x86_64-efi)
// would not boot them.
func bootableArch(d *description.Description) error {
	if d.TargetArch == "" || d.TargetArch == "x86_64" {
		return nil
	}
	return fmt.Errorf("kiwi installs grub for x86_64 (BIOS and EFI) only so far, which does not boot on %s; build a kis or filesystem type (ext4, squashfs, ...) for %s",
		d.TargetArch, d.TargetArch)
}

// bootRootCheck is the root check of bootable kinds: a kernel and
// dracut in the root.
func bootRootCheck(root string) error {
	if _, err := boot.FindKernel(root); err != nil {
		return err
	}
	return boot.HasDracut(root)
}

func planOEM(d *description.Description) (builder, error) {
	if err := checkBootSettings(d); err != nil {
		return builder{}, err
	}
	if err := bootableArch(d); err != nil {
		return builder{}, err
	}
	dt, err := DiskTypeOf(d)
	if err != nil {
		return builder{}, err
	}
	if err := dt.check(); err != nil {
		return builder{}, err
	}
	return builder{
		mounts: mountsFor(dt.Filesystem, `the xfs root filesystem (filesystem="xfs")`),
		run:    func(ctx context.Context, o Options) ([]Result, error) { return OEM(ctx, dt, o) },
		rootCheck: func(root string) error {
			if err := bootRootCheck(root); err != nil {
				return err
			}
			// A resize that cannot run at first boot is never shipped,
			// nor an installer that cannot reach its image.
			if dt.OEMResize {
				if err := boot.ResizeTools(root, dt.Filesystem); err != nil {
					return err
				}
			}
			if dt.InstallPXE {
				return boot.PXETools(root)
			}
			return nil
		},
	}, nil
}

func planLive(d *description.Description) (builder, error) {
	if err := checkBootSettings(d); err != nil {
		return builder{}, err
	}
	if err := bootableArch(d); err != nil {
		return builder{}, err
	}
	lt, _ := LiveTypeOf(d)
	lt, err := lt.withDefaults()
	if err != nil {
		return builder{}, err
	}
	return builder{
		run:       func(ctx context.Context, o Options) ([]Result, error) { return Live(ctx, lt, o) },
		rootCheck: lt.checkRoot,
	}, nil
}

func planKis(d *description.Description) (builder, error) {
	if err := checkBootSettings(d); err != nil {
		return builder{}, err
	}
	kt, _ := KisTypeOf(d)
	kt, err := kt.withDefaults()
	if err != nil {
		return builder{}, err
	}
	return builder{
		run:       func(ctx context.Context, o Options) ([]Result, error) { return Kis(ctx, kt, o) },
		rootCheck: bootRootCheck,
		mounts:    mountsFor(kt.Filesystem, `the xfs root filesystem (filesystem="xfs")`),
	}, nil
}

func planFS(d *description.Description) (builder, error) {
	ft, _ := FSTypeOf(d)
	return builder{
		mounts: mountsFor(ft.Filesystem, "the xfs filesystem image"),
		run:    func(ctx context.Context, o Options) ([]Result, error) { return FS(ctx, ft, o) },
	}, nil
}

func planContainer(d *description.Description) (builder, error) {
	ct, err := ContainerTypeOf(d)
	if err != nil {
		return builder{}, err
	}
	return builder{
		run: func(ctx context.Context, o Options) ([]Result, error) { return Container(ctx, ct, o) },
	}, nil
}

// checkBootSettings refuses boot loaders and initrd systems kiwi does not
// install: it installs grub2 and builds every initrd with the image's
// dracut.
func checkBootSettings(d *description.Description) error {
	if b := d.Type.Bootloader; b != nil && b.Name != "grub2" {
		return fmt.Errorf("<bootloader name=%q>: this kiwi installs grub2 only so far; use name=\"grub2\"", b.Name)
	}
	if b := d.Type.Bootloader; b != nil {
		for _, c := range strings.Fields(b.Console) {
			if c != "serial" && c != "console" {
				return fmt.Errorf("<bootloader output_console=%q>: this kiwi sets up grub's serial and text consoles only (serial, console or both); leave %s out", b.Console, c)
			}
		}
	}
	switch f := d.Type.Firmware; f {
	case "", "bios", "efi", "uefi":
	default:
		return fmt.Errorf("firmware=%q: this kiwi boots images with bios, efi or uefi (shim) firmware only so far", f)
	}
	if p := d.Type.DevicePersistency; p == "by-partuuid" {
		return fmt.Errorf("devicepersistency=%q: this kiwi names filesystems by-uuid (default) or by-label only so far", p)
	}
	if s := d.Type.InitrdSystem; s != "" && s != "dracut" {
		return fmt.Errorf("initrd_system=%q: this kiwi builds the initrd with the image's dracut only; use initrd_system=\"dracut\" or leave it out", s)
	}
	return nil
}

package disk

import (
	"fmt"
	"os"

	"github.com/diskfs/go-diskfs/partition/gpt"
)

// Grow makes the disk image at path size bytes, more than it has, as
// KIWI's image resize does with qemu-img and its partitioner's
// resize_table, but without a loop device: the file grows sparsely, and
// a GPT gets its backup header and table at the new end (the protective
// MBR and the last usable sector follow), its disk and partition GUIDs
// kept. An msdos table needs no change. The partitions stay as they are:
// the image's kiwi-resize grows the root at its next boot. It returns
// the old size, and undo, which puts the image back as it was.
func Grow(path string, size int64) (old int64, undo func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, nil, err
	}
	old = fi.Size()
	if size <= old {
		return old, nil, fmt.Errorf("%s is %d bytes already: give a size larger than that (image resize only grows a disk)", path, old)
	}
	const sector = 512
	if size%sector != 0 {
		size += sector - size%sector
	}
	// A table that is not GPT is read as none: msdos needs no change.
	table, gptErr := gpt.Read(f, sector, sector)
	rewrite := func(f *os.File, t *gpt.Table, to int64) error {
		fresh := &gpt.Table{LogicalSectorSize: sector, PhysicalSectorSize: sector, ProtectiveMBR: t.ProtectiveMBR, GUID: t.GUID}
		for _, p := range t.Partitions {
			if p.Type == gpt.Unused {
				continue
			}
			fresh.Partitions = append(fresh.Partitions, &gpt.Partition{Index: p.Index, Start: p.Start, End: p.End, Size: p.Size,
				Type: p.Type, Name: p.Name, GUID: p.GUID, Attributes: p.Attributes})
		}
		return fresh.Write(f, to)
	}
	undo = func() error {
		g, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer g.Close()
		if err := g.Truncate(old); err != nil {
			return err
		}
		if gptErr == nil {
			return rewrite(g, table, old)
		}
		return nil
	}
	if err := f.Truncate(size); err != nil {
		return old, nil, fmt.Errorf("grow %s: %w", path, err)
	}
	if gptErr == nil {
		if err := rewrite(f, table, size); err != nil {
			_ = f.Truncate(old)
			return old, nil, fmt.Errorf("move the GPT of %s to its new end: %w", path, err)
		}
	}
	return old, undo, f.Sync()
}

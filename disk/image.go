package disk

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"
	"golang.org/x/sys/unix"
)

// NewImage creates the sparse raw image file for l at path (replacing
// any file there) and writes its partition table.
func NewImage(path string, l *Layout) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(l.Size); err != nil {
		f.Close()
		return nil, fmt.Errorf("size disk image %s: %w", path, err)
	}
	if err := writeTable(f, l); err != nil {
		f.Close()
		return nil, fmt.Errorf("partition table of %s: %w", path, err)
	}
	return f, nil
}

func writeTable(f *os.File, l *Layout) error {
	const sector = 512
	switch l.Table {
	case "gpt":
		t := &gpt.Table{LogicalSectorSize: sector, PhysicalSectorSize: sector, ProtectiveMBR: true, GUID: l.GUID}
		for _, p := range l.Partitions {
			t.Partitions = append(t.Partitions, &gpt.Partition{
				Index: p.Number, Start: uint64(p.Start / sector), End: uint64(p.End()/sector - 1),
				Size: uint64(p.Size), Type: gpt.Type(p.TypeGUID), Name: p.Name, GUID: p.GUID,
			})
		}
		return t.Write(f, l.Size)
	case "msdos":
		t := &mbr.Table{LogicalSectorSize: sector, PhysicalSectorSize: sector}
		for _, p := range l.Partitions {
			t.Partitions = append(t.Partitions, &mbr.Partition{
				Index: p.Number, Type: mbr.Type(p.MBRType), Start: uint32(p.Start / sector), Size: uint32(p.Size / sector),
				Bootable: p.Role == RoleRoot,
			})
		}
		return t.Write(f, l.Size)
	}
	return fmt.Errorf("unknown partition table %q", l.Table)
}

// CopyInto copies the file src into dst at offset, skipping the holes of
// src so the disk image stays sparse. src must fit in size bytes.
func CopyInto(dst *os.File, offset, size int64, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if fi.Size() > size {
		return fmt.Errorf("%s is %d bytes, its partition only %d", src, fi.Size(), size)
	}
	var pos int64
	for pos < fi.Size() {
		data, err := unix.Seek(int(in.Fd()), pos, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // only a hole is left
		}
		if err != nil {
			return fmt.Errorf("find data in %s: %w", src, err)
		}
		hole, err := unix.Seek(int(in.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			return fmt.Errorf("find hole in %s: %w", src, err)
		}
		if _, err := in.Seek(data, io.SeekStart); err != nil {
			return err
		}
		if _, err := dst.Seek(offset+data, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.CopyN(dst, in, hole-data); err != nil {
			return fmt.Errorf("copy %s into the disk image: %w", src, err)
		}
		pos = hole
	}
	return nil
}

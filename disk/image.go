package disk

import (
	"crypto/sha256"
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

// partChunk is the unit PartitionFile compares: a hook that changes one
// inode rewrites one MiB of the disk, not the partition.
const partChunk = MiB

// PartitionFile is one partition of a disk image copied out into a file
// of its own, for a tool that wants the partition as a device (KIWI's
// edit_boot_install.sh gets a loop device node; this kiwi has none).
// WriteBack puts the chunks that changed since the copy into the disk.
type PartitionFile struct {
	// Path is the copy.
	Path         string
	offset, size int64
	// sums holds each chunk's digest at copy time; an all-zero chunk
	// has the zero digest (it is not hashed, and is a hole in Path).
	sums [][sha256.Size]byte
}

// ExtractPartition copies p of the disk image img into the sparse file
// path. After an error path may exist, partly written; img is unchanged.
func ExtractPartition(img string, p Partition, path string) (*PartitionFile, error) {
	in, err := os.Open(img)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	out, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	if err := out.Truncate(p.Size); err != nil {
		return nil, fmt.Errorf("size %s: %w", path, err)
	}
	pf := &PartitionFile{Path: path, offset: p.Start, size: p.Size}
	buf := make([]byte, partChunk)
	for pos := int64(0); pos < p.Size; pos += partChunk {
		n := min(partChunk, p.Size-pos)
		if _, err := in.ReadAt(buf[:n], p.Start+pos); err != nil {
			return nil, fmt.Errorf("read partition %d of %s: %w", p.Number, img, err)
		}
		sum := chunkSum(buf[:n])
		pf.sums = append(pf.sums, sum)
		if sum == ([sha256.Size]byte{}) {
			continue
		}
		if _, err := out.WriteAt(buf[:n], pos); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
	}
	return pf, out.Close()
}

// WriteBack writes the chunks of the copy that differ from what was
// copied out into img, at the partition's place, and returns how many
// bytes it wrote. A copy whose size changed is refused (a partition
// cannot grow in place), and img is left as it was.
func (pf *PartitionFile) WriteBack(img string) (int64, error) {
	in, err := os.Open(pf.Path)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Size() != pf.size {
		return 0, fmt.Errorf("%s is now %d bytes, the partition %d: a partition cannot change its size here", pf.Path, fi.Size(), pf.size)
	}
	out, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	buf := make([]byte, partChunk)
	var written int64
	for i, pos := 0, int64(0); pos < pf.size; i, pos = i+1, pos+partChunk {
		n := min(partChunk, pf.size-pos)
		if _, err := in.ReadAt(buf[:n], pos); err != nil {
			return written, fmt.Errorf("read %s: %w", pf.Path, err)
		}
		if chunkSum(buf[:n]) == pf.sums[i] {
			continue
		}
		if _, err := out.WriteAt(buf[:n], pf.offset+pos); err != nil {
			return written, fmt.Errorf("write the partition back into %s: %w", img, err)
		}
		written += n
	}
	return written, out.Close()
}

// chunkSum is b's SHA-256, or the zero digest when b is all zeros.
func chunkSum(b []byte) [sha256.Size]byte {
	for _, c := range b {
		if c != 0 {
			return sha256.Sum256(b)
		}
	}
	return [sha256.Size]byte{}
}

package result

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiwi-go/kiwi/artifact"
	"github.com/kiwi-go/kiwi/oci"
)

// ArtifactType is the artifactType of a target dir's results kept as an
// OCI artifact (Push).
const ArtifactType = "application/vnd.kiwi-go.result.v1"

// Annotations of a results artifact, beside the image spec's title,
// version and created on the manifest.
const (
	// KeyAnnotation is a result file's key in kiwi.result.json.
	KeyAnnotation = "io.kiwi-go.result.key"
	// TypeAnnotation is the image type (the bundle_format tag T).
	TypeAnnotation = "io.kiwi-go.result.type"
)

// IndexMediaType is kiwi.result.json's media type in the artifact.
const IndexMediaType = "application/vnd.kiwi-go.result.index+json"

// mediaTypes are the result files' media types by the ending of their
// names, longest ending first (".docker.tar.xz" before ".tar.xz"): what
// build/create writes, so a registry UI or a consumer can tell a disk
// from a package list without kiwi.result.json.
var mediaTypes = []struct{ suffix, mediaType string }{
	// Disks: raw, and what qemu-img converted them to (format=).
	{".raw", "application/vnd.kiwi-go.disk.raw"},
	{".qcow2", "application/vnd.kiwi-go.disk.qcow2"},
	{".vmdk", "application/vnd.kiwi-go.disk.vmdk"},
	{".vdi", "application/vnd.kiwi-go.disk.vdi"},
	{".vhdx", "application/vnd.kiwi-go.disk.vhdx"},
	{".vhdfixed", "application/vnd.kiwi-go.disk.vhdfixed"},
	{".vhd", "application/vnd.kiwi-go.disk.vhd"},
	// Disks packed with their settings: an OVF appliance (a tar), a
	// Vagrant box (a tar.gz), VMware's machine settings.
	{".ova", "application/vnd.kiwi-go.disk.ova"},
	{".box", "application/vnd.kiwi-go.disk.vagrant-box"},
	{".vmx", "application/vnd.kiwi-go.disk.vmx"},
	// ISOs: live and install images.
	{".iso", "application/vnd.kiwi-go.iso"},
	// Container images as archives (docker-archive, oci-archive), plain
	// or xz-compressed.
	{".docker.tar.xz", "application/vnd.kiwi-go.container.docker-archive+xz"},
	{".docker.tar", "application/vnd.kiwi-go.container.docker-archive"},
	{".oci.tar.xz", "application/vnd.kiwi-go.container.oci-archive+xz"},
	{".oci.tar", "application/vnd.kiwi-go.container.oci-archive"},
	// The PXE install archive, KIS archives, gce disks and other tars.
	{".install.tar", "application/vnd.kiwi-go.install.tar"},
	{".tar.xz", "application/vnd.kiwi-go.archive.tar+xz"},
	{".tar.gz", "application/vnd.kiwi-go.archive.tar+gzip"},
	{".tar", "application/vnd.kiwi-go.archive.tar"},
	// Filesystem images (image= a filesystem).
	{".ext2", "application/vnd.kiwi-go.filesystem.ext2"},
	{".ext3", "application/vnd.kiwi-go.filesystem.ext3"},
	{".ext4", "application/vnd.kiwi-go.filesystem.ext4"},
	{".btrfs", "application/vnd.kiwi-go.filesystem.btrfs"},
	{".xfs", "application/vnd.kiwi-go.filesystem.xfs"},
	{".squashfs", "application/vnd.kiwi-go.filesystem.squashfs"},
	{".erofs", "application/vnd.kiwi-go.filesystem.erofs"},
	// A KIS's boot files.
	{".kernel", "application/vnd.kiwi-go.kernel"},
	{".initrd", "application/vnd.kiwi-go.initrd"},
	{".append", "text/plain"},
	// Package lists, their verification, the changes; checksums.
	{".packages", "text/plain"},
	{".verified", "text/plain"},
	{".changes", "text/plain"},
	{".sha256", "text/plain"},
	{".xz", "application/x-xz"},
}

// MediaType is the media type of a result file by its name.
func MediaType(name string) string {
	if filepath.Base(name) == FileName {
		return IndexMediaType
	}
	for _, m := range mediaTypes {
		if strings.HasSuffix(name, m.suffix) {
			return m.mediaType
		}
	}
	return artifact.DefaultMediaType
}

// Push pushes the results of target (its kiwi.result.json) to ref as an
// OCI artifact of ArtifactType and returns the manifest's digest: every
// result file once, the .sha256 beside each checksummed one, and
// kiwi.result.json. SOURCE_DATE_EPOCH, when set, is its creation time.
func Push(ctx context.Context, target, ref string, o oci.CopyOptions) (digest.Digest, error) {
	r, err := Read(target)
	if err != nil {
		return "", err
	}
	created, err := creationTime()
	if err != nil {
		return "", err
	}
	files, err := artifactFiles(r, target)
	if err != nil {
		return "", err
	}
	ann := map[string]string{imgspecv1.AnnotationCreated: created.Format(time.RFC3339)}
	for k, v := range map[string]string{imgspecv1.AnnotationTitle: r.Format.Tags.Name,
		imgspecv1.AnnotationVersion: r.Format.Tags.Version, TypeAnnotation: r.Format.Tags.Type} {
		if v != "" {
			ann[k] = v
		}
	}
	return artifact.Push(ctx, ref, artifact.Artifact{Type: ArtifactType, Files: files, Annotations: ann}, o)
}

// artifactFiles are the layers of r's artifact: the result files in key
// order, then the checksum files, then kiwi.result.json. A name comes
// once: a pull restores all of them into one dir by name.
func artifactFiles(r *Results, target string) ([]artifact.File, error) {
	var files []artifact.File
	byName := map[string]string{} // name: path
	add := func(f artifact.File, what string) error {
		if p, ok := byName[f.Name]; ok {
			if p == f.Path {
				return nil
			}
			return fmt.Errorf("%s %s and %s have the same name: a pull restores both as %s; give one of them another name", what, f.Path, p, f.Name)
		}
		byName[f.Name] = f.Path
		files = append(files, f)
		return nil
	}
	var sums []string
	for _, k := range r.Keys() {
		p := Locate(r.Files[k], target)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("result %s: %w (was the target dir %s changed since the build?)", k, err, target)
		}
		name := filepath.Base(p)
		if err := add(artifact.File{Name: name, Path: p, MediaType: MediaType(name), Annotations: map[string]string{KeyAnnotation: k}}, "result "+k); err != nil {
			return nil, err
		}
		if r.Files[k].Shasum {
			sums = append(sums, p+".sha256")
		}
	}
	for _, p := range sums {
		if _, err := os.Stat(p); err != nil {
			continue // not written for every checksummed result (KIWI NG's targets)
		}
		name := filepath.Base(p)
		if err := add(artifact.File{Name: name, Path: p, MediaType: MediaType(name)}, "checksum"); err != nil {
			return nil, err
		}
	}
	index := filepath.Join(target, FileName)
	if err := add(artifact.File{Name: FileName, Path: index, MediaType: IndexMediaType}, "the record"); err != nil {
		return nil, err
	}
	return files, nil
}

// creationTime is SOURCE_DATE_EPOCH (so a rebuilt artifact is the same
// bytes) or now.
func creationTime() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Now().UTC().Truncate(time.Second), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: give whole seconds since 1970-01-01", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Pull restores the results pushed to ref into target (made if missing;
// it must not hold any of the files) and reads them back: kiwi.result.json
// must be readable and name only files the artifact has, and every file
// with a <file>.sha256 beside it must match it. Then target is a target
// dir as create leaves one: kiwi.result.json is rewritten to name the
// files in target, not where they were pushed from (so its content is no
// longer the pushed record's, whose digest the returned Pulled has).
func Pull(ctx context.Context, ref, target string, o oci.CopyOptions) (_ *Results, _ []artifact.Pulled, retErr error) {
	_, err := os.Stat(target)
	made := errors.Is(err, fs.ErrNotExist)
	pulled, err := artifact.Pull(ctx, ref, target, ArtifactType, o)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		// What does not check out is not left to be taken for results.
		if retErr != nil {
			for _, p := range pulled {
				os.Remove(p.Path)
			}
			if made {
				os.Remove(target)
			}
		}
	}()
	r, err := Read(target)
	if err != nil {
		return nil, nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	byName := map[string]artifact.Pulled{}
	for _, p := range pulled {
		byName[p.Name] = p
	}
	for _, p := range pulled {
		sum, ok := byName[p.Name+".sha256"]
		if !ok {
			continue
		}
		if err := checkSum(p, sum.Path); err != nil {
			return nil, nil, fmt.Errorf("pull %s: %w", ref, err)
		}
	}
	// The record names the files where they were pushed from: now they
	// are in target, and list, bundle and push must take these, even
	// where the old target dir is still there.
	abs, err := filepath.Abs(target)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range r.Keys() {
		f := r.Files[k]
		name := filepath.Base(f.Filename)
		if _, ok := byName[name]; !ok {
			return nil, nil, fmt.Errorf("pull %s: result %s (%s) is not in the artifact: it is incomplete", ref, k, name)
		}
		f.Filename = filepath.Join(abs, name)
		r.Files[k] = f
	}
	if err := r.Write(target); err != nil {
		return nil, nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	return r, pulled, nil
}

// sha256Line is a line of sha256sum's output: the hex sum, then the name
// ('*' before it in binary mode).
var sha256Line = regexp.MustCompile(`^([0-9a-fA-F]{64}) [ *]?(\S.*)$`)

// checkSum checks f against its companion sumFile, "<hex>  <name>" as
// KIWI writes it. A PXE-style checksum ("<hex> <blocks> <blocksize>",
// three fields) belongs to an image inside an archive, not to f: it is
// not checked.
func checkSum(f artifact.Pulled, sumFile string) error {
	b, err := os.ReadFile(sumFile)
	if err != nil {
		return err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if fields := strings.Fields(line); len(fields) == 3 && isNumber(fields[1]) && isNumber(fields[2]) {
		return nil
	}
	m := sha256Line.FindStringSubmatch(line)
	if m == nil {
		return fmt.Errorf("%s is no sha256sum line (\"<sha256>  <file>\"): the artifact is damaged", filepath.Base(sumFile))
	}
	want := strings.ToLower(m[1])
	got := ""
	if f.Digest.Algorithm() == digest.SHA256 {
		// Pull checked the file against this digest.
		got = f.Digest.Encoded()
	} else if got, err = fileSHA256(f.Path); err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s does not match its checksum %s (sha256 %s, it says %s): the file or its checksum was changed after the build", f.Name, filepath.Base(sumFile), got, want)
	}
	return nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

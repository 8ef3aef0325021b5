package create

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/google/uuid"

	"github.com/kiwi-go/kiwi/internal/runner"
	"github.com/kiwi-go/kiwi/internal/timing"
)

// diskFormat is what one format= value makes of an oem build's raw disk,
// as work/<base>.<suffix>.
type diskFormat struct {
	// qemu is qemu-img's output format; opts are its -o options before
	// the description's formatoptions.
	qemu string
	opts []string
	// suffix follows <base>. in the result's name, as KIWI names it.
	suffix func(t DiskType) string
	// pack, for the formats that wrap a disk with metadata (gce,
	// vagrant, ova), writes the members of the result's archive into
	// dir instead of qemu-img alone; the archive is a GNU tar.gz, or
	// with ustar a plain POSIX tar (OVF's package format).
	pack  func(ctx context.Context, p packing) ([]string, error)
	ustar bool
	// vmx: KIWI writes VMware's settings file <base>.vmx beside it.
	vmx bool
	// bundleCompress: result bundle xz-compresses it by default, as
	// KIWI 10 flags it (qcow2 is compressed by qemu-img already; vmdk
	// stopped being compressed in KIWI 10; archives are compressed).
	bundleCompress bool
}

func fixed(s string) func(DiskType) string { return func(DiskType) string { return s } }

// diskFormats is every format= value create makes.
var diskFormats = map[string]diskFormat{
	"qcow2":     {qemu: "qcow2", suffix: fixed("qcow2")},
	"vmdk":      {qemu: "vmdk", suffix: fixed("vmdk"), vmx: true},
	"vdi":       {qemu: "vdi", suffix: fixed("vdi"), bundleCompress: true},
	"vhdx":      {qemu: "vhdx", suffix: fixed("vhdx"), bundleCompress: true},
	"vhd":       {qemu: "vpc", suffix: fixed("vhd"), bundleCompress: true},
	"vhd-fixed": {qemu: "vpc", opts: []string{"subformat=fixed", "force_size=on"}, suffix: fixed("vhdfixed"), bundleCompress: true},
	// Google Compute Engine: disk.raw in a GNU tar.gz, with manifest.json
	// naming the gcelicense when there is one.
	"gce": {suffix: fixed("tar.gz"), pack: packGCE},
	// A vagrant box: metadata.json, Vagrantfile and the provider's disk
	// (libvirt: box.img, qcow2; virtualbox: box.vmdk and box.ovf) in a
	// tar.gz.
	"vagrant": {suffix: func(t DiskType) string { return "vagrant." + t.Vagrant.Provider + ".box" }, pack: packVagrant},
	// An OVF appliance for VMware: the OVF descriptor of the <machine>,
	// its manifest and the streamOptimized vmdk in a tar.
	"ova": {suffix: fixed("ova"), pack: packOVA, ustar: true},
}

// formatNames are the format= values create makes, sorted.
func formatNames() []string {
	var names []string
	for n := range diskFormats {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// VagrantConfig is the <vagrantconfig> of format="vagrant".
type VagrantConfig struct {
	Provider string // libvirt or virtualbox
	// VirtualSize is the box's disk size in GiB for vagrant (metadata);
	// KIWI's default is 42.
	VirtualSize int
	// Vagrantfile, when set, is the description's own Vagrantfile
	// (embedded_vagrantfile), used instead of KIWI's.
	Vagrantfile string
	// GuestAdditions (virtualbox_guest_additions_present): the box
	// shares /vagrant through them, not rsync.
	GuestAdditions bool
}

// vagrantProviders are the providers KIWI makes boxes for.
var vagrantProviders = []string{"libvirt", "virtualbox"}

// convert writes the raw disk in format t.Format into work and returns
// the result's file name, <base>.<suffix>. After an error work may hold
// part of it.
//
// With epoch (SOURCE_DATE_EPOCH) an archive's members carry its time,
// so that the same disk gives the same archive.
func convert(ctx context.Context, r runner.Runner, t DiskType, raw, work, base string, epoch *time.Time) (string, error) {
	defer timing.Start(ctx, "convert")()
	f, ok := diskFormats[t.Format]
	if !ok {
		return "", fmt.Errorf("disk format %q: use %s", t.Format, strings.Join(formatNames(), ", "))
	}
	name := base + "." + f.suffix(t)
	if f.pack == nil {
		return name, qemuConvert(ctx, r, raw, filepath.Join(work, name), f.qemu, append(slices.Clone(f.opts), t.FormatOptions...), epoch)
	}
	dir, err := os.MkdirTemp(work, "format-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	members, err := f.pack(ctx, packing{r: r, t: t, raw: raw, dir: dir, base: base, epoch: epoch})
	if err != nil {
		return "", fmt.Errorf("format %s: %w", t.Format, err)
	}
	// Owners are root's whoever builds. GNU format and -S: disk.raw is
	// sparse, and stays so (KIWI's tar for gce). pigz, when the host
	// has it, makes the same gzip format on every core.
	// gzip -n: no time in the gzip header either.
	args := []string{"--owner=0", "--group=0", "--numeric-owner"}
	if epoch != nil {
		args = append(args, "--mtime=@"+strconv.FormatInt(epoch.Unix(), 10))
	}
	if f.ustar {
		args = append(args, "--format=ustar")
	} else {
		gzip := "--use-compress-program=gzip -n"
		if _, err := exec.LookPath("pigz"); err == nil {
			gzip = "--use-compress-program=pigz -n"
		}
		args = append(args, "--format=gnu", "-S", gzip)
	}
	args = append(append(args, "-cf", filepath.Join(work, name), "-C", dir), members...)
	if _, err := r.Run(ctx, runner.Cmd{Name: "tar", Args: args}); err != nil {
		return "", fmt.Errorf("format %s: %w", t.Format, err)
	}
	return name, nil
}

// packing is what a format's pack is given: the raw disk, the dir its
// members go to, the result's base name and the epoch.
type packing struct {
	r     runner.Runner
	t     DiskType
	raw   string
	dir   string
	base  string
	epoch *time.Time
}

// qemu converts the raw disk into the member name of p.dir.
func (p packing) qemu(ctx context.Context, name, format string, opts []string) error {
	return qemuConvert(ctx, p.r, p.raw, filepath.Join(p.dir, name), format, opts, p.epoch)
}

// qemuConvert converts the raw disk with qemu-img. A vmdk's descriptor
// holds a content ID qemu-img draws at random; with epoch it is derived
// from the epoch instead, so the same disk gives the same vmdk.
func qemuConvert(ctx context.Context, r runner.Runner, raw, out, format string, opts []string, epoch *time.Time) error {
	args := []string{"convert", "-f", "raw", "-O", format}
	if len(opts) > 0 {
		args = append(args, "-o", strings.Join(opts, ","))
	}
	if _, err := r.Run(ctx, runner.Cmd{Name: "qemu-img", Args: append(args, raw, out)}); err != nil {
		return err
	}
	if format == "vmdk" && epoch != nil {
		sum := sha256.Sum256([]byte("kiwi-vmdk-cid\x00" + strconv.FormatInt(epoch.Unix(), 10)))
		return setVMDKContentID(out, fmt.Sprintf("%x", sum[:4]))
	}
	return nil
}

// vmdkCID is the content ID line of a vmdk descriptor: qemu-img writes
// it with %x, 1 to 8 hex digits.
var vmdkCID = regexp.MustCompile(`(?m)^CID=[0-9a-f]{1,8}$`)

// setVMDKContentID writes cid (8 hex digits) as the CID of the vmdk's
// embedded descriptor, in place: the sparse extent header (its first
// sector) names the descriptor's sectors, whose text is NUL-padded, so
// the new line fits whatever the old one's length.
func setVMDKContentID(p, cid string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	var head [512]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		return fmt.Errorf("read vmdk header of %s: %w", p, err)
	}
	if string(head[:4]) != "KDMV" {
		return fmt.Errorf("vmdk %s: no sparse extent header", p)
	}
	off := int64(binary.LittleEndian.Uint64(head[28:36])) * 512
	size := int64(binary.LittleEndian.Uint64(head[36:44])) * 512
	if off <= 0 || size <= 0 || size > 1<<20 {
		return fmt.Errorf("vmdk %s: no embedded descriptor", p)
	}
	area := make([]byte, size)
	if _, err := f.ReadAt(area, off); err != nil {
		return fmt.Errorf("read vmdk descriptor of %s: %w", p, err)
	}
	text := area
	if i := bytes.IndexByte(area, 0); i >= 0 {
		text = area[:i]
	}
	if !vmdkCID.Match(text) {
		return fmt.Errorf("vmdk %s: no CID in its descriptor", p)
	}
	text = vmdkCID.ReplaceAll(text, []byte("CID="+cid))
	if int64(len(text)) > size {
		return fmt.Errorf("vmdk %s: the descriptor has no room for the new CID", p)
	}
	out := make([]byte, size)
	copy(out, text)
	if _, err := f.WriteAt(out, off); err != nil {
		return err
	}
	return f.Close()
}

// packGCE puts the raw disk into dir as disk.raw (a hard link: no copy
// of gigabytes), with manifest.json when the type names a license.
func packGCE(_ context.Context, p packing) ([]string, error) {
	t, raw, dir := p.t, p.raw, p.dir
	var members []string
	if t.GCELicense != "" {
		b, err := json.Marshal(map[string][]string{"licenses": {t.GCELicense}})
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
			return nil, err
		}
		members = append(members, "manifest.json")
	}
	if err := os.Link(raw, filepath.Join(dir, "disk.raw")); err != nil {
		return nil, err
	}
	return append(members, "disk.raw"), nil
}

// packVagrant writes a vagrant box's files into dir.
func packVagrant(ctx context.Context, p packing) ([]string, error) {
	t, dir := p.t, p.dir
	v := t.Vagrant
	size := v.VirtualSize
	if size == 0 {
		size = 42
	}
	meta := map[string]any{"provider": v.Provider}
	var disk []string
	var settings string
	switch v.Provider {
	case "libvirt":
		if err := p.qemu(ctx, "box.img", "qcow2", t.FormatOptions); err != nil {
			return nil, err
		}
		meta["format"], meta["virtual_size"] = "qcow2", size
		disk = []string{"box.img"}
		settings = `config.vm.synced_folder ".", "/vagrant", type: "rsync"
config.vm.provider :libvirt do |libvirt|
  libvirt.driver = "kvm"
end`
	case "virtualbox":
		if err := p.qemu(ctx, "box.vmdk", "vmdk", append([]string{"subformat=streamOptimized"}, t.FormatOptions...)); err != nil {
			return nil, err
		}
		if err := writeVirtualBoxOVF(filepath.Join(dir, "box.ovf"), t, size); err != nil {
			return nil, err
		}
		disk = []string{"box.vmdk", "box.ovf"}
		// The MAC address comes from the image's name and version, not
		// from chance (KIWI's is random): the same input, the same box.
		sum := sha256.Sum256([]byte(t.Name + "\x00" + t.Version))
		settings = fmt.Sprintf(`config.vm.base_mac = "00163E%02X%02X%02X"`, sum[0]&0x7e, sum[1], sum[2])
		if !v.GuestAdditions {
			settings += "\n" + `config.vm.synced_folder ".", "/vagrant", type: "rsync"`
		}
	default:
		return nil, fmt.Errorf("vagrant provider %q: use %s", v.Provider, strings.Join(vagrantProviders, " or "))
	}
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "metadata.json"), b, 0o644); err != nil {
		return nil, err
	}
	vagrantfile := []byte("Vagrant.configure(\"2\") do |config|\n  " + strings.ReplaceAll(settings, "\n", "\n  ") + "\nend\n")
	if v.Vagrantfile != "" {
		if vagrantfile, err = os.ReadFile(v.Vagrantfile); err != nil {
			return nil, fmt.Errorf("embedded_vagrantfile: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "Vagrantfile"), vagrantfile, 0o644); err != nil {
		return nil, err
	}
	return append([]string{"metadata.json", "Vagrantfile"}, disk...), nil
}

// virtualBoxOVF is the OVF 1.0 envelope VirtualBox imports a box's
// machine from: one CPU, 1 GiB, NAT, the disk on a SATA controller.
var virtualBoxOVF = template.Must(template.New("ovf").Parse(`<?xml version="1.0"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vbox="http://www.virtualbox.org/ovf/machine">
  <References>
    <File ovf:id="file1" ovf:href="box.vmdk"/>
  </References>
  <DiskSection>
    <Info>Virtual disks</Info>
    <Disk ovf:capacity="{{.Capacity}}" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized" vbox:uuid="{{.UUID}}"/>
  </DiskSection>
  <NetworkSection>
    <Info>Logical networks</Info>
    <Network ovf:name="NAT">
      <Description>NAT network</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{{.Name}}">
    <Info>A virtual machine</Info>
    <OperatingSystemSection ovf:id="101">
      <Info>Guest operating system</Info>
      <Description>{{.Description}}</Description>
      <vbox:OSType ovf:required="false">Linux_64</vbox:OSType>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{{.Name}}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:ElementName>1 virtual CPU</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>1</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>
        <rasd:ElementName>1024 MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>1024</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:ElementName>sataController0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>AHCI</rasd:ResourceSubType>
        <rasd:ResourceType>20</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>disk1</rasd:ElementName>
        <rasd:HostResource>/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>NAT</rasd:Connection>
        <rasd:ElementName>Ethernet adapter on NAT</rasd:ElementName>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`))

// writeVirtualBoxOVF writes box.ovf for t, with a disk of size GiB (as
// vagrant's virtual size) and a disk UUID derived from the image's name
// and version.
func writeVirtualBoxOVF(p string, t DiskType, size int) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	data := struct {
		Name, Description, UUID string
		Capacity                int
	}{xmlEscape(t.Name), xmlEscape(t.Specification), uuid.NewSHA1(uuid.NameSpaceOID, []byte("kiwi-vagrant\x00"+t.Name+"\x00"+t.Version)).String(), size}
	err = virtualBoxOVF.Execute(f, data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

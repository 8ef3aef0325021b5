package create

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/checksum"
	"github.com/kiwi-go/kiwi/internal/runner"
)

// machineType is a <type> whose <machine> has every child.
func machineType() description.Type {
	el := func(name string, attr map[string]string, text string, children ...*description.Element) *description.Element {
		return &description.Element{Name: name, Attr: attr, Text: text, Children: children}
	}
	return description.Type{Image: "oem", Children: []*description.Element{
		el("machine", map[string]string{"memory": "2048", "ncpus": "4", "HWversion": "13", "guestOS": "debian11-64"}, "",
			el("vmdisk", map[string]string{"controller": "lsilogic", "id": "0"}, ""),
			el("vmdvd", map[string]string{"controller": "ide", "id": "1"}, ""),
			el("vmnic", map[string]string{"interface": "0", "driver": "e1000", "mode": "bridged", "mac": "00:50:56:00:00:01"}, ""),
			el("vmnic", map[string]string{"interface": "1"}, ""),
			el("vmconfig-entry", nil, ` isolation.tools.copy.disable = "false" `),
		),
	}}
}

func TestVMConfigOfReadsTheMachine(t *testing.T) {
	c, err := vmConfigOf(machineType())
	if err != nil {
		t.Fatal(err)
	}
	if c.Memory != 2048 || c.CPUs != 4 || c.HWVersion != "13" || c.GuestOS != "debian11-64" || c.DiskController != "lsilogic" || c.DiskID != "0" ||
		c.DVD == nil || *c.DVD != (VMDevice{"ide", "1"}) || len(c.NICs) != 2 || c.NICs[0] != (VMNIC{"0", "e1000", "bridged", "00:50:56:00:00:01"}) ||
		c.NICs[1] != (VMNIC{Interface: "1"}) || len(c.Entries) != 1 || c.Entries[0] != `isolation.tools.copy.disable = "false"` {
		t.Errorf("machine read as %+v", c)
	}
	def, err := vmConfigOf(description.Type{Image: "oem"})
	if err != nil || def.HWVersion != "9" || def.GuestOS != "suse-64" || def.DiskID != "0" || def.Memory != 0 || def.NICs != nil {
		t.Errorf("without <machine>: %+v %v (want KIWI's defaults)", def, err)
	}
	bad := machineType()
	bad.Children[0].Attr["memory"] = "0"
	if _, err := vmConfigOf(bad); err == nil || !strings.Contains(err.Error(), `memory="0"`) {
		t.Errorf("memory=0: %v", err)
	}
}

// TestVMXIsKIWIsSettingsFile: format="vmdk" writes the lines of KIWI's
// VMware settings template, in its order, then the vmconfig-entries.
func TestVMXIsKIWIsSettingsFile(t *testing.T) {
	vm, err := vmConfigOf(machineType())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "d.vmx")
	if err := writeVMX(p, DiskType{Name: "d", DisplayName: `My "VM"`, VM: vm}, "d.vmdk"); err != nil {
		t.Fatal(err)
	}
	want := `#!/usr/bin/env vmware
# kiwi generated VMware settings file
config.version = "8"
tools.syncTime = "true"
uuid.action = "create"
virtualHW.version = "13"
displayName = "My |22VM|22"
guestOS = "debian11-64"
priority.grabbed = "normal"
priority.ungrabbed = "normal"
powerType.powerOff = "soft"
powerType.powerOn  = "soft"
powerType.suspend  = "soft"
powerType.reset    = "soft"
memsize = "2048"
numvcpus = "4"
scsi0.present = "true"
scsi0.sharedBus = "none"
scsi0.virtualDev = "lsilogic"
scsi0:0.present = "true"
scsi0:0.fileName = "d.vmdk"
scsi0:0.deviceType = "scsi-hardDisk"
ethernet0.present = "true"
ethernet0.allow64bitVmxnet = "true"
ethernet0.addressType = "static"
ethernet0.address = "00:50:56:00:00:01"
ethernet0.virtualDev = "e1000"
ethernet0.connectionType = "bridged"
ethernet1.present = "true"
ethernet1.allow64bitVmxnet = "true"
ethernet1.addressType = "generated"
ide1:0.present = "true"
ide1:0.deviceType = "cdrom-raw"
ide1:0.autodetect = "true"
ide1:0.startConnected = "true"
usb.present = "true"
isolation.tools.copy.disable = "false"
`
	if got := mustReadFile(t, p); got != want {
		t.Errorf(".vmx:\n%s\nwant:\n%s", got, want)
	}
	// No <machine>: KIWI's defaults, the disk on IDE 0.
	def, _ := vmConfigOf(description.Type{})
	if err := writeVMX(p, DiskType{Name: "d", VM: def}, "d.vmdk"); err != nil {
		t.Fatal(err)
	}
	got := mustReadFile(t, p)
	for _, l := range []string{`virtualHW.version = "9"`, `displayName = "d"`, `guestOS = "suse-64"`, `ide0:0.fileName= "d.vmdk"`, `usb.present = "true"`} {
		if !strings.Contains(got, l+"\n") {
			t.Errorf(".vmx without <machine> lacks %s:\n%s", l, got)
		}
	}
	if strings.Contains(got, "memsize") || strings.Contains(got, "ethernet") {
		t.Errorf(".vmx without <machine> sets what KIWI leaves to VMware:\n%s", got)
	}
}

func mustReadFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ovfRead is what the test reads of an OVF descriptor.
type ovfRead struct {
	File struct {
		Href string `xml:"href,attr"`
		Size int64  `xml:"size,attr"`
	} `xml:"References>File"`
	Disk struct {
		Capacity int64  `xml:"capacity,attr"`
		Format   string `xml:"format,attr"`
	} `xml:"DiskSection>Disk"`
	Networks []struct {
		Name string `xml:"name,attr"`
	} `xml:"NetworkSection>Network"`
	System struct {
		OS struct {
			ID     string `xml:"id,attr"`
			OSType string `xml:"osType,attr"`
		} `xml:"OperatingSystemSection"`
		Type  string `xml:"VirtualHardwareSection>System>VirtualSystemType"`
		Items []struct {
			InstanceID, ResourceType, ResourceSubType, VirtualQuantity, Parent, AddressOnParent, Address, Connection, HostResource string
		} `xml:"VirtualHardwareSection>Item"`
		Config []struct {
			Key   string `xml:"key,attr"`
			Value string `xml:"value,attr"`
		} `xml:"VirtualHardwareSection>Config"`
		Extra []struct {
			Key   string `xml:"key,attr"`
			Value string `xml:"value,attr"`
		} `xml:"VirtualHardwareSection>ExtraConfig"`
	} `xml:"VirtualSystem"`
}

// TestConvertOVA: format="ova" is a POSIX tar of the OVF descriptor,
// its SHA256 manifest and a streamOptimized vmdk holding the raw disk's
// bytes; the descriptor carries the <machine>'s hardware.
func TestConvertOVA(t *testing.T) {
	work := t.TempDir()
	raw := filepath.Join(work, "d.raw")
	data := make([]byte, 6<<20)
	if _, err := rand.Read(data[:1<<20]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(raw, data, 0o644); err != nil {
		t.Fatal(err)
	}
	vm, err := vmConfigOf(machineType())
	if err != nil {
		t.Fatal(err)
	}
	dt := DiskType{Name: "d", Format: "ova", Firmware: "uefi", VM: vm}
	if err := dt.VM.checkOVA(); err != nil {
		t.Fatal(err)
	}
	name, err := convert(context.Background(), runner.Runner{}, dt, raw, work, "d", nil)
	if err != nil || name != "d.ova" {
		t.Fatalf("ova: %s %v", name, err)
	}
	dir := untar(t, filepath.Join(work, name), "d.ovf", "d.mf", "d.vmdk")
	mf := mustReadFile(t, filepath.Join(dir, "d.mf"))
	for _, f := range []string{"d.ovf", "d.vmdk"} {
		sum, err := checksum.File(filepath.Join(dir, f))
		if err != nil || !strings.Contains(mf, "SHA256("+f+")= "+sum+"\n") {
			t.Errorf("manifest lacks the digest of %s (%v):\n%s", f, err, mf)
		}
	}
	out, err := exec.Command("qemu-img", "info", filepath.Join(dir, "d.vmdk")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "create type: streamOptimized") {
		t.Errorf("the ova's disk is not a streamOptimized vmdk: %v\n%s", err, out)
	}
	if out, err := exec.Command("qemu-img", "compare", "-f", "raw", "-F", "vmdk", raw, filepath.Join(dir, "d.vmdk")).CombinedOutput(); err != nil {
		t.Errorf("the vmdk does not hold the raw disk: %v %s", err, out)
	}
	var o ovfRead
	if err := xml.Unmarshal([]byte(mustReadFile(t, filepath.Join(dir, "d.ovf"))), &o); err != nil {
		t.Fatalf("OVF: %v", err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "d.vmdk"))
	if o.File.Href != "d.vmdk" || o.File.Size != fi.Size() || o.Disk.Capacity != int64(len(data)) || !strings.HasSuffix(o.Disk.Format, "#streamOptimized") {
		t.Errorf("OVF disk: %+v %+v (vmdk of %d bytes, disk of %d)", o.File, o.Disk, fi.Size(), len(data))
	}
	if o.System.Type != "vmx-13" || o.System.OS.OSType != "debian11-64" || o.System.OS.ID != "101" {
		t.Errorf("OVF system: %q %+v", o.System.Type, o.System.OS)
	}
	byType := map[string][]int{}
	for i, it := range o.System.Items {
		byType[it.ResourceType] = append(byType[it.ResourceType], i)
	}
	item := func(rt string, n int) (it struct {
		InstanceID, ResourceType, ResourceSubType, VirtualQuantity, Parent, AddressOnParent, Address, Connection, HostResource string
	}) {
		if len(byType[rt]) <= n {
			t.Fatalf("OVF has %d items of resource type %s, want more than %d: %+v", len(byType[rt]), rt, n, o.System.Items)
		}
		return o.System.Items[byType[rt][n]]
	}
	if cpu, mem := item("3", 0), item("4", 0); cpu.VirtualQuantity != "4" || mem.VirtualQuantity != "2048" {
		t.Errorf("CPUs %s, memory %s MiB; want 4 and 2048", cpu.VirtualQuantity, mem.VirtualQuantity)
	}
	scsi, ide, hd, cd := item("6", 0), item("5", 0), item("17", 0), item("15", 0)
	if scsi.ResourceSubType != "lsilogic" || hd.Parent != scsi.InstanceID || hd.HostResource != "ovf:/disk/vmdisk1" {
		t.Errorf("disk %+v on controller %+v, want on the lsilogic controller", hd, scsi)
	}
	if ide.Address != "1" || cd.Parent != ide.InstanceID {
		t.Errorf("CD drive %+v on %+v, want on IDE 1", cd, ide)
	}
	nic0, nic1 := item("10", 0), item("10", 1)
	if nic0.ResourceSubType != "e1000" || nic0.Address != "00:50:56:00:00:01" || nic0.Connection != "VM Network 0" ||
		nic1.ResourceSubType != "VmxNet3" || nic1.Connection != "VM Network 1" || len(o.Networks) != 2 {
		t.Errorf("NICs %+v %+v on networks %+v", nic0, nic1, o.Networks)
	}
	config := map[string]string{}
	for _, c := range o.System.Config {
		config[c.Key] = c.Value
	}
	for _, c := range o.System.Extra {
		config[c.Key] = c.Value
	}
	for k, v := range map[string]string{"firmware": "efi", "uefi.secureBoot.enabled": "true", "isolation.tools.copy.disable": "false", "ethernet0.connectionType": "bridged"} {
		if config[k] != v {
			t.Errorf("OVF config %s = %q, want %q (all: %v)", k, config[k], v, config)
		}
	}

	// No <machine>: KIWI's ova defaults (2 CPUs, 4096 MiB, NVMe, one
	// VmxNet3 NIC on "VM Network"); BIOS firmware sets no firmware key.
	def, _ := vmConfigOf(description.Type{})
	if _, err := convert(context.Background(), runner.Runner{}, DiskType{Name: "e", Format: "ova", Firmware: "bios", VM: def}, raw, work, "e", nil); err != nil {
		t.Fatal(err)
	}
	dir = untar(t, filepath.Join(work, "e.ova"), "e.ovf", "e.mf", "e.vmdk")
	o = ovfRead{}
	if err := xml.Unmarshal([]byte(mustReadFile(t, filepath.Join(dir, "e.ovf"))), &o); err != nil {
		t.Fatal(err)
	}
	byType = map[string][]int{}
	for i, it := range o.System.Items {
		byType[it.ResourceType] = append(byType[it.ResourceType], i)
	}
	if cpu, mem, nvme, nic := item("3", 0), item("4", 0), item("20", 0), item("10", 0); cpu.VirtualQuantity != "2" || mem.VirtualQuantity != "4096" ||
		nvme.ResourceSubType != "vmware.nvme.controller" || nic.Connection != "VM Network" || o.System.Type != "vmx-09" || o.System.OS.OSType != "suse-64" {
		t.Errorf("defaults: %+v", o.System)
	}
	if len(o.System.Config) != 0 || len(byType["15"]) != 0 {
		t.Errorf("a BIOS machine without a vmdvd: config %+v, CD items %v", o.System.Config, byType["15"])
	}
}

// untar extracts a plain tar into a temp dir, checking it holds exactly
// want, in that order, in POSIX ustar format, owned by root.
func untar(t *testing.T, archive string, want ...string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	tr := tar.NewReader(f)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Format != tar.FormatUSTAR {
			t.Errorf("%s: owner %d:%d, format %v; want root's and ustar", h.Name, h.Uid, h.Gid, h.Format)
		}
		got = append(got, h.Name)
		out, err := os.Create(filepath.Join(dir, filepath.Base(h.Name)))
		if err == nil {
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s holds %v, want %v", filepath.Base(archive), got, want)
	}
	return dir
}

// TestOVAChecks: what an ova cannot describe is refused before any work.
func TestOVAChecks(t *testing.T) {
	for _, c := range []struct {
		edit func(*VMConfig)
		want string
	}{
		{func(c *VMConfig) { c.DiskController = "legacyESX" }, `controller="legacyESX"`},
		{func(c *VMConfig) { c.HWVersion = "nine" }, `HWversion="nine"`},
		{func(c *VMConfig) { c.Entries = []string{"no equals sign"} }, "key = \"value\""},
	} {
		vm, _ := vmConfigOf(description.Type{})
		c.edit(&vm)
		err := DiskType{Format: "ova", Filesystem: "ext4", Firmware: "bios", VM: vm}.check()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("check: %v, want an error naming %s", err, c.want)
		}
	}
}

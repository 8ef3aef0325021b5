package create

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/kiwi-go/kiwi/build/description"
	"github.com/kiwi-go/kiwi/internal/checksum"
)

// VMConfig is the VMware machine a vmdk or ova disk is described for:
// the type's <machine> with its <vmdisk>, <vmdvd>, <vmnic>s and
// <vmconfig-entry>s. format="vmdk" writes it as the settings file
// <base>.vmx beside the disk (as KIWI does), format="ova" as the OVF
// descriptor inside the appliance.
type VMConfig struct {
	HWVersion string // virtual hardware version; KIWI's default 9
	GuestOS   string // VMware's guest id; KIWI's default suse-64
	Memory    int    // MiB; 0: not set
	CPUs      int    // 0: not set
	// DiskController is the vmdisk's controller ("": KIWI's default, ide
	// in a .vmx, NVMe in an ova); DiskID its number.
	DiskController, DiskID string
	// DVD is the <vmdvd>: a CD/DVD drive on its controller.
	DVD *VMDevice
	// NICs are the <vmnic>s, in the description's order.
	NICs []VMNIC
	// Entries are the <vmconfig-entry> lines, as written.
	Entries []string
}

// VMDevice is a device on controller Controller number ID.
type VMDevice struct{ Controller, ID string }

// VMNIC is one <vmnic>: ethernet<Interface>, its driver (VMware's
// virtualDev), connection type and MAC address ("" or generated: chosen
// by VMware).
type VMNIC struct{ Interface, Driver, Mode, MAC string }

// vmConfigOf reads the type's <machine> (KIWI's defaults without one).
func vmConfigOf(t description.Type) (VMConfig, error) {
	c := VMConfig{HWVersion: "9", GuestOS: "suse-64", DiskID: "0"}
	var m *description.Element
	for _, e := range t.Children {
		if e.Name == "machine" {
			m = e
			break
		}
	}
	if m == nil {
		return c, nil
	}
	if v := m.Attr["HWversion"]; v != "" {
		c.HWVersion = v
	}
	if v := m.Attr["guestOS"]; v != "" {
		c.GuestOS = v
	}
	for attr, dst := range map[string]*int{"memory": &c.Memory, "ncpus": &c.CPUs} {
		if v := m.Attr[attr]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return c, fmt.Errorf("<machine %s=%q>: give a positive whole number (memory in MiB)", attr, v)
			}
			*dst = n
		}
	}
	for _, e := range m.Children {
		switch e.Name {
		case "vmdisk":
			c.DiskController = e.Attr["controller"]
			if id := e.Attr["id"]; id != "" {
				c.DiskID = id
			}
		case "vmdvd":
			c.DVD = &VMDevice{Controller: e.Attr["controller"], ID: e.Attr["id"]}
		case "vmnic":
			nic := VMNIC{Interface: e.Attr["interface"], Driver: e.Attr["driver"], Mode: e.Attr["mode"], MAC: e.Attr["mac"]}
			if nic.Interface == "" {
				nic.Interface = "0"
			}
			c.NICs = append(c.NICs, nic)
		case "vmconfig-entry":
			c.Entries = append(c.Entries, strings.TrimSpace(e.Text))
		}
	}
	return c, nil
}

// vmxQuote escapes a .vmx value the way VMware's own files do: a quote
// or a bar becomes |22 or |7C, a line break |0A.
var vmxQuote = strings.NewReplacer(`|`, `|7C`, `"`, `|22`, "\n", `|0A`)

// writeVMX writes KIWI's VMware settings file for the disk vmdk: the
// same lines in the same order as KIWI's template, then the
// description's <vmconfig-entry> lines.
func writeVMX(p string, t DiskType, vmdk string) error {
	c := t.VM
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("#!/usr/bin/env vmware")
	line("# kiwi generated VMware settings file")
	line(`config.version = "8"`)
	line(`tools.syncTime = "true"`)
	line(`uuid.action = "create"`)
	line(`virtualHW.version = "%s"`, vmxQuote.Replace(c.HWVersion))
	line(`displayName = "%s"`, vmxQuote.Replace(t.displayName()))
	line(`guestOS = "%s"`, vmxQuote.Replace(c.GuestOS))
	for _, l := range []string{`priority.grabbed = "normal"`, `priority.ungrabbed = "normal"`, `powerType.powerOff = "soft"`,
		`powerType.powerOn  = "soft"`, `powerType.suspend  = "soft"`, `powerType.reset    = "soft"`} {
		line("%s", l)
	}
	if c.Memory > 0 {
		line(`memsize = "%d"`, c.Memory)
	}
	if c.CPUs > 0 {
		line(`numvcpus = "%d"`, c.CPUs)
	}
	id := c.DiskID
	if c.DiskController == "" || c.DiskController == "ide" {
		line(`ide%s:0.present = "true"`, id)
		line(`ide%s:0.fileName= "%s"`, id, vmxQuote.Replace(vmdk))
		line(`ide%s:0.redo = ""`, id)
	} else {
		line(`scsi%s.present = "true"`, id)
		line(`scsi%s.sharedBus = "none"`, id)
		line(`scsi%s.virtualDev = "%s"`, id, c.DiskController)
		line(`scsi%s:0.present = "true"`, id)
		line(`scsi%s:0.fileName = "%s"`, id, vmxQuote.Replace(vmdk))
		line(`scsi%s:0.deviceType = "scsi-hardDisk"`, id)
	}
	for _, n := range c.NICs {
		line(`ethernet%s.present = "true"`, n.Interface)
		line(`ethernet%s.allow64bitVmxnet = "true"`, n.Interface)
		if n.MAC == "" || n.MAC == "generated" {
			line(`ethernet%s.addressType = "generated"`, n.Interface)
		} else {
			line(`ethernet%s.addressType = "static"`, n.Interface)
			line(`ethernet%s.address = "%s"`, n.Interface, n.MAC)
		}
		if n.Driver != "" {
			line(`ethernet%s.virtualDev = "%s"`, n.Interface, vmxQuote.Replace(n.Driver))
		}
		if n.Mode != "" {
			line(`ethernet%s.connectionType = "%s"`, n.Interface, vmxQuote.Replace(n.Mode))
		}
	}
	if d := c.DVD; d != nil {
		bus := "ide"
		if d.Controller == "scsi" {
			bus = "scsi"
		}
		line(`%s%s:0.present = "true"`, bus, d.ID)
		line(`%s%s:0.deviceType = "cdrom-raw"`, bus, d.ID)
		line(`%s%s:0.autodetect = "true"`, bus, d.ID)
		line(`%s%s:0.startConnected = "true"`, bus, d.ID)
	}
	line(`usb.present = "true"`)
	for _, e := range c.Entries {
		line("%s", e)
	}
	return os.WriteFile(p, []byte(b.String()), 0o644)
}

// displayName is the name VMware shows: the description's displayname,
// else its name (as KIWI).
func (t DiskType) displayName() string {
	if t.DisplayName != "" {
		return t.DisplayName
	}
	return t.Name
}

// ovaDiskControllers are the OVF controllers of an ova's disk, by the
// vmdisk controller: the CIM resource type and VMware's subtype. ""
// is KIWI's default for ova, NVMe.
var ovaDiskControllers = map[string]struct {
	resourceType int
	subType      string
}{
	"":           {20, "vmware.nvme.controller"},
	"ide":        {5, "PIIX4"},
	"lsilogic":   {6, "lsilogic"},
	"lsisas1068": {6, "lsilogicsas"},
	"buslogic":   {6, "buslogic"},
	"pvscsi":     {6, "VirtualSCSI"},
}

// vmxEntry is a <vmconfig-entry>: key = "value".
var vmxEntry = regexp.MustCompile(`^([A-Za-z0-9_.:\[\]-]+)\s*=\s*"?(.*?)"?$`)

// checkOVA refuses what an ova cannot describe, before any work.
func (c VMConfig) checkOVA() error {
	if _, ok := ovaDiskControllers[c.DiskController]; !ok {
		var names []string
		for n := range ovaDiskControllers {
			if n != "" {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		return fmt.Errorf("<vmdisk controller=%q>: an ova's OVF has no such controller; use %s, or leave controller out for NVMe", c.DiskController, strings.Join(names, ", "))
	}
	if _, err := strconv.Atoi(c.HWVersion); err != nil {
		return fmt.Errorf("<machine HWversion=%q>: give VMware's virtual hardware version as a number, like 13", c.HWVersion)
	}
	for _, e := range c.Entries {
		if !vmxEntry.MatchString(e) {
			return fmt.Errorf("<vmconfig-entry>%s</vmconfig-entry>: an ova carries entries as key = \"value\" (its OVF's ExtraConfig); write it so", e)
		}
	}
	return nil
}

// ovfItem is one rasd item of the OVF's virtual hardware; rendered in
// key order, which is the order the CIM schema's sequence requires.
type ovfItem map[string]string

func (i ovfItem) Keys() []string {
	keys := make([]string, 0, len(i))
	for k := range i {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ovfEnvelope is an OVF 1.0 descriptor of one VMware virtual system,
// what ova-compose (KIWI's tool, not in Debian 12) writes from KIWI's
// settings. The guest is named by vmw:osType (VMware's guest id);
// ovf:id 101 is CIM's "Linux 64-Bit".
var ovfEnvelope = template.Must(template.New("ovf").Parse(`<?xml version="1.0" encoding="UTF-8"?>
<Envelope vmw:buildId="kiwi" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
    <File ovf:href="{{.VMDK}}" ovf:id="file1" ovf:size="{{.VMDKSize}}"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="{{.Capacity}}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
{{- range .Networks}}
    <Network ovf:name="{{.}}">
      <Description>The {{.}} network</Description>
    </Network>
{{- end}}
  </NetworkSection>
  <VirtualSystem ovf:id="{{.Name}}">
    <Info>A virtual machine</Info>
    <Name>{{.Name}}</Name>
    <OperatingSystemSection ovf:id="101" vmw:osType="{{.GuestOS}}">
      <Info>The kind of installed guest operating system</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{{.Name}}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>{{.SystemType}}</vssd:VirtualSystemType>
      </System>
{{- range $item := .Items}}
      <Item>
{{- range $item.Keys}}
        <rasd:{{.}}>{{index $item .}}</rasd:{{.}}>
{{- end}}
      </Item>
{{- end}}
{{- range .Config}}
      <vmw:Config ovf:required="false" vmw:key="{{.Key}}" vmw:value="{{.Value}}"/>
{{- end}}
{{- range .ExtraConfig}}
      <vmw:ExtraConfig ovf:required="false" vmw:key="{{.Key}}" vmw:value="{{.Value}}"/>
{{- end}}
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`))

type ovfKV struct{ Key, Value string }

// ovfData is what ovfEnvelope is filled with; every string is XML
// escaped already.
type ovfData struct {
	VMDK, Name, GuestOS, SystemType string
	VMDKSize, Capacity              int64
	Networks                        []string
	Items                           []ovfItem
	Config, ExtraConfig             []ovfKV
}

// ovfOf describes t's machine for the disk vmdk (of vmdkSize bytes,
// capacity bytes as a disk): KIWI's ova defaults where the description
// sets nothing (2 CPUs, 4096 MiB, NVMe, one VmxNet3 NIC on "VM
// Network"), firmware from the type.
func ovfOf(t DiskType, vmdk string, vmdkSize, capacity int64) ovfData {
	c := t.VM
	hw, _ := strconv.Atoi(c.HWVersion) // checked by checkOVA
	d := ovfData{
		VMDK: xmlEscape(vmdk), Name: xmlEscape(t.displayName()), GuestOS: xmlEscape(c.GuestOS),
		SystemType: fmt.Sprintf("vmx-%02d", hw), VMDKSize: vmdkSize, Capacity: capacity,
	}
	cpus, mem := c.CPUs, c.Memory
	if cpus == 0 {
		cpus = 2
	}
	if mem == 0 {
		mem = 4096
	}
	id := 0
	add := func(i ovfItem) string {
		id++
		i["InstanceID"] = strconv.Itoa(id)
		d.Items = append(d.Items, i)
		return i["InstanceID"]
	}
	add(ovfItem{"AllocationUnits": "hertz * 10^6", "Description": "Number of Virtual CPUs", "ElementName": fmt.Sprintf("%d virtual CPU(s)", cpus),
		"ResourceType": "3", "VirtualQuantity": strconv.Itoa(cpus)})
	add(ovfItem{"AllocationUnits": "byte * 2^20", "Description": "Memory Size", "ElementName": fmt.Sprintf("%d MB of memory", mem),
		"ResourceType": "4", "VirtualQuantity": strconv.Itoa(mem)})
	ctl := ovaDiskControllers[c.DiskController]
	controllers := map[string]string{} // "<resource type>/<number>" → instance id
	controller := func(resourceType int, subType, number string) string {
		key := fmt.Sprintf("%d/%s", resourceType, number)
		if id, ok := controllers[key]; ok {
			return id
		}
		name := map[int]string{5: "IDE", 6: "SCSI", 20: "NVMe"}[resourceType]
		controllers[key] = add(ovfItem{"Address": number, "Description": name + " Controller", "ElementName": name + " controller " + number,
			"ResourceSubType": subType, "ResourceType": strconv.Itoa(resourceType)})
		return controllers[key]
	}
	parent := controller(ctl.resourceType, ctl.subType, c.DiskID)
	add(ovfItem{"AddressOnParent": "0", "ElementName": "Hard disk 1", "HostResource": "ovf:/disk/vmdisk1", "Parent": parent, "ResourceType": "17"})
	if dvd := c.DVD; dvd != nil {
		rt, sub := 5, "PIIX4"
		if dvd.Controller == "scsi" {
			rt, sub = 6, "lsilogic"
		}
		on := "0"
		if p := controller(rt, sub, dvd.ID); p == parent {
			on = "1"
		} else {
			parent = p
		}
		add(ovfItem{"AddressOnParent": on, "AutomaticAllocation": "false", "ElementName": "CD/DVD drive 1", "Parent": parent, "ResourceType": "15"})
	}
	nics := c.NICs
	if len(nics) == 0 {
		nics = []VMNIC{{Interface: "0"}}
	}
	for _, n := range nics {
		network := "VM Network"
		if len(c.NICs) > 0 {
			network += " " + n.Interface
		}
		d.Networks = append(d.Networks, xmlEscape(network))
		driver := n.Driver
		if driver == "" {
			driver = "VmxNet3"
		}
		item := ovfItem{"AutomaticAllocation": "true", "Connection": xmlEscape(network), "ElementName": "ethernet" + xmlEscape(n.Interface),
			"ResourceSubType": xmlEscape(driver), "ResourceType": "10"}
		if n.MAC != "" && n.MAC != "generated" {
			item["Address"] = n.MAC
		}
		add(item)
		if n.Mode != "" {
			d.ExtraConfig = append(d.ExtraConfig, ovfKV{"ethernet" + xmlEscape(n.Interface) + ".connectionType", xmlEscape(n.Mode)})
		}
	}
	if t.Firmware == "efi" || t.Firmware == "uefi" {
		d.Config = append(d.Config, ovfKV{"firmware", "efi"})
		d.Config = append(d.Config, ovfKV{"uefi.secureBoot.enabled", strconv.FormatBool(t.Firmware == "uefi")})
	}
	for _, e := range c.Entries {
		m := vmxEntry.FindStringSubmatch(e)
		d.ExtraConfig = append(d.ExtraConfig, ovfKV{xmlEscape(m[1]), xmlEscape(m[2])})
	}
	return d
}

// packOVA writes an ova's members into dir: <base>.ovf, <base>.mf (the
// SHA256 manifest) and the streamOptimized <base>.vmdk, in the order an
// OVF 1.0 package must have them.
func packOVA(ctx context.Context, p packing) ([]string, error) {
	t, raw, dir, base := p.t, p.raw, p.dir, p.base
	vmdk := base + ".vmdk"
	if err := p.qemu(ctx, vmdk, "vmdk", append([]string{"subformat=streamOptimized"}, t.FormatOptions...)); err != nil {
		return nil, err
	}
	rawInfo, err := os.Stat(raw)
	if err != nil {
		return nil, err
	}
	vmdkInfo, err := os.Stat(filepath.Join(dir, vmdk))
	if err != nil {
		return nil, err
	}
	ovf := base + ".ovf"
	var b strings.Builder
	if err := ovfEnvelope.Execute(&b, ovfOf(t, vmdk, vmdkInfo.Size(), rawInfo.Size())); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ovf), []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	var mf strings.Builder
	for _, f := range []string{ovf, vmdk} {
		sum, err := checksum.File(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&mf, "SHA256(%s)= %s\n", f, sum)
	}
	if err := os.WriteFile(filepath.Join(dir, base+".mf"), []byte(mf.String()), 0o644); err != nil {
		return nil, err
	}
	return []string{ovf, base + ".mf", vmdk}, nil
}

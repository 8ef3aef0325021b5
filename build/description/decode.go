package description

import (
	"strconv"
	"strings"
)

// The decode functions turn checked nodes into model values. Values the
// schema check rejected never get here, so conversions fall back to zero.

func attrMap(n *node) map[string]string {
	m := make(map[string]string, len(n.Attrs))
	for _, a := range n.Attrs {
		if a.Name.Space == "" && a.Name.Local != "xmlns" {
			m[a.Name.Local] = a.Value
		}
	}
	return m
}

func boolAttr(n *node, name string) bool {
	v, _ := parseBool(n.get(name))
	return v
}

func optBoolAttr(n *node, name string) *bool {
	v, ok := n.attr(name)
	if !ok {
		return nil
	}
	b, _ := parseBool(v)
	return &b
}

func intAttr(n *node, name string) int {
	i, _ := strconv.Atoi(strings.TrimSpace(n.get(name)))
	return i
}

func optIntAttr(n *node, name string) *int {
	v, ok := n.attr(name)
	if !ok {
		return nil
	}
	i, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return nil
	}
	return &i
}

func toElement(n *node) *Element {
	e := &Element{Name: n.Name, Text: n.Text}
	if len(n.Attrs) > 0 {
		e.Attr = attrMap(n)
	}
	for _, c := range n.elements("") {
		e.Children = append(e.Children, toElement(c))
	}
	return e
}

func decodeType(n *node, arch string) Type {
	t := Type{
		Pos:                 n.Pos,
		Image:               n.get("image"),
		Primary:             boolAttr(n, "primary"),
		Attr:                attrMap(n),
		Filesystem:          n.get("filesystem"),
		Firmware:            n.get("firmware"),
		KernelCmdline:       n.get("kernelcmdline"),
		Format:              n.get("format"),
		InitrdSystem:        n.get("initrd_system"),
		EFIPartSize:         intAttr(n, "efipartsize"),
		EFIPartTable:        n.get("efiparttable"),
		EFIFatImageSize:     intAttr(n, "efifatimagesize"),
		BootPartition:       boolAttr(n, "bootpartition"),
		BootPartSize:        intAttr(n, "bootpartsize"),
		BootFilesystem:      n.get("bootfilesystem"),
		RootFSLabel:         n.get("rootfs_label"),
		DevicePersistency:   n.get("devicepersistency"),
		FSCreateOptions:     n.get("fscreateoptions"),
		FSMountOptions:      n.get("fsmountoptions"),
		ForceMBR:            boolAttr(n, "force_mbr"),
		SquashfsCompression: n.get("squashfscompression"),
		VolID:               n.get("volid"),
		Publisher:           n.get("publisher"),
		MediaCheck:          boolAttr(n, "mediacheck"),
		Flags:               n.get("flags"),
		HybridPersistent:    boolAttr(n, "hybridpersistent"),
		HybridPersistentFS:  n.get("hybridpersistent_filesystem"),
		Archive:             boolAttr(n, "archive"),
		Compressed:          boolAttr(n, "compressed"),
		InstallISO:          boolAttr(n, "installiso"),
		InstallPXE:          boolAttr(n, "installpxe"),
		InstallStick:        boolAttr(n, "installstick"),
		InstallBoot:         n.get("installboot"),
		SparePart:           sizeMiB(n.get("spare_part")),
		SparePartMountpoint: n.get("spare_part_mountpoint"),
		SparePartFS:         n.get("spare_part_fs"),
		SparePartIsLast:     boolAttr(n, "spare_part_is_last"),
		Overlayroot:         boolAttr(n, "overlayroot"),
		Luks:                n.get("luks"),
		LuksVersion:         n.get("luks_version"),
		DerivedFrom:         n.get("derived_from"),
		DeltaRoot:           boolAttr(n, "delta_root"),
		RequireSystemFiles:  boolAttr(n, "require_system_files"),
		EditBootConfig:      n.get("editbootconfig"),
		EditBootInstall:     n.get("editbootinstall"),
	}
	if v := n.get("formatoptions"); v != "" {
		t.FormatOptions = splitList(v)
	}
	if v := n.get("spare_part_fs_attributes"); v != "" {
		t.SparePartFSAttributes = splitList(v)
	}
	if b := n.first("bootloader"); b != nil {
		t.Bootloader = decodeBootloader(b)
	}
	if s := n.first("size"); s != nil {
		v, _ := strconv.ParseUint(s.Text, 10, 63)
		u, _ := strconv.ParseUint(s.get("unpartitioned"), 10, 63)
		t.Size = &Size{Value: v, Unit: s.get("unit"), Additive: boolAttr(s, "additive"), Unpartitioned: u}
	}
	if o := n.first("oemconfig"); o != nil {
		t.OEMConfig = decodeOEMConfig(o)
	} else if t.Image == "oem" {
		t.OEMConfig = &OEMConfig{Resize: true, All: map[string]string{}}
	}
	if sd := n.first("systemdisk"); sd != nil {
		t.SystemDisk = &SystemDisk{Name: sd.get("name"), PreferLVM: boolAttr(sd, "preferlvm")}
		for _, v := range sd.elements("volume") {
			if !archMatches(v, arch) {
				continue
			}
			t.SystemDisk.Volumes = append(t.SystemDisk.Volumes, Volume{
				Name: v.get("name"), Parent: v.get("parent"), Size: v.get("size"), FreeSpace: v.get("freespace"),
				MountPoint: v.get("mountpoint"), Label: v.get("label"), CopyOnWrite: optBoolAttr(v, "copy_on_write"),
				FilesystemCheck: boolAttr(v, "filesystem_check"), Quota: v.get("quota"),
			})
		}
	}
	if ps := n.first("partitions"); ps != nil {
		for _, p := range ps.elements("partition") {
			t.Partitions = append(t.Partitions, Partition{
				Name: p.get("name"), Size: p.get("size"), PartitionName: p.get("partition_name"),
				PartitionType: p.get("partition_type"), MountPoint: p.get("mountpoint"),
				Filesystem: p.get("filesystem"), Label: p.get("label"), Clone: intAttr(p, "clone"),
			})
		}
	}
	if cc := n.first("containerconfig"); cc != nil {
		t.ContainerConfig = decodeContainerConfig(cc)
	}
	for _, c := range n.elements("") {
		t.Children = append(t.Children, toElement(c))
	}
	return t
}

func decodeBootloader(n *node) *Bootloader {
	b := &Bootloader{
		Name: n.get("name"), Console: n.get("output_console"), InputConsole: n.get("input_console"),
		SerialLine: n.get("serial_line"), Timeout: optIntAttr(n, "timeout"), TimeoutStyle: n.get("timeout_style"),
		GrubTemplate: n.get("grub_template"), BLS: optBoolAttr(n, "bls"), Attr: attrMap(n),
	}
	if s := n.first("bootloadersettings"); s != nil {
		b.ShimOptions = options(s, "shimoption")
		b.InstallOptions = options(s, "installoption")
		b.ConfigOptions = options(s, "configoption")
		if env := s.first("environment"); env != nil {
			b.Environment = options(env, "env")
		}
	}
	return b
}

func options(n *node, name string) []Option {
	var out []Option
	for _, o := range n.elements(name) {
		out = append(out, Option{Name: o.get("name"), Value: o.get("value")})
	}
	return out
}

func decodeOEMConfig(n *node) *OEMConfig {
	all := map[string]string{}
	for _, c := range n.elements("") {
		all[c.Name] = c.Text
	}
	flag := func(name string, def bool) bool {
		v, ok := all[name]
		if !ok {
			return def
		}
		b, _ := parseBool(v)
		return b
	}
	num := func(name string) int {
		i, _ := strconv.Atoi(all[name])
		return i
	}
	return &OEMConfig{
		Resize: flag("oem-resize", true), ResizeOnce: flag("oem-resize-once", true),
		Swap: flag("oem-swap", false), SwapSize: num("oem-swapsize"), SwapName: all["oem-swapname"],
		SystemSize: num("oem-systemsize"), BootTitle: all["oem-boot-title"], BootWait: flag("oem-bootwait", false),
		Unattended: flag("oem-unattended", false), UnattendedID: all["oem-unattended-id"],
		DeviceFilter: all["oem-device-filter"], NicFilter: all["oem-nic-filter"],
		MultipathScan: flag("oem-multipath-scan", false), SilentBoot: flag("oem-silent-boot", false),
		SilentInstall: flag("oem-silent-install", false), SilentVerify: flag("oem-silent-verify", false),
		SkipVerify: flag("oem-skip-verify", false), Shutdown: flag("oem-shutdown", false),
		Reboot: flag("oem-reboot", false), Recovery: flag("oem-recovery", false),
		RecoveryPartSize: num("oem-recovery-part-size"), All: all,
	}
}

func decodeContainerConfig(n *node) *ContainerConfig {
	c := &ContainerConfig{
		Name: n.get("name"), Tag: n.get("tag"), Maintainer: n.get("maintainer"),
		User: n.get("user"), WorkingDir: n.get("workingdir"), StopSignal: n.childText("stopsignal"),
	}
	if v := n.get("additionalnames"); v != "" {
		c.AdditionalNames = splitList(v)
	}
	command := func(e *node) *Command {
		if e == nil {
			return nil
		}
		cmd := &Command{Execute: e.get("execute"), Clear: boolAttr(e, "clear")}
		for _, a := range e.elements("argument") {
			cmd.Args = append(cmd.Args, a.get("name"))
		}
		return cmd
	}
	c.Entrypoint = command(n.first("entrypoint"))
	c.Subcommand = command(n.first("subcommand"))
	if ex := n.first("expose"); ex != nil {
		for _, p := range ex.elements("port") {
			c.Expose = append(c.Expose, p.get("number"))
		}
	}
	if vs := n.first("volumes"); vs != nil {
		for _, v := range vs.elements("volume") {
			c.Volumes = append(c.Volumes, v.get("name"))
		}
	}
	if env := n.first("environment"); env != nil {
		c.Environment = options(env, "env")
	}
	if ls := n.first("labels"); ls != nil {
		c.Labels = options(ls, "label")
	}
	if h := n.first("history"); h != nil {
		c.History = attrMap(h)
		c.History["comment"] = h.Text
	}
	return c
}

func decodeRepository(n *node) Repository {
	r := Repository{
		Pos: n.Pos, Type: n.get("type"), Alias: n.get("alias"), Priority: intAttr(n, "priority"),
		ImageInclude: boolAttr(n, "imageinclude"), ImageOnly: boolAttr(n, "imageonly"),
		Components: n.get("components"), Distribution: n.get("distribution"),
		Architectures: n.get("architectures"), SourceType: n.get("sourcetype"),
		Username: n.get("username"), Password: n.get("password"), Customize: n.get("customize"),
		PreferLicense:      boolAttr(n, "prefer-license"),
		RepositoryGPGCheck: optBoolAttr(n, "repository_gpgcheck"),
		PackageGPGCheck:    optBoolAttr(n, "package_gpgcheck"),
		Attr:               attrMap(n),
	}
	if src := n.first("source"); src != nil {
		r.Source = src.get("path")
		for _, s := range src.elements("signing") {
			r.SigningKeys = append(r.SigningKeys, s.get("key"))
		}
	}
	return r
}

func decodeUser(n *node) User {
	u := User{
		Name: n.get("name"), Home: n.get("home"), ID: optIntAttr(n, "id"), Password: n.get("password"),
		PwdFormat: n.get("pwdformat"), RealName: n.get("realname"), Shell: n.get("shell"), Pos: n.Pos,
	}
	if g := n.get("groups"); g != "" {
		u.Groups = splitList(g)
	}
	return u
}

// addPackages merges one <packages> section into p, applying arch= to
// each entry.
func addPackages(p *Packages, n *node, arch string) {
	if p.PatternType == "" {
		p.PatternType = n.get("patternType")
	}
	if p.BootstrapPackage == "" {
		p.BootstrapPackage = n.get("bootstrap_package")
	}
	for _, c := range n.elements("") {
		if !archMatches(c, arch) {
			continue
		}
		switch c.Name {
		case "package":
			p.Packages = append(p.Packages, Package{Name: c.get("name"), BootInclude: boolAttr(c, "bootinclude"), BootDelete: boolAttr(c, "bootdelete"), Pos: c.Pos})
		case "namedCollection":
			p.Collections = append(p.Collections, c.get("name"))
		case "product":
			p.Products = append(p.Products, c.get("name"))
		case "archive":
			p.Archives = append(p.Archives, Archive{Name: c.get("name"), TargetDir: c.get("target_dir"), BootInclude: boolAttr(c, "bootinclude"), Pos: c.Pos})
		case "file":
			p.Files = append(p.Files, File{Name: c.get("name"), Target: c.get("target"), Owner: c.get("owner"), Permissions: c.get("permissions"), Pos: c.Pos})
		case "ignore":
			p.Ignore = append(p.Ignore, c.get("name"))
		case "collectionModule":
			p.Modules = append(p.Modules, CollectionModule{Name: c.get("name"), Stream: c.get("stream"), Enable: boolAttr(c, "enable")})
		}
	}
}

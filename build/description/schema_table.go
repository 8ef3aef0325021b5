// Code generated from KIWI's schema (kiwi/schema/kiwi.rng, schema 8.5): element and
// attribute names, allowed values and schematron scopes. DO NOT EDIT by hand;
// it is data, not logic: the checks that use it live in check.go.

package description

import "regexp"

// schemaRules describes, per element name, what KIWI's schema allows.
var schemaRules = map[string]elementRule{
	"archive": {
		attrs: map[string]attrRule{
			"bootinclude": {kind: kindBool},
			"name":        {},
			"target_dir":  {},
		},
		reqAttrs: []string{"name"},
	},
	"argument": {
		attrs: map[string]attrRule{
			"name": {},
		},
		reqAttrs: []string{"name"},
	},
	"author": {},
	"bootloader": {
		attrs: map[string]attrRule{
			"bls":               {kind: kindBool},
			"grub_template":     {},
			"input_console":     {pattern: pat0},
			"name":              {values: []string{"custom", "grub2", "grub2_s390x_emu", "systemd_boot", "zipl"}},
			"output_console":    {pattern: pat1},
			"serial_line":       {},
			"targettype":        {values: []string{"CDL", "FBA", "GPT", "SCSI"}},
			"timeout":           {kind: kindUint},
			"timeout_style":     {values: []string{"countdown", "hidden", "menu"}},
			"use_disk_password": {kind: kindBool},
			"video_mode":        {},
		},
		children: []string{"bootloadersettings", "securelinux"},
		reqAttrs: []string{"name"},
	},
	"bootloader-theme": {},
	"bootloadersettings": {
		children: []string{"configoption", "environment", "installoption", "shimoption"},
	},
	"bootsplash-theme": {},
	"certificate": {
		attrs: map[string]attrRule{
			"name": {},
		},
		reqAttrs: []string{"name"},
	},
	"certificates": {
		attrs: map[string]attrRule{
			"profiles":            {},
			"target_distribution": {values: []string{"archlinux", "debian", "redhat", "suse"}},
		},
		children:    []string{"certificate"},
		reqAttrs:    []string{"target_distribution"},
		reqChildren: []string{"certificate"},
	},
	"collectionModule": {
		attrs: map[string]attrRule{
			"arch":   {pattern: pat2},
			"enable": {kind: kindBool},
			"name":   {pattern: pat3},
			"stream": {pattern: pat3},
		},
		reqAttrs: []string{"enable", "name"},
	},
	"configoption": {
		attrs: map[string]attrRule{
			"name":  {},
			"value": {},
		},
		reqAttrs: []string{"name"},
	},
	"contact": {},
	"container": {
		attrs: map[string]attrRule{
			"arch":       {pattern: pat2},
			"fetch_only": {kind: kindBool},
			"name":       {},
			"path":       {},
			"tag":        {},
		},
		reqAttrs: []string{"name"},
	},
	"containerconfig": {
		attrs: map[string]attrRule{
			"additionalnames": {},
			"maintainer":      {},
			"name":            {},
			"tag":             {},
			"user":            {},
			"workingdir":      {},
		},
		children: []string{"entrypoint", "environment", "expose", "history", "labels", "stopsignal", "subcommand", "volumes"},
		reqAttrs: []string{"name"},
	},
	"containers": {
		attrs: map[string]attrRule{
			"arch":     {pattern: pat2},
			"backend":  {values: []string{"container-snap", "docker", "podman"}},
			"profiles": {},
			"source":   {},
		},
		children:    []string{"container"},
		reqAttrs:    []string{"backend", "source"},
		reqChildren: []string{"container"},
	},
	"description": {
		attrs: map[string]attrRule{
			"type": {values: []string{"boot", "system"}},
		},
		children:    []string{"author", "contact", "license", "specification"},
		reqAttrs:    []string{"type"},
		reqChildren: []string{"author", "contact", "specification"},
	},
	"dracut": {
		attrs: map[string]attrRule{
			"driver": {},
			"module": {},
			"uefi":   {kind: kindBool},
		},
	},
	"drivers": {
		attrs: map[string]attrRule{
			"profiles": {},
		},
		children:    []string{"file"},
		reqChildren: []string{"file"},
	},
	"entrypoint": {
		attrs: map[string]attrRule{
			"clear":   {kind: kindBool},
			"execute": {},
		},
		children: []string{"argument"},
	},
	"env": {
		attrs: map[string]attrRule{
			"name":  {},
			"value": {},
		},
		reqAttrs: []string{"name", "value"},
	},
	"environment": {
		children:    []string{"env"},
		reqChildren: []string{"env"},
	},
	"expose": {
		children:    []string{"port"},
		reqChildren: []string{"port"},
	},
	"extension": {
		children: []string{"*"},
	},
	"file": {
		attrs: map[string]attrRule{
			"arch":        {pattern: pat2},
			"name":        {},
			"owner":       {},
			"permissions": {},
			"target":      {},
		},
		reqAttrs: []string{"name"},
	},
	"history": {
		attrs: map[string]attrRule{
			"application_id":  {},
			"author":          {},
			"created_by":      {},
			"launcher":        {},
			"package_version": {pattern: pat4},
		},
	},
	"hkd_cert": {
		attrs: map[string]attrRule{
			"name": {},
		},
		reqAttrs: []string{"name"},
	},
	"hkd_revocation_list": {
		attrs: map[string]attrRule{
			"name": {},
		},
		reqAttrs: []string{"name"},
	},
	"ignore": {
		attrs: map[string]attrRule{
			"arch": {pattern: pat2},
			"name": {},
		},
		reqAttrs: []string{"name"},
	},
	"image": {
		attrs: map[string]attrRule{
			"displayname":                   {},
			"id":                            {},
			"name":                          {pattern: pat3},
			"schemaversion":                 {values: []string{"8.5"}},
			"xsi:noNamespaceSchemaLocation": {},
			"xsi:schemaLocation":            {},
		},
		children:    []string{"certificates", "containers", "description", "drivers", "extension", "include", "packages", "preferences", "profiles", "repository", "strip", "users"},
		reqAttrs:    []string{"name", "schemaversion"},
		reqChildren: []string{"description", "preferences"},
	},
	"include": {
		attrs: map[string]attrRule{
			"from": {},
		},
		reqAttrs: []string{"from"},
	},
	"initrd": {
		attrs: map[string]attrRule{
			"action": {values: []string{"add", "omit", "set", "setup"}},
		},
		children: []string{"dracut"},
		reqAttrs: []string{"action"},
	},
	"installmedia": {
		children: []string{"initrd"},
	},
	"installoption": {
		attrs: map[string]attrRule{
			"name":  {},
			"value": {},
		},
		reqAttrs: []string{"name"},
	},
	"keytable": {},
	"label": {
		attrs: map[string]attrRule{
			"name":  {},
			"value": {},
		},
		reqAttrs: []string{"name", "value"},
	},
	"labels": {
		children:    []string{"label"},
		reqChildren: []string{"label"},
	},
	"license": {},
	"locale": {
		text: attrRule{pattern: pat5},
	},
	"luksformat": {
		children:    []string{"option"},
		reqChildren: []string{"option"},
	},
	"machine": {
		attrs: map[string]attrRule{
			"HWversion":  {kind: kindUint},
			"arch":       {values: []string{"ix86", "x86_64"}},
			"guestOS":    {},
			"max_cpu":    {kind: kindUint},
			"max_memory": {kind: kindUint},
			"memory":     {kind: kindUint},
			"min_cpu":    {kind: kindUint},
			"min_memory": {kind: kindUint},
			"ncpus":      {kind: kindUint},
			"ovftype":    {values: []string{"vmware"}},
			"xen_loader": {values: []string{"hvmloader", "pvgrub", "pygrub"}},
		},
		children: []string{"vmconfig-entry", "vmdisk", "vmdvd", "vmnic"},
	},
	"namedCollection": {
		attrs: map[string]attrRule{
			"arch": {pattern: pat2},
			"name": {},
		},
		reqAttrs: []string{"name"},
	},
	"oem-boot-title": {},
	"oem-bootwait": {
		text: attrRule{kind: kindBool},
	},
	"oem-device-filter": {},
	"oem-inplace-recovery": {
		text: attrRule{kind: kindBool},
	},
	"oem-kiwi-initrd": {
		text: attrRule{kind: kindBool},
	},
	"oem-multipath-scan": {
		text: attrRule{kind: kindBool},
	},
	"oem-nic-filter": {},
	"oem-partition-install": {
		text: attrRule{kind: kindBool},
	},
	"oem-ramdisk-size": {},
	"oem-reboot": {
		text: attrRule{kind: kindBool},
	},
	"oem-reboot-interactive": {
		text: attrRule{kind: kindBool},
	},
	"oem-recovery": {
		text: attrRule{kind: kindBool},
	},
	"oem-recovery-part-size": {
		text: attrRule{kind: kindUint},
	},
	"oem-recoveryID": {
		text: attrRule{kind: kindUint},
	},
	"oem-resize": {
		text: attrRule{kind: kindBool},
	},
	"oem-resize-once": {
		text: attrRule{kind: kindBool},
	},
	"oem-shutdown": {
		text: attrRule{kind: kindBool},
	},
	"oem-shutdown-interactive": {
		text: attrRule{kind: kindBool},
	},
	"oem-silent-boot": {
		text: attrRule{kind: kindBool},
	},
	"oem-silent-install": {
		text: attrRule{kind: kindBool},
	},
	"oem-silent-verify": {
		text: attrRule{kind: kindBool},
	},
	"oem-skip-verify": {
		text: attrRule{kind: kindBool},
	},
	"oem-swap": {
		text: attrRule{kind: kindBool},
	},
	"oem-swapname": {},
	"oem-swapsize": {
		text: attrRule{kind: kindUint},
	},
	"oem-systemsize": {
		text: attrRule{kind: kindUint},
	},
	"oem-unattended": {
		text: attrRule{kind: kindBool},
	},
	"oem-unattended-id": {},
	"oem-vmcp-parmfile": {},
	"oemconfig": {
		children: []string{"oem-boot-title", "oem-bootwait", "oem-device-filter", "oem-inplace-recovery", "oem-kiwi-initrd", "oem-multipath-scan", "oem-nic-filter", "oem-partition-install", "oem-ramdisk-size", "oem-reboot", "oem-reboot-interactive", "oem-recovery", "oem-recovery-part-size", "oem-recoveryID", "oem-resize", "oem-resize-once", "oem-shutdown", "oem-shutdown-interactive", "oem-silent-boot", "oem-silent-install", "oem-silent-verify", "oem-skip-verify", "oem-swap", "oem-swapname", "oem-swapsize", "oem-systemsize", "oem-unattended", "oem-unattended-id", "oem-vmcp-parmfile"},
	},
	"option": {
		attrs: map[string]attrRule{
			"name":  {},
			"value": {},
		},
		reqAttrs: []string{"name"},
	},
	"package": {
		attrs: map[string]attrRule{
			"arch":        {pattern: pat2},
			"bootdelete":  {kind: kindBool},
			"bootinclude": {kind: kindBool},
			"name":        {},
		},
		reqAttrs: []string{"name"},
	},
	"packagemanager": {
		text: attrRule{values: []string{"apk", "apt", "dnf4", "dnf5", "microdnf", "pacman", "zypper"}},
	},
	"packages": {
		attrs: map[string]attrRule{
			"bootstrap_package": {},
			"patternType":       {values: []string{"onlyRequired", "plusRecommended"}},
			"profiles":          {},
			"type":              {values: []string{"bootstrap", "delete", "docker", "image", "iso", "kis", "oci", "oem", "pxe", "systemfiles", "uninstall"}},
		},
		children: []string{"archive", "collectionModule", "file", "ignore", "namedCollection", "package", "product"},
		reqAttrs: []string{"type"},
	},
	"partition": {
		attrs: map[string]attrRule{
			"clone":          {pattern: pat6},
			"filesystem":     {values: []string{"btrfs", "ext2", "ext3", "ext4", "fat16", "fat32", "squashfs", "xfs"}},
			"label":          {},
			"mountpoint":     {},
			"name":           {},
			"part_id":        {pattern: pat6},
			"partition_name": {pattern: pat7},
			"partition_type": {values: []string{"t.linux", "t.raid"}},
			"size":           {pattern: pat8},
		},
		reqAttrs: []string{"name", "size"},
	},
	"partitions": {
		children:    []string{"partition"},
		reqChildren: []string{"partition"},
	},
	"port": {
		attrs: map[string]attrRule{
			"number": {pattern: pat9},
		},
		reqAttrs: []string{"number"},
	},
	"preferences": {
		attrs: map[string]attrRule{
			"arch":     {pattern: pat2},
			"profiles": {},
		},
		children: []string{"bootloader-theme", "bootsplash-theme", "keytable", "locale", "packagemanager", "release-version", "rpm-check-signatures", "rpm-excludedocs", "rpm-locale-filtering", "showlicense", "timezone", "type", "version"},
	},
	"product": {
		attrs: map[string]attrRule{
			"arch": {pattern: pat2},
			"name": {},
		},
		reqAttrs: []string{"name"},
	},
	"profile": {
		attrs: map[string]attrRule{
			"arch":        {pattern: pat2},
			"description": {},
			"import":      {kind: kindBool},
			"name":        {},
		},
		children: []string{"requires"},
		reqAttrs: []string{"description", "name"},
	},
	"profiles": {
		children:    []string{"profile"},
		reqChildren: []string{"profile"},
	},
	"release-version": {},
	"repository": {
		attrs: map[string]attrRule{
			"alias":               {pattern: pat3},
			"arch":                {pattern: pat2},
			"architectures":       {pattern: pat2},
			"components":          {},
			"customize":           {},
			"distribution":        {},
			"imageinclude":        {kind: kindBool},
			"imageonly":           {kind: kindBool},
			"package_gpgcheck":    {kind: kindBool},
			"password":            {},
			"priority":            {kind: kindUint},
			"profiles":            {},
			"repository_gpgcheck": {kind: kindBool},
			"sourcetype":          {values: []string{"baseurl", "metalink", "mirrorlist"}},
			"type":                {values: []string{"apk", "apt-deb", "apt-rpm", "deb-dir", "mirrors", "rpm-md"}},
			"username":            {},
		},
		children:    []string{"source"},
		reqChildren: []string{"source"},
	},
	"requires": {
		attrs: map[string]attrRule{
			"arch":    {pattern: pat2},
			"profile": {},
		},
		reqAttrs: []string{"profile"},
	},
	"rpm-check-signatures": {
		text: attrRule{kind: kindBool},
	},
	"rpm-excludedocs": {
		text: attrRule{kind: kindBool},
	},
	"rpm-locale-filtering": {
		text: attrRule{kind: kindBool},
	},
	"securelinux": {
		attrs: map[string]attrRule{
			"hkd_ca_cert":   {},
			"hkd_sign_cert": {},
		},
		children:    []string{"hkd_cert", "hkd_revocation_list"},
		reqAttrs:    []string{"hkd_ca_cert", "hkd_sign_cert"},
		reqChildren: []string{"hkd_cert"},
	},
	"shimoption": {
		attrs: map[string]attrRule{
			"name":  {},
			"value": {},
		},
		reqAttrs: []string{"name"},
	},
	"showlicense": {},
	"signing": {
		attrs: map[string]attrRule{
			"key": {pattern: pat10},
		},
		reqAttrs: []string{"key"},
	},
	"size": {
		attrs: map[string]attrRule{
			"additive":      {kind: kindBool},
			"unit":          {values: []string{"G", "M"}},
			"unpartitioned": {kind: kindUint},
		},
		text: attrRule{kind: kindUint},
	},
	"source": {
		attrs: map[string]attrRule{
			"path": {},
		},
		children: []string{"signing"},
		reqAttrs: []string{"path"},
	},
	"specification": {},
	"stopsignal":    {},
	"strip": {
		attrs: map[string]attrRule{
			"profiles": {},
			"type":     {values: []string{"delete", "libs", "tools"}},
		},
		children:    []string{"file"},
		reqAttrs:    []string{"type"},
		reqChildren: []string{"file"},
	},
	"subcommand": {
		attrs: map[string]attrRule{
			"clear":   {kind: kindBool},
			"execute": {},
		},
		children: []string{"argument"},
	},
	"systemdisk": {
		attrs: map[string]attrRule{
			"name":      {},
			"preferlvm": {kind: kindBool},
		},
		children: []string{"volume"},
	},
	"timezone": {},
	"type": {
		attrs: map[string]attrRule{
			"application_id":                     {pattern: pat11},
			"archive":                            {kind: kindBool},
			"boot":                               {},
			"boot_clone":                         {pattern: pat6},
			"bootfilesystem":                     {values: []string{"btrfs", "ext2", "ext3", "ext4", "fat16", "fat32", "xfs"}},
			"bootkernel":                         {},
			"bootpart_id":                        {pattern: pat6},
			"bootpartition":                      {kind: kindBool},
			"bootpartsize":                       {kind: kindUint},
			"bootprofile":                        {},
			"btrfs_quota_groups":                 {kind: kindBool},
			"btrfs_root_is_readonly_snapshot":    {kind: kindBool},
			"btrfs_root_is_snapper_snapshot":     {kind: kindBool},
			"btrfs_root_is_subvolume":            {kind: kindBool},
			"btrfs_set_default_volume":           {kind: kindBool},
			"bundle_format":                      {},
			"compressed":                         {kind: kindBool},
			"delta_root":                         {kind: kindBool},
			"derived_from":                       {},
			"devicepersistency":                  {values: []string{"by-label", "by-partuuid", "by-uuid"}},
			"disk_start_sector":                  {kind: kindUint},
			"dosparttable_extended_layout":       {kind: kindBool},
			"editbootconfig":                     {},
			"editbootinstall":                    {},
			"eficsm":                             {kind: kindBool},
			"eficsmpart_id":                      {pattern: pat6},
			"efifatimagesize":                    {kind: kindUint},
			"efipart_id":                         {pattern: pat6},
			"efipartsize":                        {kind: kindUint},
			"efiparttable":                       {values: []string{"gpt", "msdos"}},
			"embed_integrity_metadata":           {kind: kindBool},
			"embed_verity_metadata":              {kind: kindBool},
			"enclave_format":                     {values: []string{"aws-nitro"}},
			"ensure_empty_tmpdirs":               {kind: kindBool},
			"erofscompression":                   {},
			"filesystem":                         {values: []string{"btrfs", "erofs", "ext2", "ext3", "ext4", "squashfs", "xfs"}},
			"firmware":                           {values: []string{"bios", "custom", "ec2", "efi", "ofw", "opal", "uefi"}},
			"flags":                              {values: []string{"dmsquash", "overlay"}},
			"force_mbr":                          {kind: kindBool},
			"format":                             {values: []string{"gce", "ova", "qcow2", "vagrant", "vdi", "vhd", "vhd-fixed", "vhdx", "vmdk"}, pattern: pat12},
			"formatoptions":                      {},
			"fscreateoptions":                    {},
			"fsmountoptions":                     {},
			"gcelicense":                         {},
			"gpt_hybrid_mbr":                     {kind: kindBool},
			"hybridpersistent":                   {kind: kindBool},
			"hybridpersistent_filesystem":        {values: []string{"ext4", "xfs"}},
			"image":                              {values: []string{"appx", "btrfs", "cpio", "docker", "enclave", "erofs", "ext2", "ext3", "ext4", "iso", "kis", "oci", "oem", "pxe", "squashfs", "tbz", "wsl", "xfs"}},
			"initrd_system":                      {values: []string{"dracut", "kiwi", "none"}},
			"install_continue_on_timeout":        {kind: kindBool},
			"installboot":                        {values: []string{"failsafe-install", "harddisk", "install"}},
			"installiso":                         {kind: kindBool},
			"installprovidefailsafe":             {kind: kindBool},
			"installpxe":                         {kind: kindBool},
			"installstick":                       {kind: kindBool},
			"integrity_keyfile":                  {},
			"integrity_legacy_hmac":              {kind: kindBool},
			"integrity_metadata_key_description": {},
			"kernelcmdline":                      {},
			"luks":                               {},
			"luksOS":                             {values: []string{"sle12"}},
			"luks_pbkdf":                         {values: []string{"argon2i", "argon2id", "pbkdf2"}},
			"luks_randomize":                     {kind: kindBool},
			"luks_version":                       {values: []string{"luks", "luks1", "luks2"}},
			"mdraid":                             {values: []string{"mirroring", "striping"}},
			"mediacheck":                         {kind: kindBool},
			"metadata_path":                      {},
			"overlayroot":                        {kind: kindBool},
			"overlayroot_readonly_filesystem":    {values: []string{"erofs", "squashfs"}},
			"overlayroot_readonly_partsize":      {kind: kindUint},
			"overlayroot_write_partition":        {kind: kindBool},
			"primary":                            {kind: kindBool},
			"provide_system_files":               {kind: kindBool},
			"publisher":                          {pattern: pat11},
			"ramonly":                            {kind: kindBool},
			"require_system_files":               {kind: kindBool},
			"root_clone":                         {pattern: pat6},
			"rootfs_label":                       {},
			"rootpart_id":                        {pattern: pat6},
			"selinux_policy":                     {values: []string{"minimum", "mls", "targeted"}},
			"spare_part":                         {pattern: pat8},
			"spare_part_fs":                      {values: []string{"btrfs", "ext2", "ext3", "ext4", "xfs"}},
			"spare_part_fs_attributes":           {pattern: pat13},
			"spare_part_is_last":                 {kind: kindBool},
			"spare_part_mountpoint":              {},
			"squashfscompression":                {values: []string{"gzip", "lz4", "lzo", "uncompressed", "xz", "zstd"}},
			"standalone_integrity":               {kind: kindBool},
			"target_blocksize":                   {kind: kindUint},
			"target_removable":                   {kind: kindBool},
			"verity_blocks":                      {pattern: pat14},
			"vhdfixedtag":                        {pattern: pat15},
			"volid":                              {pattern: pat7},
			"wwid_wait_timeout":                  {kind: kindUint},
			"xen_server":                         {kind: kindBool},
		},
		children: []string{"bootloader", "containerconfig", "initrd", "installmedia", "luksformat", "machine", "oemconfig", "partitions", "size", "systemdisk", "vagrantconfig"},
		reqAttrs: []string{"image"},
	},
	"user": {
		attrs: map[string]attrRule{
			"groups":    {pattern: pat16},
			"home":      {},
			"id":        {kind: kindUint},
			"name":      {},
			"password":  {},
			"pwdformat": {values: []string{"encrypted", "plain"}},
			"realname":  {},
			"shell":     {},
		},
		reqAttrs: []string{"name", "password"},
	},
	"users": {
		attrs: map[string]attrRule{
			"arch":     {pattern: pat2},
			"profiles": {},
		},
		children:    []string{"user"},
		reqChildren: []string{"user"},
	},
	"vagrantconfig": {
		attrs: map[string]attrRule{
			"boxname":                            {},
			"embedded_vagrantfile":               {},
			"provider":                           {values: []string{"libvirt", "virtualbox"}},
			"virtualbox_guest_additions_present": {kind: kindBool},
			"virtualsize":                        {kind: kindUint},
		},
		reqAttrs: []string{"provider", "virtualsize"},
	},
	"version":        {},
	"vmconfig-entry": {},
	"vmdisk": {
		attrs: map[string]attrRule{
			"controller": {values: []string{"buslogic", "ide", "legacyESX", "lsilogic", "lsisas1068", "pvscsi"}},
			"device":     {},
			"diskmode":   {values: []string{"monolithicFlat", "monolithicSparse", "streamOptimized", "twoGbMaxExtentFlat", "twoGbMaxExtentSparse"}},
			"disktype":   {},
			"id":         {kind: kindUint},
		},
	},
	"vmdvd": {
		attrs: map[string]attrRule{
			"controller": {values: []string{"ide", "scsi"}},
			"id":         {kind: kindUint},
		},
		reqAttrs: []string{"controller", "id"},
	},
	"vmnic": {
		attrs: map[string]attrRule{
			"driver":    {},
			"interface": {},
			"mac":       {pattern: pat17},
			"mode":      {},
		},
		reqAttrs: []string{"interface"},
	},
	"volume": {
		attrs: map[string]attrRule{
			"arch":             {pattern: pat2},
			"copy_on_write":    {kind: kindBool},
			"filesystem_check": {kind: kindBool},
			"freespace":        {pattern: pat18},
			"label":            {},
			"mountpoint":       {},
			"name":             {},
			"parent":           {},
			"quota":            {pattern: pat8},
			"size":             {pattern: pat18},
		},
		reqAttrs: []string{"name"},
	},
	"volumes": {
		children:    []string{"volume"},
		reqChildren: []string{"volume"},
	},
}

// typeAttrImages lists, per <type> attribute, the image types it is allowed for.
var typeAttrImages = map[string][]string{
	"application_id":                     []string{"iso", "oem"},
	"archive":                            []string{"kis"},
	"boot":                               []string{"oem", "pxe"},
	"boot_clone":                         []string{"oem"},
	"bootfilesystem":                     []string{"oem"},
	"bootpart_id":                        []string{"oem"},
	"bootpartition":                      []string{"oem"},
	"bootpartsize":                       []string{"oem"},
	"bootprofile":                        []string{"oem", "iso", "pxe", "cpio"},
	"btrfs_quota_groups":                 []string{"oem"},
	"btrfs_root_is_readonly_snapshot":    []string{"oem"},
	"btrfs_root_is_snapper_snapshot":     []string{"oem"},
	"btrfs_root_is_subvolume":            []string{"oem"},
	"btrfs_set_default_volume":           []string{"oem"},
	"compressed":                         []string{"pxe", "kis"},
	"delta_root":                         []string{"docker", "oci"},
	"derived_from":                       []string{"docker", "oci", "oem"},
	"disk_start_sector":                  []string{"oem"},
	"dosparttable_extended_layout":       []string{"oem"},
	"editbootconfig":                     []string{"oem", "iso"},
	"editbootinstall":                    []string{"oem"},
	"eficsm":                             []string{"oem", "iso"},
	"eficsmpart_id":                      []string{"oem"},
	"efifatimagesize":                    []string{"oem", "iso"},
	"efipart_id":                         []string{"oem"},
	"efipartsize":                        []string{"oem"},
	"efiparttable":                       []string{"oem", "iso"},
	"embed_integrity_metadata":           []string{"oem"},
	"embed_verity_metadata":              []string{"oem"},
	"enclave_format":                     []string{"enclave"},
	"ensure_empty_tmpdirs":               []string{"docker", "oci"},
	"erofscompression":                   []string{"oem", "pxe", "kis", "iso", "erofs"},
	"filesystem":                         []string{"oem", "pxe", "kis", "iso"},
	"firmware":                           []string{"oem", "pxe", "iso"},
	"flags":                              []string{"iso"},
	"force_mbr":                          []string{"oem"},
	"format":                             []string{"oem"},
	"formatoptions":                      []string{"oem"},
	"gcelicense":                         []string{"oem"},
	"gpt_hybrid_mbr":                     []string{"oem", "iso"},
	"hybridpersistent":                   []string{"iso", "pxe"},
	"hybridpersistent_filesystem":        []string{"iso", "pxe"},
	"initrd_system":                      []string{"oem", "pxe", "kis"},
	"install_continue_on_timeout":        []string{"oem"},
	"installboot":                        []string{"oem"},
	"installiso":                         []string{"oem"},
	"installprovidefailsafe":             []string{"oem"},
	"installpxe":                         []string{"oem"},
	"installstick":                       []string{"oem"},
	"integrity_keyfile":                  []string{"oem"},
	"integrity_legacy_hmac":              []string{"oem"},
	"integrity_metadata_key_description": []string{"oem"},
	"kernelcmdline":                      []string{"oem", "iso", "pxe", "kis", "enclave"},
	"luks":                               []string{"oem", "iso", "pxe", "kis"},
	"luksOS":                             []string{"oem", "iso", "pxe", "kis"},
	"luks_pbkdf":                         []string{"oem", "iso", "pxe", "kis"},
	"luks_randomize":                     []string{"oem", "iso", "pxe", "kis"},
	"luks_version":                       []string{"oem", "iso", "pxe", "kis"},
	"mdraid":                             []string{"oem"},
	"mediacheck":                         []string{"iso"},
	"metadata_path":                      []string{"appx"},
	"overlayroot":                        []string{"oem"},
	"overlayroot_readonly_filesystem":    []string{"oem"},
	"overlayroot_readonly_partsize":      []string{"oem"},
	"overlayroot_write_partition":        []string{"oem"},
	"provide_system_files":               []string{"docker", "oci"},
	"publisher":                          []string{"iso"},
	"ramonly":                            []string{"oem"},
	"require_system_files":               []string{"docker", "oci"},
	"root_clone":                         []string{"oem"},
	"rootfs_label":                       []string{"oem", "pxe", "kis", "docker"},
	"rootpart_id":                        []string{"oem"},
	"spare_part":                         []string{"oem"},
	"spare_part_fs":                      []string{"oem"},
	"spare_part_fs_attributes":           []string{"oem"},
	"spare_part_is_last":                 []string{"oem"},
	"spare_part_mountpoint":              []string{"oem"},
	"squashfscompression":                []string{"oem", "pxe", "kis", "iso", "squashfs"},
	"standalone_integrity":               []string{"oem"},
	"target_blocksize":                   []string{"oem", "kis"},
	"target_removable":                   []string{"oem"},
	"verity_blocks":                      []string{"oem", "iso"},
	"vhdfixedtag":                        []string{"oem"},
	"volid":                              []string{"iso", "oem"},
	"wwid_wait_timeout":                  []string{"oem"},
	"xen_server":                         []string{"oem"},
}

// bootloaderAttrNames lists, per <bootloader> attribute, the bootloader names it is allowed for.
var bootloaderAttrNames = map[string][]string{
	"bls":            []string{"grub2"},
	"input_console":  []string{"grub2", "grub2_s390x_emu"},
	"output_console": []string{"grub2", "grub2_s390x_emu"},
	"serial_line":    []string{"grub2", "grub2_s390x_emu"},
	"targettype":     []string{"grub2_s390x_emu", "zipl"},
	"timeout":        []string{"grub2", "grub2_s390x_emu", "systemd_boot", "zipl"},
	"timeout_style":  []string{"grub2", "grub2_s390x_emu"},
	"video_mode":     []string{"grub2", "grub2_s390x_emu"},
}

// containerconfigAttrImages lists, per <containerconfig> attribute, the image types it is allowed for.
var containerconfigAttrImages = map[string][]string{
	"additionalnames": []string{"oem", "docker", "oci"},
	"maintainer":      []string{"oem", "docker", "oci"},
	"name":            []string{"oem", "docker", "oci", "appx"},
	"tag":             []string{"oem", "docker", "oci"},
	"user":            []string{"oem", "docker", "oci"},
	"workingdir":      []string{"oem", "docker", "oci"},
}

// btrfsOnlyTypeAttrs are <type> attributes that need filesystem="btrfs".
var btrfsOnlyTypeAttrs = []string{"btrfs_quota_groups", "btrfs_root_is_readonly_snapshot", "btrfs_root_is_snapper_snapshot", "btrfs_root_is_subvolume", "btrfs_set_default_volume"}

var (
	pat0  = regexp.MustCompile(`^(?:(?:(none|console|serial|at_keyboard|usb_keyboard)( (console|serial|at_keyboard|usb_keyboard))*))$`)
	pat1  = regexp.MustCompile(`^(?:(?:(none|console|gfxterm|serial|vga_text|mda_text|morse|spkmodem)( (console|gfxterm|serial|vga_text|mda_text|morse|spkmodem))*))$`)
	pat2  = regexp.MustCompile(`^(?:(?:(x86_64|i586|i686|ix86|aarch64|arm64|amd64|armv5el|armv5tel|armv6hl|armv6l|armv7hl|armv7l|ppc|ppc64|ppc64le|s390|s390x|riscv64)(,(x86_64|i586|i686|ix86|aarch64|arm64|amd64|armv5el|armv5tel|armv6hl|armv6l|armv7hl|armv7l|ppc|ppc64|ppc64le|s390|s390x|riscv64))*))$`)
	pat3  = regexp.MustCompile(`^(?:(?:[a-zA-Z0-9_\-\.]+))$`)
	pat4  = regexp.MustCompile(`^(?:(?:(0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])(\.(0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])){3}))$`)
	pat5  = regexp.MustCompile(`^(?:(C|POSIX|[a-z]{2,3}_[A-Z]{2})(,[a-z]{2,3}_[A-Z]{2})*)$`)
	pat6  = regexp.MustCompile(`^(?:(?:\d+))$`)
	pat7  = regexp.MustCompile(`^(?:(?:[a-zA-Z0-9_\-\.]{1,32}))$`)
	pat8  = regexp.MustCompile(`^(?:(?:(\d+|\d+M|\d+G)))$`)
	pat9  = regexp.MustCompile(`^(?:(?:(\d+|\d+/(udp|tcp))))$`)
	pat10 = regexp.MustCompile(`^(?:(?:(file:|https:|http:|ftp:).*))$`)
	pat11 = regexp.MustCompile(`^(?:(?:[a-zA-Z0-9!-/:-?_ ]{1,128}))$`)
	pat12 = regexp.MustCompile(`^(?:(?:(oci|docker):(gce|ova|qcow2|vmdk|vdi|vhd|vhdx|vhd-fixed|raw)))$`)
	pat13 = regexp.MustCompile(`^(?:(?:(no-copy-on-write|synchronous-updates)(,(no-copy-on-write|synchronous-updates))*))$`)
	pat14 = regexp.MustCompile(`^(?:(?:(\d*|all)))$`)
	pat15 = regexp.MustCompile(`^(?:(?:[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}))$`)
	pat16 = regexp.MustCompile(`^(?:(?:[a-zA-Z0-9_\-\.:]+(,[a-zA-Z0-9_\-\.:]+)*))$`)
	pat17 = regexp.MustCompile(`^(?:(?:([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}))$`)
	pat18 = regexp.MustCompile(`^(?:(?:(\d+|\d+M|\d+G|all)))$`)
)

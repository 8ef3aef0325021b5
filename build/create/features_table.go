package create

// features decides, for every element and attribute of KIWI's schema,
// whether this kiwi honours it, refuses it before any work, or ignores
// it because it has no effect here. TestFeaturesCoverTheSchema fails when
// the schema has an element or attribute this table does not decide (or
// the table a key the schema does not have); docs/description.md lists
// the three sets and TestFeaturesAreDocumented keeps it in step.
//
// Keys are "element" (the element itself) or "element@attr". An element
// name means the same decision wherever the element appears (<volume> of
// a <systemdisk> and of a <containerconfig>, <file> of <packages>,
// <drivers> and <strip>). Attributes that select sections (arch=,
// profiles=) are honoured everywhere: the loader applies them.
//
// Settings whose refusal depends on the value (a bootloader name, an
// initrd system, a format, a filesystem or firmware a kind cannot take)
// are honoured here and checked by the kinds' plans (kind.go,
// disktype.go, createlive.go, createkis.go).
var features = map[string]feature{
	// The description itself: identity, profiles, includes. Loading
	// reads them; the image name, version and display name name the
	// results and the boot menu.
	"image":                               {support: honoured},
	"image@name":                          {support: honoured},
	"image@displayname":                   {support: honoured},
	"image@schemaversion":                 {support: honoured},
	"image@id":                            {support: refused, why: "KIWI writes the image id into /etc/ImageID, this kiwi does not yet; leave id out or add etc/ImageID to the overlay tree (root/)"},
	"image@xsi:noNamespaceSchemaLocation": {support: ignored, why: whySchemaLocation},
	"image@xsi:schemaLocation":            {support: ignored, why: whySchemaLocation},
	"description":                         {support: honoured},
	"description@type":                    {support: honoured},
	"author":                              {support: honoured},
	"contact":                             {support: honoured},
	"specification":                       {support: honoured},
	"license":                             {support: honoured},
	"include":                             {support: honoured},
	"include@from":                        {support: honoured},
	"profiles":                            {support: honoured},
	"profile":                             {support: honoured},
	"profile@name":                        {support: honoured},
	"profile@description":                 {support: honoured},
	"profile@import":                      {support: honoured},
	"profile@arch":                        {support: honoured},
	"requires":                            {support: honoured},
	"requires@profile":                    {support: honoured},
	"requires@arch":                       {support: honoured},
	"extension":                           {support: ignored, why: "KIWI hands <extension> content to its plugins; this kiwi has no plugins, and the image does not depend on it"},

	// <preferences>: prepare reads the package manager (apt only, checked
	// there), version and the keytable, locale and timezone (setup.go).
	"preferences":          {support: honoured},
	"preferences@arch":     {support: honoured},
	"preferences@profiles": {support: honoured},
	"version":              {support: honoured},
	"packagemanager":       {support: honoured},
	"keytable":             {support: honoured},
	"locale":               {support: honoured},
	"timezone":             {support: honoured},
	"release-version": {support: ignored, why: "it is the $releasever of dnf repositories; apt, zypper and pacman are not given one (KIWI passes it to dnf only)",
		pm: by(feature{support: honoured}, "dnf", "dnf4", "dnf5")},
	"rpm-check-signatures": {support: ignored, why: "apt checks repository signatures here whatever it says; to build from unsigned repositories set repository_gpgcheck=\"false\" on the repository",
		pm: by(feature{support: honoured}, append(rpmManagers, "pacman")...)},
	"rpm-excludedocs": {support: refused, unlessFalse: true, why: "leaving documentation out of the image (KIWI's apt setup excludes /usr/share/doc and friends) is not done yet; leave rpm-excludedocs out or remove the documentation in config.sh",
		pm: with(by(feature{support: honoured}, rpmManagers...), by(feature{support: ignored, why: "it is rpm's %_excludedocs; pacman installs documentation (KIWI ignores it for pacman too)"}, "pacman"))},
	"rpm-locale-filtering": {support: ignored, why: "it is rpm's %_install_langs; apt and pacman install every locale a package has (KIWI ignores it for them too)",
		pm: by(feature{support: honoured}, rpmManagers...)},
	"showlicense":      {support: ignored, why: "KIWI only hands it to scripts as kiwi_showlicense in .profile; nothing in this kiwi's images shows licenses, and the image is the same"},
	"bootsplash-theme": {support: refused, why: "plymouth themes are not set yet (KIWI runs plymouth-set-default-theme in the root); leave bootsplash-theme out or set the theme in config.sh"},
	"bootloader-theme": {support: refused, kinds: []string{"oem", "iso"}, otherwise: ignored, why: "grub themes are not installed yet (the boot menu is plain text); leave bootloader-theme out. kis and filesystem images have no boot menu for it to change"},

	// <repository>: prepare (apt.go) makes the sources.list lines.
	"repository":                     {support: honoured},
	"repository@type":                {support: honoured},
	"repository@alias":               {support: honoured},
	"repository@arch":                {support: honoured},
	"repository@profiles":            {support: honoured},
	"repository@components":          {support: honoured},
	"repository@distribution":        {support: honoured},
	"repository@imageinclude":        {support: honoured},
	"repository@repository_gpgcheck": {support: honoured},
	"repository@imageonly":           {support: honoured},
	"repository@priority": {support: refused, why: "apt pin priorities for repositories are not written yet; leave priority out",
		pm: with(by(feature{support: honoured}, rpmManagers...), by(feature{support: ignored, why: "pacman repositories have no priority (KIWI ignores it for pacman too); order the repositories instead"}, "pacman"))},
	"repository@architectures": {support: refused, why: "the architectures of apt repositories are not written into sources.list yet; leave architectures out"},
	"repository@customize":     {support: refused, why: "repository customization scripts are not run yet; leave customize out"},
	"repository@username":      {support: refused, why: whyNoCredentials, pm: by(feature{support: honoured}, rpmManagers...)},
	"repository@password":      {support: refused, why: whyNoCredentials, pm: by(feature{support: honoured}, rpmManagers...)},
	"repository@package_gpgcheck": {support: ignored, why: "apt checks the signatures of repositories, not of single packages (KIWI ignores it for apt too)",
		pm: by(feature{support: honoured}, append(rpmManagers, "pacman")...)},
	"repository@sourcetype": {support: ignored, why: "metalink and mirrorlist sources are a zypper and dnf matter; apt reads the source path as a repository URL (KIWI ignores it for apt too)"},
	"source":                {support: honoured},
	"source@path":           {support: honoured},
	"signing":               {support: refused, why: whyNoSigning, pm: by(feature{support: honoured}, rpmManagers...)},
	"signing@key":           {support: refused, why: whyNoSigning, pm: by(feature{support: honoured}, rpmManagers...)},

	// <packages>: prepare installs bootstrap (debootstrap) and image
	// packages (apt-get), unpacks archives and copies files of the image
	// and type sections, then uninstalls and deletes.
	"packages":          {support: honoured},
	"packages@type":     {support: honoured},
	"packages@profiles": {support: honoured},
	"packages@patternType": {support: refused, why: "packages are always installed without recommended ones (apt-get --no-install-recommends, KIWI's onlyRequired); plusRecommended is not built yet, so leave patternType out",
		pm: with(by(feature{support: honoured}, rpmManagers...), by(feature{support: ignored, why: "pacman has no recommended packages"}, "pacman"))},
	"packages@bootstrap_package": {support: ignored, why: "this kiwi bootstraps roots with the package manager from the repositories (debootstrap for apt); a prebuilt bootstrap package is not used"},
	"package":                    {support: honoured},
	"package@name":               {support: honoured},
	"package@arch":               {support: honoured},
	"package@bootinclude":        {support: ignored, unlessFalse: true, why: whyKiwiBootImage},
	"package@bootdelete":         {support: ignored, unlessFalse: true, why: whyKiwiBootImage},
	"archive":                    {support: honoured},
	"archive@name":               {support: honoured},
	"archive@target_dir":         {support: honoured},
	"archive@bootinclude":        {support: ignored, unlessFalse: true, why: whyKiwiBootImage},
	"file":                       {support: honoured},
	"file@name":                  {support: honoured},
	"file@target":                {support: honoured},
	"file@owner":                 {support: honoured},
	"file@permissions":           {support: honoured},
	"file@arch":                  {support: honoured},
	"namedCollection":            {support: ignored, why: whyAptNoCollections, pm: by(feature{support: honoured}, append(rpmManagers, "pacman")...)},
	"namedCollection@name":       {support: ignored, why: whyAptNoCollections, pm: by(feature{support: honoured}, append(rpmManagers, "pacman")...)},
	"namedCollection@arch":       {support: honoured},
	"product":                    {support: ignored, why: whyNoProducts, pm: by(feature{support: honoured}, "zypper")},
	"product@name":               {support: ignored, why: whyNoProducts, pm: by(feature{support: honoured}, "zypper")},
	"product@arch":               {support: honoured},
	"collectionModule":           {support: ignored, why: whyAptNoModules, pm: by(feature{support: refused, why: whyNoModulesYet}, "dnf", "dnf4", "dnf5")},
	"collectionModule@name":      {support: ignored, why: whyAptNoModules, pm: by(feature{support: refused, why: whyNoModulesYet}, "dnf", "dnf4", "dnf5")},
	"collectionModule@stream":    {support: ignored, why: whyAptNoModules, pm: by(feature{support: refused, why: whyNoModulesYet}, "dnf", "dnf4", "dnf5")},
	"collectionModule@enable":    {support: ignored, why: whyAptNoModules, pm: by(feature{support: refused, why: whyNoModulesYet}, "dnf", "dnf4", "dnf5")},
	"collectionModule@arch":      {support: honoured},
	"ignore":                     {support: ignored, why: whyAptNoIgnore, pm: by(feature{support: honoured}, append(rpmManagers, "pacman")...)},
	"ignore@name":                {support: ignored, why: whyAptNoIgnore, pm: by(feature{support: honoured}, append(rpmManagers, "pacman")...)},
	"ignore@arch":                {support: honoured},

	// <users>: prepare creates them with the root's shadow tools.
	"users":          {support: honoured},
	"users@arch":     {support: honoured},
	"users@profiles": {support: honoured},
	"user":           {support: honoured},
	"user@name":      {support: honoured},
	"user@password":  {support: honoured},
	"user@pwdformat": {support: honoured},
	"user@groups":    {support: honoured},
	"user@home":      {support: honoured},
	"user@id":        {support: honoured},
	"user@realname":  {support: honoured},
	"user@shell":     {support: honoured},

	// Sections only KIWI's own boot images (initrd_system="kiwi") use.
	"drivers":          {support: ignored, why: "it lists kernel drivers for KIWI's own boot images (initrd_system=\"kiwi\"); the initrd here is made by dracut, which picks its drivers itself"},
	"drivers@profiles": {support: honoured},
	"strip":            {support: ignored, why: "KIWI strips files with it from its own boot images (initrd_system=\"kiwi\") and hands the lists to scripts as kiwi_strip_*; a system image here is not stripped by KIWI either"},
	"strip@type":       {support: ignored, why: "KIWI strips files with it from its own boot images (initrd_system=\"kiwi\") and hands the lists to scripts as kiwi_strip_*; a system image here is not stripped by KIWI either"},
	"strip@profiles":   {support: honoured},

	// <containers> and <certificates>: nothing in prepare reads them.
	"containers":                       {support: refused, why: whyContainers},
	"containers@source":                {support: refused, why: whyContainers},
	"containers@backend":               {support: refused, why: whyContainers},
	"containers@arch":                  {support: honoured},
	"containers@profiles":              {support: honoured},
	"container":                        {support: refused, why: whyContainers},
	"container@name":                   {support: refused, why: whyContainers},
	"container@tag":                    {support: refused, why: whyContainers},
	"container@path":                   {support: refused, why: whyContainers},
	"container@fetch_only":             {support: refused, why: whyContainers},
	"container@arch":                   {support: honoured},
	"certificates":                     {support: refused, why: whyCertificates},
	"certificates@target_distribution": {support: refused, why: whyCertificates},
	"certificates@profiles":            {support: honoured},
	"certificate":                      {support: refused, why: whyCertificates},
	"certificate@name":                 {support: refused, why: whyCertificates},

	// <type>: the kinds read it (DiskTypeOf, LiveTypeOf, KisTypeOf,
	// FSTypeOf). The schema check already keeps attributes to the image
	// types KIWI allows them for (typeAttrImages).
	"type":                                    {support: honoured},
	"type@image":                              {support: honoured},
	"type@primary":                            {support: honoured},
	"type@filesystem":                         {support: honoured},
	"type@firmware":                           {support: honoured},
	"type@kernelcmdline":                      {support: honoured},
	"type@initrd_system":                      {support: honoured},
	"type@format":                             {support: honoured},
	"type@formatoptions":                      {support: honoured},
	"type@efipartsize":                        {support: honoured},
	"type@efiparttable":                       {support: honoured, kinds: []string{"oem"}},
	"type@force_mbr":                          {support: honoured},
	"type@bootpartition":                      {support: honoured},
	"type@bootpartsize":                       {support: honoured},
	"type@bootfilesystem":                     {support: honoured},
	"type@rootfs_label":                       {support: honoured},
	"type@devicepersistency":                  {support: honoured, kinds: []string{"oem"}},
	"type@fscreateoptions":                    {support: honoured},
	"type@fsmountoptions":                     {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: "kiwi writes an fstab only into oem disks; live ISOs, kis and filesystem images have none for the options to go to"},
	"type@spare_part":                         {support: honoured},
	"type@spare_part_fs":                      {support: honoured},
	"type@spare_part_mountpoint":              {support: honoured},
	"type@spare_part_is_last":                 {support: honoured},
	"type@spare_part_fs_attributes":           {support: refused, why: "the spare partition's filesystem attributes (chattr no-copy-on-write, synchronous-updates) are not set yet; leave spare_part_fs_attributes out"},
	"type@squashfscompression":                {support: honoured, kinds: []string{"iso", "kis", "filesystem", "oem"}}, // oem: the install media's squashfs (installiso), as in KIWI
	"type@volid":                              {support: honoured, kinds: []string{"iso", "oem"}, otherwise: ignored, why: "only live ISOs and the install media of oem disks (installiso) have a volume id"},
	"type@publisher":                          {support: honoured},
	"type@mediacheck":                         {support: honoured},
	"type@flags":                              {support: honoured},
	"type@hybridpersistent":                   {support: honoured},
	"type@hybridpersistent_filesystem":        {support: honoured},
	"type@archive":                            {support: honoured},
	"type@compressed":                         {support: honoured},
	"type@application_id":                     {support: refused, kinds: []string{"iso"}, otherwise: ignored, why: "the live ISO's application id is kiwi's media id (the 0x... of its marker file) and cannot be set yet; leave application_id out. On an oem type it names the install ISO, which is not built"},
	"type@efifatimagesize":                    {support: refused, kinds: []string{"iso"}, otherwise: ignored, why: "the live ISO's EFI FAT image is sized to its files and cannot be set yet; leave efifatimagesize out. On an oem type it sizes the install ISO's, which is not built"},
	"type@erofscompression":                   {support: refused, why: "erofs compression is not passed to mkfs.erofs yet (erofs roots are uncompressed); leave erofscompression out"},
	"type@eficsm":                             {support: refused, why: "the EFI boot setup always keeps BIOS boot too (a bios_grub partition on GPT disks, El Torito on ISOs); choosing it is not built yet, so leave eficsm out (true is what you get)"},
	"type@gpt_hybrid_mbr":                     {support: refused, unlessFalse: true, why: "hybrid MBRs on GPT disks are not written yet; leave gpt_hybrid_mbr out"},
	"type@bootpart_id":                        {support: refused, why: whyPartitionNumbers},
	"type@rootpart_id":                        {support: refused, why: whyPartitionNumbers},
	"type@efipart_id":                         {support: refused, why: whyPartitionNumbers},
	"type@eficsmpart_id":                      {support: refused, why: whyPartitionNumbers},
	"type@disk_start_sector":                  {support: refused, why: "the first partition always starts at sector 2048 (1 MiB); leave disk_start_sector out"},
	"type@dosparttable_extended_layout":       {support: refused, unlessFalse: true, why: "extended msdos partitions are not made; an msdos disk holds four partitions at most, so leave dosparttable_extended_layout out or use a GPT"},
	"type@target_blocksize":                   {support: refused, why: "disks and filesystems are made for 512-byte sectors only; leave target_blocksize out"},
	"type@target_removable":                   {support: ignored, unlessFalse: true, why: "grub is installed to the EFI fallback path (EFI/BOOT/BOOTX64.EFI) on every disk, which is what removable media need; the disk is the same"},
	"type@vhdfixedtag":                        {support: refused, why: "the disk tag of fixed VHDs is not set yet; leave vhdfixedtag out"},
	"type@selinux_policy":                     {support: refused, why: "SELinux labelling of the root is not done yet; leave selinux_policy out"},
	"type@editbootconfig":                     {support: honoured, kinds: []string{"oem", "iso"}, why: "KIWI runs the edit boot config script for oem disks and live ISOs only; leave editbootconfig out"},
	"type@editbootinstall":                    {support: honoured, kinds: []string{"oem"}, why: "KIWI runs the edit boot install script for oem disks only; leave editbootinstall out"},
	"type@derived_from":                       {support: honoured, kinds: []string{"container"}, why: "oem disks from a container base (derived_from with format=\"oci:...\") are not built yet; leave derived_from out"},
	"type@wwid_wait_timeout":                  {support: ignored, why: "it is how long KIWI's own dracut modules wait for multipath devices; the initrd here is plain dracut without them"},
	"type@xen_server":                         {support: refused, unlessFalse: true, why: "Xen dom0 boot entries are not built; leave xen_server out"},
	"type@gcelicense":                         {support: honoured, why: "the license named in a gce image's manifest.json (format=\"gce\" of an oem disk)"},
	"type@boot":                               {support: ignored, why: whyKiwiBootDescription},
	"type@bootkernel":                         {support: ignored, why: whyKiwiBootDescription},
	"type@bootprofile":                        {support: ignored, why: whyKiwiBootDescription},
	"type@bundle_format":                      {support: honoured}, // kiwi.result.json keeps it for result bundle
	"type@installboot":                        {support: ignored, why: whyInstallOnly},
	"type@installprovidefailsafe":             {support: ignored, why: whyInstallOnly},
	"type@install_continue_on_timeout":        {support: ignored, why: whyInstallOnly},
	"type@installiso":                         {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: "install media are made for oem disks only (KIWI ignores installiso elsewhere too)"},
	"type@installpxe":                         {support: honoured, kinds: []string{"oem"}, why: "KIWI makes the PXE install archive for oem disks only; leave installpxe out"},
	"type@installstick":                       {support: refused, unlessFalse: true, why: "oem install media (installstick) are not built yet; leave installstick out and write the disk image itself"},
	"type@luks":                               {support: refused, why: whyLUKS},
	"type@luks_version":                       {support: refused, why: whyLUKS},
	"type@luksOS":                             {support: refused, why: whyLUKS},
	"type@luks_pbkdf":                         {support: refused, why: whyLUKS},
	"type@luks_randomize":                     {support: refused, unlessFalse: true, why: whyLUKS},
	"type@btrfs_root_is_snapper_snapshot":     {support: refused, unlessFalse: true, why: whyBtrfsSubvolumes},
	"type@btrfs_root_is_readonly_snapshot":    {support: refused, unlessFalse: true, why: whyBtrfsSubvolumes},
	"type@btrfs_root_is_subvolume":            {support: refused, unlessFalse: true, why: whyBtrfsSubvolumes},
	"type@btrfs_set_default_volume":           {support: refused, unlessFalse: true, why: whyBtrfsSubvolumes},
	"type@btrfs_quota_groups":                 {support: refused, unlessFalse: true, why: "btrfs quota groups are not set up yet; leave btrfs_quota_groups out"},
	"type@mdraid":                             {support: refused, why: "software RAID disks (mdraid) are not built yet; leave mdraid out"},
	"type@overlayroot":                        {support: refused, unlessFalse: true, why: whyOverlayroot},
	"type@overlayroot_write_partition":        {support: refused, unlessFalse: true, why: whyOverlayroot},
	"type@overlayroot_readonly_filesystem":    {support: refused, why: whyOverlayroot},
	"type@overlayroot_readonly_partsize":      {support: refused, why: whyOverlayroot},
	"type@verity_blocks":                      {support: refused, why: whyVerity},
	"type@embed_verity_metadata":              {support: refused, unlessFalse: true, why: whyVerity},
	"type@standalone_integrity":               {support: refused, unlessFalse: true, why: whyIntegrity},
	"type@embed_integrity_metadata":           {support: refused, unlessFalse: true, why: whyIntegrity},
	"type@integrity_legacy_hmac":              {support: refused, unlessFalse: true, why: whyIntegrity},
	"type@integrity_keyfile":                  {support: refused, why: whyIntegrity},
	"type@integrity_metadata_key_description": {support: refused, why: whyIntegrity},
	"type@ramonly":                            {support: refused, unlessFalse: true, why: "RAM-only systems (ramonly) are not built yet; leave ramonly out"},
	"type@root_clone":                         {support: refused, why: whyClones},
	"type@boot_clone":                         {support: refused, why: whyClones},
	"type@delta_root":                         {support: honoured, kinds: []string{"container"}, why: "a delta root is a container image of what the build changed on derived_from; leave delta_root out"},
	"type@ensure_empty_tmpdirs":               {support: honoured, kinds: []string{"container"}},
	"type@provide_system_files":               {support: refused, unlessFalse: true, why: "the flake-pilot system files script (rpm -ql of every package, for later delta_root builds) is not written; leave provide_system_files out"},
	"type@require_system_files":               {support: honoured, kinds: []string{"container"}, why: "the base's system files list is carried into delta_root containers only; leave require_system_files out"},
	"type@metadata_path":                      {support: refused, why: "WSL/appx images are not built; leave metadata_path out"},
	"type@enclave_format":                     {support: refused, why: "enclave images are not built; leave enclave_format out"},

	// <bootloader>: grub2 only (kind.go checks the name); the timeout and
	// output console go into grub.cfg and the kernel command line.
	"bootloader":                   {support: honoured, kinds: []string{"oem", "iso"}},
	"bootloader@name":              {support: honoured, kinds: []string{"oem", "iso"}},
	"bootloader@timeout":           {support: honoured, kinds: []string{"oem", "iso"}},
	"bootloader@output_console":    {support: honoured, kinds: []string{"oem", "iso"}},
	"bootloader@input_console":     {support: ignored, why: "grub's input terminals are set from output_console here (serial and console input when it names serial, the console otherwise)"},
	"bootloader@serial_line":       {support: refused, why: "grub's serial terminal is always ttyS0 at 115200 8N1; other serial settings are not built, so leave serial_line out"},
	"bootloader@timeout_style":     {support: refused, why: "grub's timeout style is not set yet (the menu shows for the timeout); leave timeout_style out"},
	"bootloader@video_mode":        {support: refused, why: "grub's graphics mode is not set yet (the menu is plain text); leave video_mode out"},
	"bootloader@grub_template":     {support: refused, why: "grub.cfg templates are not used; grub.cfg is written by the image's grub-mkconfig (or kiwi's menu), so leave grub_template out"},
	"bootloader@bls":               {support: refused, unlessFalse: true, why: "Boot Loader Specification entries are not written; grub.cfg lists the kernels itself, so leave bls out"},
	"bootloader@use_disk_password": {support: refused, unlessFalse: true, why: whyLUKS},
	"bootloader@targettype":        {support: refused, why: "zipl target types are for s390 boot loaders, which are not installed; leave targettype out"},
	"bootloadersettings":           {support: refused, why: whyBootloaderSettings},
	"shimoption":                   {support: refused, why: whyBootloaderSettings},
	"shimoption@name":              {support: refused, why: whyBootloaderSettings},
	"shimoption@value":             {support: refused, why: whyBootloaderSettings},
	"installoption":                {support: refused, why: whyBootloaderSettings},
	"installoption@name":           {support: refused, why: whyBootloaderSettings},
	"installoption@value":          {support: refused, why: whyBootloaderSettings},
	"configoption":                 {support: refused, why: whyBootloaderSettings},
	"configoption@name":            {support: refused, why: whyBootloaderSettings},
	"configoption@value":           {support: refused, why: whyBootloaderSettings},
	// <environment> and <env> are children of <bootloadersettings> and
	// of <containerconfig>; neither is built.
	"environment":               {support: honoured, kinds: []string{"container"}, why: whyEnvironment},
	"env":                       {support: honoured, kinds: []string{"container"}, why: whyEnvironment},
	"env@name":                  {support: honoured, kinds: []string{"container"}, why: whyEnvironment},
	"env@value":                 {support: honoured, kinds: []string{"container"}, why: whyEnvironment},
	"securelinux":               {support: refused, why: whySecureLinux},
	"securelinux@hkd_ca_cert":   {support: refused, why: whySecureLinux},
	"securelinux@hkd_sign_cert": {support: refused, why: whySecureLinux},
	"hkd_cert":                  {support: refused, why: whySecureLinux},
	"hkd_cert@name":             {support: refused, why: whySecureLinux},
	"hkd_revocation_list":       {support: refused, why: whySecureLinux},
	"hkd_revocation_list@name":  {support: refused, why: whySecureLinux},

	// <size>: the disk of an oem type, the filesystem of a filesystem
	// type. Live ISOs and kis roots are sized to the tree.
	"size":               {support: honoured, kinds: []string{"oem", "filesystem"}},
	"size@unit":          {support: honoured, kinds: []string{"oem", "filesystem"}},
	"size@additive":      {support: honoured, kinds: []string{"oem", "filesystem"}, unlessFalse: true},
	"size@unpartitioned": {support: refused, why: "unpartitioned space at the end of the disk is not left yet; leave unpartitioned out (or make <size> larger)"},

	// <oemconfig>: oem disks grow their root on first boot (oem-resize)
	// and get a swap partition (oem-swap); the rest steers KIWI's
	// installer on install media.
	"oemconfig":                {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyOEMOnly},
	"oem-resize":               {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyOEMOnly},
	"oem-swap":                 {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyOEMOnly},
	"oem-swapsize":             {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyOEMOnly},
	"oem-resize-once":          {support: ignored, why: "the root is grown at every boot and only when the disk has room after it, so growing once or always makes the same image"},
	"oem-swapname":             {support: ignored, why: "it names the swap volume of LVM disks, which are not built; the swap partition is labelled SWAP"},
	"oem-systemsize":           {support: refused, why: "the root always grows to the whole disk on first boot; a size limit is not built yet, so leave oem-systemsize out"},
	"oem-recovery":             {support: refused, unlessFalse: true, why: whyRecovery},
	"oem-inplace-recovery":     {support: refused, unlessFalse: true, why: whyRecovery},
	"oem-recovery-part-size":   {support: ignored, why: "it only sizes the recovery partition of oem-recovery, which is refused; alone it has no effect"},
	"oem-recoveryID":           {support: ignored, why: "it only numbers the recovery partition of oem-recovery, which is refused; alone it has no effect"},
	"oem-boot-title":           {support: ignored, why: "KIWI only hands it to scripts as kiwi_oemtitle; the boot menu title is displayname (or the image name) in KIWI and here"},
	"oem-bootwait":             {support: ignored, why: whyInstaller},
	"oem-device-filter":        {support: honoured, why: whyInstallISO},
	"oem-nic-filter":           {support: ignored, why: whyInstaller},
	"oem-kiwi-initrd":          {support: ignored, why: whyInstaller},
	"oem-multipath-scan":       {support: ignored, why: whyInstaller},
	"oem-partition-install":    {support: refused, unlessFalse: true, why: "installing into a partition of the target disk is not built: the installer writes the whole disk; leave oem-partition-install out"},
	"oem-ramdisk-size":         {support: ignored, why: whyInstaller},
	"oem-reboot":               {support: ignored, why: whyInstaller},
	"oem-reboot-interactive":   {support: ignored, why: whyInstaller},
	"oem-shutdown":             {support: honoured, why: whyInstallISO},
	"oem-shutdown-interactive": {support: ignored, why: whyInstaller},
	"oem-silent-boot":          {support: ignored, why: whyInstaller},
	"oem-silent-install":       {support: ignored, why: whyInstaller},
	"oem-silent-verify":        {support: ignored, why: whyInstaller},
	"oem-skip-verify":          {support: honoured, why: whyInstallISO},
	"oem-unattended":           {support: honoured, why: whyInstallISO},
	"oem-unattended-id":        {support: refused, why: "choosing the target disk by its id is not built: the installer takes the first disk oem-device-filter leaves; keep the others out with oem-device-filter and leave oem-unattended-id out"},
	"oem-vmcp-parmfile":        {support: ignored, why: whyInstaller},

	// Disk layouts beyond root, boot, swap, EFI and spare partitions.
	"luksformat":               {support: refused, why: whyLUKS},
	"option":                   {support: refused, why: whyLUKS},
	"option@name":              {support: refused, why: whyLUKS},
	"option@value":             {support: refused, why: whyLUKS},
	"systemdisk":               {support: refused, why: whyVolumes},
	"systemdisk@name":          {support: refused, why: whyVolumes},
	"systemdisk@preferlvm":     {support: refused, why: whyVolumes},
	"volume":                   {support: honoured, kinds: []string{"container"}, why: whyVolumes},
	"volume@name":              {support: honoured, kinds: []string{"container"}, why: whyVolumes},
	"volume@parent":            {support: refused, why: whyVolumes},
	"volume@size":              {support: refused, why: whyVolumes},
	"volume@freespace":         {support: refused, why: whyVolumes},
	"volume@mountpoint":        {support: refused, why: whyVolumes},
	"volume@label":             {support: refused, why: whyVolumes},
	"volume@copy_on_write":     {support: refused, why: whyVolumes},
	"volume@filesystem_check":  {support: refused, why: whyVolumes},
	"volume@quota":             {support: refused, why: whyVolumes},
	"volume@arch":              {support: honoured},
	"partitions":               {support: refused, why: whyPartitions},
	"partition":                {support: refused, why: whyPartitions},
	"partition@name":           {support: refused, why: whyPartitions},
	"partition@size":           {support: refused, why: whyPartitions},
	"partition@partition_name": {support: refused, why: whyPartitions},
	"partition@partition_type": {support: refused, why: whyPartitions},
	"partition@mountpoint":     {support: refused, why: whyPartitions},
	"partition@filesystem":     {support: refused, why: whyPartitions},
	"partition@label":          {support: refused, why: whyPartitions},
	"partition@clone":          {support: refused, why: whyPartitions},
	"partition@part_id":        {support: refused, why: whyPartitions},

	// Install media and initrd settings.
	"installmedia":  {support: refused, why: "dracut settings of the install initrd (<installmedia><initrd>) are not passed: the install initrd is the image's dracut with kiwi's installer module; leave <installmedia> out"},
	"initrd":        {support: refused, why: whyInitrd},
	"initrd@action": {support: refused, why: whyInitrd},
	"dracut":        {support: refused, why: whyInitrd},
	"dracut@module": {support: refused, why: whyInitrd},
	"dracut@driver": {support: refused, why: whyInitrd},
	"dracut@uefi":   {support: refused, why: whyInitrd},

	// The VMware machine of vmdk and ova disks: the .vmx KIWI writes
	// beside a vmdk, the OVF descriptor inside an ova.
	"machine":            {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"machine@HWversion":  {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"machine@arch":       {support: ignored, why: "the machine's arch is the image's (the description's target arch); KIWI writes it into no VMware file either"},
	"machine@guestOS":    {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"machine@max_cpu":    {support: ignored, why: whyVMLimits},
	"machine@max_memory": {support: ignored, why: whyVMLimits},
	"machine@memory":     {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"machine@min_cpu":    {support: ignored, why: whyVMLimits},
	"machine@min_memory": {support: ignored, why: whyVMLimits},
	"machine@ncpus":      {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"machine@ovftype":    {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"machine@xen_loader": {support: refused, why: "Xen guest images (a machine xen_loader) are not built; leave xen_loader out"},
	"vmconfig-entry":     {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"vmdisk":             {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"vmdisk@controller":  {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"vmdisk@device":      {support: ignored, why: whyVMDiskNaming},
	"vmdisk@diskmode":    {support: ignored, why: whyVMDiskNaming},
	"vmdisk@disktype":    {support: ignored, why: whyVMDiskNaming},
	"vmdisk@id":          {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"vmdvd":              {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"vmdvd@controller":   {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"vmdvd@id":           {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"vmnic":              {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"vmnic@driver":       {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"vmnic@interface":    {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"vmnic@mac":          {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},
	"vmnic@mode":         {support: honoured, kinds: []string{"oem"}, otherwise: ignored, why: whyVMConfig},

	// Vagrant boxes: format="vagrant" of an oem disk.
	"vagrantconfig":                                    {support: honoured, why: whyVagrant},
	"vagrantconfig@provider":                           {support: honoured, why: whyVagrant},
	"vagrantconfig@virtualsize":                        {support: honoured, why: whyVagrant},
	"vagrantconfig@boxname":                            {support: ignored, why: "KIWI does not use it either: the box is named <name>.<arch>-<version>.vagrant.<provider>.box; vagrant box add names it"},
	"vagrantconfig@embedded_vagrantfile":               {support: honoured, why: whyVagrant},
	"vagrantconfig@virtualbox_guest_additions_present": {support: honoured, why: whyVagrant},

	// <containerconfig>: container metadata of docker and oci images
	// (Container writes it); oem disks derived from containers are not
	// built.
	"containerconfig":                 {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"containerconfig@name":            {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"containerconfig@tag":             {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"containerconfig@additionalnames": {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"containerconfig@maintainer":      {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"containerconfig@user":            {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"containerconfig@workingdir":      {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"entrypoint":                      {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"entrypoint@execute":              {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"entrypoint@clear":                {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"subcommand":                      {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"subcommand@execute":              {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"subcommand@clear":                {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"argument":                        {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"argument@name":                   {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"expose":                          {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"port":                            {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"port@number":                     {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"volumes":                         {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"stopsignal":                      {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"labels":                          {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"label":                           {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"label@name":                      {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"label@value":                     {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"history":                         {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"history@author":                  {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"history@created_by":              {support: honoured, kinds: []string{"container"}, why: whyContainerConfig},
	"history@application_id":          {support: ignored, kinds: []string{"container"}, otherwise: refused, why: whyAppxHistory},
	"history@package_version":         {support: ignored, kinds: []string{"container"}, otherwise: refused, why: whyAppxHistory},
	"history@launcher":                {support: ignored, kinds: []string{"container"}, otherwise: refused, why: whyAppxHistory},
}

// Reasons shared by several entries.
const (
	whySchemaLocation      = "it tells XML editors where KIWI's schema is; it has no effect on an image (KIWI ignores it too)"
	whyKiwiBootImage       = "it puts the entry into KIWI's own boot image (initrd_system=\"kiwi\"); the initrd here is made by dracut from the image itself, so the entry only goes into the image"
	whyKiwiBootDescription = "it selects KIWI's own boot image description, used only with initrd_system=\"kiwi\" (refused); the initrd here is made by dracut from the image"
	whyAptNoCollections    = "apt has no patterns or groups, only packages (KIWI skips them for apt too); list the packages instead"
	whyNoProducts          = "products are zypper's; apt, dnf and pacman have none (KIWI skips them there too); list the release package instead"
	whyAptNoModules        = "collection modules are dnf module streams; apt, zypper and pacman have none (KIWI ignores them there too)"
	whyNoModulesYet        = "dnf module streams are not enabled yet; leave collectionModule out and name the stream's packages, or enable the module in config.sh"
	whyNoCredentials       = "repository credentials are passed to zypper and dnf, not to apt or pacman yet; leave username and password out"
	whyNoSigning           = "<signing> keys are imported for zypper and dnf (rpm --import), not into apt or pacman yet; pass the key file with --signing-key (apt) instead"
	whyAptNoIgnore         = "apt cannot exclude packages from dependency resolution (KIWI skips <ignore> for apt too); delete unwanted packages with <packages type=\"delete\"> instead"
	whyContainers          = "containers are not fetched into the image yet; leave <containers> out or pull them in config.sh"
	whyCertificates        = "certificates are not added to the image's trust store yet; leave <certificates> out and put them into the overlay tree (root/usr/local/share/ca-certificates) with update-ca-certificates in config.sh"
	whyPartitionNumbers    = "partition numbers follow kiwi's fixed layout (bios_grub, EFI, boot, swap, spare, root); leave the *part_id attributes out"
	whyLUKS                = "encrypted disks (LUKS) are not built yet; leave luks and its settings out"
	whyBtrfsSubvolumes     = "btrfs subvolumes and snapshots are not built yet: the btrfs root is one plain filesystem; use filesystem=\"btrfs\" without subvolume settings"
	whyOverlayroot         = "overlayroot disks (a read-only root with a write partition) are not built yet; leave the overlayroot settings out"
	whyVerity              = "dm-verity protected roots are not built yet; leave verity_blocks and embed_verity_metadata out"
	whyIntegrity           = "dm-integrity protected roots are not built yet; leave the integrity settings out"
	whyClones              = "cloned partitions are not built yet; leave root_clone and boot_clone out"
	whyInstallOnly         = "it shapes the boot menu or fallbacks of KIWI's install media; this kiwi's install ISO has one entry, the unattended install, its PXE installer is booted by the boot server's own menu, and installstick is refused"
	whyBootloaderSettings  = "extra shim, grub-install and grub configuration options (<bootloadersettings>) are not passed yet; leave them out"
	whyEnvironment         = "grub environment settings (<bootloadersettings>) are not passed yet; leave <environment> out (container environments of docker and oci images are written)"
	whySecureLinux         = "s390 secure execution (<securelinux>) is not built; leave it out"
	whyOEMOnly             = "<oemconfig> steers oem disks only; this type has no resize or swap to set"
	whyRecovery            = "recovery archives and partitions are not built yet; leave the oem recovery settings out"
	whyInstaller           = "it steers a part of KIWI's installer that this kiwi's install media do not have (silent modes, PXE, interactive prompts: the installer is unattended); the disk image itself is the same"
	whyInstallISO          = "the installer of the install media (installiso, installpxe) reads it; without them nothing does (as in KIWI)"
	whyVolumes             = "LVM volumes and btrfs subvolumes (<systemdisk>) are not built yet: the root is one filesystem; leave <systemdisk> out"
	whyPartitions          = "custom partitions (<partitions>) are not built yet: the disk holds kiwi's root, boot, swap, EFI and spare partitions only; leave <partitions> out (spare_part makes one extra partition)"
	whyInitrd              = "dracut settings of the type (<initrd>) are not passed yet; leave <initrd> out and put dracut.conf.d files into the overlay tree (root/etc/dracut.conf.d), which the image's dracut reads"
	whyVMConfig            = "it describes the VMware machine of an oem disk with format=\"vmdk\" (the .vmx beside it) or \"ova\" (the OVF inside); live ISOs, kis and filesystem images have no machine file (KIWI writes none either)"
	whyVMLimits            = "KIWI writes the CPU and memory limits into no VMware file (they were Xen's); memory and ncpus size the machine"
	whyVMDiskNaming        = "KIWI writes it into no VMware file: the .vmx and the OVF name the disk by its controller and id; the vmdk's own format is format=\"vmdk\"'s formatoptions (subformat=...), streamOptimized in an ova"
	whyVagrant             = "it describes the vagrant box of format=\"vagrant\" of an oem disk"
	whyContainerConfig     = "container metadata (<containerconfig>) is written into docker and oci images only; oem disks from containers are not built; leave <containerconfig> out"
	whyAppxHistory         = "it is metadata of WSL/appx images; a docker or oci image has no field for it (KIWI writes it into appx images only)"
)

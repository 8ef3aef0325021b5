package create

// features decides, for every element and attribute of KIWI's schema,
// whether this kiwi honours it, refuses it before any work, or ignores
// it because it has no effect here. TestFeaturesCoverTheSchema fails when
// the schema has an element or attribute this table does not decide.
var features = map[string]feature{
	"type@luks":           {support: refused, why: "encrypted disks (LUKS) are not built yet; leave luks out"},
	"type@luks_version":   {support: refused, why: "encrypted disks (LUKS) are not built yet"},
	"type@luksOS":         {support: refused, why: "encrypted disks (LUKS) are not built yet"},
	"type@luks_pbkdf":     {support: refused, why: "encrypted disks (LUKS) are not built yet"},
	"type@luks_randomize": {support: refused, why: "encrypted disks (LUKS) are not built yet"},
	"luksformat":          {support: refused, why: "encrypted disks (LUKS) are not built yet"},
	"systemdisk":          {support: refused, why: "LVM volumes and btrfs subvolumes (<systemdisk>) are not built yet; the root is one filesystem"},
	"volume":              {support: refused, why: "LVM volumes and btrfs subvolumes (<systemdisk>) are not built yet; the root is one filesystem"},
	"type@overlayroot":    {support: refused, unlessFalse: true, why: "overlayroot disks are not built yet"},
	"type@installiso":     {support: refused, unlessFalse: true, why: "oem install media (installiso) are not built yet; boot the disk image itself"},
	"type@installpxe":     {support: refused, unlessFalse: true, why: "oem install media (installpxe) are not built yet"},
	"type@installstick":   {support: refused, unlessFalse: true, why: "oem install media (installstick) are not built yet"},
}

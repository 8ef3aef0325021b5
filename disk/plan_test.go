package disk

import "testing"

func TestPlanLayouts(t *testing.T) {
	cases := []struct {
		name  string
		spec  Spec
		table string
		roles []Role
	}{
		{"bios", Spec{Arch: "x86_64", Firmware: "bios", RootFS: "ext4", RootSize: 100 * MiB}, "msdos", []Role{RoleRoot}},
		{"efi", Spec{Arch: "x86_64", Firmware: "efi", RootFS: "xfs", RootSize: 100 * MiB}, "gpt", []Role{RoleBIOSBoot, RoleESP, RoleRoot}},
		{"efi aarch64", Spec{Arch: "aarch64", Firmware: "efi", RootFS: "ext4", RootSize: 100 * MiB}, "gpt", []Role{RoleESP, RoleRoot}},
		{"efi force_mbr", Spec{Arch: "x86_64", Firmware: "efi", ForceMBR: true, RootFS: "ext4", RootSize: 100 * MiB}, "msdos", []Role{RoleESP, RoleRoot}},
		{"boot+swap", Spec{Arch: "x86_64", Firmware: "uefi", BootSize: 300 * MiB, SwapSize: 128 * MiB, RootFS: "btrfs", RootSize: 100 * MiB}, "gpt", []Role{RoleBIOSBoot, RoleESP, RoleBoot, RoleSwap, RoleRoot}},
		{"spare", Spec{Arch: "x86_64", Firmware: "efi", Spares: []Spare{{Size: 200 * MiB, Filesystem: "ext4"}}, RootFS: "ext4", RootSize: 100 * MiB}, "gpt", []Role{RoleBIOSBoot, RoleESP, RoleSpare, RoleRoot}},
		{"spare last", Spec{Arch: "x86_64", Firmware: "bios", Spares: []Spare{{Size: 200 * MiB, Last: true}}, RootFS: "ext4", RootSize: 100 * MiB}, "msdos", []Role{RoleRoot, RoleSpare}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := Plan(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			if l.Table != c.table || len(l.Partitions) != len(c.roles) {
				t.Fatalf("table %s with %+v", l.Table, l.Partitions)
			}
			prevEnd := firstStart
			for i, p := range l.Partitions {
				if p.Role != c.roles[i] || p.Number != i+1 {
					t.Errorf("partition %d is %s, want %s", i+1, p.Role, c.roles[i])
				}
				if p.Start%MiB != 0 || p.Size%MiB != 0 || p.Start != prevEnd {
					t.Errorf("partition %d at %d+%d is not aligned or not contiguous", p.Number, p.Start, p.Size)
				}
				prevEnd = p.End()
			}
			if l.Size < prevEnd {
				t.Errorf("disk %d smaller than its partitions %d", l.Size, prevEnd)
			}
		})
	}
}

func TestPlanHonoursDiskSize(t *testing.T) {
	l, err := Plan(Spec{Arch: "x86_64", Firmware: "efi", RootFS: "ext4", RootSize: 100 * MiB, DiskSize: 1024 * MiB})
	if err != nil {
		t.Fatal(err)
	}
	if l.Size != 1024*MiB || l.Find(RoleRoot).End() != 1023*MiB {
		t.Fatalf("size %d, root ends at %d", l.Size, l.Find(RoleRoot).End())
	}
	if _, err := Plan(Spec{Arch: "x86_64", Firmware: "bios", RootFS: "ext4", RootSize: 900 * MiB, DiskSize: 512 * MiB}); err == nil {
		t.Fatal("a disk smaller than the root must be refused")
	}
	if _, err := Plan(Spec{Firmware: "coreboot", RootFS: "ext4"}); err == nil {
		t.Fatal("unknown firmware must be refused")
	}
}

func TestPlanSpareLastWithDiskSize(t *testing.T) {
	l, err := Plan(Spec{Arch: "x86_64", Firmware: "efi", RootFS: "ext4", RootSize: 100 * MiB, DiskSize: 1024 * MiB,
		Spares: []Spare{{Size: 200 * MiB, Filesystem: "xfs", Last: true}}})
	if err != nil {
		t.Fatal(err)
	}
	root, spare := l.Find(RoleRoot), l.Find(RoleSpare)
	if spare.Number != len(l.Partitions) || spare.End() != 1023*MiB || spare.Size != 200*MiB || spare.Label != "SPARE" {
		t.Fatalf("spare %+v in a 1 GiB disk", spare)
	}
	if root.End() != spare.Start || root.Grow {
		t.Fatalf("root %+v before spare %+v", root, spare)
	}
}

package description

import "strings"

// upgrade applies the renames KIWI's stylesheets make between schema 7.4
// and the current schema, so that the rest of the loader sees one schema:
// packagemanager dnf -> dnf4, repository type rpm-dir and use_for_bootstrap
// dropped, btrfs_root_is_snapshot -> btrfs_root_is_snapper_snapshot,
// bootloader console -> output_console/input_console, type vga dropped,
// containerconfig additionaltags -> additionalnames.
func upgrade(n *node) {
	switch n.Name {
	case "packagemanager":
		if n.Text == "dnf" {
			n.Text = "dnf4"
		}
	case "repository":
		if n.get("type") == "rpm-dir" {
			n.del("type")
		}
		n.del("use_for_bootstrap")
	case "type":
		if v, ok := n.attr("btrfs_root_is_snapshot"); ok {
			n.del("btrfs_root_is_snapshot")
			n.set("btrfs_root_is_snapper_snapshot", v)
		}
		n.del("vga")
	case "bootloader":
		if v, ok := n.attr("console"); ok {
			n.del("console")
			out, in, both := strings.Cut(v, " ")
			n.set("output_console", out)
			if both {
				n.set("input_console", in)
			}
		}
	case "containerconfig":
		if v, ok := n.attr("additionaltags"); ok {
			n.del("additionaltags")
			n.set("additionalnames", ":"+strings.ReplaceAll(v, ",", ",:"))
		}
	}
	for _, c := range n.Children {
		upgrade(c)
	}
}

package description

import (
	"fmt"
	"strconv"
	"strings"
)

// oldSteps are KIWI 9.24's XSLT conversions (kiwi/xsl/convertXXtoYY.xsl)
// from schema 5.0 to 7.4, in their order. A step runs when the
// description's schemaversion is not above its from version (compared as
// numbers, as the stylesheets do) and then sets the version to its to
// version. Each changes only what its stylesheet changes; the comments
// name the stylesheet's templates. Descriptions older than 5.0 (the 3.x
// and 4.x image types, xen and vmware config blocks) are refused: the
// fix is KIWI's stylesheets, once.
var oldSteps = []struct {
	from, to string
	apply    func(root *node)
}{
	{"5.0", "5.1", func(r *node) {
		walk(r, func(n *node) {
			if n.Name == "type" {
				n.del("baseroot")
			}
		})
		drop(r, "defaultbaseroot")
	}},
	{"5.1", "5.2", func(r *node) {
		r.del("inherit")
		// type[@image!='usb']: usb types, and types without image=,
		// are gone.
		filter(r, func(p, n *node) bool { return n.Name == "type" && (n.get("image") == "usb" || !has(n, "image")) })
	}},
	{"5.2", "5.3", func(r *node) {
		walk(r, func(n *node) {
			if n.Name == "ec2region" {
				switch n.Text {
				case "AP-Japan":
					n.Text, n.Attrs = "AP-Northeast", nil
				case "AP-Singapore":
					n.Text, n.Attrs = "AP-Southeast", nil
				}
			}
		})
	}},
	{"5.3", "5.4", func(r *node) {
		walk(r, func(n *node) {
			if n.Name == "drivers" {
				n.del("type")
			}
		})
	}},
	{"5.4", "5.5", func(r *node) {
		// preferences/boot-theme becomes bootsplash-theme and
		// bootloader-theme with its text.
		walk(r, func(n *node) {
			if n.Name != "preferences" {
				return
			}
			var out []*node
			for _, c := range n.Children {
				if c.Name == "boot-theme" {
					out = append(out, &node{Name: "bootsplash-theme", Text: c.Text, Pos: c.Pos}, &node{Name: "bootloader-theme", Text: c.Text, Pos: c.Pos})
					continue
				}
				out = append(out, c)
			}
			n.Children = out
		})
	}},
	{"5.5", "5.6", func(r *node) {
		// pwd becomes password on users/user, repository and
		// instsource/instrepo; an existing password wins.
		walk(r, func(n *node) {
			if n.Name != "user" && n.Name != "repository" && n.Name != "instrepo" {
				return
			}
			if v, ok := n.attr("pwd"); ok {
				n.del("pwd")
				if !has(n, "password") {
					n.set("password", v)
				}
			}
		})
	}},
	{"5.6", "5.7", func(r *node) {
		walk(r, func(n *node) {
			for _, c := range n.Children {
				if n.Name == "packages" && (c.Name == "opensusePattern" || c.Name == "rhelGroup") {
					c.Name, c.Children, c.Text = "namedCollection", nil, ""
				}
			}
		})
	}},
	{"5.7", "5.8", func(r *node) { delAttr(r, "type", "syncMBR") }},
	{"5.8", "5.9", func(r *node) {
		walk(r, func(n *node) {
			if n.Name == "vmdisk" && n.get("controller") == "scsi" {
				n.set("controller", "lsilogic")
			}
		})
	}},
	{"5.9", "6.0", func(r *node) { dropChild(r, "oemconfig", "oem-align-partition") }},
	{"6.0", "6.1", func(r *node) {
		walk(r, func(n *node) {
			if n.Name == "opensuseProduct" {
				n.Name = "product"
			}
		})
	}},
	{"6.1", "6.2", func(r *node) {
		// oem and vmx types get grub2 as their boot loader unless
		// they name one.
		walk(r, func(n *node) {
			if n.Name == "type" && !has(n, "bootloader") && (n.get("image") == "oem" || n.get("image") == "vmx") {
				n.set("bootloader", "grub2")
			}
		})
	}},
	{"6.2", "6.3", func(r *node) {
		delAttr(r, "type", "fsreadonly", "fsreadwrite", "zfsoptions")
		unwrap(r, "split")
	}},
	{"6.3", "6.4", func(r *node) {
		// users@group becomes the groups of each of its users.
		walk(r, func(n *node) {
			if n.Name != "users" {
				return
			}
			if g, ok := n.attr("group"); ok {
				for _, u := range n.Children {
					if u.Name == "user" {
						u.set("groups", g)
					}
				}
			}
			n.del("group")
			n.del("id")
		})
	}},
	{"6.4", "6.5", func(r *node) {
		// type@container becomes a <containerconfig name=...> first
		// child.
		walk(r, func(n *node) {
			if n.Name == "type" {
				if v, ok := n.attr("container"); ok {
					n.del("container")
					n.Children = append([]*node{{Name: "containerconfig", Attrs: nil, Pos: n.Pos}}, n.Children...)
					n.Children[0].set("name", v)
				}
			}
		})
	}},
	{"6.5", "6.6", func(r *node) {
		walk(r, func(n *node) {
			if n.Name == "type" {
				for _, m := range n.Children {
					if m.Name == "machine" && m.get("domain") == "dom0" {
						n.set("xen_server", "true")
					}
				}
			}
			if n.Name == "machine" {
				n.del("domain")
			}
		})
	}},
	{"6.6", "6.7", func(r *node) {
		r.del("kiwirevision")
		delAttr(r, "type", "checkprebuilt", "fsnocheck")
		delAttr(r, "repository", "status", "prefer-license")
		delAttr(r, "package", "replaces")
		for _, e := range []string{"defaultprebuilt", "defaultdestination", "defaultroot", "partitioner", "rpm-force"} {
			lift(r, e)
		}
	}},
	{"6.7", "6.8", func(r *node) { lift(r, "hwclock") }},
	{"6.8", "6.9", func(r *node) {
		delAttr(r, "type", "hybrid")
		dropChild(r, "oemconfig", "oem-ataraid-scan")
	}},
	{"6.9", "7.0", func(r *node) { dropChild(r, "type", "pxedeploy") }},
	{"7.0", "7.1", func(r *node) {
		walk(r, func(n *node) {
			if n.Name == "repository" {
				switch n.get("type") {
				case "red-carpet", "slack-site", "up2date-mirrors", "urpmi", "yast2":
					n.del("type")
				}
			}
		})
	}},
	{"7.1", "7.2", func(r *node) {
		// type@bootloader (with its console, timeout and zipl target
		// type) becomes a <bootloader> first child.
		walk(r, func(n *node) {
			if n.Name != "type" {
				return
			}
			name := n.get("bootloader")
			bl := &node{Name: "bootloader", Pos: n.Pos}
			bl.set("name", name)
			// In this order: the upgraded XML is hashed into the phase
			// keys, so it must come out the same every time.
			for _, a := range [][2]string{{"bootloader_console", "console"}, {"boottimeout", "timeout"}, {"zipl_targettype", "targettype"}} {
				if v := n.get(a[0]); v != "" {
					bl.set(a[1], v)
				}
			}
			for _, a := range []string{"bootloader", "bootloader_console", "boottimeout", "zipl_targettype"} {
				n.del(a)
			}
			if name != "" {
				n.Children = append([]*node{bl}, n.Children...)
			}
		})
	}},
	{"7.2", "7.3", func(r *node) {
		// vmx becomes oem with oem-resize false.
		walk(r, func(n *node) {
			if n.Name != "type" || n.get("image") != "vmx" {
				return
			}
			n.set("image", "oem")
			oc := &node{Name: "oemconfig", Pos: n.Pos}
			var rest []*node
			for _, c := range n.Children {
				if c.Name == "oemconfig" {
					for _, o := range c.Children {
						if o.Name != "oem-resize" {
							oc.Children = append(oc.Children, o)
						}
					}
					continue
				}
				rest = append(rest, c)
			}
			oc.Children = append(oc.Children, &node{Name: "oem-resize", Text: "false", Pos: n.Pos})
			n.Children = append([]*node{oc}, rest...)
		})
	}},
	{"7.3", "7.4", func(r *node) {
		walk(r, func(n *node) {
			if n.Name == "packagemanager" {
				switch n.Text {
				case "apt-get":
					n.Text, n.Attrs = "apt", nil
				case "yum":
					n.Text, n.Attrs = "dnf", nil
				}
			}
		})
	}},
}

// oldestSchema is the oldest schemaversion oldSteps convert.
const oldestSchema = "5.0"

// upgradeOld converts a description older than schema 7.4 with oldSteps;
// it returns the version it had. Descriptions of 7.4 and newer are left
// to upgrade.
func upgradeOld(root *node) (string, error) {
	v, ok := root.attr("schemaversion")
	if !ok {
		return "", fmt.Errorf("%s: <image> has no schemaversion attribute: name the schema the description is written for (schemaversion=\"7.4\" or newer)", root.Pos)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return v, fmt.Errorf("%s: schemaversion %q is not a number (e.g. schemaversion=\"7.4\")", root.Pos, v)
	}
	oldest, _ := strconv.ParseFloat(oldestSchema, 64)
	if f < oldest {
		return v, fmt.Errorf("%s: schemaversion %s is older than %s, which this kiwi converts: convert the description once with KIWI's stylesheets (xsltproc kiwi/xsl/master.xsl config.xml)", root.Pos, v, oldestSchema)
	}
	for _, st := range oldSteps {
		cur, _ := strconv.ParseFloat(root.get("schemaversion"), 64)
		from, _ := strconv.ParseFloat(st.from, 64)
		if cur > from {
			continue
		}
		st.apply(root)
		root.set("schemaversion", st.to)
	}
	return v, nil
}

// walk calls f on n and every element below it, parents first.
func walk(n *node, f func(*node)) {
	f(n)
	for _, c := range n.Children {
		walk(c, f)
	}
}

func has(n *node, attr string) bool {
	_, ok := n.attr(attr)
	return ok
}

// delAttr removes attrs from every element named elem.
func delAttr(r *node, elem string, attrs ...string) {
	walk(r, func(n *node) {
		if n.Name == elem {
			for _, a := range attrs {
				n.del(a)
			}
		}
	})
}

// filter removes every element for which gone(parent, element) holds,
// with its subtree.
func filter(r *node, gone func(p, n *node) bool) {
	walk(r, func(p *node) {
		out := p.Children[:0]
		for _, c := range p.Children {
			if !gone(p, c) {
				out = append(out, c)
			}
		}
		p.Children = out
	})
}

// drop removes every element named elem with its subtree (an empty
// template).
func drop(r *node, elem string) { filter(r, func(_, n *node) bool { return n.Name == elem }) }

// dropChild removes every elem whose parent is parent.
func dropChild(r *node, parent, elem string) {
	filter(r, func(p, n *node) bool { return p.Name == parent && n.Name == elem })
}

// lift removes every element named elem and its text, keeping its child
// elements in its place (apply-templates select="*").
func lift(r *node, elem string) {
	walk(r, func(p *node) {
		var out []*node
		for _, c := range p.Children {
			if c.Name == elem {
				out = append(out, c.Children...)
				continue
			}
			out = append(out, c)
		}
		p.Children = out
	})
}

// unwrap is lift that keeps the element's text too, in its parent.
func unwrap(r *node, elem string) {
	walk(r, func(p *node) {
		var out []*node
		for _, c := range p.Children {
			if c.Name == elem {
				if c.Text != "" {
					p.Text = strings.TrimSpace(p.Text + " " + c.Text)
				}
				out = append(out, c.Children...)
				continue
			}
			out = append(out, c)
		}
		p.Children = out
	})
}

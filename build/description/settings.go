package description

import (
	"maps"
	"slices"
)

// Setting is one element or attribute of a description as it applies to
// the selection: what a builder must either honour, refuse or ignore.
type Setting struct {
	Element string // element name, e.g. type, volume, repository
	Attr    string // attribute name; "" for the element itself
	Value   string // the attribute's value, or the element's text
	Pos     Pos
}

// Settings lists every element and attribute of the description that
// applies to the selection, in document order: sections of the selected
// profiles and target arch (arch= applied at every level), packages
// sections Select reads, and of the <type>s only the selected one.
// Comments and namespaced attributes (xmlns, xsi) are left out.
func (d *Description) Settings() []Setting {
	if d.src == nil {
		return nil
	}
	sections := []string{"bootstrap", "image", "delete", "uninstall", "systemfiles", d.Type.Image}
	var out []Setting
	var walk func(n *node, top bool)
	walk = func(n *node, top bool) {
		out = append(out, Setting{Element: n.Name, Value: n.Text, Pos: n.Pos})
		for _, a := range n.Attrs {
			if a.Name.Space != "" || a.Name.Local == "xmlns" {
				continue
			}
			out = append(out, Setting{Element: n.Name, Attr: a.Name.Local, Value: a.Value, Pos: n.Pos})
		}
		for _, c := range n.Children {
			if c.Name == "" || !archMatches(c, d.TargetArch) {
				continue
			}
			if top && !profileMatches(c, d.Profiles) {
				continue
			}
			if c.Name == "packages" && !slices.Contains(sections, c.get("type")) {
				continue
			}
			if c.Name == "type" && c.Pos != d.Type.Pos {
				continue
			}
			walk(c, false)
		}
	}
	walk(d.src.root, true)
	return out
}

// Schema lists the attribute names of every element of KIWI's schema
// (sorted), so that tests and docs can cover all of it.
func Schema() map[string][]string {
	out := make(map[string][]string, len(schemaRules))
	for name, r := range schemaRules {
		out[name] = slices.Sorted(maps.Keys(r.attrs))
	}
	return out
}

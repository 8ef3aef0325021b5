package description

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// XML returns the processed description: includes resolved and the
// schema upgrades applied, indented by four spaces per level. Comments
// are kept. All profiles and types are still in it.
func (s *Source) XML() []byte {
	return s.xml(false)
}

func (s *Source) xml(redact bool) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	writeNode(&b, s.root, 0, redact)
	return b.Bytes()
}

// XML returns the processed description the selection was made from
// (see Source.XML).
func (d *Description) XML() []byte { return d.src.XML() }

// Source returns the processed description d was selected from.
func (d *Description) Source() *Source { return d.src }

func writeNode(b *bytes.Buffer, n *node, depth int, redact bool) {
	indent := strings.Repeat("    ", depth)
	if n.Name == "" {
		b.WriteString(indent + "<!--" + n.Comment + "-->\n")
		return
	}
	name := n.Name
	b.WriteString(indent + "<" + name)
	for _, a := range n.Attrs {
		an := a.Name.Local
		if a.Name.Space != "" {
			an = a.Name.Space + ":" + an
		}
		b.WriteString(" " + an + `="`)
		v := a.Value
		if redact && a.Name.Space == "" {
			v = RedactValue(n.Name, a.Name.Local, v)
			if n.Name == "user" && a.Name.Local == "password" && n.get("pwdformat") == "plain" && v != "" {
				v = Mask
			}
		}
		escape(b, v)
		b.WriteString(`"`)
	}
	if len(n.Children) == 0 && n.Text == "" {
		b.WriteString("/>\n")
		return
	}
	b.WriteString(">")
	if len(n.Children) == 0 {
		escape(b, n.Text)
		b.WriteString("</" + name + ">\n")
		return
	}
	b.WriteString("\n")
	if n.Text != "" {
		b.WriteString(indent + "    ")
		escape(b, n.Text)
		b.WriteString("\n")
	}
	for _, c := range n.Children {
		writeNode(b, c, depth+1, redact)
	}
	b.WriteString(indent + "</" + name + ">\n")
}

func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}

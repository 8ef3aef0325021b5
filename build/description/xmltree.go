package description

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Pos is where something was written: a file and a 1-based line.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// String gives "file:line", the prefix of every message about a position.
func (p Pos) String() string {
	if p.Line <= 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// node is one XML element of a description with where it was written.
// Comments are kept as nodes with an empty Name so the processed
// description can be printed close to its source.
type node struct {
	Name     string
	Prefix   string     // namespace prefix of the element name, if any
	Attrs    []xml.Attr // Name.Space holds the prefix (xmlns, xsi), not a URL
	Children []*node
	Text     string // character data directly inside the element, trimmed
	Comment  string // set for comment nodes only
	Pos      Pos
}

// attr returns the value of the attribute without namespace called name
// and whether it is present.
func (n *node) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// get returns the value of attribute name, "" if it is absent.
func (n *node) get(name string) string {
	v, _ := n.attr(name)
	return v
}

// set replaces or adds attribute name.
func (n *node) set(name, value string) {
	for i, a := range n.Attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			n.Attrs[i].Value = value
			return
		}
	}
	n.Attrs = append(n.Attrs, xml.Attr{Name: xml.Name{Local: name}, Value: value})
}

// del removes attribute name if present.
func (n *node) del(name string) {
	out := n.Attrs[:0]
	for _, a := range n.Attrs {
		if !(a.Name.Space == "" && a.Name.Local == name) {
			out = append(out, a)
		}
	}
	n.Attrs = out
}

// elements returns the element children (no comments) named name, or all
// element children when name is "".
func (n *node) elements(name string) []*node {
	var out []*node
	for _, c := range n.Children {
		if c.Name != "" && (name == "" || c.Name == name) {
			out = append(out, c)
		}
	}
	return out
}

// first returns the first element child called name, or nil.
func (n *node) first(name string) *node {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// childText returns the trimmed text of the first child called name.
func (n *node) childText(name string) string {
	if c := n.first(name); c != nil {
		return c.Text
	}
	return ""
}

// Limits that keep hostile input from exhausting memory or the stack.
const (
	maxDescriptionSize = 16 << 20
	maxDepth           = 64
)

// parseTree reads one XML document into a tree. Every element keeps the
// file name and the line of its start tag. Malformed XML gives an error
// "file:line: malformed XML: ...".
func parseTree(file string, data []byte) (*node, error) {
	if len(data) > maxDescriptionSize {
		return nil, fmt.Errorf("%s: file is larger than %d MiB", file, maxDescriptionSize>>20)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	// Descriptions are UTF-8; accept a declared ISO-8859-1/ASCII too by
	// passing bytes through, which is right for ASCII content.
	d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin1":
			return r, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q", charset)
	}
	var (
		root  *node
		stack []*node
		text  []*strings.Builder
	)
	for {
		line, _ := d.InputPos()
		// RawToken keeps namespace prefixes as written so the processed
		// description prints as it was read; element nesting is checked
		// below.
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("%s:%d: malformed XML: %s", file, se.Line, se.Msg)
			}
			return nil, fmt.Errorf("%s:%d: malformed XML: %w", file, line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("%s:%d: elements nested deeper than %d levels", file, line, maxDepth)
			}
			// InputPos before Token points at the end of the previous
			// token; the start tag begins after any whitespace, so take
			// the line where the tag itself ends when it is one line.
			endLine, _ := d.InputPos()
			n := &node{Name: rawName(t.Name), Pos: Pos{File: file, Line: startLine(data, d.InputOffset(), endLine)}}
			n.Attrs = t.Attr
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%s:%d: more than one root element", file, n.Pos.Line)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			}
			stack = append(stack, n)
			text = append(text, &strings.Builder{})
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("%s:%d: malformed XML: unexpected end element </%s>", file, line, t.Name.Local)
			}
			n := stack[len(stack)-1]
			if n.Name != rawName(t.Name) {
				return nil, fmt.Errorf("%s:%d: malformed XML: element <%s> opened at line %d closed by </%s>", file, line, n.Name, n.Pos.Line, rawName(t.Name))
			}
			n.Text = strings.TrimSpace(text[len(text)-1].String())
			stack = stack[:len(stack)-1]
			text = text[:len(text)-1]
		case xml.CharData:
			if len(text) > 0 {
				text[len(text)-1].Write(t)
			} else if strings.TrimSpace(string(t)) != "" {
				return nil, fmt.Errorf("%s:%d: malformed XML: text outside the root element", file, line)
			}
		case xml.Comment:
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, &node{Comment: string(t), Pos: Pos{File: file, Line: line}})
			}
		case xml.Directive:
			// A DOCTYPE could declare entities; descriptions have none.
			if bytes.Contains(bytes.ToUpper(t), []byte("ENTITY")) {
				return nil, fmt.Errorf("%s:%d: entity declarations are not supported", file, line)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%s: no XML element found", file)
	}
	return root, nil
}

// startLine finds the line of the '<' that opened the element whose start
// tag ends at offset end (on line endLine).
func startLine(data []byte, end int64, endLine int) int {
	if end <= 0 || end > int64(len(data)) {
		return endLine
	}
	i := bytes.LastIndexByte(data[:end], '<')
	if i < 0 {
		return endLine
	}
	return endLine - bytes.Count(data[i:end], []byte("\n"))
}

// rawName is an element name as written, with its prefix.
func rawName(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

package description

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// valueKind is the XML Schema datatype of a value where it matters.
type valueKind int

const (
	kindText valueKind = iota
	kindBool
	kindUint
)

// attrRule is what one attribute (or an element's text) may hold: one of
// values, or a match of pattern, or a value of kind.
type attrRule struct {
	values  []string
	kind    valueKind
	pattern *regexp.Regexp
}

// elementRule is what KIWI's schema allows for one element name.
type elementRule struct {
	attrs       map[string]attrRule
	children    []string
	text        attrRule
	reqAttrs    []string
	reqChildren []string
}

// checkSchema walks the processed description and reports, like KIWI's
// schema validation: unknown elements and attributes as warnings (they
// are ignored), and as errors values outside the allowed sets, missing
// required attributes and sections.
func checkSchema(root *node, p *problems) {
	if root.Name != "image" {
		p.errorf(root.Pos, "the root element is <%s>; a KIWI description starts with <image>", root.Name)
		return
	}
	checkElement(root, nil, p)
}

func checkElement(n, parent *node, p *problems) {
	rule, known := schemaRules[n.Name]
	if !known {
		p.warnf(n.Pos, "unknown element <%s> ignored", n.Name)
		return
	}
	if parent != nil {
		prule := schemaRules[parent.Name]
		if !slices.Contains(prule.children, n.Name) && !slices.Contains(prule.children, "*") {
			p.warnf(n.Pos, "element <%s> is not expected inside <%s>; ignored", n.Name, parent.Name)
			return
		}
	}
	if n.Name == "extension" {
		return // foreign namespaces, validated by their own schema
	}
	for _, a := range n.Attrs {
		if a.Name.Space != "" || a.Name.Local == "xmlns" {
			continue // xsi:schemaLocation and friends
		}
		ar, ok := rule.attrs[a.Name.Local]
		if !ok {
			p.warnf(n.Pos, "unknown attribute %s of <%s> ignored", a.Name.Local, n.Name)
			continue
		}
		if n.Name == "image" && a.Name.Local == "schemaversion" {
			continue // checked and upgraded on its own
		}
		if msg := checkValue(ar, a.Value); msg != "" {
			p.errorf(n.Pos, "<%s %s=%q>: %s", n.Name, a.Name.Local, a.Value, msg)
		}
	}
	for _, name := range rule.reqAttrs {
		if _, ok := n.attr(name); !ok {
			p.errorf(n.Pos, "<%s> needs the attribute %s", n.Name, name)
		}
	}
	for _, name := range rule.reqChildren {
		if n.first(name) == nil {
			p.errorf(n.Pos, "<%s> needs a <%s> section", n.Name, name)
		}
	}
	if rule.text.values != nil || rule.text.kind != kindText || rule.text.pattern != nil {
		if msg := checkValue(rule.text, n.Text); msg != "" {
			p.errorf(n.Pos, "<%s>%s</%s>: %s", n.Name, n.Text, n.Name, msg)
		}
	}
	for _, c := range n.Children {
		if c.Name != "" {
			checkElement(c, n, p)
		}
	}
}

// checkValue returns "" when v is allowed by r, else why not.
func checkValue(r attrRule, v string) string {
	if r.values != nil && slices.Contains(r.values, v) {
		return ""
	}
	if r.pattern != nil && r.pattern.MatchString(v) {
		return ""
	}
	switch {
	case r.kind == kindBool:
		if _, ok := parseBool(v); ok {
			return ""
		}
		return "must be true or false"
	case r.kind == kindUint:
		if _, err := strconv.ParseUint(strings.TrimSpace(v), 10, 63); err == nil {
			return ""
		}
		return "must be a non-negative integer"
	case r.values != nil && r.pattern != nil:
		return "must be one of " + strings.Join(r.values, ", ") + " or match " + strings.TrimSuffix(strings.TrimPrefix(r.pattern.String(), "^(?:"), ")$")
	case r.values != nil:
		return "must be one of " + strings.Join(r.values, ", ")
	case r.pattern != nil:
		return "does not have the allowed form " + strings.TrimSuffix(strings.TrimPrefix(r.pattern.String(), "^(?:"), ")$")
	}
	return ""
}

// parseBool reads an xsd:boolean.
func parseBool(v string) (value, ok bool) {
	switch strings.TrimSpace(v) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

package create

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kiwi-go/kiwi/build/description"
)

// support is what this kiwi does with one element or attribute of KIWI's
// schema when a description sets it.
type support int

const (
	// honoured: the setting takes effect (and a test shows it).
	honoured support = iota + 1
	// refused: not built yet; the build stops before any work.
	refused
	// ignored: it has no effect on what this kiwi makes (the reason
	// says why); the build goes on with a warning.
	ignored
)

func (s support) String() string {
	switch s {
	case honoured:
		return "honoured"
	case refused:
		return "refused"
	case ignored:
		return "ignored"
	}
	return "undecided"
}

// feature is the decision for one element or attribute.
type feature struct {
	support support
	// kinds, when set, limits the support to these kinds of the table
	// (oem, iso, kis, filesystem, container); on other kinds the setting gets
	// otherwise (refused when unset).
	kinds     []string
	otherwise support
	// why says, for refused settings, what this kiwi does not build and
	// what to do instead; for ignored ones, why it has no effect.
	why string
	// unlessFalse: only a true value counts (installiso="false" asks
	// for nothing); likewise an empty value.
	unlessFalse bool
	// pm, when it has the description's package manager, is the
	// decision for that manager instead (repository, packages and rpm
	// settings mean different things to apt, zypper, dnf and pacman).
	pm map[string]feature
}

// rpmManagers are the package managers of rpm roots.
var rpmManagers = []string{"zypper", "dnf", "dnf4", "dnf5"}

// by gives the decision f to each of the package managers names.
func by(f feature, names ...string) map[string]feature {
	m := map[string]feature{}
	for _, n := range names {
		m[n] = f
	}
	return m
}

// with adds the decisions of more to m.
func with(m map[string]feature, more map[string]feature) map[string]feature {
	for k, v := range more {
		m[k] = v
	}
	return m
}

// decide returns the support of f for kind k.
func (f feature) decide(k string) support {
	if len(f.kinds) == 0 || slices.Contains(f.kinds, k) {
		return f.support
	}
	if f.otherwise == 0 {
		return refused
	}
	return f.otherwise
}

// featureKey names an element ("volume") or an attribute ("type@luks")
// in the features table.
func featureKey(element, attr string) string {
	if attr == "" {
		return element
	}
	return element + "@" + attr
}

// checkSettings applies the features table to every setting of d that
// applies to the selection, for kind k. The first refused setting is the
// error (naming element, attribute, value and position); ignored ones
// come back as warnings. Settings the table does not know (unknown to
// KIWI's schema; the schema check warned about them) are passed over.
func checkSettings(d *description.Description, k string) ([]string, error) {
	var ignoredOnes []string
	var refusals []string
	for _, s := range d.Settings() {
		f, ok := features[featureKey(s.Element, s.Attr)]
		if !ok {
			continue
		}
		if o, ok := f.pm[d.Preferences.PackageManager]; ok {
			f = o
		}
		if f.unlessFalse && (s.Value == "" || s.Value == "false" || s.Value == "0") {
			continue
		}
		what := "<" + s.Element + ">"
		if s.Attr != "" {
			what = fmt.Sprintf("<%s %s=%q>", s.Element, s.Attr, description.RedactValue(s.Element, s.Attr, s.Value))
		}
		switch f.decide(k) {
		case refused:
			why := f.why
			if why == "" && len(f.kinds) > 0 && !slices.Contains(f.kinds, k) {
				why = fmt.Sprintf("it is built for %s images only", strings.Join(f.kinds, ", "))
			}
			refusals = append(refusals, fmt.Sprintf("%s: %s: this kiwi does not build it for image=%q yet: %s", s.Pos, what, d.Type.Image, why))
		case ignored:
			ignoredOnes = append(ignoredOnes, fmt.Sprintf("%s: %s has no effect here: %s", s.Pos, what, f.why))
		}
	}
	if len(refusals) > 0 {
		// Each refusal starts with its position, which names the file.
		return nil, errors.New(strings.Join(refusals, "; "))
	}
	return ignoredOnes, nil
}

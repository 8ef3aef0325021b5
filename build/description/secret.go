package description

import (
	"net/url"
	"strings"
)

// Mask stands in for a secret wherever a description is shown.
const Mask = "***"

// secretAttrs are the attributes that hold passphrases and credentials.
var secretAttrs = map[string]bool{"type@luks": true, "repository@username": true, "repository@password": true}

// IsSecret reports whether attribute attr of element holds a secret
// (a luks passphrase, repository credentials), never to be printed.
func IsSecret(element, attr string) bool {
	return secretAttrs[element+"@"+attr]
}

// RedactURL masks the password of a URL's user info
// (https://user:secret@host/...); anything else is returned unchanged.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	u.User = url.UserPassword(u.User.Username(), Mask)
	return strings.Replace(u.String(), url.QueryEscape(Mask), Mask, 1)
}

// RedactValue is the value of attribute attr of element as it may be
// shown: secrets masked.
func RedactValue(element, attr, value string) string {
	switch {
	case value == "":
		return value
	case IsSecret(element, attr):
		return Mask
	case element == "source" && attr == "path":
		return RedactURL(value)
	}
	return value
}

// Redacted returns a copy of d fit to be shown (image info): luks
// passphrases, repository credentials and passwords in repository URLs
// masked, plain-text user passwords too. d is unchanged.
func (d *Description) Redacted() *Description {
	c := *d
	c.Type.Attr = redactMap("type", d.Type.Attr)
	if c.Type.Luks != "" {
		c.Type.Luks = Mask
	}
	c.Repositories = make([]Repository, len(d.Repositories))
	for i, r := range d.Repositories {
		r.Attr = redactMap("repository", r.Attr)
		if r.Username != "" {
			r.Username = Mask
		}
		if r.Password != "" {
			r.Password = Mask
		}
		r.Source = RedactURL(r.Source)
		c.Repositories[i] = r
	}
	c.Users = make([]User, len(d.Users))
	for i, u := range d.Users {
		if u.PwdFormat == "plain" && u.Password != "" {
			u.Password = Mask
		}
		c.Users[i] = u
	}
	return &c
}

func redactMap(element string, m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = RedactValue(element, k, v)
	}
	return out
}

// RedactedXML is XML with the secrets Redacted masks masked, for
// printing (image info --print-xml).
func (s *Source) RedactedXML() []byte {
	return s.xml(true)
}

// Package build reads KIWI image descriptions and turns them into root
// trees and images.
package description

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Head is the identity of an image description: enough to name and label
// a stash without processing profiles, types and packages.
type Head struct {
	Name    string
	Author  string
	Contact string
	Version string
}

// ReadHead reads the <image name> attribute, the <description> author and
// contact and the first <preferences><version> of the description file.
func ReadHead(path string) (*Head, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h, err := decodeHead(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

func decodeHead(r io.Reader) (*Head, error) {
	var doc struct {
		XMLName     xml.Name `xml:"image"`
		Name        string   `xml:"name,attr"`
		Description []struct {
			Author  string `xml:"author"`
			Contact string `xml:"contact"`
		} `xml:"description"`
		Preferences []struct {
			Version string `xml:"version"`
		} `xml:"preferences"`
	}
	d := xml.NewDecoder(r)
	if err := d.Decode(&doc); err != nil {
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("line %d: malformed XML: %s", se.Line, se.Msg)
		}
		return nil, fmt.Errorf("not a KIWI description: %w", err)
	}
	h := &Head{Name: strings.TrimSpace(doc.Name)}
	if h.Name == "" {
		return nil, errors.New(`<image> has no name attribute`)
	}
	if len(doc.Description) > 0 {
		h.Author = strings.TrimSpace(doc.Description[0].Author)
		h.Contact = strings.TrimSpace(doc.Description[0].Contact)
	}
	for _, p := range doc.Preferences {
		if v := strings.TrimSpace(p.Version); v != "" {
			h.Version = v
			break
		}
	}
	return h, nil
}

package description

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRedactedMasksSecrets(t *testing.T) {
	d, err, _ := load(t, desc(`    <preferences>
        <version>1.0.0</version>
        <packagemanager>apt</packagemanager>
        <type image="oem" filesystem="ext4" luks="topsecret"/>
    </preferences>
    <users>
        <user name="root" password="plainpw" pwdformat="plain" home="/root"/>
    </users>
    <repository type="apt-deb" username="repouser" password="repopass">
        <source path="https://u:urlpass@example.org/debian"/>
    </repository>`), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	xml := string(d.Source().RedactedXML())
	for _, secret := range []string{"topsecret", "plainpw", "repouser", "repopass", "urlpass"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("Redacted JSON holds %q: %s", secret, b)
		}
		if strings.Contains(xml, secret) {
			t.Errorf("RedactedXML holds %q:\n%s", secret, xml)
		}
	}
	// The description itself keeps them: prepare writes it into the root.
	if d.Type.Attr["luks"] != "topsecret" || d.Repositories[0].Password != "repopass" || !strings.Contains(string(d.XML()), "topsecret") {
		t.Error("Redacted changed the description it was called on")
	}
	if got := RedactURL("https://u:p@h/x"); got != "https://u:***@h/x" {
		t.Errorf("RedactURL = %q", got)
	}
	if got := RedactURL("http://deb.debian.org/debian"); got != "http://deb.debian.org/debian" {
		t.Errorf("RedactURL changed a URL without a password: %q", got)
	}
}

func TestSettingsListTheSelectionOnly(t *testing.T) {
	d, err, _ := load(t, desc(`    <profiles>
        <profile name="a" description="a"/>
        <profile name="b" description="b"/>
    </profiles>
    <preferences>
        <version>1.0.0</version>
        <packagemanager>apt</packagemanager>
        <type image="oem" filesystem="ext4" primary="true"/>
        <type image="iso" volid="OTHER"/>
    </preferences>
    <preferences profiles="b">
        <type image="kis" luks="x"/>
    </preferences>
    <packages type="image">
        <package name="onlyarm" arch="aarch64"/>
        <package name="always"/>
    </packages>`), LoadOptions{Profiles: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range d.Settings() {
		got[s.Element+"@"+s.Attr+"="+s.Value] = ""
	}
	for _, want := range []string{"type@filesystem=ext4", "package@name=always", "preferences@="} {
		if _, ok := got[want]; !ok {
			t.Errorf("Settings lacks %s: %v", want, got)
		}
	}
	for _, not := range []string{"type@volid=OTHER", "type@luks=x", "package@name=onlyarm"} {
		if _, ok := got[not]; ok {
			t.Errorf("Settings lists %s, which does not apply to the selection", not)
		}
	}
}

package federation_test

import (
	"context"
	"encoding/xml"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"gatehouse/provider/federation"
	"gatehouse/storage"
)

// addConnection stores a connection for partner acme.
func (e *env) addConnection(c storage.Connection) {
	e.t.Helper()
	c.PartnerID = "acme"
	c.CreatedAt, c.UpdatedAt = e.clock.Now(), e.clock.Now()
	if err := e.store.CreateConnection(context.Background(), c); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) test(id string) federation.Report {
	e.t.Helper()
	rep, err := e.fed.Test(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

// find returns the first check named name that failed, or else the first
// check named name.
func find(rep federation.Report, name string) (federation.Check, bool) {
	var found federation.Check
	ok := false
	for _, c := range rep.Checks {
		if c.Name != name {
			continue
		}
		if !ok || (found.OK && !c.OK) {
			found, ok = c, true
		}
	}
	return found, ok
}

// closedURL is an address where nothing listens.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestConnectionTestOIDC(t *testing.T) {
	e := newEnv(t)

	rep := e.test("acme-oidc")
	if !rep.OK {
		t.Fatalf("a working connection: %+v", rep)
	}
	for _, name := range []string{"issuer", "client", "discovery", "issuer match", "authorization endpoint", "token endpoint", "signing keys"} {
		if c, ok := find(rep, name); !ok || !c.OK {
			t.Fatalf("check %q: %+v", name, rep)
		}
	}

	down := closedURL(t) + "/oidc"
	e.addConnection(storage.Connection{ID: "down", Type: "oidc", Issuer: down, ClientID: "gatehouse"})
	rep = e.test("down")
	c, _ := find(rep, "discovery")
	if rep.OK || c.OK || !strings.Contains(c.Detail, "is unreachable: nothing accepts connections at") {
		t.Fatalf("unreachable issuer: %+v", rep)
	}
	t.Logf("unreachable: %s", c.Detail)

	e.addConnection(storage.Connection{ID: "slash", Type: "oidc", Issuer: e.oidc.m.Issuer() + "/", ClientID: "gatehouse"})
	rep = e.test("slash")
	if c, _ := find(rep, "issuer match"); rep.OK || c.OK || !strings.Contains(c.Detail, "final slash") {
		t.Fatalf("issuer with a slash: %+v", rep)
	}

	e.addConnection(storage.Connection{ID: "wrongpath", Type: "oidc", Issuer: e.oidc.m.Addr() + "/nothing-here", ClientID: "gatehouse"})
	rep = e.test("wrongpath")
	if c, _ := find(rep, "discovery"); rep.OK || !strings.Contains(c.Detail, "404 Not Found") {
		t.Fatalf("no discovery document: %+v", rep)
	}

	e.addConnection(storage.Connection{ID: "badsecret", Type: "oidc", Issuer: e.oidc.m.Issuer(), ClientID: "gatehouse", ClientSecret: []byte("not sealed with this server's key")})
	rep = e.test("badsecret")
	if c, _ := find(rep, "client"); rep.OK || c.OK || !strings.Contains(c.Detail, "cannot be decrypted") {
		t.Fatalf("undecryptable secret: %+v", rep)
	}

	e.addConnection(storage.Connection{ID: "https-only", Type: "oidc", Issuer: "http://login.example.com/tenant", ClientID: "gatehouse"})
	if c, _ := find(e.test("https-only"), "issuer"); c.OK || !strings.Contains(c.Detail, "plain http") {
		t.Fatalf("plain http issuer: %+v", c)
	}

	if _, err := e.fed.Test(context.Background(), "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("unknown connection: %v", err)
	}
}

func TestConnectionTestSAML(t *testing.T) {
	e := newEnv(t)
	rep := e.test("beta-saml")
	if !rep.OK {
		t.Fatalf("a working connection: %+v", rep)
	}
	for _, name := range []string{"metadata", "identity provider", "sign-in service", "signing certificate"} {
		if c, ok := find(rep, name); !ok || !c.OK {
			t.Fatalf("check %q: %+v", name, rep)
		}
	}

	// An IdP whose signing certificate has expired, inline.
	key, cert := selfSigned("Old IdP", time.Now().Add(-400*24*time.Hour), time.Now().Add(-24*time.Hour))
	md, _ := url.Parse("https://old-idp.example/metadata")
	sso, _ := url.Parse("https://old-idp.example/sso")
	old := &saml.IdentityProvider{Key: key, Certificate: cert, MetadataURL: *md, SSOURL: *sso}
	b, err := xml.Marshal(old.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	e.addConnection(storage.Connection{ID: "old", Type: "saml", Metadata: string(b)})
	rep = e.test("old")
	c, _ := find(rep, "signing certificate")
	if rep.OK || c.OK || !strings.Contains(c.Detail, `"Old IdP" expired on`) {
		t.Fatalf("expired certificate: %+v", rep)
	}

	e.addConnection(storage.Connection{ID: "none", Type: "saml"})
	if c, _ := find(e.test("none"), "metadata"); c.OK || !strings.Contains(c.Detail, "neither metadata nor a metadata URL") {
		t.Fatalf("no metadata: %+v", c)
	}

	e.addConnection(storage.Connection{ID: "gone", Type: "saml", MetadataURL: closedURL(t) + "/metadata"})
	if c, _ := find(e.test("gone"), "metadata"); c.OK || !strings.Contains(c.Detail, "unreachable") {
		t.Fatalf("unreachable metadata: %+v", c)
	}

	e.addConnection(storage.Connection{ID: "notxml", Type: "saml", Metadata: "<html>hello</html>"})
	if c, _ := find(e.test("notxml"), "identity provider"); c.OK || !strings.Contains(c.Detail, "cannot be used") {
		t.Fatalf("not metadata: %+v", c)
	}
}

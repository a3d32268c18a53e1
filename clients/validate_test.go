package clients

import (
	"net/url"
	"strings"
	"testing"

	"gatehouse/storage"
)

func TestValidateRedirectURI(t *testing.T) {
	for _, tc := range []struct {
		uri string
		ok  bool
	}{
		{"https://academy.example/callback", true},
		{"http://localhost:9000/callback", true},
		{"http://127.0.0.1:8080/cb", true},
		{"com.example.app:/oauth2redirect", true},
		{"http://academy.example/callback", false}, // plain http off loopback
		{"https://academy.example/cb#frag", false},
		{"/relative", false},
		{"https://user:pw@academy.example/cb", false},
		{"javascript:alert(1)", false},
		{"", false},
		{"https://" + strings.Repeat("a", 2001), false},
	} {
		err := ValidateRedirectURI(tc.uri)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateRedirectURI(%q) = %v, want ok=%v", tc.uri, err, tc.ok)
		}
	}
}

func TestValidateClientNamesTheField(t *testing.T) {
	c := Defaults(storage.Client{ID: "academy", SecretHash: "$argon2id$x", RedirectURIs: []string{"https://a.example/cb", "http://evil.example/cb"}})
	err := ValidateClient(c)
	fe, ok := err.(*FieldError)
	if !ok || fe.Field != "redirect_uris[1]" {
		t.Fatalf("ValidateClient = %v, want a FieldError on redirect_uris[1]", err)
	}
	pub := Defaults(storage.Client{ID: "portal", RedirectURIs: []string{"https://p.example/cb"}, GrantTypes: []string{"client_credentials"}})
	if err := ValidateClient(pub); err == nil || !strings.Contains(err.Error(), "grant_types") {
		t.Fatalf("a public client with client_credentials: %v", err)
	}
}

// FuzzValidateRedirectURI: whatever a seed or an API caller sends, the
// check never panics, and what it accepts is an absolute URL without a
// fragment or user information, over https except on loopback.
func FuzzValidateRedirectURI(f *testing.F) {
	for _, s := range []string{"https://a.example/cb", "http://localhost:1/x", "com.example.app:/cb", "https://a.example/cb#x", "http://[::1]:80/", "%zz", "https://u@h/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateRedirectURI(s) != nil {
			return
		}
		u, err := url.Parse(s)
		if err != nil || !u.IsAbs() || u.Fragment != "" || u.User != nil {
			t.Fatalf("accepted %q", s)
		}
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			t.Fatalf("accepted plain http off loopback: %q", s)
		}
	})
}

package oidc_test

import (
	"net/url"
	"slices"
	"testing"
)

// PAR: the client pushes its request and sends the browser with only the
// request_uri; the request_uri is good once.
func TestPushedAuthorizationRequest(t *testing.T) {
	e := newEnv(t)
	r := e.rp("academy", "academy-secret", "openid", "profile", "roles")
	a := r.authorize()
	full, _ := url.Parse(a.URL)
	resp := e.post("/oauth2/par", full.Query(), "academy", "academy-secret")
	m := decodeJSON(t, resp)
	uri, _ := m["request_uri"].(string)
	if resp.StatusCode != 201 || uri == "" || m["expires_in"] == nil {
		t.Fatalf("PAR: %d %v", resp.StatusCode, m)
	}

	b := e.browser()
	short := e.issuer + "/oauth2/authorize?" + url.Values{"client_id": {"academy"}, "request_uri": {uri}}.Encode()
	cb, pages := b.run(short, "olivia@acme.example", "")
	if !slices.Equal(pages, []string{"login"}) {
		t.Fatalf("pages %v", pages)
	}
	tok, err := r.exchange(a, cb)
	must(t, err)
	if c := claimsOf(t, r.idToken(a, tok)); c["partner_id"] != "acme" {
		t.Fatalf("pushed scopes lost: %v", c)
	}

	// Used once.
	pg := b.get(short)
	if pg.Location != nil || pg.Status != 400 {
		t.Fatalf("request_uri reused: %d %v", pg.Status, pg.Location)
	}

	t.Run("refusals", func(t *testing.T) {
		q := full.Query()
		for name, c := range map[string]struct {
			form       url.Values
			user, pass string
			status     int
			code       string
		}{
			"unauthenticated": {q, "academy", "wrong", 401, "invalid_client"},
			"plain PKCE":      {with(q, "code_challenge_method", "plain"), "academy", "academy-secret", 400, "invalid_request"},
			"bad redirect":    {with(q, "redirect_uri", "https://evil.example/cb"), "academy", "academy-secret", 400, "invalid_request"},
			"request_uri":     {with(q, "request_uri", "urn:x"), "academy", "academy-secret", 400, "invalid_request"},
		} {
			resp := e.post("/oauth2/par", c.form, c.user, c.pass)
			m := decodeJSON(t, resp)
			if resp.StatusCode != c.status || m["error"] != c.code {
				t.Errorf("%s: %d %v", name, resp.StatusCode, m)
			}
		}
		// Another client cannot use academy's request_uri.
		resp := e.post("/oauth2/par", q, "academy", "academy-secret")
		uri := decodeJSON(t, resp)["request_uri"].(string)
		pg := e.browser().get(e.issuer + "/oauth2/authorize?" + url.Values{"client_id": {"kb"}, "request_uri": {uri}}.Encode())
		if pg.Location != nil && pg.Location.Query().Get("code") != "" {
			t.Fatalf("another client used the request_uri: %s", pg.Location)
		}
	})
}

func with(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for kk, vv := range v {
		out[kk] = vv
	}
	out.Set(k, val)
	return out
}

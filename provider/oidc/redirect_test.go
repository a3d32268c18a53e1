package oidc_test

import (
	"net/url"
	"strings"
	"testing"
)

// An unknown client, or a redirect_uri that is missing or not registered,
// is shown at Gatehouse and never redirected to; every other error goes
// back to the client.
func TestRedirectURIErrorsStayAtGatehouse(t *testing.T) {
	e := newEnv(t)
	base := url.Values{"response_type": {"code"}, "client_id": {"academy"}, "scope": {"openid"},
		"state": {randomString()}, "redirect_uri": {"https://academy.example/callback"}}
	for name, q := range map[string]url.Values{
		"unregistered":      with(base, "redirect_uri", "https://evil.example/callback"),
		"prefix of another": with(base, "redirect_uri", "https://academy.example/callback/x"),
		"missing":           with(base, "redirect_uri", ""),
		"unknown client":    with(base, "client_id", "ghost"),
		"no client":         with(base, "client_id", ""),
	} {
		pg := e.browser().get(e.issuer + "/oauth2/authorize?" + q.Encode())
		if pg.Location != nil {
			t.Errorf("%s: redirected to %s", name, pg.Location)
			continue
		}
		if pg.Status != 400 || !strings.Contains(text(pg.Body), "cannot") {
			t.Errorf("%s: status %d: %s", name, pg.Status, text(pg.Body))
		}
	}
	// With a valid redirect_uri, errors go back to the client.
	for name, c := range map[string]struct {
		q    url.Values
		code string
	}{
		"bad scope":         {with(base, "scope", "openid launch_missiles"), "invalid_scope"},
		"bad response_type": {with(base, "response_type", "token"), "unsupported_response_type"},
		"short state":       {with(base, "state", "abc"), "invalid_state"},
		"bad prompt":        {with(base, "prompt", "select_account"), "invalid_request"},
		"short nonce":       {with(base, "nonce", "x"), "invalid_request"},
		"response_mode":     {with(base, "response_mode", "form_post"), "unsupported_response_mode"},
	} {
		pg := e.browser().get(e.issuer + "/oauth2/authorize?" + c.q.Encode())
		if pg.Location == nil || pg.Location.Host != "academy.example" || pg.Location.Query().Get("error") != c.code {
			t.Errorf("%s: %d %v: %s", name, pg.Status, pg.Location, text(pg.Body))
		}
	}
}

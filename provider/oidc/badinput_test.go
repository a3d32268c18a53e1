package oidc_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Malformed requests of every kind get a 4xx with a message, never a 500.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("x", 5000)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		method, path, contentType, body, basicUser, basicPass string
	}{
		{"GET", "/oauth2/authorize", "", "", "", ""},
		{"GET", "/oauth2/authorize?client_id=academy", "", "", "", ""},
		{"GET", "/oauth2/authorize?client_id=" + long, "", "", "", ""},
		{"GET", "/oauth2/authorize?client_id=academy&redirect_uri=%zz", "", "", "", ""},
		{"GET", "/oauth2/authorize?client_id=academy&response_type=code&scope=openid&redirect_uri=https://academy.example/callback&state=12345678&request_uri=urn:ietf:params:oauth:request_uri:nope", "", "", "", ""},
		{"GET", "/oauth2/authorize?client_id=academy&response_type=code&scope=openid&redirect_uri=https://academy.example/callback&state=12345678&request=" + long, "", "", "", ""},
		{"POST", "/oauth2/authorize", "application/x-www-form-urlencoded", "%%%", "", ""},
		{"POST", "/oauth2/authorize", "multipart/form-data; boundary=x", "garbage", "", ""},
		{"GET", "/oauth2/authorize/resume", "", "", "", ""},
		{"GET", "/oauth2/authorize/resume?flow=" + long, "", "", "", ""},
		{"GET", "/oauth2/authorize/resume?flow=aaaaaaaaaaaaaaaaaaaaaaaa", "", "", "", ""},
		{"POST", "/oauth2/token", "", "", "", ""},
		{"POST", "/oauth2/token", "application/x-www-form-urlencoded", "grant_type=password&username=a&password=b", "academy", "academy-secret"},
		{"POST", "/oauth2/token", "application/x-www-form-urlencoded", "grant_type=authorization_code", "academy", "academy-secret"},
		{"POST", "/oauth2/token", "application/x-www-form-urlencoded", "grant_type=authorization_code&code=" + long, "academy", "academy-secret"},
		{"POST", "/oauth2/token", "application/x-www-form-urlencoded", "grant_type=refresh_token", "academy", "academy-secret"},
		{"POST", "/oauth2/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=svc", "", ""},
		{"POST", "/oauth2/token", "application/x-www-form-urlencoded", "grant_type=client_credentials", "svc", long},
		{"POST", "/oauth2/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=" + long, "", ""},
		{"POST", "/oauth2/token", "application/json", `{"grant_type":"client_credentials"}`, "svc", "svc-secret"},
		{"POST", "/oauth2/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&scope=%ZZ", "svc", "svc-secret"},
		{"POST", "/oauth2/par", "", "", "", ""},
		{"POST", "/oauth2/par", "application/x-www-form-urlencoded", "response_type=code", "academy", "academy-secret"},
		{"POST", "/oauth2/introspect", "", "", "", ""},
		{"POST", "/oauth2/introspect", "application/x-www-form-urlencoded", "%%%", "academy", "academy-secret"},
		{"POST", "/oauth2/revoke", "", "", "", ""},
		{"POST", "/oauth2/revoke", "application/x-www-form-urlencoded", "token=x", "", ""},
		{"GET", "/userinfo", "", "", "", ""},
		{"POST", "/userinfo", "application/x-www-form-urlencoded", "access_token=" + long, "", ""},
		{"GET", "/oauth2/logout?id_token_hint=" + long, "", "", "", ""},
		{"GET", "/oauth2/logout?id_token_hint=%zz", "", "", "", ""},
		{"POST", "/oauth2/logout", "application/x-www-form-urlencoded", "%%%", "", ""},
	}
	for _, c := range cases {
		req, err := http.NewRequest(c.method, e.issuer+c.path, strings.NewReader(c.body))
		if err != nil {
			// An URL the client library refuses to send; send it raw.
			req, err = http.NewRequest(c.method, e.issuer, strings.NewReader(c.body))
			must(t, err)
			req.URL.Opaque = "//" + req.URL.Host + c.path
		}
		if c.contentType != "" {
			req.Header.Set("Content-Type", c.contentType)
		}
		if c.basicUser != "" {
			req.SetBasicAuth(url.QueryEscape(c.basicUser), url.QueryEscape(c.basicPass))
		}
		resp, err := noFollow.Do(req)
		must(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		name := c.method + " " + c.path
		if len(name) > 120 {
			name = name[:120] + "..."
		}
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			// Errors that go back to a registered redirect URI are 303s.
			if resp.StatusCode == http.StatusSeeOther && strings.Contains(resp.Header.Get("Location"), "error=") {
				continue
			}
			t.Errorf("%s (%s): status %d: %.200s", name, c.body, resp.StatusCode, body)
			continue
		}
		if len(strings.TrimSpace(string(body))) == 0 {
			t.Errorf("%s: %d without a message", name, resp.StatusCode)
		}
	}
}

package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
)

// gatehouse holds what the paths need from the server under test.
type gatehouse struct {
	opts      options
	http      *http.Client
	target    string
	discovery struct {
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
		Introspection string `json:"introspection_endpoint"`
		UserInfo      string `json:"userinfo_endpoint"`
		JWKS          string `json:"jwks_uri"`
	}
	main, alt    *client
	serviceToken string         // a client-credentials access token, for introspection
	userToken    string         // a user's access token, for UserInfo
	sessions     []*http.Client // one signed-in browser per worker, for authorize_code
}

// client is a confidential client the paths use; idTokenAlg is what its
// ID tokens were signed with, learnt from the first code exchange.
type client struct {
	id, secret string
	idTokenAlg string
}

func (g *gatehouse) prepare(ctx context.Context) error {
	g.main = &client{id: g.opts.clientID, secret: g.opts.clientSecret}
	g.alt = &client{id: g.opts.altClientID, secret: g.opts.altClientSecret}
	if err := g.getJSON(ctx, g.target+"/.well-known/openid-configuration", &g.discovery); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	tok, err := g.clientCredentials(ctx)
	if err != nil {
		return fmt.Errorf("client_credentials: %w", err)
	}
	g.serviceToken = tok
	if g.opts.password == "" {
		return nil // the paths that need a user are refused in op
	}
	for i := 0; i < g.opts.connections; i++ {
		b := g.browser()
		code, err := g.authorize(ctx, b, true, g.main)
		if err != nil {
			return fmt.Errorf("signing in as %s: %w", g.opts.username, err)
		}
		if i == 0 {
			if g.userToken, err = g.exchange(ctx, code, g.main); err != nil {
				return fmt.Errorf("code exchange: %w", err)
			}
		}
		g.sessions = append(g.sessions, b)
	}
	if strings.Contains(g.opts.paths, "authorize_code_alt") {
		code, err := g.authorize(ctx, g.sessions[0], false, g.alt)
		if err == nil {
			_, err = g.exchange(ctx, code, g.alt)
		}
		if err != nil {
			return fmt.Errorf("client %s: %w", g.alt.id, err)
		}
	}
	return nil
}

// label names a path in the report, with the ID token algorithm where the
// path signs one.
func (g *gatehouse) label(path string) string {
	switch {
	case path == "authorize_code" && g.main.idTokenAlg != "":
		return fmt.Sprintf("authorize_code (%s, %s id_token)", g.main.id, g.main.idTokenAlg)
	case path == "authorize_code_alt" && g.alt.idTokenAlg != "":
		return fmt.Sprintf("authorize_code (%s, %s id_token)", g.alt.id, g.alt.idTokenAlg)
	}
	return path
}

func (g *gatehouse) op(name string) (op, int, error) {
	n := g.opts.connections
	needUser := func() error {
		if g.opts.password == "" {
			return fmt.Errorf("path %s needs -password", name)
		}
		return nil
	}
	switch name {
	case "client_credentials":
		return func(ctx context.Context, _ int) error { _, err := g.clientCredentials(ctx); return err }, n, nil
	case "introspect":
		return func(ctx context.Context, _ int) error {
			form := url.Values{"token": {g.serviceToken}}
			var out struct {
				Active bool `json:"active"`
			}
			if err := g.postForm(ctx, g.discovery.Introspection, form, g.main, &out); err != nil {
				return err
			}
			if !out.Active {
				return errors.New("token reported inactive")
			}
			return nil
		}, n, nil
	case "userinfo":
		if err := needUser(); err != nil {
			return nil, 0, err
		}
		return func(ctx context.Context, _ int) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.discovery.UserInfo, nil)
			req.Header.Set("Authorization", "Bearer "+g.userToken)
			return g.expect200(req)
		}, n, nil
	case "jwks":
		return g.getOp(g.discovery.JWKS), n, nil
	case "discovery":
		return g.getOp(g.target + "/.well-known/openid-configuration"), n, nil
	case "authorize_code", "authorize_code_alt":
		if err := needUser(); err != nil {
			return nil, 0, err
		}
		cl := g.main
		if name == "authorize_code_alt" {
			cl = g.alt
		}
		return func(ctx context.Context, w int) error {
			code, err := g.authorize(ctx, g.sessions[w%len(g.sessions)], false, cl)
			if err != nil {
				return err
			}
			_, err = g.exchange(ctx, code, cl)
			return err
		}, n, nil
	case "password_signin":
		if err := needUser(); err != nil {
			return nil, 0, err
		}
		return func(ctx context.Context, _ int) error {
			_, err := g.authorize(ctx, g.browser(), true, g.main)
			return err
		}, n, nil
	}
	return nil, 0, fmt.Errorf("unknown path %q", name)
}

func (g *gatehouse) getOp(u string) op {
	return func(ctx context.Context, _ int) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		return g.expect200(req)
	}
}

func (g *gatehouse) expect200(req *http.Request) error {
	resp, err := g.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", req.URL.Path, resp.StatusCode)
	}
	return nil
}

// browser is a fresh cookie jar sharing the load tool's connections. Each
// one comes from its own address, as the users behind a reverse proxy do:
// the server trusts X-Forwarded-For from loopback, and its per-address
// sign-in limit would otherwise see one address posting thousands of forms.
func (g *gatehouse) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	n := browsers.Add(1)
	addr := fmt.Sprintf("10.%d.%d.%d", byte(n>>16), byte(n>>8), byte(n))
	return &http.Client{Transport: forwardedFor{addr, g.http.Transport}, Jar: jar, Timeout: g.http.Timeout, CheckRedirect: g.http.CheckRedirect}
}

var browsers atomic.Uint32

type forwardedFor struct {
	addr string
	next http.RoundTripper
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.addr)
	return f.next.RoundTrip(r)
}

func (g *gatehouse) clientCredentials(ctx context.Context) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	err := g.postForm(ctx, g.discovery.Token, url.Values{"grant_type": {"client_credentials"}}, g.main, &out)
	return out.AccessToken, err
}

func (g *gatehouse) exchange(ctx context.Context, code string, cl *client) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {g.opts.redirectURI}, "code_verifier": {verifier}}
	if err := g.postForm(ctx, g.discovery.Token, form, cl, &out); err != nil {
		return "", err
	}
	if cl.idTokenAlg == "" {
		cl.idTokenAlg = jwtAlg(out.IDToken)
	}
	return out.AccessToken, nil
}

// jwtAlg reads the alg of a JWT's header; "" when there is none.
func jwtAlg(raw string) string {
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	_ = json.Unmarshal(b, &h)
	return h.Alg
}

// verifier is one fixed PKCE verifier: the load run measures the server,
// not the randomness of its client.
var verifier = base64.RawURLEncoding.EncodeToString(func() []byte { b := make([]byte, 32); _, _ = rand.Read(b); return b }())

// authorize runs the code flow in browser b up to the redirect carrying the
// code. When signIn is set, it fills the sign-in form on the way.
func (g *gatehouse) authorize(ctx context.Context, b *http.Client, signIn bool, cl *client) (string, error) {
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {cl.id},
		"redirect_uri":          {g.opts.redirectURI},
		"scope":                 {"openid profile roles"},
		"state":                 {"load-state-0123456789"},
		"nonce":                 {"load-nonce-0123456789"},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	next := g.discovery.Authorization + "?" + q.Encode()
	for hops := 0; hops < 12; hops++ {
		if strings.HasPrefix(next, g.opts.redirectURI) {
			u, err := url.Parse(next)
			if err != nil {
				return "", err
			}
			if e := u.Query().Get("error"); e != "" {
				return "", fmt.Errorf("authorization refused: %s: %s", e, u.Query().Get("error_description"))
			}
			return u.Query().Get("code"), nil
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		resp, err := b.Do(req)
		if err != nil {
			return "", err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			next = resolve(resp.Request.URL, loc)
			continue
		}
		if resp.StatusCode != http.StatusOK || !signIn {
			return "", fmt.Errorf("%s: status %d, no redirect", resp.Request.URL.Path, resp.StatusCode)
		}
		// The sign-in page: send its hidden fields back with the credentials.
		form := hiddenInputs(string(body))
		form.Set("username", g.opts.username)
		form.Set("password", g.opts.password)
		action := resp.Request.URL.String()
		if m := formAction.FindStringSubmatch(string(body)); m != nil && m[1] != "" {
			action = resolve(resp.Request.URL, htmlUnescape(m[1]))
		}
		req, _ = http.NewRequestWithContext(ctx, http.MethodPost, action, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err = b.Do(req)
		if err != nil {
			return "", err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode/100 != 3 || loc == "" {
			return "", fmt.Errorf("sign-in as %s refused (status %d)", g.opts.username, resp.StatusCode)
		}
		next = resolve(resp.Request.URL, loc)
		signIn = false
	}
	return "", errors.New("too many redirects")
}

var (
	inputTag   = regexp.MustCompile(`<input[^>]*>`)
	attr       = regexp.MustCompile(`(\w+)="([^"]*)"`)
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
)

func hiddenInputs(page string) url.Values {
	out := url.Values{}
	for _, tag := range inputTag.FindAllString(page, -1) {
		attrs := map[string]string{}
		for _, m := range attr.FindAllStringSubmatch(tag, -1) {
			attrs[strings.ToLower(m[1])] = htmlUnescape(m[2])
		}
		if attrs["type"] == "hidden" && attrs["name"] != "" {
			out.Set(attrs["name"], attrs["value"])
		}
	}
	return out
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#61;", "=", "&quot;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

func resolve(base *url.URL, ref string) string {
	u, err := base.Parse(ref)
	if err != nil {
		return ref
	}
	return u.String()
}

func (g *gatehouse) getJSON(ctx context.Context, u string, out any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := g.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", u, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (g *gatehouse) postForm(ctx context.Context, u string, form url.Values, cl *client, out any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cl != nil {
		req.SetBasicAuth(url.QueryEscape(cl.id), url.QueryEscape(cl.secret))
	}
	resp, err := g.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d: %s", req.URL.Path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return json.Unmarshal(body, out)
}

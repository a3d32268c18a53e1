package mfa_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// A cookie-keeping client that reads Gatehouse's pages and fills their
// forms as a browser (or a script) would.

// browser is one user agent with its own cookies.
type browser struct {
	t      testing.TB
	e      *env
	c      *http.Client
	visits []string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: e.t, e: e}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		b.visits = append(b.visits, req.URL.Path)
		return nil
	}}
	return b
}

type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	b.visits = append(b.visits, req.URL.Path)
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, url: res.Request.URL, body: string(body), header: res.Header}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	b.visits = nil
	req, _ := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	b.visits = nil
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	formRe   = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)"[^>]*>(.*?)</form>`)
	hiddenRe = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
)

// submit fills the page's first form, or the form posting to action when
// one is given: hidden fields as they came, plus fields ("\x00" drops one).
func (b *browser) submit(p page, fields map[string]string, action ...string) page {
	b.t.Helper()
	for _, m := range formRe.FindAllStringSubmatch(p.body, -1) {
		if len(action) > 0 && m[1] != action[0] {
			continue
		}
		form := url.Values{}
		for _, h := range hiddenRe.FindAllStringSubmatch(m[2], -1) {
			form.Set(h[1], html.UnescapeString(h[2]))
		}
		for k, v := range fields {
			if v == "\x00" {
				form.Del(k)
				continue
			}
			form.Set(k, v)
		}
		return b.post(html.UnescapeString(m[1]), form)
	}
	b.t.Fatalf("no form %v on the page (%d %s):\n%s", action, p.status, p.url, p.body)
	return page{}
}

// signIn begins a flow with query and signs in with the password.
func (b *browser) signIn(query, username string) page {
	b.t.Helper()
	p := b.get("/test/begin?" + query)
	if p.url.Path != "/login" || !strings.Contains(p.body, `name="password"`) {
		b.t.Fatalf("expected the sign-in page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	return b.submit(p, map[string]string{"username": username, "password": goodPassword})
}

func (p page) result(t testing.TB) result {
	t.Helper()
	if p.url.Path != "/test/return" || p.status != http.StatusOK {
		t.Fatalf("expected the adapter's return, got %d %s:\n%s", p.status, p.url, p.body)
	}
	var r result
	if err := json.Unmarshal([]byte(p.body), &r); err != nil {
		t.Fatalf("return body: %v\n%s", err, p.body)
	}
	return r
}

// errorText is the page's error paragraph.
func (p page) errorText() string {
	m := regexp.MustCompile(`<p class="error"[^>]*>([^<]*)</p>`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func (p page) is(path string, status int) bool {
	return p.url.Path == path && p.status == status
}

// Page paths.
const (
	challengePath = "/login/mfa"
	enrolPath     = "/login/mfa-enrol"
)

// Texts the pages show.
const (
	textBadCode      = "That code is not right, or it was already used. Try again."
	textBadEnrolCode = "That code does not match. Check the time on your phone and enter the code your app shows now."
	textBadKey       = "Your passkey or security key could not be verified. Try again, or enter a code."
	textLocked       = "This account is locked after too many failed sign-ins. Ask your administrator to unlock it."
)

var (
	otpauthRe  = regexp.MustCompile(`href="(otpauth://totp/[^"]+)"`)
	recoveryRe = regexp.MustCompile(`<li><code>([0-9a-z]{5}-[0-9a-z]{5})</code></li>`)
	optionsRe  = regexp.MustCompile(`data-options="([^"]+)"`)
)

// totpSecret reads the secret from an enrolment page's otpauth:// link.
func totpSecret(t testing.TB, p page) string {
	t.Helper()
	m := otpauthRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no otpauth:// link on the page (%d %s):\n%s", p.status, p.url, p.body)
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	if u.Query().Get("digits") != "6" || u.Query().Get("period") != "30" || u.Query().Get("algorithm") != "SHA1" {
		t.Errorf("otpauth parameters: %s", u.RawQuery)
	}
	return u.Query().Get("secret")
}

func recoveryCodes(t testing.TB, p page) []string {
	t.Helper()
	var codes []string
	for _, m := range recoveryRe.FindAllStringSubmatch(p.body, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) != 10 {
		t.Fatalf("want 10 recovery codes, got %d (%d %s):\n%s", len(codes), p.status, p.url, p.body)
	}
	return codes
}

func webauthnOptions(t testing.TB, p page) []byte {
	t.Helper()
	m := optionsRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no WebAuthn options on the page (%d %s)", p.status, p.url)
	}
	return []byte(html.UnescapeString(m[1]))
}

// enrolTOTP signs a user in through the enrolment page (the user must need
// it) and returns the new secret and recovery codes.
func (b *browser) enrolTOTP(query, username string) (secret string, codes []string, r result) {
	b.t.Helper()
	p := b.signIn(query, username)
	if !p.is(enrolPath, http.StatusOK) {
		b.t.Fatalf("expected the enrolment page, got %d %s", p.status, p.url)
	}
	secret = totpSecret(b.t, p)
	p = b.submit(p, map[string]string{"code": b.e.code(secret)})
	codes = recoveryCodes(b.t, p)
	r = b.submit(p, nil).result(b.t)
	return secret, codes, r
}

package federation_test

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

// ─── the browser ────────────────────────────────────────────────────────

// browser is one user agent with its own cookies. It follows redirects and
// records every URL it was sent through.
type browser struct {
	t      *testing.T
	e      *env
	c      *http.Client
	visits []*url.URL
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: e.t, e: e}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		b.visits = append(b.visits, req.URL)
		return nil
	}}
	return b
}

type page struct {
	status int
	url    *url.URL
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	b.visits = append(b.visits, req.URL)
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, url: res.Request.URL, body: string(body)}
}

// get visits a URL, absolute or relative to Gatehouse.
func (b *browser) get(rawURL string) page {
	b.t.Helper()
	b.visits = nil
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.e.srv.URL + rawURL
	}
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	return b.do(req)
}

func (b *browser) post(rawURL string, form url.Values) page {
	b.t.Helper()
	b.visits = nil
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.e.srv.URL + rawURL
	}
	req, _ := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	inputRe  = regexp.MustCompile(`<input type="hidden" name="([A-Za-z_]+)" value="([^"]*)"`)
	actionRe = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// form reads the first form of a page: its action and hidden fields.
func (p page) form(t *testing.T) (string, url.Values) {
	t.Helper()
	m := actionRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no form on the page (%d %s):\n%s", p.status, p.url, p.body)
	}
	v := url.Values{}
	for _, h := range inputRe.FindAllStringSubmatch(p.body, -1) {
		v.Set(h[1], html.UnescapeString(h[2]))
	}
	return html.UnescapeString(m[1]), v
}

// submit posts the page's form with fields added.
func (b *browser) submit(p page, fields map[string]string) page {
	b.t.Helper()
	action, form := p.form(b.t)
	for k, v := range fields {
		form.Set(k, v)
	}
	if strings.HasPrefix(action, "/") {
		action = p.url.Scheme + "://" + p.url.Host + action
	}
	return b.post(action, form)
}

// signIn begins a flow and posts the login page with username and
// password.
func (b *browser) signIn(username, password string) page {
	b.t.Helper()
	p := b.get("/test/begin")
	if p.url.Path != "/login" || !strings.Contains(p.body, `name="password"`) {
		b.t.Fatalf("expected the sign-in page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	return b.submit(p, map[string]string{"username": username, "password": password})
}

// wentTo reports whether the browser passed through a URL on host.
func (b *browser) wentTo(host string) bool {
	for _, u := range b.visits {
		if u.Host == host {
			return true
		}
	}
	return false
}

// result decodes the adapter's answer.
func (p page) result(t *testing.T) result {
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

// message is the page's main sentence.
func (p page) message() string {
	m := regexp.MustCompile(`(?s)<p role="alert" id="federation-error">(.*?)</p>`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// link returns the href of the element with id.
func (p page) link(id string) string {
	m := regexp.MustCompile(`<a href="([^"]+)" id="` + id + `"`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// samlPost is the IdP's auto-posting form: where it goes and what.
type samlPost struct {
	action string
	form   url.Values
}

func (p page) samlForm(t *testing.T) samlPost {
	t.Helper()
	m := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("expected the IdP's form, got %d %s:\n%s", p.status, p.url, p.body)
	}
	v := url.Values{}
	for _, f := range regexp.MustCompile(`<input type="hidden" name="(SAMLResponse|RelayState)" value="([^"]*)"`).FindAllStringSubmatch(p.body, -1) {
		v.Set(f[1], html.UnescapeString(f[2]))
	}
	return samlPost{action: html.UnescapeString(m[1]), form: v}
}

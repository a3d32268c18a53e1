package oidc_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// browser is a cookie-keeping HTTP client that follows Gatehouse's
// redirects, fills the sign-in and consent forms, and stops at the first
// redirect that leaves Gatehouse (the relying party's callback).
type browser struct {
	t      testing.TB
	e      *env
	c      *http.Client
	issuer *url.URL
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	iss, _ := url.Parse(e.issuer)
	b := &browser{t: e.t, e: e, issuer: iss}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != iss.Host {
			return http.ErrUseLastResponse
		}
		if len(via) > 20 {
			return errors.New("too many redirects")
		}
		return nil
	}}
	return b
}

// page is a response the browser stopped at.
type page struct {
	Status   int
	URL      *url.URL // where the page was served
	Location *url.URL // a redirect out of Gatehouse
	Body     string
	Forms    []form
}

type form struct {
	Action  string
	Fields  url.Values          // every input with a name, as the page set it
	Buttons map[string][]string // submit buttons: name -> values
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	must(b.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	pg := &page{Status: resp.StatusCode, URL: resp.Request.URL, Body: string(body)}
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		pg.Location, err = resp.Request.URL.Parse(loc)
		must(b.t, err)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		pg.Forms = parseForms(string(body))
	}
	return pg
}

func (b *browser) get(u string) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	must(b.t, err)
	return b.do(req)
}

// submit posts a page's form with the fields it carries, changed by set.
func (b *browser) submit(pg *page, f form, set url.Values) *page {
	b.t.Helper()
	v := url.Values{}
	for k, vs := range f.Fields {
		v[k] = append([]string(nil), vs...)
	}
	for k, vs := range set {
		v[k] = vs
	}
	action, err := pg.URL.Parse(f.Action)
	must(b.t, err)
	req, err := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(v.Encode()))
	must(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// kind names a page by its form: "login", "consent", or "" for anything
// else (a message).
func (pg *page) kind() string {
	for _, f := range pg.Forms {
		if _, ok := f.Fields["username"]; ok {
			return "login"
		}
		if _, ok := f.Buttons["consent"]; ok {
			return "consent"
		}
		if _, ok := f.Fields["code"]; ok {
			return "code"
		}
	}
	return ""
}

// run goes from an authorization URL to the relying party's callback,
// signing in as user (an email) when asked, and answering consent (allow or
// deny) when asked. It returns the callback and the pages it went through.
func (b *browser) run(authURL, user, consent string) (*url.URL, []string) {
	b.t.Helper()
	var seen []string
	pg := b.get(authURL)
	for i := 0; i < 10; i++ {
		if pg.Location != nil {
			return pg.Location, seen
		}
		k := pg.kind()
		seen = append(seen, k)
		switch k {
		case "login":
			if user == "" {
				b.t.Fatalf("sign-in page shown, no user to sign in as")
			}
			pg = b.submit(pg, pg.Forms[0], url.Values{"username": {user}, "password": {goodPassword}})
		case "consent":
			pg = b.submit(pg, pg.Forms[0], url.Values{"consent": {consent}})
		case "code":
			pg = b.submit(pg, pg.Forms[0], url.Values{"code": {"123456"}})
		default:
			b.t.Fatalf("stopped at %s (status %d): %s", pg.URL, pg.Status, text(pg.Body))
		}
	}
	b.t.Fatal("the sign-in did not end")
	return nil, nil
}

// parseForms reads every form of an HTML page.
func parseForms(body string) []form {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return nil
	}
	var forms []form
	var cur *form
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := func(k string) (string, bool) {
				for _, a := range n.Attr {
					if a.Key == k {
						return a.Val, true
					}
				}
				return "", false
			}
			switch n.Data {
			case "form":
				action, _ := attr("action")
				forms = append(forms, form{Action: action, Fields: url.Values{}, Buttons: map[string][]string{}})
				cur = &forms[len(forms)-1]
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				cur = nil
				return
			case "input", "button":
				name, ok := attr("name")
				typ, _ := attr("type")
				val, _ := attr("value")
				if cur != nil && ok {
					if n.Data == "button" || typ == "submit" {
						cur.Buttons[name] = append(cur.Buttons[name], val)
					} else {
						cur.Fields.Add(name, val)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return forms
}

// text is a page's visible text, for failure messages.
func text(body string) string {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return body
	}
	var sb strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style" || n.Data == "head") {
			return
		}
		if n.Type == html.TextNode {
			if s := strings.TrimSpace(n.Data); s != "" {
				sb.WriteString(s + " ")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return strings.TrimSpace(sb.String())
}

// decodeJSON reads a JSON response body.
func decodeJSON(t testing.TB, resp *http.Response) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	var m map[string]any
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("status %d, body not JSON: %s", resp.StatusCode, body)
	}
	return m
}

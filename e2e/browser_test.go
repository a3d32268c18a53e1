package e2e

import (
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// browser is a cookie-keeping HTTP client that follows redirects within
// Gatehouse and stops at the first one that leaves it (a relying party's
// callback), like a browser whose user fills the forms.
type browser struct {
	t      testing.TB
	c      *http.Client
	issuer *url.URL
}

func newBrowser(t testing.TB, issuer string) *browser {
	jar, _ := cookiejar.New(nil)
	iss, err := url.Parse(issuer)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, issuer: iss}
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

// page is where the browser stopped.
type page struct {
	Status   int
	URL      *url.URL
	Location *url.URL // set when the browser stopped at a redirect out of Gatehouse
	Body     string
	Forms    []form
}

type form struct {
	Action string
	Method string
	Fields url.Values
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := &page{Status: resp.StatusCode, URL: resp.Request.URL, Body: string(body)}
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode/100 == 3 {
		p.Location, _ = resp.Request.URL.Parse(loc)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		p.Forms = parseForms(p.URL, string(body))
	}
	return p
}

func (b *browser) get(u string) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// submit posts the page's form that has an input named field, with its
// fields as the page set them, overridden by set.
func (b *browser) submit(p *page, field string, set map[string]string) *page {
	b.t.Helper()
	for _, f := range p.Forms {
		if _, ok := f.Fields[field]; !ok {
			continue
		}
		v := url.Values{}
		for k, vs := range f.Fields {
			v[k] = append([]string(nil), vs...)
		}
		for k, s := range set {
			v.Set(k, s)
		}
		req, err := http.NewRequest(http.MethodPost, f.Action, strings.NewReader(v.Encode()))
		if err != nil {
			b.t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return b.do(req)
	}
	b.t.Fatalf("no form with %q on %s (status %d):\n%s", field, p.URL, p.Status, p.Body)
	return nil
}

// signIn fills the sign-in form on p.
func (b *browser) signIn(p *page, username, password string) *page {
	b.t.Helper()
	return b.submit(p, "username", map[string]string{"username": username, "password": password})
}

func parseForms(base *url.URL, body string) []form {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return nil
	}
	var forms []form
	var cur *form
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				action := attr(n, "action")
				u, _ := base.Parse(action)
				forms = append(forms, form{Action: u.String(), Method: attr(n, "method"), Fields: url.Values{}})
				cur = &forms[len(forms)-1]
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				cur = nil
				return
			case "input":
				if cur != nil && attr(n, "name") != "" {
					switch attr(n, "type") {
					case "submit", "checkbox", "radio":
					default:
						cur.Fields.Add(attr(n, "name"), attr(n, "value"))
					}
				}
			case "button":
				// A named button is what a click sends; tests choose with set.
				if cur != nil && attr(n, "name") != "" {
					if _, ok := cur.Fields[attr(n, "name")]; !ok {
						cur.Fields[attr(n, "name")] = nil
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

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

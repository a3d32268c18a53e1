// Package templates holds Gatehouse's pages and static assets, embedded in
// the binary, and renders them.
//
// Every page is html/page-name.html and defines the blocks "title" and
// "content"; it is parsed once, at start, together with html/layout.html.
// Pages work without JavaScript; where a page uses script (WebAuthn), it is
// a file under static/ so the Content-Security-Policy can forbid inline code.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
)

//go:embed html/*.html
var pages embed.FS

//go:embed static
var static embed.FS

// Static is the file system of the static assets, served under /static/.
func Static() fs.FS {
	sub, _ := fs.Sub(static, "static")
	return sub
}

var (
	once    sync.Once
	parsed  map[string]*template.Template
	errLoad error
)

var funcs = template.FuncMap{
	"join": strings.Join,
}

func load() {
	parsed = map[string]*template.Template{}
	names, err := fs.Glob(pages, "html/*.html")
	if err != nil {
		errLoad = err
		return
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(pages, "html/layout.html", n)
		if err != nil {
			errLoad = fmt.Errorf("templates: %s: %w", n, err)
			return
		}
		parsed[strings.TrimSuffix(base, ".html")] = t
	}
}

// Must parses every page, so a broken template stops the process at start
// rather than failing a request.
func Must() {
	once.Do(load)
	if errLoad != nil {
		panic(errLoad)
	}
}

// Render writes page with data and status. It renders into a buffer first
// so a template error becomes a clean 500 page, never half a page.
func Render(w http.ResponseWriter, status int, page string, data any) {
	once.Do(load)
	t, ok := parsed[page]
	if errLoad != nil || !ok {
		http.Error(w, "page not available", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, "page not available", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// Message is the data of the generic "message" page: a title, a sentence,
// and optionally a link onward.
type Message struct {
	Title    string
	Text     string
	LinkText string
	LinkURL  string
}

// RenderMessage shows a short page with one message, for errors and notices.
func RenderMessage(w http.ResponseWriter, status int, m Message) {
	Render(w, status, "message", m)
}

// Package web holds what every page and endpoint of Gatehouse shares: the
// security headers, CSRF tokens, cookies, the caller's address, and the one
// JSON error writer of the administration API.
package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"strings"
)

// CSRFField is the hidden form input every page form carries.
const CSRFField = "csrf_token"

const csrfCookie = "gh_csrf"

// Secure reports whether cookies should carry the Secure attribute: true
// when the issuer is served over HTTPS.
type Secure bool

// SetCookie writes a cookie with Gatehouse's defaults: HttpOnly,
// SameSite=Lax, Path=/, Secure under HTTPS. maxAge 0 makes a session cookie;
// a negative maxAge deletes it.
func (s Secure) SetCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   bool(s),
		SameSite: http.SameSiteLaxMode,
	})
}

// CSRFToken returns the browser's CSRF token, setting the cookie that holds
// it on first use. Put it in every form as CSRFField.
func (s Secure) CSRFToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	tok := RandomToken(32)
	s.SetCookie(w, csrfCookie, tok, 0)
	// A page that renders more than one form in the same response must see
	// the same token: remember it on the request.
	r.AddCookie(&http.Cookie{Name: csrfCookie, Value: tok})
	return tok
}

// CheckCSRF reports whether a POSTed form carries the browser's token
// (double-submit: the cookie cannot be set by another site, and SameSite
// keeps it off cross-site posts). Call after ParseForm.
func CheckCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return false
	}
	got := r.PostFormValue(CSRFField)
	return subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) == 1
}

// RandomToken returns n random bytes, base64url-encoded.
func RandomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("web: system randomness failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// ClientIP returns the caller's address. X-Forwarded-For is trusted only
// when the direct peer is on loopback or a private network, that is, a
// reverse proxy of the deployment.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip != nil && (ip.IsLoopback() || ip.IsPrivate()) {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			// The last address is the one our proxy saw.
			parts := strings.Split(xff, ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); net.ParseIP(last) != nil {
				return last
			}
		}
	}
	return host
}

// PageHeaders sets the headers every HTML page carries.
func PageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// APIError is the JSON error body of the administration API.
type APIError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *APIError) Error() string { return e.Code + ": " + e.Description }

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes an APIError.
func WriteError(w http.ResponseWriter, e *APIError) {
	WriteJSON(w, e.Status, e)
}

package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	crewsaml "github.com/crewjam/saml"
)

// Message parameters (SAML Bindings 3.4.4 and 3.5.4).
const (
	paramRequest  = "SAMLRequest"
	paramResponse = "SAMLResponse"
)

// message is a SAML protocol message as a binding delivered it.
type message struct {
	binding    string // crewsaml.HTTPRedirectBinding or crewsaml.HTTPPostBinding
	param      string // paramRequest or paramResponse
	xml        []byte // decoded (and inflated) XML
	relayState string
	// rawQuery is the HTTP-Redirect query as sent, which a query-string
	// signature covers byte for byte.
	rawQuery string
}

// badRequest is a message Gatehouse cannot read: a page, with the status
// and a sentence for the user; detail goes to the log.
type badRequest struct {
	status int
	text   string
	detail error
}

func (e *badRequest) Error() string {
	if e.detail != nil {
		return e.text + ": " + e.detail.Error()
	}
	return e.text
}

var errTooLarge = fmt.Errorf("larger than %d bytes", maxMessageBytes)

// maxEncoded bounds the base64 text of a message before it is decoded: the
// encoding of maxMessageBytes, plus room for line breaks.
const maxEncoded = (maxMessageBytes+2)/3*4 + maxMessageBytes/32

// readMessage reads param from either binding: the query of a GET
// (HTTP-Redirect, deflated) or the form of a POST (HTTP-POST).
func readMessage(r *http.Request, param string) (*message, error) {
	switch r.Method {
	case http.MethodGet:
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, &badRequest{http.StatusBadRequest, "The request's query string is malformed.", err}
		}
		if len(q[param]) != 1 {
			return nil, &badRequest{http.StatusBadRequest, "The request carries no single " + param + " parameter.", nil}
		}
		xml, err := decodeRedirect(q.Get(param))
		if err != nil {
			return nil, decodeError(param, err)
		}
		return &message{binding: crewsaml.HTTPRedirectBinding, param: param, xml: xml,
			relayState: q.Get("RelayState"), rawQuery: r.URL.RawQuery}, nil
	case http.MethodPost:
		if err := parseForm(r); err != nil {
			return nil, err
		}
		if len(r.PostForm[param]) != 1 {
			return nil, &badRequest{http.StatusBadRequest, "The form carries no single " + param + " field.", nil}
		}
		xml, err := decodePost(r.PostForm.Get(param))
		if err != nil {
			return nil, decodeError(param, err)
		}
		return &message{binding: crewsaml.HTTPPostBinding, param: param, xml: xml,
			relayState: r.PostForm.Get("RelayState")}, nil
	}
	return nil, &badRequest{http.StatusMethodNotAllowed, "Only GET and POST are answered here.", nil}
}

// parseForm parses a POSTed form once, so that a body over the server's
// limit is reported as such (a second ParseForm would see an empty form).
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &badRequest{http.StatusRequestEntityTooLarge, "The request is too large.", err}
		}
		return &badRequest{http.StatusBadRequest, "The request's form is malformed.", err}
	}
	return nil
}

func decodeError(param string, err error) error {
	if errors.Is(err, errTooLarge) {
		return &badRequest{http.StatusRequestEntityTooLarge, "The " + param + " is too large.", err}
	}
	return &badRequest{http.StatusBadRequest, "The " + param + " cannot be decoded.", err}
}

// decodeRedirect undoes the HTTP-Redirect encoding: base64, then DEFLATE
// (SAML Bindings 3.4.4.1). The inflated size is bounded, so a small
// "zip bomb" costs at most maxMessageBytes.
func decodeRedirect(v string) ([]byte, error) {
	if len(v) > maxEncoded {
		return nil, errTooLarge
	}
	// A '+' the sender forgot to escape arrives as a space.
	compressed, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(v, " ", "+"))
	if err != nil {
		return nil, fmt.Errorf("base64: %w", err)
	}
	zr := flate.NewReader(bytes.NewReader(compressed))
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxMessageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	if len(out) > maxMessageBytes {
		return nil, errTooLarge
	}
	if len(out) == 0 {
		return nil, errors.New("empty message")
	}
	return out, nil
}

// decodePost undoes the HTTP-POST encoding: base64 (SAML Bindings 3.5.4),
// which some senders wrap in lines.
func decodePost(v string) ([]byte, error) {
	if len(v) > maxEncoded {
		return nil, errTooLarge
	}
	out, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
	if err != nil {
		return nil, fmt.Errorf("base64: %w", err)
	}
	if len(out) > maxMessageBytes {
		return nil, errTooLarge
	}
	if len(out) == 0 {
		return nil, errors.New("empty message")
	}
	return out, nil
}

package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"gatehouse/provider/web"
)

// maxBody bounds an API request body; the largest legitimate one is a SAML
// connection with inline metadata.
const maxBody = 256 << 10

// decodeJSON reads one JSON object into v. Malformed JSON is a 400; a field
// of the wrong type, an unknown field or a read-only one (named in
// readOnly) is a 422 naming it. Nothing is stored before this succeeds.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, readOnly ...string) *web.APIError {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &web.APIError{Status: http.StatusRequestEntityTooLarge, Code: codeTooLarge,
				Description: fmt.Sprintf("the body is larger than %d bytes", maxBody)}
		}
		return errBadRequest("the body could not be read")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return errBadRequest("malformed JSON: the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, readOnly)
	}
	if dec.More() {
		return errBadRequest("malformed JSON: data after the object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errBadRequest("malformed JSON: data after the object")
	}
	return nil
}

func decodeError(err error, readOnly []string) *web.APIError {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return errBadRequest(fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errBadRequest("malformed JSON: the body ends early")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return errBadRequest("malformed JSON: the body must be a JSON object")
		}
		return errField(field, "must be "+jsonKind(typ.Type.Kind().String()))
	}
	// encoding/json reports an unknown field only in its message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		if slices.Contains(readOnly, name) {
			return errField(name, "cannot be set here")
		}
		return errField(name, "unknown field")
	}
	return errBadRequest("malformed JSON: " + err.Error())
}

func jsonKind(goKind string) string {
	switch goKind {
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "ptr":
		return "of another type"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	}
	return "a number"
}

package admin

import (
	"context"
	"errors"
	"net/http"

	"gatehouse/provider/web"
	"gatehouse/storage"
)

// The error codes of the API. 400, 401, 403, 404, 409 and 422 are those of
// INTERFACE.md section 8; the rest cover what a client cannot cause.
const (
	codeInvalidRequest    = "invalid_request"
	codeInvalidToken      = "invalid_token"
	codeInsufficientScope = "insufficient_scope"
	codeForbidden         = "forbidden"
	codeNotFound          = "not_found"
	codeAlreadyExists     = "already_exists"
	codeConflict          = "conflict"
	codeInvalidField      = "invalid_field"
	codeTooLarge          = "request_too_large"
	codeUnavailable       = "temporarily_unavailable"
	codeServerError       = "server_error"
)

func errBadRequest(desc string) *web.APIError {
	return &web.APIError{Status: http.StatusBadRequest, Code: codeInvalidRequest, Description: desc}
}

// errField is a 422 whose description starts with the field's name.
func errField(field, problem string) *web.APIError {
	return &web.APIError{Status: http.StatusUnprocessableEntity, Code: codeInvalidField, Description: field + ": " + problem}
}

func errForbidden(desc string) *web.APIError {
	return &web.APIError{Status: http.StatusForbidden, Code: codeForbidden, Description: desc}
}

// errNotFound says the same for an absent object and another partner's.
func errNotFound(what string) *web.APIError {
	return &web.APIError{Status: http.StatusNotFound, Code: codeNotFound, Description: "no such " + what}
}

func errDuplicate(field string) *web.APIError {
	return &web.APIError{Status: http.StatusConflict, Code: codeAlreadyExists, Description: field + ": already in use"}
}

func errConflict(desc string) *web.APIError {
	return &web.APIError{Status: http.StatusConflict, Code: codeConflict, Description: desc}
}

var (
	errUnavailable = &web.APIError{Status: http.StatusServiceUnavailable, Code: codeUnavailable,
		Description: "a backend is unavailable; try again shortly"}
	errInternal = &web.APIError{Status: http.StatusInternalServerError, Code: codeServerError,
		Description: "the request could not be completed"}
)

// apiError turns any error of a service method into the API's error: its
// own *web.APIError, 503 for an unreachable backend, 500 (logged) for the
// rest.
func (h *Handler) apiError(ctx context.Context, err error) *web.APIError {
	var ae *web.APIError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		h.log.WarnContext(ctx, "admin: backend unavailable", "err", err)
		return errUnavailable
	}
	h.log.ErrorContext(ctx, "admin: request failed", "err", err)
	return errInternal
}

// notFoundAs maps storage.ErrNotFound to e and leaves other errors alone.
func notFoundAs(err error, e *web.APIError) error {
	if errors.Is(err, storage.ErrNotFound) {
		return e
	}
	return err
}

package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"gatehouse/provider/web"
	"gatehouse/storage"
)

// Errors of Finish and of the pages that load a flow.
var (
	// ErrFlowNotFound: no such flow, it expired, or it was already
	// finished.
	ErrFlowNotFound = errors.New("login: sign-in flow not found or expired")
	// ErrFlowNotBound: the flow was started by another browser.
	ErrFlowNotBound = errors.New("login: sign-in flow belongs to another browser")
	// ErrFlowNotDone: the flow has steps left.
	ErrFlowNotDone = errors.New("login: sign-in flow not finished")
)

// maxBoundFlows caps how many flow IDs the binding cookie remembers, so a
// browser that starts many sign-ins keeps a small cookie; the oldest drop.
const maxBoundFlows = 8

// flowIDLen is the flow ID's length in random bytes.
const flowIDLen = 18

func flowKey(id string) string { return "flow:" + id }

// saveFlow stores f until it expires.
func (s *Service) saveFlow(ctx context.Context, f *Flow) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return s.eph.Set(ctx, flowKey(f.ID), b, remaining(f.ExpiresAt, s.now()))
}

// loadFlow reads a flow; a missing or expired one is ErrFlowNotFound.
func (s *Service) loadFlow(ctx context.Context, id string) (*Flow, error) {
	if !validID(id) {
		return nil, ErrFlowNotFound
	}
	b, err := s.eph.Get(ctx, flowKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrFlowNotFound
	}
	if err != nil {
		return nil, err
	}
	return s.decodeFlow(b)
}

func (s *Service) decodeFlow(b []byte) (*Flow, error) {
	var f Flow
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("login: stored flow: %w", err)
	}
	if !s.now().Before(f.ExpiresAt) {
		return nil, ErrFlowNotFound
	}
	return &f, nil
}

// remaining is the time to live of something ending at end, never less
// than a second (the ephemeral store refuses a zero TTL).
func remaining(end, now time.Time) time.Duration {
	d := end.Sub(now)
	if d < time.Second {
		return time.Second
	}
	return d
}

// validID accepts the IDs web.RandomToken makes, so that a hostile query
// never reaches the store as a key.
func validID(id string) bool {
	if len(id) < 16 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// boundFlows reads the IDs of the flows this browser started.
func boundFlows(r *http.Request) []string {
	c, err := r.Cookie(flowCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	ids := strings.Split(c.Value, ".")
	if len(ids) > maxBoundFlows {
		ids = ids[len(ids)-maxBoundFlows:]
	}
	return ids
}

func isBound(r *http.Request, id string) bool {
	return slices.Contains(boundFlows(r), id)
}

// bind adds id to the browser's flow cookie.
func (s *Service) bind(w http.ResponseWriter, r *http.Request, id string) {
	ids := append(boundFlows(r), id)
	if len(ids) > maxBoundFlows {
		ids = ids[len(ids)-maxBoundFlows:]
	}
	s.setFlowCookie(w, r, ids)
}

// unbind drops id from the browser's flow cookie.
func (s *Service) unbind(w http.ResponseWriter, r *http.Request, id string) {
	ids := slices.DeleteFunc(boundFlows(r), func(x string) bool { return x == id })
	s.setFlowCookie(w, r, ids)
}

func (s *Service) setFlowCookie(w http.ResponseWriter, r *http.Request, ids []string) {
	v := strings.Join(ids, ".")
	if v == "" {
		s.cfg.Secure.SetCookie(w, flowCookie, "", -1)
	} else {
		s.cfg.Secure.SetCookie(w, flowCookie, v, int(s.cfg.FlowTTL/time.Second))
	}
	// Later reads in the same request (Begin, then advance) see the change.
	replaceCookie(r, flowCookie, v)
}

// replaceCookie rewrites one cookie on the request itself.
func replaceCookie(r *http.Request, name, value string) {
	var kept []string
	for _, c := range r.Cookies() {
		if c.Name != name {
			kept = append(kept, c.Name+"="+c.Value)
		}
	}
	if value != "" {
		kept = append(kept, name+"="+value)
	}
	r.Header.Set("Cookie", strings.Join(kept, "; "))
}

// newID returns a random identifier for flows and sessions.
func newID(n int) string { return web.RandomToken(n) }

// returnURL is f.ReturnTo with flow=ID appended.
func returnURL(f *Flow) string {
	u := f.ReturnTo
	switch {
	case strings.HasSuffix(u, "?"), strings.HasSuffix(u, "&"):
	case strings.Contains(u, "?"):
		u += "&"
	default:
		u += "?"
	}
	return u + "flow=" + f.ID
}

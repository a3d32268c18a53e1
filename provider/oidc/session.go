package oidc

import (
	"maps"
	"slices"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	fjwt "github.com/ory/fosite/token/jwt"
)

// session is the fosite session of every request: who (Subject, empty for
// client credentials), in which SSO session (SID), the ID token's claims,
// and the claims the granted scopes release, computed once when the user
// authorized and carried by every token of the grant.
type session struct {
	Claims    *fjwt.IDTokenClaims            `json:"id_token_claims,omitempty"`
	Headers   *fjwt.Headers                  `json:"headers,omitempty"`
	ExpiresAt map[fosite.TokenType]time.Time `json:"expires_at,omitempty"`
	Subject   string                         `json:"sub,omitempty"`
	SID       string                         `json:"sid,omitempty"`
	// UserInfo is what /userinfo answers besides sub.
	UserInfo map[string]any `json:"userinfo,omitempty"`
	// Roles are the role claims access tokens carry; nil without the
	// roles scope.
	Roles *roleClaims `json:"roles,omitempty"`
}

var _ openid.Session = (*session)(nil)

// newSession is the empty session fosite fills. The ID token's claims
// and headers are made when first asked for, so that a client's own
// session (client credentials) stores nothing of them.
func newSession() *session { return &session{} }

func (s *session) SetExpiresAt(key fosite.TokenType, exp time.Time) {
	if s.ExpiresAt == nil {
		s.ExpiresAt = map[fosite.TokenType]time.Time{}
	}
	s.ExpiresAt[key] = exp
}

func (s *session) GetExpiresAt(key fosite.TokenType) time.Time { return s.ExpiresAt[key] }
func (s *session) GetUsername() string                         { return "" }
func (s *session) GetSubject() string                          { return s.Subject }

func (s *session) IDTokenClaims() *fjwt.IDTokenClaims {
	if s.Claims == nil {
		s.Claims = &fjwt.IDTokenClaims{}
	}
	return s.Claims
}

func (s *session) IDTokenHeaders() *fjwt.Headers {
	if s.Headers == nil {
		s.Headers = &fjwt.Headers{}
	}
	return s.Headers
}

// Clone copies what fosite may change in place: the ID token claims (a
// refresh rewrites them), the headers and the expiry times. UserInfo and
// Roles are never changed after they are built, only replaced.
func (s *session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := *s
	if s.Claims != nil {
		cl := *s.Claims
		cl.Audience = slices.Clone(cl.Audience)
		cl.AuthenticationMethodsReferences = slices.Clone(cl.AuthenticationMethodsReferences)
		cl.Extra = maps.Clone(cl.Extra)
		c.Claims = &cl
	}
	if s.Headers != nil {
		c.Headers = &fjwt.Headers{Extra: maps.Clone(s.Headers.Extra)}
	}
	c.ExpiresAt = maps.Clone(s.ExpiresAt)
	return &c
}

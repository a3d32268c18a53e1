package oidc

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/ory/fosite"
)

// A client's own access token (client credentials) keeps no record in the
// ephemeral store. Its signed claims hold everything introspection answers
// (client, scope, audience, lifetime), the client comes from the registry
// (a deleted client takes its tokens with it), and revocation is the
// family marker GetAccessTokenSession reads in any case. Issuing one costs
// one signature and no round trip (DESIGN.md, hot paths), and a service
// that asks for a token per call no longer fills Redis with records.
//
// Tokens issued before this kept a record; while they live it is still
// read first.

// accessClaimsKey carries the claims of the access token a request is
// about, verified, to GetAccessTokenSession outside fosite's handlers.
type accessClaimsCtxKey struct{}

func withAccessClaims(ctx context.Context, c *accessClaims) context.Context {
	return context.WithValue(ctx, accessClaimsCtxKey{}, c)
}

// verifiedAccess returns the verified claims of the token whose jti is
// given, if this request verified it: AccessTokenSignature records them in
// the request's txn, checkAccessToken in the context.
func verifiedAccess(ctx context.Context, jti string) *accessClaims {
	if tx, _ := ctx.Value(txnKey).(*txn); tx != nil && tx.access != nil && tx.access.Jti == jti {
		return tx.access
	}
	if c, _ := ctx.Value(accessClaimsCtxKey{}).(*accessClaims); c != nil && c.Jti == jti {
		return c
	}
	return nil
}

// isClientToken reports whether r is issued to the client itself, for no
// user.
func isClientToken(r fosite.Requester) bool {
	s, ok := r.GetSession().(*session)
	return ok && s.Subject == ""
}

// clientTokenRequest rebuilds the request of a client's own token from its
// verified claims.
func (s *store) clientTokenRequest(ctx context.Context, ar atRef, c *accessClaims) (fosite.Requester, error) {
	cl, err := s.GetClient(ctx, c.ClientID)
	if err != nil {
		return nil, err
	}
	sess := newSession()
	sess.SetExpiresAt(fosite.AccessToken, time.Unix(c.Exp, 0))
	scopes := strings.Fields(c.Scope)
	var aud []string
	if len(c.Aud) != 1 || c.Aud[0] != c.ClientID {
		aud = []string(c.Aud) // the client alone is the audience when none was granted
	}
	return &fosite.Request{
		ID:                ar.family(),
		RequestedAt:       time.Unix(c.Iat, 0),
		Client:            cl,
		RequestedScope:    nonNil(scopes),
		GrantedScope:      nonNil(append([]string(nil), scopes...)),
		RequestedAudience: nonNil(aud),
		GrantedAudience:   nonNil(append([]string(nil), aud...)),
		Form:              url.Values{"grant_type": {"client_credentials"}},
		Session:           sess,
	}, nil
}

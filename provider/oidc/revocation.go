package oidc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ory/fosite"

	"gatehouse/storage"
)

// ErrInvalidToken is what VerifyAccessToken returns for a token that is
// not a valid, unexpired, unrevoked access token of this issuer for a user
// who still exists and is active. Backend failures are returned as they
// are (wrapping storage.ErrUnavailable).
var ErrInvalidToken = errors.New("oidc: invalid or inactive access token")

// VerifyAccessToken checks a bearer token for Gatehouse's own APIs and
// returns its user and scopes.
func (p *Provider) VerifyAccessToken(ctx context.Context, raw string) (userID string, scopes []string, err error) {
	_, req, err := p.checkAccessToken(ctx, raw)
	if err != nil {
		return "", nil, err
	}
	sess, _ := req.GetSession().(*session)
	if sess == nil || sess.Subject == "" {
		return "", nil, ErrInvalidToken // a client's own token names no user
	}
	u, err := p.cfg.Store.GetUser(ctx, sess.Subject)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !u.Active) {
		return "", nil, ErrInvalidToken
	}
	if err != nil {
		return "", nil, err
	}
	return u.ID, append([]string(nil), req.GetGrantedScopes()...), nil
}

// checkAccessToken verifies an access token's signature and claims, then
// reads its revocation state in one round trip (store.GetAccessTokenSession).
func (p *Provider) checkAccessToken(ctx context.Context, raw string) (*accessClaims, fosite.Requester, error) {
	c, err := p.parseAccessToken(raw)
	if err != nil {
		return nil, nil, ErrInvalidToken
	}
	req, err := p.store.GetAccessTokenSession(withAccessClaims(ctx, c), c.ref().String(), nil)
	switch {
	case err == nil:
		return c, req, nil
	case errors.Is(err, fosite.ErrNotFound), errors.Is(err, fosite.ErrInactiveToken):
		return nil, nil, ErrInvalidToken
	default:
		return nil, nil, err
	}
}

// RevokeUser makes a user's tokens unusable at once, on every node: their
// access tokens become inactive at introspection and UserInfo (a "not
// valid before" marker the revocation check reads with the token's record)
// and their refresh tokens are revoked. Call it when a user is deleted or
// deactivated; their sign-in sessions are ended by the login Service.
//
// The marker has one-second resolution: a token issued in the same second
// as the revocation is revoked too.
func (p *Provider) RevokeUser(ctx context.Context, userID string) error {
	if userID == "" {
		return nil
	}
	now := strconv.FormatInt(p.now().Unix(), 10)
	// The marker must outlive every access token issued before it.
	if err := p.cfg.Ephemeral.Set(ctx, userNBFKey(userID), []byte(now), p.cfg.AccessTokenTTL+time.Minute); err != nil {
		return fmt.Errorf("oidc: revoke user %s: %w", userID, err)
	}
	if _, err := p.cfg.Store.RevokeRefreshTokensOfUser(ctx, userID); err != nil {
		return fmt.Errorf("oidc: revoke refresh tokens of user %s: %w", userID, err)
	}
	return nil
}

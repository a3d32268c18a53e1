package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"gatehouse/storage"
)

// scopes asked of an upstream OpenID provider: the subject and the email
// address are all the match needs.
var scopes = []string{oidc.ScopeOpenID, "email", "profile"}

// discover returns the connection's provider, from the cache while it is
// fresh. Failures are not cached: the next sign-in tries again.
func (f *Federation) discover(ctx context.Context, c storage.Connection) (*oidc.Provider, error) {
	key := "oidc\x00" + cacheKey(c)
	if v, ok := f.cached(key); ok {
		return v.(*oidc.Provider), nil
	}
	if c.Issuer == "" {
		return nil, fmt.Errorf("%w: connection %s has no issuer", errMisconfigured, c.ID)
	}
	ctx, cancel := context.WithTimeout(f.clientContext(ctx), f.cfg.Timeout)
	defer cancel()
	p, err := oidc.NewProvider(ctx, c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("federation: discovery of %s: %w", c.Issuer, err)
	}
	if p.Endpoint().AuthURL == "" || p.Endpoint().TokenURL == "" {
		return nil, fmt.Errorf("%w: %s publishes no authorization or token endpoint", errMisconfigured, c.Issuer)
	}
	f.remember(key, p)
	return p, nil
}

// clientContext carries the upstream HTTP client for go-oidc and oauth2.
func (f *Federation) clientContext(ctx context.Context) context.Context {
	ctx = oidc.ClientContext(ctx, f.client)
	return context.WithValue(ctx, oauth2.HTTPClient, f.client)
}

// oauth2Config is the code flow's client configuration for a connection.
func (f *Federation) oauth2Config(c storage.Connection, p *oidc.Provider) (*oauth2.Config, error) {
	secret := ""
	if len(c.ClientSecret) > 0 {
		if f.cfg.Box == nil {
			return nil, fmt.Errorf("%w: connection %s has a client secret but no key opens it (Config.Box)", errMisconfigured, c.ID)
		}
		b, err := f.cfg.Box.Open(c.ClientSecret)
		if err != nil {
			return nil, fmt.Errorf("%w: connection %s: client secret: %v", errMisconfigured, c.ID, err)
		}
		secret = string(b)
	}
	if c.ClientID == "" {
		return nil, fmt.Errorf("%w: connection %s has no client_id", errMisconfigured, c.ID)
	}
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: secret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  f.callbackURL(c.ID),
		Scopes:       scopes,
	}, nil
}

// startOIDC parks the trip and returns the upstream authorization URL: the
// code flow with PKCE (S256), a state bound to the flow (and through it to
// the browser) and a nonce the ID token must carry back.
func (f *Federation) startOIDC(ctx context.Context, t trip) (string, error) {
	p, err := f.discover(ctx, t.conn)
	if err != nil {
		return "", err
	}
	oc, err := f.oauth2Config(t.conn, p)
	if err != nil {
		return "", err
	}
	pend := pending{
		Type:         TypeOIDC,
		ConnectionID: t.conn.ID,
		FlowID:       t.flow.ID,
		UserID:       t.user.ID,
		Nonce:        newState(),
		Verifier:     oauth2.GenerateVerifier(),
	}
	state, err := f.putState(ctx, pend, f.stateTTL(t.flow.ExpiresAt))
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(pend.Verifier),
		oidc.Nonce(pend.Nonce),
		oauth2.SetAuthURLParam("login_hint", t.user.Email),
	}
	if t.again {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"))
	}
	return oc.AuthCodeURL(state, opts...), nil
}

// oidcClaims are the ID token claims the match reads.
type oidcClaims struct {
	Email         string          `json:"email"`
	EmailVerified json.RawMessage `json:"email_verified"`
}

// exchangeOIDC redeems the code and verifies the ID token: signature (the
// provider's JWKS), issuer, audience (our client_id), expiry, and the nonce
// bound to this trip.
func (f *Federation) exchangeOIDC(ctx context.Context, c storage.Connection, pend pending, code string) (identity, error) {
	p, err := f.discover(ctx, c)
	if err != nil {
		return identity{}, upstreamErr{kind: failUnreachable, err: err}
	}
	oc, err := f.oauth2Config(c, p)
	if err != nil {
		return identity{}, upstreamErr{kind: failMisconfigured, err: err}
	}
	ctx, cancel := context.WithTimeout(f.clientContext(ctx), f.cfg.Timeout)
	defer cancel()
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(pend.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		switch {
		case errors.As(err, &re):
			return identity{}, upstreamErr{kind: failRefused, err: err}
		case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
			return identity{}, upstreamErr{kind: failTimeout, err: err}
		default:
			return identity{}, upstreamErr{kind: failUnreachable, err: err}
		}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return identity{}, upstreamErr{kind: failInvalid, reason: "malformed", err: errors.New("token response without id_token")}
	}
	v := p.Verifier(&oidc.Config{ClientID: c.ClientID, Now: f.now})
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return identity{}, classifyOIDC(err)
	}
	if !equalSecret(idt.Nonce, pend.Nonce) {
		return identity{}, upstreamErr{kind: failInvalid, reason: "wrong_nonce", err: errors.New("ID token nonce does not match the one sent")}
	}
	var cl oidcClaims
	if err := idt.Claims(&cl); err != nil {
		return identity{}, upstreamErr{kind: failInvalid, reason: "malformed", err: err}
	}
	id := identity{Subject: idt.Subject, Email: strings.TrimSpace(cl.Email)}
	if b, ok := flexibleBool(cl.EmailVerified); ok {
		id.EmailVerified = &b
	}
	return id, nil
}

// classifyOIDC sorts go-oidc's verification errors: an expired token is
// stale, anything else is a forgery or a misconfiguration and is audited.
func classifyOIDC(err error) error {
	var exp *oidc.TokenExpiredError
	if errors.As(err, &exp) {
		return upstreamErr{kind: failExpired, err: err}
	}
	msg := err.Error()
	reason := "malformed"
	switch {
	case strings.Contains(msg, "issued by a different provider"):
		reason = "wrong_issuer"
	case strings.Contains(msg, "audience"):
		reason = "wrong_audience"
	case strings.Contains(msg, "signature"), strings.Contains(msg, "signing"), strings.Contains(msg, "signed with"):
		reason = "bad_signature"
	}
	return upstreamErr{kind: failInvalid, reason: reason, err: err}
}

// flexibleBool reads a claim sent as a JSON boolean or, by some providers,
// as the string "true" or "false". A claim that is sent but reads as
// neither counts as false: only an absent claim leaves the question open.
func flexibleBool(raw json.RawMessage) (bool, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, false
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && strings.EqualFold(s, "true") {
		return true, true
	}
	return false, true
}

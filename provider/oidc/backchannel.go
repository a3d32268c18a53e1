package oidc

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gatehouse/provider/login"
	"gatehouse/provider/web"
)

// logoutClaims are a back-channel logout token's claims (OpenID Connect
// Back-Channel Logout 1.0, section 2.4).
type logoutClaims struct {
	Iss    string                    `json:"iss"`
	Aud    []string                  `json:"aud"`
	Iat    int64                     `json:"iat"`
	Exp    int64                     `json:"exp"`
	Jti    string                    `json:"jti"`
	Sub    string                    `json:"sub,omitempty"`
	SID    string                    `json:"sid"`
	Events map[string]map[string]any `json:"events"`
}

const (
	backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"
	typLogoutToken   = "logout+jwt"
	// logoutTokenTTL: a logout token is used at once.
	logoutTokenTTL = 2 * time.Minute
)

// SessionEnded is called by the login Service when a sign-in session ends
// (logout, a user deleted or deactivated): it revokes the session's refresh
// tokens and sends a logout token to every client of the session that
// registered a backchannel_logout_uri. Deliveries run in the background,
// concurrently, each bounded by a timeout, so the caller's response does
// not wait on relying parties.
func (p *Provider) SessionEnded(ctx context.Context, s login.Session, parts []login.Participant) {
	if _, err := p.cfg.Store.RevokeRefreshTokensOfSession(ctx, s.ID); err != nil {
		p.log.Error("oidc: revoking the refresh tokens of an ended session", "session", s.ID, "err", err)
	}
	seen := map[string]bool{}
	for _, part := range parts {
		if part.Protocol != login.ProtocolOIDC || seen[part.RP] {
			continue
		}
		seen[part.RP] = true
		c, err := p.cfg.Clients.Client(ctx, part.RP)
		if err != nil {
			continue // a client deleted since: nobody to tell
		}
		if c.BackchannelLogoutURI == "" {
			continue
		}
		tok, err := p.logoutToken(&client{c: c}, s)
		if err != nil {
			p.log.Error("oidc: signing a logout token", "client", c.ID, "err", err)
			continue
		}
		p.sends.Add(1)
		go p.sendLogout(c.ID, c.BackchannelLogoutURI, tok)
	}
}

func (p *Provider) logoutToken(c *client, s login.Session) (string, error) {
	now := p.now()
	payload, err := json.Marshal(logoutClaims{
		Iss:    p.issuer,
		Aud:    []string{c.c.ID},
		Iat:    now.Unix(),
		Exp:    now.Add(logoutTokenTTL).Unix(),
		Jti:    web.RandomToken(16),
		Sub:    s.UserID,
		SID:    s.ID,
		Events: map[string]map[string]any{backchannelEvent: {}},
	})
	if err != nil {
		return "", err
	}
	key, err := p.cfg.Keys.Active(c.idTokenAlg())
	if err != nil {
		return "", err
	}
	return signJWT(key, typLogoutToken, payload)
}

// sendLogout POSTs one logout token. The relying party answers 200 (or
// 204); anything else is logged, not retried: the session is gone anyway,
// and the relying party's own session expires.
func (p *Provider) sendLogout(clientID, uri, token string) {
	defer p.sends.Done()
	ctx, cancel := context.WithTimeout(context.Background(), backchannelTimeout)
	defer cancel()
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(body))
	if err != nil {
		p.log.Warn("oidc: back-channel logout", "client", clientID, "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		p.log.Warn("oidc: back-channel logout", "client", clientID, "err", err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		p.log.Warn("oidc: back-channel logout refused", "client", clientID, "status", resp.StatusCode)
	}
}

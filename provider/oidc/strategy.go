package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"

	"gatehouse/provider/web"
)

// tokenStrategy makes and recognises Gatehouse's tokens:
//
//   - authorization codes and refresh tokens: 32 random bytes, base64url.
//     Their "signature" (fosite's storage key) is their SHA-256, so the
//     stores never hold a usable token.
//   - access tokens: RFC 9068 JWTs signed with the active ES256 key. Their
//     storage key is an atRef (below), read from the verified JWT.
type tokenStrategy struct{ p *Provider }

var _ oauth2.CoreStrategy = (*tokenStrategy)(nil)

// opaqueLen is the length of a code or refresh token.
const opaqueLen = 43 // base64url of 32 bytes

func newOpaqueToken() (token, signature string) {
	t := web.RandomToken(32)
	return t, opaqueSignature(t)
}

// opaqueSignature is the storage key of a code or refresh token; "" for a
// string that cannot be one, so garbage never reaches a store.
func opaqueSignature(token string) string {
	if len(token) != opaqueLen {
		return ""
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return ""
		}
	}
	sum := sha256.Sum256([]byte(token))
	return b64.EncodeToString(sum[:])
}

// notExpired checks a session's expiry for one kind of token.
func (t *tokenStrategy) notExpired(r fosite.Requester, kind fosite.TokenType) error {
	exp := r.GetSession().GetExpiresAt(kind)
	if !exp.IsZero() && !t.p.now().Before(exp) {
		return fosite.ErrTokenExpired.WithHintf("The %s expired.", strings.ReplaceAll(string(kind), "_", " "))
	}
	return nil
}

func (t *tokenStrategy) AuthorizeCodeSignature(_ context.Context, token string) string {
	return opaqueSignature(token)
}

func (t *tokenStrategy) GenerateAuthorizeCode(context.Context, fosite.Requester) (string, string, error) {
	tok, sig := newOpaqueToken()
	return tok, sig, nil
}

func (t *tokenStrategy) ValidateAuthorizeCode(_ context.Context, r fosite.Requester, _ string) error {
	return t.notExpired(r, fosite.AuthorizeCode)
}

func (t *tokenStrategy) RefreshTokenSignature(_ context.Context, token string) string {
	return opaqueSignature(token)
}

func (t *tokenStrategy) GenerateRefreshToken(context.Context, fosite.Requester) (string, string, error) {
	tok, sig := newOpaqueToken()
	return tok, sig, nil
}

func (t *tokenStrategy) ValidateRefreshToken(_ context.Context, r fosite.Requester, _ string) error {
	return t.notExpired(r, fosite.RefreshToken)
}

// accessClaims are an access token's claims (RFC 9068 section 2.2), with
// the role claims when the roles scope was granted.
type accessClaims struct {
	Iss      string   `json:"iss"`
	Sub      string   `json:"sub"`
	Aud      audience `json:"aud"`
	Exp      int64    `json:"exp"`
	Iat      int64    `json:"iat"`
	Jti      string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
	ACR      string   `json:"acr,omitempty"`

	Roles     []string `json:"roles,omitempty"`
	PartnerID string   `json:"partner_id,omitempty"`
	UserKind  string   `json:"user_kind,omitempty"`
	OrgIDs    []string `json:"org_ids,omitempty"`
}

// typAccessToken is RFC 9068's JWT type.
const typAccessToken = "at+jwt"

func (t *tokenStrategy) GenerateAccessToken(_ context.Context, r fosite.Requester) (string, string, error) {
	sess, ok := r.GetSession().(*session)
	if !ok {
		return "", "", errors.New("oidc: unexpected session type")
	}
	p := t.p
	now := p.now()
	exp := sess.GetExpiresAt(fosite.AccessToken)
	if exp.IsZero() {
		exp = now.Add(p.cfg.AccessTokenTTL)
	}
	clientID := r.GetClient().GetID()
	c := accessClaims{
		Iss:      p.issuer,
		Sub:      sess.Subject,
		Aud:      audience(r.GetGrantedAudience()),
		Exp:      exp.Unix(),
		Iat:      now.Unix(),
		Jti:      r.GetID() + "." + web.RandomToken(12),
		ClientID: clientID,
		Scope:    strings.Join(r.GetGrantedScopes(), " "),
	}
	if rc := sess.Roles; rc != nil {
		c.Roles, c.PartnerID, c.UserKind, c.OrgIDs = rc.Roles, rc.PartnerID, rc.UserKind, rc.OrgIDs
	}
	if c.Sub == "" {
		c.Sub = clientID // client credentials: the client is the subject
	}
	if len(c.Aud) == 0 {
		c.Aud = audience{clientID}
	}
	if cl := sess.Claims; cl != nil && sess.Subject != "" {
		if !cl.AuthTime.IsZero() {
			c.AuthTime = cl.AuthTime.Unix()
		}
		c.ACR = cl.AuthenticationContextClassReference
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", "", err
	}
	key, err := p.cfg.Keys.Active("ES256")
	if err != nil {
		return "", "", err
	}
	tok, err := signJWT(key, typAccessToken, payload)
	if err != nil {
		return "", "", err
	}
	ref := atRef{JTI: c.Jti, User: sess.Subject, Exp: c.Exp, Iat: c.Iat}
	return tok, ref.String(), nil
}

// AccessTokenSignature verifies the JWT and returns its storage reference,
// or "" for anything that is not a valid, unexpired access token of this
// issuer (the store then answers "not found" without a round trip).
func (t *tokenStrategy) AccessTokenSignature(ctx context.Context, token string) string {
	c, err := t.p.parseAccessToken(token)
	if err != nil {
		return ""
	}
	if tx, _ := ctx.Value(txnKey).(*txn); tx != nil {
		tx.access = c
	}
	return c.ref().String()
}

func (t *tokenStrategy) ValidateAccessToken(_ context.Context, r fosite.Requester, _ string) error {
	return t.notExpired(r, fosite.AccessToken)
}

// parseAccessToken verifies an access token's signature, type, issuer and
// expiry, and returns its claims. A token verified before skips the
// signature while its key is still trusted (verified.go); expiry is checked
// every time. The claims returned are the caller's to read, not to change.
func (p *Provider) parseAccessToken(raw string) (*accessClaims, error) {
	if len(raw) > maxJWTLen {
		return nil, errBadJWT
	}
	sum := sha256.Sum256([]byte(raw))
	if v, ok := p.verified.get(sum); ok {
		if _, trusted := p.cfg.Keys.Lookup(v.kid); trusted {
			if p.now().Unix() >= v.claims.Exp {
				return nil, fosite.ErrTokenExpired
			}
			c := v.claims
			return &c, nil
		}
	}
	h, payload, err := verifyJWT(p.cfg.Keys, raw)
	if err != nil {
		return nil, err
	}
	if h.Typ != typAccessToken {
		return nil, errBadJWT
	}
	var c accessClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Iss != p.issuer || c.Jti == "" || c.Sub == "" {
		return nil, errBadJWT
	}
	if p.now().Unix() >= c.Exp {
		return nil, fosite.ErrTokenExpired
	}
	p.verified.put(sum, verifiedToken{kid: h.Kid, claims: c})
	return &c, nil
}

// atRef is an access token's storage reference: what the store needs to
// read its revocation state in one round trip. The family (fosite's request
// ID) is the jti up to its last dot.
type atRef struct {
	JTI  string
	User string // "" for client credentials
	Iat  int64
	Exp  int64
}

func (c *accessClaims) ref() atRef {
	r := atRef{JTI: c.Jti, Iat: c.Iat, Exp: c.Exp}
	if c.Sub != c.ClientID || c.AuthTime != 0 {
		r.User = c.Sub
	}
	return r
}

func (r atRef) family() string {
	i := strings.LastIndexByte(r.JTI, '.')
	if i <= 0 {
		return ""
	}
	return r.JTI[:i]
}

// String encodes the reference; the fields never contain a space (the
// jti is a UUID and a base64url string, the user an ID).
func (r atRef) String() string {
	return r.JTI + " " + r.User + " " + strconv.FormatInt(r.Iat, 10) + " " + strconv.FormatInt(r.Exp, 10)
}

func parseATRef(s string) (atRef, bool) {
	f := strings.Split(s, " ")
	if len(f) != 4 || f[0] == "" {
		return atRef{}, false
	}
	iat, err1 := strconv.ParseInt(f[2], 10, 64)
	exp, err2 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil {
		return atRef{}, false
	}
	return atRef{JTI: f[0], User: f[1], Iat: iat, Exp: exp}, true
}

// idTokenStrategy signs ID tokens with fosite's strategy (which applies the
// nonce, max_age, prompt and id_token_hint rules), choosing the key by the
// client's id_token_signed_response_alg.
type idTokenStrategy struct{ inner *openid.DefaultStrategy }

func (s *idTokenStrategy) GenerateIDToken(ctx context.Context, lifespan time.Duration, r fosite.Requester) (string, error) {
	alg := "RS256"
	if c, ok := r.GetClient().(*client); ok {
		alg = c.idTokenAlg()
	}
	return s.inner.GenerateIDToken(withIDTokenAlg(ctx, alg), lifespan, r)
}

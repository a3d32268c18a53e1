package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"

	"gatehouse/clients"
	"gatehouse/storage"
)

// store is fosite's storage on Gatehouse's stores. Keys in the ephemeral
// store:
//
//	oidc:code:SIG          an authorization code: its request, with the
//	                       PKCE challenge and the OIDC parameters (one
//	                       record: fosite's three code-keyed stores)
//	oidc:code-used:SIG     set by the first exchange of a code (SETNX)
//	oidc:par:HASH          a pushed authorization request
//	oidc:at:JTI            an access token's record (a user's: a client's
//	                       own token keeps none, see client_token.go)
//	oidc:family-revoked:ID every access token of a family is revoked
//	oidc:user-nbf:USER     the user's access tokens issued at or before
//	                       this Unix time are revoked
//	oidc:assertion:HASH    a client assertion's jti, against replay
//
// Refresh tokens are in SQL (storage.Tokens). A code's three parts are
// written in one SET at the end of the authorize request, and read once per
// token request: fosite asks for them separately, so a per-request txn
// (withTxn) collects the writes and remembers the reads.
type store struct {
	p       *Provider
	eph     storage.Ephemeral
	sql     storage.Store
	clients *clients.Registry
}

var (
	_ fosite.Storage                     = (*store)(nil)
	_ fosite.PARStorage                  = (*store)(nil)
	_ oauth2.CoreStorage                 = (*store)(nil)
	_ oauth2.TokenRevocationStorage      = (*store)(nil)
	_ openid.OpenIDConnectRequestStorage = (*store)(nil)
	_ pkce.PKCERequestStorage            = (*store)(nil)
)

func codeKey(sig string) string         { return "oidc:code:" + sig }
func codeUsedKey(sig string) string     { return "oidc:code-used:" + sig }
func parKey(uri string) string          { return "oidc:par:" + hashKey(uri) }
func accessKey(jti string) string       { return "oidc:at:" + jti }
func familyRevokedKey(id string) string { return "oidc:family-revoked:" + id }
func userNBFKey(uid string) string      { return "oidc:user-nbf:" + uid }
func assertionKey(jti string) string    { return "oidc:assertion:" + hashKey(jti) }

func hashKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:])
}

// GetClient is fosite's client lookup: the registry's cached client.
func (s *store) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	if id == "" || len(id) > 128 {
		return nil, fosite.ErrNotFound
	}
	rc, err := s.clients.Client(ctx, id)
	if err != nil {
		return nil, storeErr(err)
	}
	c := &client{c: rc}
	if alg, ok := ctx.Value(assertionAlgKey).(string); ok {
		c.assertionAlg = alg
	}
	return c, nil
}

// codeRecord is everything stored under one authorization code.
type codeRecord struct {
	Request storedRequest `json:"request"`
	PKCE    bool          `json:"pkce,omitempty"`
	OIDC    bool          `json:"oidc,omitempty"`
}

// txn is the per-request state of the code handlers.
type txn struct {
	pending map[string]*pendingCode // by code signature, written by flush
	loaded  map[string]*loadedCode  // by code signature
	// access is the last access token AccessTokenSignature verified, so
	// the handler need not verify it again.
	access *accessClaims
}

type pendingCode struct {
	req        fosite.Requester
	form       map[string][]string
	pkce, oidc bool
}

type loadedCode struct {
	rec  codeRecord
	req  fosite.Requester
	oidc fosite.Requester
	err  error // fosite.ErrInvalidatedAuthorizeCode for a code used before
}

// withTxn gives a request the state the code storage needs.
func withTxn(ctx context.Context) context.Context {
	return context.WithValue(ctx, txnKey, &txn{pending: map[string]*pendingCode{}, loaded: map[string]*loadedCode{}})
}

func txnFrom(ctx context.Context) (*txn, error) {
	t, ok := ctx.Value(txnKey).(*txn)
	if !ok {
		return nil, errors.New("oidc: code storage used outside a request transaction")
	}
	return t, nil
}

func (t *txn) pend(sig string) *pendingCode {
	pc := t.pending[sig]
	if pc == nil {
		pc = &pendingCode{form: map[string][]string{}}
		t.pending[sig] = pc
	}
	return pc
}

func (pc *pendingCode) addForm(r fosite.Requester) {
	for k, v := range r.GetRequestForm() {
		pc.form[k] = v
	}
}

// flush writes the codes the request issued.
func (s *store) flush(ctx context.Context) error {
	t, err := txnFrom(ctx)
	if err != nil {
		return err
	}
	for sig, pc := range t.pending {
		if pc.req == nil {
			return errors.New("oidc: PKCE or OIDC data for a code that was not issued")
		}
		sr, err := encodeRequest(pc.req)
		if err != nil {
			return err
		}
		for k, v := range cleanForm(pc.form) {
			sr.Form[k] = v
		}
		b, err := json.Marshal(codeRecord{Request: sr, PKCE: pc.pkce, OIDC: pc.oidc})
		if err != nil {
			return err
		}
		if err := s.eph.Set(ctx, codeKey(sig), b, s.p.cfg.AuthCodeTTL); err != nil {
			return err
		}
		delete(t.pending, sig)
	}
	return nil
}

func (s *store) CreateAuthorizeCodeSession(ctx context.Context, sig string, r fosite.Requester) error {
	t, err := txnFrom(ctx)
	if err != nil {
		return err
	}
	pc := t.pend(sig)
	pc.req = r
	pc.addForm(r)
	return nil
}

// GetAuthorizeCodeSession reads a code once per request. The first read of
// a code anywhere marks it used, atomically (SETNX): a second exchange,
// even a concurrent one, gets ErrInvalidatedAuthorizeCode with the request,
// and fosite then revokes what the first one issued.
func (s *store) GetAuthorizeCodeSession(ctx context.Context, sig string, _ fosite.Session) (fosite.Requester, error) {
	lc, err := s.loadCode(ctx, sig)
	if err != nil {
		return nil, err
	}
	return lc.req, lc.err
}

func (s *store) loadCode(ctx context.Context, sig string) (*loadedCode, error) {
	t, err := txnFrom(ctx)
	if err != nil {
		return nil, err
	}
	if lc := t.loaded[sig]; lc != nil {
		return lc, nil
	}
	if sig == "" {
		return nil, fosite.ErrNotFound
	}
	b, err := s.eph.Get(ctx, codeKey(sig))
	if err != nil {
		return nil, storeErr(err)
	}
	lc := &loadedCode{}
	if err := json.Unmarshal(b, &lc.rec); err != nil {
		return nil, fmt.Errorf("oidc: stored code: %w", err)
	}
	if lc.req, err = s.request(ctx, lc.rec.Request); err != nil {
		return nil, err
	}
	first, err := s.eph.SetNX(ctx, codeUsedKey(sig), []byte("1"), s.p.cfg.AuthCodeTTL)
	if err != nil {
		return nil, err
	}
	if !first {
		lc.err = fosite.ErrInvalidatedAuthorizeCode
	}
	t.loaded[sig] = lc
	return lc, nil
}

// InvalidateAuthorizeCodeSession: the code was marked used when first read.
func (s *store) InvalidateAuthorizeCodeSession(context.Context, string) error { return nil }

func (s *store) CreatePKCERequestSession(ctx context.Context, sig string, r fosite.Requester) error {
	t, err := txnFrom(ctx)
	if err != nil {
		return err
	}
	pc := t.pend(sig)
	pc.pkce = true
	pc.addForm(r)
	return nil
}

func (s *store) GetPKCERequestSession(ctx context.Context, sig string, _ fosite.Session) (fosite.Requester, error) {
	lc, err := s.loadCode(ctx, sig)
	if err != nil {
		return nil, err
	}
	if !lc.rec.PKCE {
		return nil, fosite.ErrNotFound
	}
	return lc.req, nil
}

// DeletePKCERequestSession: the record expires with its code.
func (s *store) DeletePKCERequestSession(context.Context, string) error { return nil }

// The OpenID Connect handler keys its data by the code itself.

func (s *store) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	t, err := txnFrom(ctx)
	if err != nil {
		return err
	}
	pc := t.pend(opaqueSignature(code))
	pc.oidc = true
	pc.addForm(r)
	return nil
}

// GetOpenIDConnectSession returns its own copy of the request: fosite
// writes the ID token's claims into it, and those must not leak into the
// session stored with the access and refresh tokens.
func (s *store) GetOpenIDConnectSession(ctx context.Context, code string, _ fosite.Requester) (fosite.Requester, error) {
	lc, err := s.loadCode(ctx, opaqueSignature(code))
	if err != nil {
		return nil, err
	}
	if !lc.rec.OIDC {
		return nil, openid.ErrNoSessionFound
	}
	if lc.oidc == nil {
		// A request of its own: fosite changes the ID token's claims in
		// place, and the code's access token must not see that.
		if lc.oidc, err = s.request(ctx, lc.rec.Request.clone()); err != nil {
			return nil, err
		}
	}
	return lc.oidc, nil
}

func (s *store) DeleteOpenIDConnectSession(context.Context, string) error { return nil }

// Access tokens.

func (s *store) CreateAccessTokenSession(ctx context.Context, ref string, r fosite.Requester) error {
	ar, ok := parseATRef(ref)
	if !ok {
		return errors.New("oidc: bad access token reference")
	}
	if ar.User == "" && isClientToken(r) {
		return nil // a client's own token keeps no record (client_token.go)
	}
	b, err := marshalRequest(r)
	if err != nil {
		return err
	}
	ttl := time.Unix(ar.Exp, 0).Sub(s.p.now())
	if ttl < time.Second {
		ttl = time.Second
	}
	return s.eph.Set(ctx, accessKey(ar.JTI), b, ttl)
}

// GetAccessTokenSession reads the token's record, its user's marker and its
// family's marker in one MGET.
func (s *store) GetAccessTokenSession(ctx context.Context, ref string, _ fosite.Session) (fosite.Requester, error) {
	ar, ok := parseATRef(ref)
	if !ok {
		return nil, fosite.ErrNotFound
	}
	keys := []string{accessKey(ar.JTI), familyRevokedKey(ar.family())}
	if ar.User != "" {
		keys = append(keys, userNBFKey(ar.User))
	}
	vals, err := s.eph.MGet(ctx, keys...)
	if err != nil {
		return nil, err
	}
	if len(vals) != len(keys) {
		return nil, fosite.ErrNotFound
	}
	if vals[0] == nil {
		c := verifiedAccess(ctx, ar.JTI)
		if ar.User != "" || c == nil {
			return nil, fosite.ErrNotFound
		}
		if vals[1] != nil {
			return nil, fosite.ErrInactiveToken.WithHint("The token's grant was revoked.")
		}
		return s.clientTokenRequest(ctx, ar, c)
	}
	if vals[1] != nil {
		return nil, fosite.ErrInactiveToken.WithHint("The token's grant was revoked.")
	}
	if len(vals) > 2 && vals[2] != nil {
		if nbf, err := strconv.ParseInt(string(vals[2]), 10, 64); err != nil || ar.Iat <= nbf {
			return nil, fosite.ErrInactiveToken.WithHint("The token's user was removed or deactivated.")
		}
	}
	sr, err := unmarshalRequest(vals[0])
	if err != nil {
		return nil, err
	}
	return s.request(ctx, sr)
}

func (s *store) DeleteAccessTokenSession(ctx context.Context, ref string) error {
	ar, ok := parseATRef(ref)
	if !ok {
		return nil
	}
	return s.eph.Delete(ctx, accessKey(ar.JTI))
}

// RevokeAccessToken revokes every access token of a family (fosite's
// request ID): they share it, so one marker does it, for as long as any of
// them can live.
func (s *store) RevokeAccessToken(ctx context.Context, requestID string) error {
	if requestID == "" {
		return nil
	}
	return s.eph.Set(ctx, familyRevokedKey(requestID), []byte("1"), s.p.cfg.AccessTokenTTL+time.Minute)
}

// Refresh tokens.

func (s *store) CreateRefreshTokenSession(ctx context.Context, sig, _ string, r fosite.Requester) error {
	sess, ok := r.GetSession().(*session)
	if !ok {
		return errors.New("oidc: unexpected session type")
	}
	b, err := marshalRequest(r)
	if err != nil {
		return err
	}
	exp := sess.GetExpiresAt(fosite.RefreshToken)
	if exp.IsZero() {
		exp = s.p.now().Add(s.p.cfg.RefreshTokenTTL)
	}
	err = s.sql.CreateRefreshToken(ctx, storage.RefreshToken{
		Signature: sig,
		FamilyID:  r.GetID(),
		ClientID:  r.GetClient().GetID(),
		UserID:    sess.Subject,
		SessionID: sess.SID,
		Data:      b,
		Active:    true,
		ExpiresAt: exp,
		CreatedAt: s.p.now(),
	})
	if err != nil {
		return err
	}
	// A concurrent reuse of the token this one replaces may have revoked
	// the family between our read and this insert, with an SQL update that
	// could not see this row. revokeFamily sets the marker before that
	// update, so checking it after the insert closes the gap: the token is
	// still issued (the winner of a refresh race gets its answer), but dead
	// like the rest of its family.
	if _, err := s.eph.Get(ctx, familyRevokedKey(r.GetID())); err == nil {
		_, err := s.sql.RevokeRefreshFamily(ctx, r.GetID())
		return err
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}

// GetRefreshTokenSession returns ErrInactiveToken (with the request) only
// for a token that was used: that is reuse, and fosite answers it by
// revoking the family. A token revoked for another reason (logout, a user
// removed, RFC 7009) is simply not found.
func (s *store) GetRefreshTokenSession(ctx context.Context, sig string, _ fosite.Session) (fosite.Requester, error) {
	if sig == "" {
		return nil, fosite.ErrNotFound
	}
	rt, err := s.sql.GetRefreshToken(ctx, sig)
	if err != nil {
		return nil, storeErr(err)
	}
	sr, err := unmarshalRequest(rt.Data)
	if err != nil {
		return nil, err
	}
	req, err := s.request(ctx, sr)
	if err != nil {
		return nil, err
	}
	if !rt.UsedAt.IsZero() {
		return req, fosite.ErrInactiveToken
	}
	if !rt.Active {
		return nil, fosite.ErrNotFound
	}
	return req, nil
}

// DeleteRefreshTokenSession makes one token inactive; the row stays, so a
// later presentation is still recognised.
func (s *store) DeleteRefreshTokenSession(ctx context.Context, sig string) error {
	if err := s.sql.RevokeRefreshToken(ctx, sig); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return nil
}

// RotateRefreshToken marks the presented token used, atomically. Losing
// that race means the token was presented twice: the family is revoked, as
// for any reuse.
func (s *store) RotateRefreshToken(ctx context.Context, requestID, sig string) error {
	_, err := s.sql.UseRefreshToken(ctx, sig, s.p.now())
	if errors.Is(err, storage.ErrConflict) {
		if rerr := s.revokeFamily(ctx, requestID); rerr != nil {
			return rerr
		}
		return fosite.ErrInactiveToken.WithHint("The refresh token was already used.")
	}
	return storeErr(err)
}

// RevokeRefreshToken revokes every refresh token of a family.
func (s *store) RevokeRefreshToken(ctx context.Context, requestID string) error {
	_, err := s.sql.RevokeRefreshFamily(ctx, requestID)
	return err
}

// revokeFamily marks the family revoked before revoking its refresh tokens
// in SQL, so a successor created concurrently sees the mark (see
// CreateRefreshTokenSession).
func (s *store) revokeFamily(ctx context.Context, requestID string) error {
	if err := s.RevokeAccessToken(ctx, requestID); err != nil {
		return err
	}
	return s.RevokeRefreshToken(ctx, requestID)
}

// Pushed authorization requests.

func (s *store) CreatePARSession(ctx context.Context, requestURI string, r fosite.AuthorizeRequester) error {
	b, err := marshalRequest(r)
	if err != nil {
		return err
	}
	return s.eph.Set(ctx, parKey(requestURI), b, parTTL)
}

// GetPARSession takes the request: a request_uri is good for one use.
func (s *store) GetPARSession(ctx context.Context, requestURI string) (fosite.AuthorizeRequester, error) {
	if len(requestURI) > 512 {
		return nil, fosite.ErrNotFound
	}
	b, err := s.eph.Take(ctx, parKey(requestURI))
	if err != nil {
		return nil, storeErr(err)
	}
	sr, err := unmarshalRequest(b)
	if err != nil {
		return nil, err
	}
	return s.authorizeRequest(ctx, sr)
}

func (s *store) DeletePARSession(context.Context, string) error { return nil }

// Client assertions (private_key_jwt): one SETNX both checks and records a
// jti, so two concurrent uses of one assertion cannot both pass.

func (s *store) ClientAssertionJWTValid(context.Context, string) error { return nil }

func (s *store) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	ttl := exp.Sub(s.p.now())
	if ttl < time.Second {
		ttl = time.Second
	}
	if ttl > 24*time.Hour {
		ttl = 24 * time.Hour
	}
	first, err := s.eph.SetNX(ctx, assertionKey(jti), []byte("1"), ttl)
	if err != nil {
		return err
	}
	if !first {
		return fosite.ErrJTIKnown
	}
	return nil
}

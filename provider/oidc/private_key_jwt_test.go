package oidc_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// rpKeySet is a relying party's key pair for private_key_jwt, its public
// half served as a JWKS.
type rpKeySet struct {
	key *rsa.PrivateKey
	kid string
	srv *httptest.Server
}

func newRPKeySet(t testing.TB) *rpKeySet {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	ks := &rpKeySet{key: k, kid: "rp-key-1"}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: ks.kid, Algorithm: "RS256", Use: "sig"}}}
	body, err := json.Marshal(set)
	must(t, err)
	ks.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(ks.srv.Close)
	return ks
}

// assertion makes a client assertion (RFC 7523) for clientID, to audience.
func (ks *rpKeySet) assertion(t testing.TB, clientID, audience string) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: ks.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", ks.kid))
	must(t, err)
	now := time.Now()
	raw, err := jwt.Signed(s).Claims(jwt.Claims{
		Issuer: clientID, Subject: clientID, Audience: jwt.Audience{audience},
		ID: randomString(), IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute)),
	}).Serialize()
	must(t, err)
	return raw
}

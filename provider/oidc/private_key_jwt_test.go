package oidc_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
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

// private_key_jwt: the client signs an assertion with its key; Gatehouse
// verifies it with the client's jwks_uri. An assertion is good once.
func TestPrivateKeyJWT(t *testing.T) {
	e := newEnv(t)
	r := e.rp("signed", "")
	r.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	assertion := func() []oauth2.AuthCodeOption {
		return []oauth2.AuthCodeOption{
			oauth2.SetAuthURLParam("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
			oauth2.SetAuthURLParam("client_assertion", e.rpKeys.assertion(t, "signed", e.issuer+"/oauth2/token")),
		}
	}
	b := e.browser()
	a := r.authorize()
	cb, _ := b.run(a.URL, "olivia@acme.example", "")
	tok, err := r.cfg.Exchange(context.Background(), cb.Query().Get("code"), append(assertion(), oauth2.VerifierOption(a.Verifier))...)
	must(t, err)
	r.idToken(a, tok)

	t.Run("client credentials", func(t *testing.T) {
		one := e.rpKeys.assertion(t, "signed", e.issuer+"/oauth2/token")
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"signed"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {one}}
		resp := e.post("/oauth2/token", form, "", "")
		m := decodeJSON(t, resp)
		if resp.StatusCode != 200 || m["access_token"] == nil {
			t.Fatalf("%d %v", resp.StatusCode, m)
		}
		// Replayed.
		resp = e.post("/oauth2/token", form, "", "")
		m = decodeJSON(t, resp)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Fatalf("replayed assertion: %d %v", resp.StatusCode, m)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		other := newRPKeySet(t)
		for name, asr := range map[string]string{
			"wrong key":      other.assertion(t, "signed", e.issuer+"/oauth2/token"),
			"wrong audience": e.rpKeys.assertion(t, "signed", "https://elsewhere.example/token"),
			"wrong client":   e.rpKeys.assertion(t, "academy", e.issuer+"/oauth2/token"),
			"garbage":        "not.a.jwt",
		} {
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"signed"},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {asr}}
			resp := e.post("/oauth2/token", form, "", "")
			m := decodeJSON(t, resp)
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("%s: %d %v", name, resp.StatusCode, m)
			}
		}
		// A client whose keys cannot be fetched.
		e.rpKeys.srv.Close()
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"signed"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {other.assertion(t, "signed", e.issuer+"/oauth2/token")}}
		resp := e.post("/oauth2/token", form, "", "")
		if m := decodeJSON(t, resp); resp.StatusCode != 401 || m["error"] != "invalid_client" {
			t.Errorf("unreachable jwks_uri: %d %v", resp.StatusCode, m)
		}
	})
}

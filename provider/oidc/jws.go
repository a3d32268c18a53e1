package oidc

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"

	fjwt "github.com/ory/fosite/token/jwt"

	"gatehouse/keys"
)

// Compact JWS for the two algorithms Gatehouse signs with. Signing and
// verifying here rather than through go-jose keeps the hot paths to one
// JSON encoding and one signature: keys come parsed from keys.Manager.

// maxJWTLen bounds what a caller can make us decode.
const maxJWTLen = 16 << 10

var b64 = base64.RawURLEncoding

var errBadJWT = errors.New("oidc: malformed or unverifiable JWT")

type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ,omitempty"`
}

// signJWT signs payload (the claims' JSON) with key, as a JWT of type typ.
func signJWT(key keys.Key, typ string, payload []byte) (string, error) {
	head, err := json.Marshal(jwsHeader{Alg: key.Alg, Kid: key.ID, Typ: typ})
	if err != nil {
		return "", err
	}
	n := b64.EncodedLen(len(head)) + 1 + b64.EncodedLen(len(payload))
	buf := make([]byte, 0, n+1+b64.EncodedLen(512))
	buf = b64.AppendEncode(buf, head)
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, payload)
	sum := sha256.Sum256(buf)
	sig, err := key.Signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return "", err
	}
	if key.Alg == "ES256" {
		if sig, err = ecdsaRaw(sig); err != nil {
			return "", err
		}
	}
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, sig)
	return string(buf), nil
}

// ecdsaRaw turns an ASN.1 ECDSA signature into JWS's fixed-width r||s.
func ecdsaRaw(der []byte) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	rs.R.FillBytes(out[:32])
	rs.S.FillBytes(out[32:])
	return out, nil
}

// verifyJWT checks raw's signature against the key its kid names and
// returns its header and payload. Claims are the caller's to check.
func verifyJWT(km *keys.Manager, raw string) (jwsHeader, []byte, error) {
	var h jwsHeader
	if len(raw) > maxJWTLen {
		return h, nil, errBadJWT
	}
	i := strings.IndexByte(raw, '.')
	j := strings.LastIndexByte(raw, '.')
	if i <= 0 || j <= i+1 || j == len(raw)-1 {
		return h, nil, errBadJWT
	}
	head, err := b64.DecodeString(raw[:i])
	if err != nil || json.Unmarshal(head, &h) != nil {
		return h, nil, errBadJWT
	}
	key, ok := km.Lookup(h.Kid)
	if !ok || key.Alg != h.Alg {
		return h, nil, errBadJWT
	}
	sig, err := b64.DecodeString(raw[j+1:])
	if err != nil {
		return h, nil, errBadJWT
	}
	sum := sha256.Sum256([]byte(raw[:j]))
	switch pub := key.Public().(type) {
	case *ecdsa.PublicKey:
		if len(sig) != 64 || !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return h, nil, errBadJWT
		}
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
			return h, nil, errBadJWT
		}
	default:
		return h, nil, errBadJWT
	}
	payload, err := b64.DecodeString(raw[i+1 : j])
	if err != nil {
		return h, nil, errBadJWT
	}
	return h, payload, nil
}

// signer is fosite's jwt.Signer over keys.Manager. The algorithm comes from
// the context (withIDTokenAlg): fosite's ID token strategy hands the signer
// claims and headers but not the client, so idTokenStrategy puts the
// client's id_token_signed_response_alg there first.
type signer struct{ keys *keys.Manager }

var _ fjwt.Signer = (*signer)(nil)

func withIDTokenAlg(ctx context.Context, alg string) context.Context {
	return context.WithValue(ctx, idTokenAlgKey, alg)
}

func (s *signer) Generate(ctx context.Context, claims fjwt.MapClaims, _ fjwt.Mapper) (string, string, error) {
	alg, _ := ctx.Value(idTokenAlgKey).(string)
	if alg == "" {
		alg = "RS256"
	}
	key, err := s.keys.Active(alg)
	if err != nil {
		return "", "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", "", err
	}
	tok, err := signJWT(key, "JWT", payload)
	if err != nil {
		return "", "", err
	}
	return tok, tok[strings.LastIndexByte(tok, '.')+1:], nil
}

// Decode verifies token against Gatehouse's keys and returns it parsed. An
// expired token comes back with a *jwt.ValidationError flagged expired, as
// fosite's id_token_hint checks expect.
func (s *signer) Decode(_ context.Context, token string) (*fjwt.Token, error) {
	if len(token) > maxJWTLen {
		return nil, &fjwt.ValidationError{Errors: fjwt.ValidationErrorMalformed}
	}
	return fjwt.ParseWithClaims(token, fjwt.MapClaims{}, func(t *fjwt.Token) (interface{}, error) {
		kid, _ := t.Header["kid"].(string)
		key, ok := s.keys.Lookup(kid)
		if !ok || string(t.Method) != key.Alg {
			return nil, fmt.Errorf("oidc: unknown key %q for alg %q", kid, t.Method)
		}
		return key.Public(), nil
	})
}

func (s *signer) Validate(ctx context.Context, token string) (string, error) {
	if _, err := s.Decode(ctx, token); err != nil {
		return "", err
	}
	return s.GetSignature(ctx, token)
}

func (s *signer) Hash(_ context.Context, in []byte) ([]byte, error) {
	sum := sha256.Sum256(in)
	return sum[:], nil
}

func (s *signer) GetSignature(_ context.Context, token string) (string, error) {
	if strings.Count(token, ".") != 2 {
		return "", errBadJWT
	}
	return token[strings.LastIndexByte(token, '.')+1:], nil
}

func (s *signer) GetSigningMethodLength(context.Context) int { return sha256.Size }

// idTokenClaims are the claims of a verified ID token that Gatehouse reads
// back (id_token_hint at authorize and logout).
type idTokenClaims struct {
	Iss string   `json:"iss"`
	Sub string   `json:"sub"`
	Aud audience `json:"aud"`
	Azp string   `json:"azp"`
	SID string   `json:"sid"`
	Exp int64    `json:"exp"`
}

// audience reads aud as one string or an array.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		return json.Unmarshal(b, (*[]string)(a))
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*a = audience{s}
	return nil
}

// parseIDTokenHint checks that raw is an ID token this issuer signed. An
// expired one is accepted: a hint names a user, it grants nothing.
func (p *Provider) parseIDTokenHint(raw string) (*idTokenClaims, error) {
	h, payload, err := verifyJWT(p.cfg.Keys, raw)
	if err != nil {
		return nil, err
	}
	if h.Typ != "" && h.Typ != "JWT" {
		return nil, errBadJWT
	}
	var c idTokenClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Iss != p.issuer || c.Sub == "" || len(c.Aud) == 0 {
		return nil, errBadJWT
	}
	return &c, nil
}

// clientID is the relying party an ID token was issued to.
func (c *idTokenClaims) clientID() string {
	if c.Azp != "" {
		return c.Azp
	}
	return c.Aud[0]
}

package mfa_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// authenticator is a software passkey: one ES256 credential, "none"
// attestation, user presence and verification always given. It answers
// the options JSON Gatehouse hands the browser with the JSON the browser
// would post back, as a platform authenticator would.
type authenticator struct {
	t      testing.TB
	rpID   string
	origin string
	key    *ecdsa.PrivateKey
	credID []byte
	user   []byte // the user handle it was created for
	count  uint32
	// excluded: the last creation options excluded this credential.
	excluded bool
}

func newAuthenticator(t testing.TB, rpID, origin string) *authenticator {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &authenticator{t: t, rpID: rpID, origin: origin, key: key, credID: id}
}

var b64 = base64.RawURLEncoding

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

type publicKeyOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
		ExcludeCredentials []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
		UserVerification string `json:"userVerification"`
	} `json:"publicKey"`
}

func (a *authenticator) parse(options []byte) publicKeyOptions {
	a.t.Helper()
	var o publicKeyOptions
	if err := json.Unmarshal(options, &o); err != nil {
		a.t.Fatalf("options: %v\n%s", err, options)
	}
	if o.PublicKey.Challenge == "" {
		a.t.Fatalf("options without a challenge: %s", options)
	}
	return o
}

func (a *authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	return b
}

// create answers navigator.credentials.create.
func (a *authenticator) create(options []byte) string {
	a.t.Helper()
	o := a.parse(options)
	if o.PublicKey.RP.ID != a.rpID {
		a.t.Fatalf("creation options for rp %q, want %q", o.PublicKey.RP.ID, a.rpID)
	}
	// A browser would refuse an excluded credential; this one notes it and
	// answers anyway, so a test can see the server refuse it too.
	a.excluded = false
	for _, c := range o.PublicKey.ExcludeCredentials {
		a.excluded = a.excluded || c.ID == b64.EncodeToString(a.credID)
	}
	a.user, _ = b64.DecodeString(o.PublicKey.User.ID)
	x, y := a.key.X.FillBytes(make([]byte, 32)), a.key.Y.FillBytes(make([]byte, 32))
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		a.t.Fatal(err)
	}
	var auth []byte
	rp := sha256.Sum256([]byte(a.rpID))
	auth = append(auth, rp[:]...)
	auth = append(auth, flagUP|flagUV|flagAT)
	auth = binary.BigEndian.AppendUint32(auth, a.count)
	auth = append(auth, make([]byte, 16)...) // AAGUID: none
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(a.credID)))
	auth = append(auth, a.credID...)
	auth = append(auth, cose...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		a.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id":    b64.EncodeToString(a.credID),
		"rawId": b64.EncodeToString(a.credID),
		"type":  "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults":  map[string]any{"credProps": map[string]any{"rk": true}},
		"authenticatorAttachment": "platform",
	})
	return string(b)
}

// assertion is a navigator.credentials.get answer, with its parts open to
// tampering.
type assertion struct {
	clientData []byte
	authData   []byte
	signature  []byte
	userHandle []byte
	credID     []byte
}

func (s assertion) JSON() string {
	b, _ := json.Marshal(map[string]any{
		"id":    b64.EncodeToString(s.credID),
		"rawId": b64.EncodeToString(s.credID),
		"type":  "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(s.clientData),
			"authenticatorData": b64.EncodeToString(s.authData),
			"signature":         b64.EncodeToString(s.signature),
			"userHandle":        b64.EncodeToString(s.userHandle),
		},
		"clientExtensionResults":  map[string]any{},
		"authenticatorAttachment": "platform",
	})
	return string(b)
}

// sign answers navigator.credentials.get, counting the use.
func (a *authenticator) sign(options []byte) assertion {
	a.t.Helper()
	o := a.parse(options)
	if o.PublicKey.RPID != a.rpID {
		a.t.Fatalf("request options for rp %q, want %q", o.PublicKey.RPID, a.rpID)
	}
	allowed := false
	for _, c := range o.PublicKey.AllowCredentials {
		allowed = allowed || c.ID == b64.EncodeToString(a.credID)
	}
	if !allowed {
		a.t.Fatalf("the credential is not among the allowed ones: %s", options)
	}
	a.count++
	return a.signWith(o.PublicKey.Challenge, a.count, flagUP|flagUV)
}

func (a *authenticator) signWith(challenge string, count uint32, flags byte) assertion {
	cd := a.clientData("webauthn.get", challenge)
	rp := sha256.Sum256([]byte(a.rpID))
	auth := append(append([]byte{}, rp[:]...), flags)
	auth = binary.BigEndian.AppendUint32(auth, count)
	cdh := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		a.t.Fatal(err)
	}
	return assertion{clientData: cd, authData: auth, signature: sig, userHandle: a.user, credID: a.credID}
}

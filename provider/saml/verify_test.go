package saml

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // to show SHA-1 signatures are refused
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/url"
	"testing"

	dsig "github.com/russellhaering/goxmldsig"
)

func TestVerifyQuery(t *testing.T) {
	key, cert := spKey()
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	sign := func(k *rsa.PrivateKey, h crypto.Hash, s string) string {
		var sum []byte
		if h == crypto.SHA1 {
			x := sha1.Sum([]byte(s))
			sum = x[:]
		} else {
			x := sha256.Sum256([]byte(s))
			sum = x[:]
		}
		sig, err := rsa.SignPKCS1v15(rand.Reader, k, h, sum)
		must(t, err)
		return url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	alg256 := url.QueryEscape(dsig.RSASHA256SignatureMethod)
	alg1 := url.QueryEscape(dsig.RSASHA1SignatureMethod)
	base := "SAMLRequest=abc%2B%3D&RelayState=x%20y&SigAlg=" + alg256
	certs := []*x509.Certificate{cert}
	cases := []struct {
		name  string
		query string
		ok    bool
	}{
		{"good", base + "&Signature=" + sign(key, crypto.SHA256, base), true},
		{"good, other parameters around", "foo=1&" + base + "&Signature=" + sign(key, crypto.SHA256, base) + "&bar=2", true},
		{"no RelayState", "SAMLRequest=abc&SigAlg=" + alg256 + "&Signature=" + sign(key, crypto.SHA256, "SAMLRequest=abc&SigAlg="+alg256), true},
		{"another key", base + "&Signature=" + sign(other, crypto.SHA256, base), false},
		{"changed RelayState", "SAMLRequest=abc%2B%3D&RelayState=x%20z&SigAlg=" + alg256 + "&Signature=" + sign(key, crypto.SHA256, base), false},
		{"duplicate SAMLRequest", base + "&SAMLRequest=evil&Signature=" + sign(key, crypto.SHA256, base), false},
		{"SHA-1", "SAMLRequest=abc&SigAlg=" + alg1 + "&Signature=" + sign(key, crypto.SHA1, "SAMLRequest=abc&SigAlg="+alg1), false},
		{"no SigAlg", "SAMLRequest=abc&Signature=" + sign(key, crypto.SHA256, "SAMLRequest=abc"), false},
		{"signature not base64", base + "&Signature=%%%", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := verifyQuery(c.query, paramRequest, certs)
			if c.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !c.ok && !errors.Is(err, errBadSignature) {
				t.Fatalf("got %v, want errBadSignature", err)
			}
		})
	}
}

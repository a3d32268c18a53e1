package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"time"

	"golang.org/x/crypto/argon2"
)

// ceilings are the bare servers and computations each path is bounded by.
type ceilings struct {
	g       *gatehouse
	signer  *http.Server
	static  *http.Server
	signURL string
	statURL string
}

// startCeilings starts, on loopback, a server that does nothing but sign an
// ES256 JWT shaped like Gatehouse's access tokens, and one that only writes
// fixed bytes the size of the server's JWKS.
func startCeilings(g *gatehouse) (*ceilings, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"ceiling","typ":"at+jwt"}`))
	sign := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().Unix()
		claims, _ := json.Marshal(map[string]any{
			"iss": g.target, "sub": g.opts.clientID, "aud": []string{g.opts.clientID}, "client_id": g.opts.clientID,
			"iat": now, "nbf": now, "exp": now + 3600, "jti": base64.RawURLEncoding.EncodeToString(randBytes(16)), "scope": "",
		})
		input := header + "." + base64.RawURLEncoding.EncodeToString(claims)
		sum := sha256.Sum256([]byte(input))
		rs, ss, err := ecdsa.Sign(rand.Reader, key, sum[:])
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		sig := make([]byte, 64)
		rs.FillBytes(sig[:32])
		ss.FillBytes(sig[32:])
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":3599}`, input+"."+base64.RawURLEncoding.EncodeToString(sig))
	})
	jwks := make([]byte, 1500)
	for i := range jwks {
		jwks[i] = 'a'
	}
	static := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	})
	c := &ceilings{g: g}
	var url1, url2 string
	if c.signer, url1, err = serve(sign); err != nil {
		return nil, err
	}
	if c.static, url2, err = serve(static); err != nil {
		return nil, err
	}
	c.signURL, c.statURL = url1, url2
	return c, nil
}

func serve(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.Serve(ln) }()
	return s, "http://" + ln.Addr().String(), nil
}

func (c *ceilings) close() {
	_ = c.signer.Close()
	_ = c.static.Close()
}

// op returns the ceiling of a path, its worker count and a label; nil
// where no single step bounds the path.
func (c *ceilings) op(path string, n int) (op, int, string) {
	switch path {
	case "client_credentials", "introspect", "userinfo":
		return func(ctx context.Context, _ int) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.signURL, nil)
			return c.g.expect200(req)
		}, n, "bare ES256 signer"
	case "jwks", "discovery":
		return c.g.getOp(c.statURL), n, "bare static server"
	case "password_signin":
		o := c.g.opts
		salt := randBytes(16)
		// argon2id on every core: its own rate bounds the sign-in rate.
		return func(context.Context, int) error {
			argon2.IDKey([]byte(o.password), salt, uint32(o.argonTime), uint32(o.argonMemory), uint8(o.argonThreads), 32)
			return nil
		}, runtime.GOMAXPROCS(0), "argon2id"
	}
	return nil, 0, ""
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

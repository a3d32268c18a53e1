package federation_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/logger"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	dsig "github.com/russellhaering/goxmldsig"
)

// ─── the upstream OpenID provider ───────────────────────────────────────

// oidcUpstream is mockoidc with hooks: deny the next authorization with an
// error, rewrite the next successful token response, count authorizations.
type oidcUpstream struct {
	m          *mockoidc.MockOIDC
	mu         sync.Mutex
	deny       string
	tamper     func(map[string]any)
	delay      time.Duration // before answering the token endpoint, once
	authorized int
	lastAuth   url.Values
}

var mockKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func startOIDC(t *testing.T) *oidcUpstream {
	t.Helper()
	m, err := mockoidc.NewServer(mockKey())
	if err != nil {
		t.Fatal(err)
	}
	u := &oidcUpstream{m: m}
	if err := m.AddMiddleware(u.middleware); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return u
}

func (u *oidcUpstream) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case mockoidc.AuthorizationEndpoint:
			u.mu.Lock()
			u.authorized++
			u.lastAuth = r.URL.Query()
			deny := u.deny
			u.deny = ""
			u.mu.Unlock()
			if deny != "" {
				to, _ := url.Parse(r.URL.Query().Get("redirect_uri"))
				q := url.Values{"error": {deny}, "error_description": {"The user declined."}, "state": {r.URL.Query().Get("state")}}
				to.RawQuery = q.Encode()
				http.Redirect(w, r, to.String(), http.StatusFound)
				return
			}
		case mockoidc.TokenEndpoint:
			u.mu.Lock()
			delay := u.delay
			u.delay = 0
			u.mu.Unlock()
			if delay > 0 {
				select {
				case <-time.After(delay):
				case <-r.Context().Done():
					return
				}
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			u.mu.Lock()
			tamper := u.tamper
			if rec.Code == http.StatusOK && tamper != nil {
				u.tamper = nil
			}
			u.mu.Unlock()
			if rec.Code == http.StatusOK && tamper != nil {
				var m map[string]any
				_ = json.Unmarshal(body, &m)
				tamper(m)
				body, _ = json.Marshal(m)
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// next queues who signs in upstream next.
func (u *oidcUpstream) next(user mockoidc.User) { u.m.QueueUser(user) }

func (u *oidcUpstream) denyNext(code string) {
	u.mu.Lock()
	u.deny = code
	u.mu.Unlock()
}

func (u *oidcUpstream) tamperNext(fn func(map[string]any)) {
	u.mu.Lock()
	u.tamper = fn
	u.mu.Unlock()
}

func (u *oidcUpstream) authorizations() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.authorized
}

// verifiedUser is a mockoidc user who sends email_verified whatever its
// value (mockoidc's own omits false).
type verifiedUser struct {
	*mockoidc.MockUser
	verified any
}

func (v verifiedUser) Claims(scope []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	base, err := v.MockUser.Claims(scope, c)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(base)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["email_verified"] = v.verified
	return jwt.MapClaims(m), nil
}

// ─── the upstream SAML identity provider ────────────────────────────────

// samlUpstream is crewjam's IdentityProvider with a queue of who signs in
// and a hook that may change each assertion before it is signed.
type samlUpstream struct {
	srv  *httptest.Server
	idp  *saml.IdentityProvider
	mu   sync.Mutex
	sess []*saml.Session
	hook func(*saml.Assertion)
	// requests counts AuthnRequests received.
	requests int
	lastReq  saml.AuthnRequest
}

var idpCert = sync.OnceValues(func() (*rsa.PrivateKey, *x509.Certificate) {
	return selfSigned("Test IdP", time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
})

func selfSigned(cn string, notBefore, notAfter time.Time) (*rsa.PrivateKey, *x509.Certificate) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return k, c
}

func startSAML(t *testing.T) *samlUpstream {
	t.Helper()
	u := &samlUpstream{}
	mux := http.NewServeMux()
	u.srv = httptest.NewServer(mux)
	t.Cleanup(u.srv.Close)
	key, cert := idpCert()
	md, _ := url.Parse(u.srv.URL + "/metadata")
	sso, _ := url.Parse(u.srv.URL + "/sso")
	u.idp = &saml.IdentityProvider{
		Key: key, Certificate: cert, Logger: logger.DefaultLogger,
		MetadataURL: *md, SSOURL: *sso,
		SignatureMethod:         dsig.RSASHA256SignatureMethod,
		ServiceProviderProvider: u,
		SessionProvider:         u,
		AssertionMaker:          u,
	}
	mux.HandleFunc("GET /metadata", u.idp.ServeMetadata)
	mux.HandleFunc("/sso", func(w http.ResponseWriter, r *http.Request) {
		if req, err := saml.NewIdpAuthnRequest(u.idp, r); err == nil {
			var ar saml.AuthnRequest
			if xml.Unmarshal(req.RequestBuffer, &ar) == nil {
				u.mu.Lock()
				u.requests++
				u.lastReq = ar
				u.mu.Unlock()
			}
		}
		u.idp.ServeSSO(w, r)
	})
	return u
}

// GetServiceProvider fetches Gatehouse's SP metadata: the SP's entity ID
// is its metadata URL.
func (u *samlUpstream) GetServiceProvider(r *http.Request, id string) (*saml.EntityDescriptor, error) {
	res, err := http.Get(id)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("SP metadata: %d", res.StatusCode)
	}
	var ed saml.EntityDescriptor
	return &ed, xml.Unmarshal(b, &ed)
}

func (u *samlUpstream) GetSession(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest) *saml.Session {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.sess) == 0 {
		http.Error(w, "nobody to sign in", http.StatusUnauthorized)
		return nil
	}
	s := u.sess[0]
	u.sess = u.sess[1:]
	return s
}

func (u *samlUpstream) MakeAssertion(req *saml.IdpAuthnRequest, s *saml.Session) error {
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, s); err != nil {
		return err
	}
	u.mu.Lock()
	hook := u.hook
	u.mu.Unlock()
	if hook != nil {
		hook(req.Assertion)
	}
	return nil
}

// next queues a person signing in with a persistent NameID and an email.
func (u *samlUpstream) next(nameID, email string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.sess = append(u.sess, &saml.Session{
		ID: "s-" + nameID, CreateTime: time.Now(), ExpireTime: time.Now().Add(time.Hour), Index: "idx-" + nameID,
		NameID: nameID, NameIDFormat: string(saml.PersistentNameIDFormat), UserEmail: email, UserName: nameID,
	})
}

func (u *samlUpstream) setHook(h func(*saml.Assertion)) {
	u.mu.Lock()
	u.hook = h
	u.mu.Unlock()
}

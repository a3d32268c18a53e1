package saml

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"gatehouse/clients"
	"gatehouse/storage"
)

// spKey is one RSA key and certificate for every test SP: generating one
// per SP would only slow the tests down.
var spKey = sync.OnceValues(func() (*rsa.PrivateKey, *x509.Certificate) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test service provider"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
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
})

// spOptions shape a test service provider.
type spOptions struct {
	name          string
	signRequests  bool     // AuthnRequestsSigned="true", and it signs
	sloBindings   []string // its SingleLogoutService bindings
	allowedRoles  []string
	byURL         bool // registered by metadata_url rather than inline
	unregistered  bool // not registered at all
	idpInitiated  bool // accepts unsolicited responses
	nameIDFormat  crewsaml.NameIDFormat
	requestedCtx  *crewsaml.RequestedAuthnContext
	metadataEdits func(*crewsaml.EntityDescriptor)
}

// testSP is a crewjam/saml ServiceProvider behind its own httptest server:
// /metadata, /acs (answers JSON: what the SP made of the Response) and
// /slo (records LogoutRequests, checks LogoutResponses).
type testSP struct {
	t   testing.TB
	e   *env
	sp  *crewsaml.ServiceProvider
	srv *httptest.Server

	mu              sync.Mutex
	requestIDs      []string
	metadataFetches int
	logoutRequests  []*etree.Element // LogoutRequests received, signature verified
	logoutResponses []error          // result of validating each LogoutResponse
}

func (e *env) newSP(o spOptions) *testSP {
	e.t.Helper()
	key, cert := spKey()
	ts := &testSP{t: e.t, e: e}
	mux := http.NewServeMux()
	ts.srv = httptest.NewServer(mux)
	e.t.Cleanup(ts.srv.Close)
	base, _ := url.Parse(ts.srv.URL)
	sp := &crewsaml.ServiceProvider{
		EntityID:          ts.srv.URL + "/metadata",
		Key:               key,
		Certificate:       cert,
		MetadataURL:       *base.JoinPath("metadata"),
		AcsURL:            *base.JoinPath("acs"),
		SloURL:            *base.JoinPath("slo"),
		IDPMetadata:       e.idpMetadata(),
		AuthnNameIDFormat: crewsaml.EmailAddressNameIDFormat,
		AllowIDPInitiated: o.idpInitiated,
		LogoutBindings:    o.sloBindings,
	}
	if o.nameIDFormat != "" {
		sp.AuthnNameIDFormat = o.nameIDFormat
	}
	if o.signRequests {
		sp.SignatureMethod = dsig.RSASHA256SignatureMethod
	}
	sp.RequestedAuthnContext = o.requestedCtx
	ts.sp = sp

	mux.HandleFunc("GET /metadata", func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.metadataFetches++
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = w.Write(ts.metadata(o))
	})
	mux.HandleFunc("POST /acs", ts.serveACS)
	mux.HandleFunc("POST /slo", ts.serveSLO)

	if !o.unregistered {
		rec := storage.ServiceProvider{EntityID: sp.EntityID, Name: o.name, AllowedRoles: o.allowedRoles}
		if o.byURL {
			rec.MetadataURL = sp.MetadataURL.String()
		} else {
			rec.Metadata = string(ts.metadata(o))
		}
		ctx := context.Background()
		must(e.t, clients.ValidateServiceProvider(rec))
		must(e.t, e.store.CreateServiceProvider(ctx, rec))
		must(e.t, e.reg.Changed(ctx))
	}
	return ts
}

func (ts *testSP) metadata(o spOptions) []byte {
	md := ts.sp.Metadata()
	if o.metadataEdits != nil {
		o.metadataEdits(md)
	}
	b, err := xml.MarshalIndent(md, "", "  ")
	must(ts.t, err)
	return b
}

// acsResult is what the SP's /acs made of a Response.
type acsResult struct {
	OK           bool                `json:"ok"`
	Error        string              `json:"error,omitempty"`  // the private error, for the test log
	Status       string              `json:"status,omitempty"` // a refusal's top-level status
	SubStatus    string              `json:"sub_status,omitempty"`
	NameID       string              `json:"name_id,omitempty"`
	NameIDFormat string              `json:"name_id_format,omitempty"`
	Attributes   map[string][]string `json:"attributes,omitempty"`
	SessionIndex string              `json:"session_index,omitempty"`
	ClassRef     string              `json:"class_ref,omitempty"`
	InResponseTo string              `json:"in_response_to,omitempty"`
	RelayState   string              `json:"relay_state,omitempty"`
	Raw          string              `json:"raw"` // the Response XML as posted
}

func (ts *testSP) serveACS(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var res acsResult
	res.RelayState = r.PostForm.Get("RelayState")
	raw, _ := base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLResponse"))
	res.Raw = string(raw)
	ts.mu.Lock()
	ids := append([]string(nil), ts.requestIDs...)
	ts.mu.Unlock()
	a, err := ts.sp.ParseResponse(r, ids)
	if err != nil {
		res.Error = err.Error()
		var ire *crewsaml.InvalidResponseError
		if errors.As(err, &ire) {
			res.Error = ire.PrivateErr.Error()
			var bad crewsaml.ErrBadStatus
			if errors.As(ire.PrivateErr, &bad) {
				res.Status = bad.Status
				if doc := etree.NewDocument(); doc.ReadFromString(ire.Response) == nil {
					if sub := doc.FindElement("//Status/StatusCode/StatusCode"); sub != nil {
						res.SubStatus = sub.SelectAttrValue("Value", "")
					}
				}
			}
		}
	} else {
		res.OK = true
		res.NameID = a.Subject.NameID.Value
		res.NameIDFormat = a.Subject.NameID.Format
		res.Attributes = map[string][]string{}
		for _, st := range a.AttributeStatements {
			for _, at := range st.Attributes {
				for _, v := range at.Values {
					res.Attributes[at.Name] = append(res.Attributes[at.Name], v.Value)
				}
			}
		}
		if len(a.AuthnStatements) > 0 {
			res.SessionIndex = a.AuthnStatements[0].SessionIndex
			if c := a.AuthnStatements[0].AuthnContext.AuthnContextClassRef; c != nil {
				res.ClassRef = c.Value
			}
		}
		if len(a.Subject.SubjectConfirmations) > 0 && a.Subject.SubjectConfirmations[0].SubjectConfirmationData != nil {
			res.InResponseTo = a.Subject.SubjectConfirmations[0].SubjectConfirmationData.InResponseTo
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// serveSLO takes a back-channel LogoutRequest (SOAP or a posted form),
// verifying its signature against the IdP's metadata, or a LogoutResponse
// the browser brings back.
func (ts *testSP) serveSLO(w http.ResponseWriter, r *http.Request) {
	var raw []byte
	if strings.HasPrefix(r.Header.Get("Content-Type"), "text/xml") {
		b, _ := io.ReadAll(r.Body)
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		lr := doc.FindElement("//Body/LogoutRequest")
		if lr == nil {
			http.Error(w, "no LogoutRequest", http.StatusBadRequest)
			return
		}
		d := etree.NewDocument()
		d.SetRoot(lr.Copy())
		raw, _ = d.WriteToBytes()
	} else {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.PostForm.Get("SAMLResponse") != "" {
			err := ts.sp.ValidateLogoutResponseRequest(r)
			ts.mu.Lock()
			ts.logoutResponses = append(ts.logoutResponses, err)
			ts.mu.Unlock()
			_, _ = io.WriteString(w, "signed out of the service provider")
			return
		}
		raw, _ = base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLRequest"))
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := ts.verifyFromIdP(doc.Root()); err != nil {
		http.Error(w, "bad signature: "+err.Error(), http.StatusForbidden)
		return
	}
	ts.mu.Lock()
	ts.logoutRequests = append(ts.logoutRequests, doc.Root())
	ts.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	_, _ = io.WriteString(w, `<soap11:Envelope xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Body>`+
		`<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0" IssueInstant="2024-01-01T00:00:00Z">`+
		`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse></soap11:Body></soap11:Envelope>`)
}

// verifyFromIdP checks an enveloped signature against the IdP's metadata
// certificates, as an SP would.
func (ts *testSP) verifyFromIdP(el *etree.Element) error {
	var certs []*x509.Certificate
	for _, kd := range ts.e.idpMetadata().IDPSSODescriptors[0].KeyDescriptors {
		for _, c := range kd.KeyInfo.X509Data.X509Certificates {
			cert, err := parseMetadataCert(c.Data)
			if err != nil {
				return err
			}
			certs = append(certs, cert)
		}
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: certs})
	vc.IdAttribute = "ID"
	_, err := vc.Validate(el)
	return err
}

// authnRequest makes an AuthnRequest as the SP would, remembering its ID.
func (ts *testSP) authnRequest(binding string) *crewsaml.AuthnRequest {
	ts.t.Helper()
	req, err := ts.sp.MakeAuthenticationRequest(ts.sp.GetSSOBindingLocation(binding), binding, crewsaml.HTTPPostBinding)
	must(ts.t, err)
	ts.mu.Lock()
	ts.requestIDs = append(ts.requestIDs, req.ID)
	ts.mu.Unlock()
	return req
}

// redirectURL is an HTTP-Redirect AuthnRequest for the browser to follow.
func (ts *testSP) redirectURL(req *crewsaml.AuthnRequest, relayState string) string {
	ts.t.Helper()
	u, err := req.Redirect(relayState, ts.sp)
	must(ts.t, err)
	return u.String()
}

// postForm is an HTTP-POST AuthnRequest's form fields.
func postFields(t testing.TB, req *crewsaml.AuthnRequest, relayState string) url.Values {
	t.Helper()
	doc := etree.NewDocument()
	doc.SetRoot(req.Element())
	b, err := doc.WriteToBytes()
	must(t, err)
	v := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(b)}}
	if relayState != "" {
		v.Set("RelayState", relayState)
	}
	return v
}

package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/crewjam/saml"

	"gatehouse/storage"
)

// Report is the outcome of testing a connection: OK when every check
// passed. Checks are in the order they ran; a check that fails stops the
// ones that depend on it.
type Report struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// Check is one thing a test looked at, with a sentence saying what it
// found (and, when it failed, what to change).
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// certWarning is how close to its end a signing certificate is reported.
const certWarning = 30 * 24 * time.Hour

// Test is the "test connection" action: it fetches the connection's
// discovery document and keys (OIDC) or its IdP metadata (SAML), bypassing
// the caches, and reports in plain words what is wrong. The error is
// storage.ErrNotFound for an unknown connection, or a backend failure; what
// is wrong upstream is in the Report, never an error.
func (f *Federation) Test(ctx context.Context, connectionID string) (Report, error) {
	c, err := f.store.GetConnection(ctx, connectionID)
	if err != nil {
		return Report{}, err
	}
	var rep Report
	switch c.Type {
	case TypeOIDC:
		rep.Checks = f.testOIDC(ctx, c)
	case TypeSAML:
		rep.Checks = f.testSAML(ctx, c)
	default:
		rep.Checks = []Check{{Name: "type", Detail: fmt.Sprintf("The connection's type is %q; it must be oidc or saml.", c.Type)}}
	}
	rep.OK = !slices.ContainsFunc(rep.Checks, func(ch Check) bool { return !ch.OK })
	return rep, nil
}

// discoveryDoc is what the OIDC test reads of a discovery document.
type discoveryDoc struct {
	Issuer        string   `json:"issuer"`
	AuthURL       string   `json:"authorization_endpoint"`
	TokenURL      string   `json:"token_endpoint"`
	JWKSURL       string   `json:"jwks_uri"`
	ResponseTypes []string `json:"response_types_supported"`
	PKCEMethods   []string `json:"code_challenge_methods_supported"`
}

func (f *Federation) testOIDC(ctx context.Context, c storage.Connection) []Check {
	var out []Check
	add := func(name string, ok bool, format string, args ...any) bool {
		out = append(out, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
		return ok
	}

	u, err := url.Parse(c.Issuer)
	switch {
	case c.Issuer == "":
		add("issuer", false, "The connection has no issuer. Set it to the provider's issuer URL, such as https://login.microsoftonline.com/TENANT_ID/v2.0.")
		return out
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		add("issuer", false, "The issuer %q is not a URL. Set it to the provider's issuer URL, such as https://login.microsoftonline.com/TENANT_ID/v2.0.", c.Issuer)
		return out
	case u.Scheme == "http" && !loopback(u.Hostname()):
		add("issuer", false, "The issuer %s uses plain http; an identity provider must be reached over https.", c.Issuer)
		return out
	}
	add("issuer", true, "The issuer is %s.", c.Issuer)

	clientOK := true
	if c.ClientID == "" {
		clientOK = add("client", false, "The connection has no client ID. Copy it from the application registered at the provider.")
	} else if len(c.ClientSecret) > 0 {
		switch {
		case f.cfg.Box == nil:
			clientOK = add("client", false, "The client secret cannot be read: this server has no encryption key configured.")
		default:
			if _, err := f.cfg.Box.Open(c.ClientSecret); err != nil {
				clientOK = add("client", false, "The client secret cannot be decrypted with this server's key (was the key changed?). Set the secret again.")
			}
		}
		if clientOK {
			add("client", true, "Client ID %s, with a client secret.", c.ClientID)
		}
	} else {
		add("client", true, "Client ID %s, without a client secret: Gatehouse signs in as a public client, with PKCE.", c.ClientID)
	}
	_ = clientOK

	wellKnown := strings.TrimSuffix(c.Issuer, "/") + "/.well-known/openid-configuration"
	raw, err := f.fetch(ctx, wellKnown)
	if err != nil {
		add("discovery", false, "%s", f.describeFetch(wellKnown, err, "discovery document"))
		return out
	}
	var doc discoveryDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		add("discovery", false, "%s did not return a JSON discovery document. Check the issuer URL.", wellKnown)
		return out
	}
	add("discovery", true, "Found the discovery document at %s.", wellKnown)

	if doc.Issuer != c.Issuer {
		hint := ""
		if strings.TrimSuffix(doc.Issuer, "/") == strings.TrimSuffix(c.Issuer, "/") {
			hint = " (they differ only by the final slash, which counts)"
		}
		add("issuer match", false, "The provider calls itself %q, not %q%s. Set the connection's issuer to exactly %q, or its ID tokens will be refused.", doc.Issuer, c.Issuer, hint, doc.Issuer)
	} else {
		add("issuer match", true, "The provider's discovery document names the same issuer.")
	}
	if doc.AuthURL == "" {
		add("authorization endpoint", false, "The discovery document has no authorization_endpoint: this provider cannot sign users in with the code flow.")
	} else {
		add("authorization endpoint", true, "Users are sent to %s.", doc.AuthURL)
	}
	if doc.TokenURL == "" {
		add("token endpoint", false, "The discovery document has no token_endpoint: Gatehouse cannot redeem sign-in codes.")
	} else {
		add("token endpoint", true, "Codes are redeemed at %s.", doc.TokenURL)
	}
	if len(doc.ResponseTypes) > 0 && !slices.Contains(doc.ResponseTypes, "code") {
		add("code flow", false, "The provider does not offer the authorization code flow (response_types_supported has no \"code\").")
	}
	if len(doc.PKCEMethods) > 0 && !slices.Contains(doc.PKCEMethods, "S256") {
		add("PKCE", false, "The provider does not accept PKCE with S256 (code_challenge_methods_supported: %s).", strings.Join(doc.PKCEMethods, ", "))
	}

	if doc.JWKSURL == "" {
		add("signing keys", false, "The discovery document has no jwks_uri: ID tokens cannot be verified.")
		return out
	}
	kraw, err := f.fetch(ctx, doc.JWKSURL)
	if err != nil {
		add("signing keys", false, "%s", f.describeFetch(doc.JWKSURL, err, "signing keys"))
		return out
	}
	var jwks struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(kraw, &jwks); err != nil {
		add("signing keys", false, "%s is not a JSON Web Key Set.", doc.JWKSURL)
	} else if len(jwks.Keys) == 0 {
		add("signing keys", false, "%s lists no keys: ID tokens cannot be verified.", doc.JWKSURL)
	} else {
		add("signing keys", true, "%d signing key(s) published at %s.", len(jwks.Keys), doc.JWKSURL)
	}
	return out
}

func (f *Federation) testSAML(ctx context.Context, c storage.Connection) []Check {
	var out []Check
	add := func(name string, ok bool, format string, args ...any) bool {
		out = append(out, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
		return ok
	}
	var raw []byte
	switch {
	case strings.TrimSpace(c.Metadata) != "":
		raw = []byte(c.Metadata)
		add("metadata", true, "The connection carries the identity provider's metadata inline.")
	case c.MetadataURL == "":
		add("metadata", false, "The connection has neither metadata nor a metadata URL. Paste the identity provider's metadata XML, or give its URL.")
		return out
	default:
		var err error
		raw, err = f.fetch(ctx, c.MetadataURL)
		if err != nil {
			add("metadata", false, "%s", f.describeFetch(c.MetadataURL, err, "metadata"))
			return out
		}
		add("metadata", true, "Fetched the identity provider's metadata from %s.", c.MetadataURL)
	}
	ed, err := parseIdPMetadata(raw)
	if err != nil {
		add("identity provider", false, "The metadata cannot be used: %v.", err)
		return out
	}
	add("identity provider", true, "The metadata describes the identity provider %s.", ed.EntityID)
	now := f.now()
	if !ed.ValidUntil.IsZero() && now.After(ed.ValidUntil) {
		add("metadata validity", false, "The metadata was valid until %s: get a current copy from the identity provider.", ed.ValidUntil.UTC().Format(time.DateOnly))
	}

	sso := ""
	var bindings []string
	for _, d := range ed.IDPSSODescriptors {
		for _, s := range d.SingleSignOnServices {
			bindings = append(bindings, s.Binding)
			if s.Binding == saml.HTTPRedirectBinding && sso == "" {
				sso = s.Location
			}
		}
	}
	switch {
	case sso != "":
		add("sign-in service", true, "Users are sent to %s (HTTP-Redirect binding).", sso)
	case len(bindings) == 0:
		add("sign-in service", false, "The metadata lists no SingleSignOnService: users cannot be sent to this identity provider.")
	default:
		add("sign-in service", false, "The identity provider offers sign-in only through %s; Gatehouse sends users with the HTTP-Redirect binding.", strings.Join(bindings, ", "))
	}

	certs, bad := signingCerts(ed)
	if bad > 0 {
		add("signing certificate", false, "%d certificate(s) in the metadata cannot be read.", bad)
	}
	if len(certs) == 0 {
		add("signing certificate", false, "The metadata has no signing certificate: its assertions cannot be verified, and Gatehouse accepts only signed ones.")
		return out
	}
	usable := 0
	for _, cert := range certs {
		name := certName(cert)
		switch {
		case now.After(cert.NotAfter):
			add("signing certificate", false, "The signing certificate %s expired on %s. The identity provider must publish its new certificate; then update the metadata here.", name, cert.NotAfter.UTC().Format(time.DateOnly))
		case now.Before(cert.NotBefore):
			add("signing certificate", false, "The signing certificate %s is not valid before %s.", name, cert.NotBefore.UTC().Format(time.DateOnly))
		case cert.NotAfter.Sub(now) < certWarning:
			usable++
			add("signing certificate", true, "The signing certificate %s is valid, but expires on %s: plan its replacement.", name, cert.NotAfter.UTC().Format(time.DateOnly))
		default:
			usable++
			add("signing certificate", true, "The signing certificate %s is valid until %s.", name, cert.NotAfter.UTC().Format(time.DateOnly))
		}
	}
	if usable == 0 && len(certs) > 1 {
		add("signing certificate", false, "None of the signing certificates is valid now.")
	}
	return out
}

// signingCerts reads the IdP's signing certificates (use "signing" or
// unset), and counts those that do not parse.
func signingCerts(ed *saml.EntityDescriptor) ([]*x509.Certificate, int) {
	var out []*x509.Certificate
	bad := 0
	space := regexp.MustCompile(`\s+`)
	for _, d := range ed.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, xc := range kd.KeyInfo.X509Data.X509Certificates {
				der, err := base64.StdEncoding.DecodeString(space.ReplaceAllString(xc.Data, ""))
				if err != nil {
					bad++
					continue
				}
				cert, err := x509.ParseCertificate(der)
				if err != nil {
					bad++
					continue
				}
				out = append(out, cert)
			}
		}
	}
	return out, bad
}

func certName(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return fmt.Sprintf("%q", c.Subject.CommonName)
	}
	return "with serial " + c.SerialNumber.String()
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// describeFetch says in plain words why a document could not be had.
func (f *Federation) describeFetch(rawURL string, err error, what string) string {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var status *statusError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	host := rawURL
	if u, perr := url.Parse(rawURL); perr == nil && u.Host != "" {
		host = u.Host
	}
	switch {
	case errors.Is(err, errMisconfigured):
		return fmt.Sprintf("%q is not a URL Gatehouse can fetch.", rawURL)
	case errors.Is(err, errPrivateAddress):
		return fmt.Sprintf("%s is on a loopback, private or link-local address, which Gatehouse does not contact for a partner's connection. Use the provider's public URL.", host)
	case errors.As(err, &status):
		switch status.status {
		case 404:
			return fmt.Sprintf("%s answered 404 Not Found: there is no %s at this address. Check the URL.", rawURL, what)
		case 401, 403:
			return fmt.Sprintf("%s refused access (HTTP %d): the %s must be readable without signing in.", rawURL, status.status, what)
		default:
			return fmt.Sprintf("%s answered HTTP %d instead of the %s.", rawURL, status.status, what)
		}
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("The host %s could not be found (DNS). Check the URL's spelling.", dnsErr.Name)
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return fmt.Sprintf("%s did not answer within %s.", host, f.cfg.Timeout)
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalid):
		return fmt.Sprintf("The TLS certificate of %s is not valid (%v), so Gatehouse cannot trust it.", host, tlsReason(err))
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Sprintf("%s is unreachable: nothing accepts connections at %s (%v).", rawURL, host, opErr.Err)
	default:
		return fmt.Sprintf("The %s could not be fetched from %s: %v.", what, rawURL, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func tlsReason(err error) string {
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknownAuth):
		return "signed by an unknown authority"
	case errors.As(err, &hostErr):
		return "issued for another host name"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "expired"
	case errors.As(err, &invalid):
		return "invalid"
	}
	return "not trusted"
}

// Package provider owns Gatehouse's HTTP surface: the Server that holds the
// one http.ServeMux, the endpoints every deployment has whatever protocols it
// serves (/healthz, /readyz, /metrics, /static/), and the middleware every
// request passes through (panic recovery, body limit, security headers,
// metrics, access log). The protocols and pages live in the packages below
// it (oidc, saml, login, admin, ...) and join the server through Mount.
package provider

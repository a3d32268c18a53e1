// Package e2e checks Gatehouse from outside: it builds the gatehouse
// binary, starts it as an operator would (one node on SQLite, or several on
// PostgreSQL and Redis behind a proxy), and drives it through real relying
// parties, a cookie-keeping HTTP client and a real browser. Nothing here
// reaches into the server's packages; what it knows of Gatehouse is what
// INTERFACE.md says.
package e2e

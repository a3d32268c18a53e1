package admin

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"

	"gatehouse/provider/web"
	"gatehouse/storage"
)

// connIn is the body of POST .../connections; connPatch of PATCH, where
// absent fields stay and an empty client_secret removes the secret.
type connIn struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	Name         string `json:"name"`
	Issuer       string `json:"issuer"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	MetadataURL  string `json:"metadata_url"`
	Metadata     string `json:"metadata"`
}

type connPatch struct {
	Name         *string `json:"name"`
	Issuer       *string `json:"issuer"`
	ClientID     *string `json:"client_id"`
	ClientSecret *string `json:"client_secret"`
	MetadataURL  *string `json:"metadata_url"`
	Metadata     *string `json:"metadata"`
}

var connReadOnly = []string{"id", "type", "partner", "client_secret_set", "created_at"}

// maxMetadata bounds inline SAML metadata.
const maxMetadata = 128 << 10

var errNoConnections = errForbidden("connections need a role of admin or above")

func (h *Handler) listConnections(ctx context.Context, a *actor) ([]storage.Connection, error) {
	if !h.mayConnections(a) {
		return nil, errNoConnections
	}
	return h.store.ListConnections(ctx, a.partner.ID)
}

// connection returns the partner's connection id; another partner's is the
// same 404 as none.
func (h *Handler) connection(ctx context.Context, a *actor, id string) (storage.Connection, error) {
	if !h.mayConnections(a) {
		return storage.Connection{}, errNoConnections
	}
	c, err := h.store.GetConnection(ctx, id)
	if err != nil {
		return c, notFoundAs(err, errNotFound("connection"))
	}
	if c.PartnerID != a.partner.ID {
		return storage.Connection{}, errNotFound("connection")
	}
	return c, nil
}

func (h *Handler) createConnection(ctx context.Context, a *actor, in connIn) (storage.Connection, error) {
	if !h.mayConnections(a) {
		return storage.Connection{}, errNoConnections
	}
	c := storage.Connection{ID: strings.TrimSpace(in.ID), PartnerID: a.partner.ID, Type: strings.TrimSpace(in.Type),
		CreatedAt: h.now(), UpdatedAt: h.now()}
	if e := checkID(c.ID); e != nil {
		return c, e
	}
	if c.Type != "oidc" && c.Type != "saml" {
		return c, errField("type", `must be "oidc" or "saml"`)
	}
	p := connPatch{Name: &in.Name, Issuer: &in.Issuer, ClientID: &in.ClientID, MetadataURL: &in.MetadataURL, Metadata: &in.Metadata}
	if in.ClientSecret != "" {
		p.ClientSecret = &in.ClientSecret
	}
	details, err := h.applyConnection(&c, p)
	if err != nil {
		return c, err
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	// Connection ids are unique across partners (they name callback URLs).
	if _, err := h.store.GetConnection(ctx, c.ID); err == nil {
		return c, errDuplicate("id")
	} else if !errors.Is(err, storage.ErrNotFound) {
		return c, err
	}
	err = h.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.CreateConnection(ctx, c); err != nil {
			return err
		}
		details["type"] = c.Type
		return h.audit(ctx, tx, a, "connection.create", c.ID, details)
	})
	if errors.Is(err, storage.ErrAlreadyExists) {
		return c, errDuplicate("id")
	}
	return c, err
}

func (h *Handler) updateConnection(ctx context.Context, a *actor, id string, in connPatch) (storage.Connection, error) {
	cur, err := h.connection(ctx, a, id)
	if err != nil {
		return cur, err
	}
	// Validated on a copy first, so a bad body never opens a transaction.
	probe := cur
	if _, err := h.applyConnection(&probe, in); err != nil {
		return cur, err
	}
	var out storage.Connection
	err = h.store.InTx(ctx, func(tx storage.Store) error {
		var details map[string]any
		c, err := tx.UpdateConnection(ctx, id, func(old storage.Connection) (storage.Connection, error) {
			if old.PartnerID != a.partner.ID {
				return old, errNotFound("connection")
			}
			c := old
			d, err := h.applyConnection(&c, in)
			details = d
			return c, err
		})
		if err != nil {
			return notFoundAs(err, errNotFound("connection"))
		}
		out = c
		if len(details) == 0 {
			return nil
		}
		return h.audit(ctx, tx, a, "connection.update", c.ID, details)
	})
	return out, err
}

// applyConnection validates and applies p to c and says what changed; the
// secret is sealed and never named in the details beyond that it changed.
func (h *Handler) applyConnection(c *storage.Connection, p connPatch) (map[string]any, error) {
	details := map[string]any{}
	var e *web.APIError
	set := func(field string, dst *string, v *string, max int) {
		if e != nil || v == nil {
			return
		}
		var s string
		if s, e = cleanText(field, *v, max, false); e == nil {
			change(details, field, dst, true, s)
		}
	}
	set("name", &c.Name, p.Name, maxName)
	set("issuer", &c.Issuer, p.Issuer, maxText)
	set("client_id", &c.ClientID, p.ClientID, maxText)
	set("metadata_url", &c.MetadataURL, p.MetadataURL, maxText)
	if e != nil {
		return nil, e
	}
	if p.Metadata != nil && *p.Metadata != c.Metadata {
		if len(*p.Metadata) > maxMetadata {
			return nil, errField("metadata", "is larger than 128 KiB")
		}
		c.Metadata = strings.TrimSpace(*p.Metadata)
		details["metadata"] = "changed"
	}
	if p.ClientSecret != nil {
		switch {
		case *p.ClientSecret == "":
			c.ClientSecret = nil
		case h.cfg.Box == nil:
			return nil, errors.New("admin: no key to seal a connection's client secret (Config.Box)")
		default:
			sealed, err := h.cfg.Box.Seal([]byte(*p.ClientSecret))
			if err != nil {
				return nil, err
			}
			c.ClientSecret = sealed
		}
		details["client_secret"] = "changed"
	}
	switch c.Type {
	case "oidc":
		if c.Issuer == "" {
			return nil, errField("issuer", "is required for an oidc connection")
		}
		if !webURL(c.Issuer) {
			return nil, errField("issuer", "must be an https URL (http only for localhost)")
		}
		if c.ClientID == "" {
			return nil, errField("client_id", "is required for an oidc connection")
		}
		if c.MetadataURL != "" || c.Metadata != "" {
			return nil, errField("metadata_url", "only saml connections have metadata")
		}
	case "saml":
		if c.MetadataURL == "" && c.Metadata == "" {
			return nil, errField("metadata_url", "a saml connection needs metadata_url or metadata")
		}
		if c.MetadataURL != "" && !webURL(c.MetadataURL) {
			return nil, errField("metadata_url", "must be an https URL (http only for localhost)")
		}
		if c.Metadata != "" && !strings.HasPrefix(c.Metadata, "<") {
			return nil, errField("metadata", "must be SAML metadata XML")
		}
		if c.Issuer != "" || c.ClientID != "" || len(c.ClientSecret) > 0 {
			return nil, errField("issuer", "only oidc connections have an issuer, client_id and client_secret")
		}
	}
	return details, nil
}

// webURL accepts an absolute https URL, or http on a loopback host.
func webURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		host := u.Hostname()
		ip := net.ParseIP(host)
		return host == "localhost" || (ip != nil && ip.IsLoopback())
	}
	return false
}

// deleteConnection deletes a connection, unless it is the partner's last
// and users sign in through SSO: they would be left with no way in (409).
func (h *Handler) deleteConnection(ctx context.Context, a *actor, id string) error {
	c, err := h.connection(ctx, a, id)
	if err != nil {
		return err
	}
	all, err := h.store.ListConnections(ctx, a.partner.ID)
	if err != nil {
		return err
	}
	if len(all) == 1 {
		inUse, err := h.anySSOUser(ctx, a.partner.ID)
		if err != nil {
			return err
		}
		if inUse {
			return errConflict("users sign in through this connection; turn their sso off first")
		}
	}
	err = h.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.DeleteConnection(ctx, id); err != nil {
			return notFoundAs(err, errNotFound("connection"))
		}
		return h.audit(ctx, tx, a, "connection.delete", id, map[string]any{"type": c.Type, "name": c.Name})
	})
	return err
}

// anySSOUser reports whether any of the partner's users has sso on (the
// store has no filter on sso, so this pages through them).
func (h *Handler) anySSOUser(ctx context.Context, partnerID string) (bool, error) {
	page := storage.Page{Limit: 500}
	for {
		users, next, err := h.store.ListUsers(ctx, storage.UserFilter{PartnerID: partnerID}, page)
		if err != nil {
			return false, err
		}
		for _, u := range users {
			if u.SSO {
				return true, nil
			}
		}
		if next == "" {
			return false, nil
		}
		page.Token = next
	}
}

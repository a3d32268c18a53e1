package conformance

import (
	"testing"
	"time"

	"gatehouse/storage"
)

func durableConnections(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	durableMkPartner(t, s, "acme")
	durableMkPartner(t, s, "other")
	oidc := storage.Connection{
		ID: "acme-entra", PartnerID: "acme", Type: "oidc", Name: "Entra", Issuer: "https://login.example.com/t/v2.0",
		ClientID: "gatehouse", ClientSecret: []byte{0, 1, 2, 255}, CreatedAt: durableT0, UpdatedAt: durableT0,
	}
	saml := storage.Connection{
		ID: "acme-okta", PartnerID: "acme", Type: "saml", Name: "Okta", MetadataURL: "https://okta.example/md",
		Metadata: "<EntityDescriptor/>", CreatedAt: durableT0, UpdatedAt: durableT0,
	}
	for _, c := range []storage.Connection{oidc, saml} {
		durableOK(t, s.CreateConnection(ctx, c), "CreateConnection(%s)", c.ID)
	}
	durableOK(t, s.CreateConnection(ctx, storage.Connection{ID: "other-idp", PartnerID: "other", Type: "oidc"}), "CreateConnection(other)")
	durableErrIs(t, s.CreateConnection(ctx, oidc), storage.ErrAlreadyExists, "CreateConnection twice")

	got, err := s.GetConnection(ctx, "acme-entra")
	durableOK(t, err, "GetConnection")
	durableSame(t, got, oidc, "GetConnection round trip")
	_, err = s.GetConnection(ctx, "nobody")
	durableErrIs(t, err, storage.ErrNotFound, "GetConnection(unknown)")

	list, err := s.ListConnections(ctx, "acme")
	durableOK(t, err, "ListConnections")
	if len(list) != 2 {
		t.Fatalf("ListConnections(acme) = %d connections, want 2", len(list))
	}

	updated, err := s.UpdateConnection(ctx, "acme-entra", func(c storage.Connection) (storage.Connection, error) {
		c.ClientSecret, c.Issuer = []byte("rotated"), "https://login.example.com/t2/v2.0"
		return c, nil
	})
	durableOK(t, err, "UpdateConnection")
	got, err = s.GetConnection(ctx, "acme-entra")
	durableOK(t, err, "GetConnection after update")
	durableSame(t, got, updated, "GetConnection returns what UpdateConnection returned")
	if string(got.ClientSecret) != "rotated" {
		t.Fatalf("UpdateConnection stored %+v", got)
	}
	_, err = s.UpdateConnection(ctx, "nobody", func(c storage.Connection) (storage.Connection, error) { return c, nil })
	durableErrIs(t, err, storage.ErrNotFound, "UpdateConnection(unknown)")

	durableOK(t, s.DeleteConnection(ctx, "acme-entra"), "DeleteConnection")
	durableErrIs(t, s.DeleteConnection(ctx, "acme-entra"), storage.ErrNotFound, "DeleteConnection twice")
	_, err = s.GetConnection(ctx, "acme-entra")
	durableErrIs(t, err, storage.ErrNotFound, "GetConnection after delete")
}

func durableClient(id string) storage.Client {
	return storage.Client{
		ID: id, Name: "Client " + id, SecretHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		RedirectURIs:            []string{"https://" + id + ".example/callback", "http://localhost:3000/cb"},
		PostLogoutRedirectURIs:  []string{"https://" + id + ".example/"},
		BackchannelLogoutURI:    "https://" + id + ".example/backchannel-logout",
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		Scopes:                  []string{"openid", "profile", "email", "roles", "offline_access"},
		TokenEndpointAuthMethod: "client_secret_basic", JWKSURI: "https://" + id + ".example/jwks",
		AllowedRoles: []string{"owner", "admin"}, FirstParty: true, IDTokenAlg: "ES256",
		CreatedAt: durableT0, UpdatedAt: durableT0,
	}
}

func durableClients(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	app := durableClient("academy")
	public := storage.Client{ID: "spa", Name: "SPA", RedirectURIs: []string{"https://spa.example/cb"},
		TokenEndpointAuthMethod: "none", CreatedAt: durableT0, UpdatedAt: durableT0}
	durableOK(t, s.CreateClient(ctx, app), "CreateClient")
	durableOK(t, s.CreateClient(ctx, public), "CreateClient(public)")
	durableErrIs(t, s.CreateClient(ctx, app), storage.ErrAlreadyExists, "CreateClient twice")

	got, err := s.GetClient(ctx, "academy")
	durableOK(t, err, "GetClient")
	durableSame(t, got, app, "GetClient round trip")
	got, err = s.GetClient(ctx, "spa")
	durableOK(t, err, "GetClient(public)")
	durableSame(t, got, public, "public client round trip")
	if !got.Public() || got.AllowedRoles != nil {
		t.Fatalf("public client came back as %+v", got)
	}
	_, err = s.GetClient(ctx, "nobody")
	durableErrIs(t, err, storage.ErrNotFound, "GetClient(unknown)")

	list, err := s.ListClients(ctx)
	durableOK(t, err, "ListClients")
	if len(list) != 2 {
		t.Fatalf("ListClients = %d clients, want 2", len(list))
	}

	updated, err := s.UpdateClient(ctx, "academy", func(c storage.Client) (storage.Client, error) {
		c.RedirectURIs = append(c.RedirectURIs, "https://academy.example/cb2")
		c.AllowedRoles = nil
		return c, nil
	})
	durableOK(t, err, "UpdateClient")
	got, err = s.GetClient(ctx, "academy")
	durableOK(t, err, "GetClient after update")
	durableSame(t, got, updated, "GetClient returns what UpdateClient returned")
	if len(got.RedirectURIs) != 3 || len(got.AllowedRoles) != 0 {
		t.Fatalf("UpdateClient stored %+v", got)
	}
	_, err = s.UpdateClient(ctx, "nobody", func(c storage.Client) (storage.Client, error) { return c, nil })
	durableErrIs(t, err, storage.ErrNotFound, "UpdateClient(unknown)")

	durableOK(t, s.DeleteClient(ctx, "academy"), "DeleteClient")
	durableErrIs(t, s.DeleteClient(ctx, "academy"), storage.ErrNotFound, "DeleteClient twice")
	_, err = s.GetClient(ctx, "academy")
	durableErrIs(t, err, storage.ErrNotFound, "GetClient after delete")
}

func durableServiceProviders(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	kb := storage.ServiceProvider{
		EntityID: "https://kb.example/saml/metadata", Name: "Knowledge Base", Metadata: "<EntityDescriptor/>",
		MetadataURL: "https://kb.example/saml/metadata", AllowedRoles: []string{"tech"},
		CreatedAt: durableT0, UpdatedAt: durableT0,
	}
	durableOK(t, s.CreateServiceProvider(ctx, kb), "CreateServiceProvider")
	durableOK(t, s.CreateServiceProvider(ctx, storage.ServiceProvider{EntityID: "urn:other"}), "CreateServiceProvider(other)")
	durableErrIs(t, s.CreateServiceProvider(ctx, kb), storage.ErrAlreadyExists, "CreateServiceProvider twice")

	got, err := s.GetServiceProvider(ctx, kb.EntityID)
	durableOK(t, err, "GetServiceProvider")
	durableSame(t, got, kb, "GetServiceProvider round trip")
	_, err = s.GetServiceProvider(ctx, "urn:nobody")
	durableErrIs(t, err, storage.ErrNotFound, "GetServiceProvider(unknown)")
	list, err := s.ListServiceProviders(ctx)
	durableOK(t, err, "ListServiceProviders")
	if len(list) != 2 {
		t.Fatalf("ListServiceProviders = %d, want 2", len(list))
	}

	updated, err := s.UpdateServiceProvider(ctx, kb.EntityID, func(sp storage.ServiceProvider) (storage.ServiceProvider, error) {
		sp.Metadata, sp.AllowedRoles = "<EntityDescriptor v2/>", []string{"tech", "support"}
		return sp, nil
	})
	durableOK(t, err, "UpdateServiceProvider")
	got, err = s.GetServiceProvider(ctx, kb.EntityID)
	durableOK(t, err, "GetServiceProvider after update")
	durableSame(t, got, updated, "GetServiceProvider returns what UpdateServiceProvider returned")
	_, err = s.UpdateServiceProvider(ctx, "urn:nobody", func(sp storage.ServiceProvider) (storage.ServiceProvider, error) { return sp, nil })
	durableErrIs(t, err, storage.ErrNotFound, "UpdateServiceProvider(unknown)")

	durableOK(t, s.DeleteServiceProvider(ctx, kb.EntityID), "DeleteServiceProvider")
	durableErrIs(t, s.DeleteServiceProvider(ctx, kb.EntityID), storage.ErrNotFound, "DeleteServiceProvider twice")
}

func durableKeys(t *testing.T, s storage.Store) {
	ctx := durableCtx(t)
	var keys []storage.SigningKey
	for i, id := range []string{"k-old", "k-mid", "k-new"} {
		k := storage.SigningKey{ID: id, Alg: "RS256", PrivateKey: []byte("der-" + id),
			CreatedAt: durableT0.Add(time.Duration(i) * time.Hour)}
		if i < 2 {
			k.RetiredAt = durableT0.Add(time.Duration(i+1) * time.Hour)
		} else {
			k.Active = true
		}
		durableOK(t, s.CreateKey(ctx, k), "CreateKey(%s)", id)
		keys = append(keys, k)
	}
	durableErrIs(t, s.CreateKey(ctx, keys[0]), storage.ErrAlreadyExists, "CreateKey twice")

	list, err := s.ListKeys(ctx)
	durableOK(t, err, "ListKeys")
	durableSame(t, list, []storage.SigningKey{keys[2], keys[1], keys[0]}, "ListKeys newest first")

	retired := durableT0.Add(10 * time.Hour)
	updated, err := s.UpdateKey(ctx, "k-new", func(k storage.SigningKey) (storage.SigningKey, error) {
		k.Active, k.RetiredAt = false, retired
		return k, nil
	})
	durableOK(t, err, "UpdateKey")
	if updated.Active || !updated.RetiredAt.Equal(retired) {
		t.Fatalf("UpdateKey returned %+v", updated)
	}
	list, err = s.ListKeys(ctx)
	durableOK(t, err, "ListKeys after update")
	durableSame(t, list[0], updated, "ListKeys shows the update")
	_, err = s.UpdateKey(ctx, "nobody", func(k storage.SigningKey) (storage.SigningKey, error) { return k, nil })
	durableErrIs(t, err, storage.ErrNotFound, "UpdateKey(unknown)")

	durableOK(t, s.DeleteKey(ctx, "k-old"), "DeleteKey")
	durableErrIs(t, s.DeleteKey(ctx, "k-old"), storage.ErrNotFound, "DeleteKey twice")
	list, err = s.ListKeys(ctx)
	durableOK(t, err, "ListKeys after delete")
	if len(list) != 2 {
		t.Fatalf("ListKeys after delete = %d keys, want 2", len(list))
	}
}

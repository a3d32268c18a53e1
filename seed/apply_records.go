package seed

import (
	"errors"
	"fmt"
	"slices"

	"gatehouse/provider/policy"
	"gatehouse/storage"
)

func (w *writer) users(p *plan) error {
	for _, pu := range p.users {
		if err := w.user(pu); err != nil {
			return fmt.Errorf("seed: user %s: %w", pu.u.Email, err)
		}
	}
	return nil
}

func (w *writer) user(pu plannedUser) error {
	want := pu.u
	old, err := w.tx.GetUserByEmail(w.ctx, want.Email)
	exists := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}

	// The password: keep a stored hash that already verifies the seed's
	// password; absent from the seed, keep whatever is stored.
	want.PasswordHash = old.PasswordHash
	want.PasswordChangedAt = old.PasswordChangedAt
	var changed bool
	switch {
	case pu.password != "":
		want.PasswordHash, changed, err = w.hashUnlessSame(old.PasswordHash, pu.password)
		if err != nil {
			return err
		}
	case pu.passwordHash != "" && pu.passwordHash != old.PasswordHash:
		want.PasswordHash, changed = pu.passwordHash, true
	}
	if changed {
		want.PasswordChangedAt = w.now
	}

	var userID string
	switch {
	case !exists:
		want.ID = w.newID()
		want.Notifications = defaultNotifications(want.Role)
		if err := w.tx.CreateUser(w.ctx, want); err != nil {
			return err
		}
		userID = want.ID
	case sameUser(old, want):
		userID = old.ID
	default:
		_, err := w.tx.UpdateUser(w.ctx, old.ID, func(o storage.User) (storage.User, error) {
			o.Name, o.Kind, o.Role, o.Phone, o.Username = want.Name, want.Kind, want.Role, want.Phone, want.Username
			o.OrganizationID, o.Active, o.SSO, o.PasswordResetDisabled = want.OrganizationID, want.Active, want.SSO, want.PasswordResetDisabled
			o.PasswordHash, o.PasswordChangedAt = want.PasswordHash, want.PasswordChangedAt
			return o, nil
		})
		if err != nil {
			return err
		}
		userID = old.ID
	}
	factorChanged, err := w.totp(userID, exists, pu.totp)
	if err != nil {
		return err
	}
	w.count(want.PartnerID, !exists, exists && (factorChanged || !sameUser(old, want)))
	return nil
}

func sameUser(o, want storage.User) bool {
	return o.PartnerID == want.PartnerID && o.Name == want.Name && o.Kind == want.Kind && o.Role == want.Role &&
		o.Phone == want.Phone && o.Username == want.Username && o.OrganizationID == want.OrganizationID &&
		o.Active == want.Active && o.SSO == want.SSO && o.PasswordResetDisabled == want.PasswordResetDisabled &&
		o.PasswordHash == want.PasswordHash
}

// defaultNotifications turns on, for a new user, every notification type
// their role may receive.
func defaultNotifications(role string) storage.Notifications {
	return storage.Notifications{
		Error:     policy.MayReceive("error", role),
		Invoice:   policy.MayReceive("invoice", role),
		General:   policy.MayReceive("general", role),
		Frequency: "immediately",
	}
}

// totp makes sure the user has a TOTP factor with secret (canonical
// base32; see TOTPFactorName for the stored form). A factor that already
// holds the secret is left alone; the seed's own factor with another
// secret is replaced; factors the user enrolled themselves are kept.
func (w *writer) totp(userID string, exists bool, secret string) (bool, error) {
	if secret == "" {
		return false, nil
	}
	var seeded *storage.Factor
	if exists {
		factors, err := w.tx.ListFactors(w.ctx, userID)
		if err != nil {
			return false, err
		}
		for i, f := range factors {
			if f.Kind != storage.FactorTOTP {
				continue
			}
			if w.sealedEquals(f.Secret, secret) {
				return false, nil
			}
			if f.Name == TOTPFactorName && seeded == nil {
				seeded = &factors[i]
			}
		}
	}
	sealed, err := w.Box.Seal([]byte(secret))
	if err != nil {
		return false, err
	}
	if seeded != nil {
		_, err := w.tx.UpdateFactor(w.ctx, seeded.ID, func(f storage.Factor) (storage.Factor, error) {
			f.Secret = sealed
			return f, nil
		})
		return true, err
	}
	return true, w.tx.CreateFactor(w.ctx, storage.Factor{
		ID: w.newID(), UserID: userID, Kind: storage.FactorTOTP, Name: TOTPFactorName, Secret: sealed, CreatedAt: w.now,
	})
}

func (w *writer) clients(p *plan) error {
	for _, pc := range p.clients {
		want := pc.c
		old, err := w.tx.GetClient(w.ctx, want.ID)
		exists := err == nil
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("seed: client %s: %w", want.ID, err)
		}
		if pc.secret != "" {
			if want.SecretHash, _, err = w.hashUnlessSame(old.SecretHash, pc.secret); err != nil {
				return fmt.Errorf("seed: client %s: %w", want.ID, err)
			}
		}
		err = upsert(w, "", want,
			func() (storage.Client, error) { return old, errNotFoundUnless(exists) },
			func(o storage.Client) bool { return sameClient(o, want) },
			func() error { return w.tx.CreateClient(w.ctx, want) },
			func() error {
				_, err := w.tx.UpdateClient(w.ctx, want.ID, func(o storage.Client) (storage.Client, error) {
					want.CreatedAt = o.CreatedAt
					return want, nil
				})
				return err
			})
		if err != nil {
			return fmt.Errorf("seed: client %s: %w", want.ID, err)
		}
	}
	return nil
}

func sameClient(o, c storage.Client) bool {
	return o.Name == c.Name && o.SecretHash == c.SecretHash &&
		slices.Equal(o.RedirectURIs, c.RedirectURIs) && slices.Equal(o.PostLogoutRedirectURIs, c.PostLogoutRedirectURIs) &&
		o.BackchannelLogoutURI == c.BackchannelLogoutURI && slices.Equal(o.GrantTypes, c.GrantTypes) &&
		slices.Equal(o.Scopes, c.Scopes) && o.TokenEndpointAuthMethod == c.TokenEndpointAuthMethod &&
		o.JWKSURI == c.JWKSURI && slices.Equal(o.AllowedRoles, c.AllowedRoles) && o.FirstParty == c.FirstParty &&
		o.IDTokenAlg == c.IDTokenAlg
}

func (w *writer) serviceProviders(p *plan) error {
	for _, want := range p.sps {
		old, err := w.tx.GetServiceProvider(w.ctx, want.EntityID)
		exists := err == nil
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("seed: service provider %s: %w", want.EntityID, err)
		}
		// With metadata_url alone, Metadata caches what the SAML layer
		// fetched: keep it.
		if want.MetadataURL != "" && want.Metadata == "" && old.MetadataURL == want.MetadataURL {
			want.Metadata = old.Metadata
		}
		err = upsert(w, "", want,
			func() (storage.ServiceProvider, error) { return old, errNotFoundUnless(exists) },
			func(o storage.ServiceProvider) bool {
				return o.Name == want.Name && o.Metadata == want.Metadata && o.MetadataURL == want.MetadataURL &&
					slices.Equal(o.AllowedRoles, want.AllowedRoles)
			},
			func() error { return w.tx.CreateServiceProvider(w.ctx, want) },
			func() error {
				_, err := w.tx.UpdateServiceProvider(w.ctx, want.EntityID, func(o storage.ServiceProvider) (storage.ServiceProvider, error) {
					o.Name, o.Metadata, o.MetadataURL, o.AllowedRoles = want.Name, want.Metadata, want.MetadataURL, want.AllowedRoles
					return o, nil
				})
				return err
			})
		if err != nil {
			return fmt.Errorf("seed: service provider %s: %w", want.EntityID, err)
		}
	}
	return nil
}

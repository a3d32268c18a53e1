package seed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"gatehouse/keys"
	"gatehouse/passwords"
	"gatehouse/provider/policy"
	"gatehouse/storage"
)

// TOTPFactorName labels the TOTP factor a seed enrols, so a later apply
// with another secret replaces that factor rather than adding one.
//
// Encoding, for whoever verifies codes: Factor.Secret is
// box.Seal([]byte(S)) where S is the secret as RFC 4648 base32 text,
// upper case, without padding or spaces ("JBSWY3DPEHPK3PXP"): the form
// otpauth:// URIs and github.com/pquerna/otp take. Open it with the same
// box and pass the text on as it is.
const TOTPFactorName = "seed"

// AuditAction is the audit event recorded for each partner a seed changed.
const AuditAction = "seed.apply"

// Applier applies seed files to a store.
type Applier struct {
	Store  storage.Store
	Box    *keys.Box        // seals TOTP secrets and connection secrets
	Params passwords.Params // for new password and client-secret hashes
	Roles  *policy.Catalogue
	Now    func() time.Time // time.Now when nil
	Rand   io.Reader        // new ids; crypto/rand when nil
}

// Result counts what an apply did, record by record (a user's TOTP factor
// counts as part of the user).
type Result struct {
	Created, Updated, Unchanged int
}

// Changed is how many records were written.
func (r Result) Changed() int { return r.Created + r.Updated }

func (r Result) String() string {
	return fmt.Sprintf("%d created, %d updated, %d unchanged", r.Created, r.Updated, r.Unchanged)
}

// Apply validates f whole and, if it is sound, writes it in one
// transaction. On any problem it returns *Error and writes nothing.
// Several nodes may apply the same seed at once (each at start): a lost
// race on a unique key is retried, and then finds the records in place.
func (a *Applier) Apply(ctx context.Context, f *File) (Result, error) {
	var res Result
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = a.Store.InTx(ctx, func(tx storage.Store) error {
			var err error
			res, err = a.applyTx(ctx, tx, f)
			return err
		})
		if !errors.Is(err, storage.ErrAlreadyExists) && !errors.Is(err, storage.ErrConflict) {
			break
		}
	}
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

func (a *Applier) applyTx(ctx context.Context, tx storage.Store, f *File) (Result, error) {
	p, err := check(ctx, f, tx, a.Roles)
	if err != nil {
		return Result{}, err
	}
	w := &writer{Applier: a, ctx: ctx, tx: tx, now: a.now().UTC(), touched: map[string]*Result{}}
	steps := []func(*plan) error{w.partners, w.organizations, w.connections, w.users, w.clients, w.serviceProviders}
	for _, step := range steps {
		if err := step(p); err != nil {
			return Result{}, err
		}
	}
	if err := w.audit(filepath.Base(f.Path)); err != nil {
		return Result{}, err
	}
	return w.total, nil
}

func (a *Applier) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// writer carries one apply's transaction and its tally.
type writer struct {
	*Applier
	ctx     context.Context
	tx      storage.Store
	now     time.Time
	total   Result
	touched map[string]*Result // per partner, for the audit log
}

// count tallies one record: created (c), updated (u) or neither.
func (w *writer) count(partnerID string, created, updated bool) {
	r := &w.total
	switch {
	case created:
		r.Created++
	case updated:
		r.Updated++
	default:
		r.Unchanged++
		return
	}
	if partnerID == "" {
		return
	}
	t := w.touched[partnerID]
	if t == nil {
		t = &Result{}
		w.touched[partnerID] = t
	}
	if created {
		t.Created++
	} else {
		t.Updated++
	}
}

// upsert creates want when get finds nothing, updates it when same says
// the stored record differs, and otherwise leaves it alone.
func upsert[T any](w *writer, partnerID string, want T,
	get func() (T, error), same func(old T) bool,
	create func() error, update func() error,
) error {
	old, err := get()
	switch {
	case errors.Is(err, storage.ErrNotFound):
		if err := create(); err != nil {
			return err
		}
		w.count(partnerID, true, false)
	case err != nil:
		return err
	case same(old):
		w.count(partnerID, false, false)
	default:
		if err := update(); err != nil {
			return err
		}
		w.count(partnerID, false, true)
	}
	return nil
}

func (w *writer) partners(p *plan) error {
	for _, want := range p.partners {
		err := upsert(w, want.ID, want,
			func() (storage.Partner, error) { return w.tx.GetPartner(w.ctx, want.ID) },
			func(o storage.Partner) bool {
				return o.Name == want.Name && o.Domain == want.Domain && o.PrimaryEmail == want.PrimaryEmail && o.RequireMFA == want.RequireMFA
			},
			func() error { return w.tx.CreatePartner(w.ctx, want) },
			func() error {
				_, err := w.tx.UpdatePartner(w.ctx, want.ID, func(o storage.Partner) (storage.Partner, error) {
					o.Name, o.Domain, o.PrimaryEmail, o.RequireMFA = want.Name, want.Domain, want.PrimaryEmail, want.RequireMFA
					return o, nil
				})
				return err
			})
		if err != nil {
			return fmt.Errorf("seed: partner %s: %w", want.ID, err)
		}
	}
	return nil
}

func (w *writer) organizations(p *plan) error {
	for _, want := range p.orgs {
		err := upsert(w, want.PartnerID, want,
			func() (storage.Organization, error) { return w.tx.GetOrganization(w.ctx, want.PartnerID, want.ID) },
			func(o storage.Organization) bool {
				return o.Name == want.Name && o.CoManagement == want.CoManagement && o.SaaSAccount == want.SaaSAccount
			},
			func() error { return w.tx.CreateOrganization(w.ctx, want) },
			func() error {
				_, err := w.tx.UpdateOrganization(w.ctx, want.PartnerID, want.ID, func(o storage.Organization) (storage.Organization, error) {
					o.Name, o.CoManagement, o.SaaSAccount = want.Name, want.CoManagement, want.SaaSAccount
					return o, nil
				})
				return err
			})
		if err != nil {
			return fmt.Errorf("seed: organization %s: %w", want.ID, err)
		}
	}
	return nil
}

func (w *writer) connections(p *plan) error {
	for _, pc := range p.connections {
		want := pc.c
		old, err := w.tx.GetConnection(w.ctx, want.ID)
		exists := err == nil
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("seed: connection %s: %w", want.ID, err)
		}
		// The stored secret is sealed with a random nonce: compare the
		// plaintext, and reseal only when it changed.
		want.ClientSecret = old.ClientSecret
		if !exists || !w.sealedEquals(old.ClientSecret, pc.secret) {
			if want.ClientSecret, err = w.seal(pc.secret); err != nil {
				return fmt.Errorf("seed: connection %s: %w", want.ID, err)
			}
		}
		err = upsert(w, want.PartnerID, want,
			func() (storage.Connection, error) { return old, errNotFoundUnless(exists) },
			func(o storage.Connection) bool {
				return o.Type == want.Type && o.Name == want.Name && o.Issuer == want.Issuer && o.ClientID == want.ClientID &&
					o.MetadataURL == want.MetadataURL && o.Metadata == want.Metadata && slices.Equal(o.ClientSecret, want.ClientSecret)
			},
			func() error { return w.tx.CreateConnection(w.ctx, want) },
			func() error {
				_, err := w.tx.UpdateConnection(w.ctx, want.ID, func(o storage.Connection) (storage.Connection, error) {
					o.Type, o.Name, o.Issuer, o.ClientID = want.Type, want.Name, want.Issuer, want.ClientID
					o.MetadataURL, o.Metadata, o.ClientSecret = want.MetadataURL, want.Metadata, want.ClientSecret
					return o, nil
				})
				return err
			})
		if err != nil {
			return fmt.Errorf("seed: connection %s: %w", want.ID, err)
		}
	}
	return nil
}

// seal encrypts a secret; an empty secret stays empty.
func (w *writer) seal(secret string) ([]byte, error) {
	if secret == "" {
		return nil, nil
	}
	return w.Box.Seal([]byte(secret))
}

// sealedEquals reports whether sealed holds plaintext.
func (w *writer) sealedEquals(sealed []byte, plaintext string) bool {
	if len(sealed) == 0 {
		return plaintext == ""
	}
	got, err := w.Box.Open(sealed)
	return err == nil && string(got) == plaintext
}

// hashUnlessSame returns the stored hash when it already verifies secret,
// and a new argon2id hash otherwise: hashing again would change the stored
// bytes (a new salt) and make a second apply write.
func (w *writer) hashUnlessSame(stored, secret string) (hash string, changed bool, err error) {
	if stored != "" {
		if ok, _, err := passwords.Verify(w.Params, stored, secret); err == nil && ok {
			return stored, false, nil
		}
	}
	h, err := passwords.Hash(w.Params, secret)
	return h, true, err
}

func (w *writer) newID() string {
	r := w.Rand
	if r == nil {
		r = rand.Reader
	}
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		panic("seed: randomness failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// audit records one event per partner whose records changed.
func (w *writer) audit(file string) error {
	ids := make([]string, 0, len(w.touched))
	for id := range w.touched {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		t := w.touched[id]
		err := w.tx.AppendAudit(w.ctx, storage.AuditEvent{
			ID: w.newID(), PartnerID: id, Time: w.now, Actor: "seed", Action: AuditAction, Target: id,
			Details: map[string]any{"file": file, "created": t.Created, "updated": t.Updated},
		})
		if err != nil {
			return fmt.Errorf("seed: audit for partner %s: %w", id, err)
		}
	}
	return nil
}

func errNotFoundUnless(exists bool) error {
	if exists {
		return nil
	}
	return storage.ErrNotFound
}

package login

import (
	"context"
	"strings"
	"sync"
	"time"

	"gatehouse/storage"
)

// partnerRefresh is how stale the domain table may get. A new partner can
// sign in co-managing users within this long on every node.
const partnerRefresh = time.Minute

// partnerDomains maps a partner's domain to its ID, for co-managing users
// who sign in as username@domain. It reads every partner at most once a
// minute, so a flood of sign-ins with unknown domains costs no SQL.
type partnerDomains struct {
	dir storage.Directory
	now func() time.Time

	mu      sync.Mutex
	byName  map[string]string
	loaded  time.Time
	loading chan struct{} // closed when a load in progress ends
}

// lookup returns the partner whose domain is domain.
func (p *partnerDomains) lookup(ctx context.Context, domain string) (string, bool, error) {
	domain = strings.ToLower(domain)
	for {
		p.mu.Lock()
		if p.byName != nil && p.now().Sub(p.loaded) < partnerRefresh {
			id, ok := p.byName[domain]
			p.mu.Unlock()
			return id, ok, nil
		}
		if wait := p.loading; wait != nil {
			// Another request is loading: wait for it rather than all
			// reading the table at once.
			p.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return "", false, ctx.Err()
			}
		}
		done := make(chan struct{})
		p.loading = done
		p.mu.Unlock()

		partners, err := p.dir.ListPartners(ctx)
		p.mu.Lock()
		p.loading = nil
		close(done)
		if err != nil {
			p.mu.Unlock()
			return "", false, err
		}
		m := make(map[string]string, len(partners))
		for _, pt := range partners {
			if pt.Domain != "" {
				m[strings.ToLower(pt.Domain)] = pt.ID
			}
		}
		p.byName, p.loaded = m, p.now()
		id, ok := m[domain]
		p.mu.Unlock()
		return id, ok, nil
	}
}

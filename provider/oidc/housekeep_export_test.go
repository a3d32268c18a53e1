package oidc

import (
	"context"
	"time"
)

// HousekeepEvery runs Housekeep's loop on waits the test controls.
func (p *Provider) HousekeepEvery(ctx context.Context, wait func() <-chan time.Time) {
	p.housekeepEvery(ctx, wait)
}

package oidc

import (
	"context"
	"math/rand/v2"
	"time"
)

// housekeepInterval is how often Housekeep deletes expired refresh tokens.
// Expired tokens are refused whether or not they are still stored, so this
// only bounds how far the table grows.
const housekeepInterval = time.Hour

// housekeepFirst bounds the wait before a node's first sweep: soon
// enough that nodes restarted more often than hourly still sweep.
const housekeepFirst = 10 * time.Minute

// Housekeep deletes expired refresh tokens about once an hour until ctx
// ends. Each wait is jittered (the first one anywhere within
// housekeepFirst), so nodes started together do not all sweep at the same
// moment; several nodes sweeping is harmless, as a delete of what is
// already gone deletes nothing. Run it in its own goroutine, with the
// node's background context.
func (p *Provider) Housekeep(ctx context.Context) {
	first := true
	p.housekeepEvery(ctx, func() <-chan time.Time {
		d := jitter(housekeepInterval)
		if first {
			first = false
			d = time.Duration(rand.Int64N(int64(housekeepFirst)))
		}
		return time.After(d)
	})
}

// housekeepEvery sweeps each time wait's channel fires, until ctx ends.
func (p *Provider) housekeepEvery(ctx context.Context, wait func() <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-wait():
		}
		p.sweepRefreshTokens(ctx)
	}
}

// sweepRefreshTokens deletes the refresh tokens that have expired. A
// failure is logged and left to the next sweep.
func (p *Provider) sweepRefreshTokens(ctx context.Context) {
	n, err := p.cfg.Store.DeleteExpiredRefreshTokens(ctx, p.now())
	switch {
	case err != nil && ctx.Err() == nil:
		p.log.WarnContext(ctx, "oidc: deleting expired refresh tokens", "err", err)
	case n > 0:
		p.log.InfoContext(ctx, "oidc: deleted expired refresh tokens", "count", n)
	}
}

// jitter returns d give or take a tenth.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + time.Duration(rand.Int64N(int64(d/5)+1))
}

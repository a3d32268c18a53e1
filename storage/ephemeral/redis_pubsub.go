package ephemeral

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Publish sends msg on the prefixed channel to subscribers on every node.
func (r *Redis) Publish(ctx context.Context, channel, msg string) error {
	return fail("publish", r.client.Publish(ctx, r.key(channel), msg).Err())
}

// Subscribe returns once Redis has confirmed the subscription, so a message
// published after it returns is delivered. The go-redis PubSub behind it
// pings the server while idle and, when the connection drops (a restart, a
// failover), redials and subscribes again by itself; messages published while
// it is away are lost, which the contract allows.
func (r *Redis) Subscribe(ctx context.Context, channel string) (<-chan string, error) {
	ps := r.client.Subscribe(ctx)
	if err := ps.Subscribe(ctx, r.key(channel)); err != nil {
		_ = ps.Close()
		return nil, fail("subscribe", err)
	}
	// Wait for the confirmation, bounded so a dead server cannot hold the
	// caller beyond the read timeout.
	rctx, cancel := context.WithTimeout(ctx, r.client.Options().ReadTimeout+time.Second)
	_, err := ps.Receive(rctx)
	cancel()
	if err != nil {
		_ = ps.Close()
		return nil, fail("subscribe", err)
	}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = ps.Close()
		return nil, fail("subscribe", redis.ErrClosed)
	}
	r.subs.Add(1)
	r.mu.Unlock()

	in := ps.Channel(redis.WithChannelSize(subscriberBuffer))
	out := make(chan string, subscriberBuffer)
	go func() {
		defer r.subs.Done()
		defer close(out)
		defer ps.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.stop:
				return
			case m, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- m.Payload:
				default: // slow subscriber: drop, as Memory does
				}
			}
		}
	}()
	return out, nil
}

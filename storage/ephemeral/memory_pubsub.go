package ephemeral

import (
	"context"
	"fmt"
	"sync"

	"gatehouse/storage"
)

// subscriberBuffer is how many messages a subscriber may fall behind before
// further messages to it are dropped. Messages are cache invalidations, and
// subscribers also refresh on a timer, so dropping beats stalling publishers.
const subscriberBuffer = 128

// hub fans messages out to the subscribers of each channel in process.
type hub struct {
	mu     sync.RWMutex
	subs   map[string]map[*memorySub]struct{}
	closed bool
}

type memorySub struct {
	ch chan string
}

func (m *Memory) Publish(ctx context.Context, channel, msg string) error {
	m.hub.mu.RLock()
	defer m.hub.mu.RUnlock()
	for sub := range m.hub.subs[channel] {
		select {
		case sub.ch <- msg:
		default: // slow subscriber: drop rather than block the publisher
		}
	}
	return nil
}

func (m *Memory) Subscribe(ctx context.Context, channel string) (<-chan string, error) {
	sub := &memorySub{ch: make(chan string, subscriberBuffer)}
	h := &m.hub
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, fmt.Errorf("ephemeral: memory store closed: %w", storage.ErrUnavailable)
	}
	if h.subs[channel] == nil {
		h.subs[channel] = make(map[*memorySub]struct{})
	}
	h.subs[channel][sub] = struct{}{}
	h.mu.Unlock()

	go func() {
		select {
		case <-ctx.Done():
		case <-m.stop:
		}
		h.remove(channel, sub)
	}()
	return sub.ch, nil
}

// remove unregisters sub and closes its channel. Publishers send under the
// read lock, so closing under the write lock never races a send.
func (h *hub) remove(channel string, sub *memorySub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	subs, ok := h.subs[channel]
	if !ok {
		return
	}
	if _, ok := subs[sub]; !ok {
		return
	}
	delete(subs, sub)
	if len(subs) == 0 {
		delete(h.subs, channel)
	}
	close(sub.ch)
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for channel, subs := range h.subs {
		for sub := range subs {
			close(sub.ch)
		}
		delete(h.subs, channel)
	}
}

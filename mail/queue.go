package mail

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Queue errors.
var (
	ErrQueueFull = errors.New("mail: queue full")
	ErrClosed    = errors.New("mail: queue closed")
)

// QueueConfig tunes a Queue; zero values take the defaults shown.
type QueueConfig struct {
	Size        int           // messages waiting at most; 256
	Workers     int           // concurrent sends; 2
	Attempts    int           // tries per message, the first included; 8
	Backoff     time.Duration // wait before the first retry, doubled each time; 2s
	MaxBackoff  time.Duration // longest wait between tries; 5m
	SendTimeout time.Duration // bound on one try; 1m
}

func (c *QueueConfig) defaults() {
	if c.Size <= 0 {
		c.Size = 256
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.Attempts <= 0 {
		c.Attempts = 8
	}
	if c.Backoff <= 0 {
		c.Backoff = 2 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Minute
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = time.Minute
	}
}

// Queue is a Sender that hands mail to another Sender in the background, so
// a page never waits on a mail server. A temporary failure is retried with
// exponential backoff; a permanent one, or running out of tries, is logged
// and the message dropped. The queue is bounded: when full, Send fails at
// once (and logs) rather than block.
type Queue struct {
	next Sender
	log  *slog.Logger
	cfg  QueueConfig

	jobs    chan job
	pending sync.WaitGroup // messages accepted and not yet finished
	workers sync.WaitGroup

	// sendCtx is the parent of every try; cancelling it aborts tries in
	// flight when Close runs out of time.
	sendCtx context.Context
	abort   context.CancelFunc
	stop    chan struct{} // closed when the workers should exit

	mu       sync.Mutex
	closed   bool                // Send refuses new mail
	aborting bool                // Close gave up: drop instead of retrying
	timers   map[*time.Timer]job // retries waiting for their turn
}

type job struct {
	m       Message
	attempt int // tries made so far
}

// NewQueue starts a queue with the default QueueConfig.
func NewQueue(next Sender, logger *slog.Logger) *Queue {
	return NewQueueWith(next, logger, QueueConfig{})
}

// NewQueueWith starts a queue with cfg.
func NewQueueWith(next Sender, logger *slog.Logger, cfg QueueConfig) *Queue {
	cfg.defaults()
	if logger == nil {
		logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{
		next:    next,
		log:     logger,
		cfg:     cfg,
		jobs:    make(chan job, cfg.Size),
		sendCtx: ctx,
		abort:   cancel,
		stop:    make(chan struct{}),
		timers:  map[*time.Timer]job{},
	}
	for range cfg.Workers {
		q.workers.Add(1)
		go q.work()
	}
	return q
}

// Send queues m and returns at once. It fails only when the queue is full
// or closed; delivery problems are logged later. ctx is not used for the
// delivery, which outlives the request that asked for it.
func (q *Queue) Send(_ context.Context, m Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		q.log.Error("mail dropped: queue closed", "to", m.To, "subject", m.Subject)
		return ErrClosed
	}
	q.pending.Add(1)
	select {
	case q.jobs <- job{m: m}:
		return nil
	default:
		q.pending.Done()
		q.log.Error("mail dropped: queue full", "to", m.To, "subject", m.Subject, "size", q.cfg.Size)
		return ErrQueueFull
	}
}

// Close stops accepting mail and waits until everything queued has been
// delivered or given up, or until ctx ends; then it aborts what is left,
// logging each message dropped, and returns ctx's error.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	already := q.closed
	q.closed = true
	q.mu.Unlock()
	if already {
		return nil
	}

	drained := make(chan struct{})
	go func() { q.pending.Wait(); close(drained) }()

	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
		q.giveUp()
		<-drained
	}
	close(q.stop)
	q.workers.Wait()
	q.abort()
	return err
}

// giveUp cancels tries in flight, and drops waiting retries and queued mail.
func (q *Queue) giveUp() {
	q.mu.Lock()
	q.aborting = true
	// A timer still in the map has not put its message back yet (its
	// callback removes it first, under the same lock), so every one of
	// them is dropped here exactly once.
	for t, j := range q.timers {
		t.Stop()
		q.dropped(j, "shutting down")
	}
	clear(q.timers)
	q.mu.Unlock()
	q.abort()
	for {
		select {
		case j := <-q.jobs:
			q.dropped(j, "shutting down")
		default:
			return
		}
	}
}

func (q *Queue) dropped(j job, why string) {
	q.log.Error("mail dropped: "+why, "to", j.m.To, "subject", j.m.Subject, "attempts", j.attempt)
	q.pending.Done()
}

func (q *Queue) work() {
	defer q.workers.Done()
	for {
		select {
		case j := <-q.jobs:
			q.deliver(j)
		case <-q.stop:
			return
		}
	}
}

func (q *Queue) deliver(j job) {
	ctx, cancel := context.WithTimeout(q.sendCtx, q.cfg.SendTimeout)
	err := q.next.Send(ctx, j.m)
	cancel()
	j.attempt++
	if err == nil {
		if j.attempt > 1 {
			q.log.Info("mail sent after retrying", "to", j.m.To, "subject", j.m.Subject, "attempts", j.attempt)
		}
		q.pending.Done()
		return
	}
	if !Temporary(err) {
		q.log.Error("mail failed", "to", j.m.To, "subject", j.m.Subject, "err", err)
		q.pending.Done()
		return
	}
	if j.attempt >= q.cfg.Attempts {
		q.log.Error("mail failed: out of retries", "to", j.m.To, "subject", j.m.Subject, "attempts", j.attempt, "err", err)
		q.pending.Done()
		return
	}
	delay := q.backoff(j.attempt)
	q.log.Warn("mail failed, will retry", "to", j.m.To, "subject", j.m.Subject, "attempt", j.attempt, "retry_in", delay, "err", err)
	q.retryAfter(j, delay)
}

// backoff is the wait after the n-th failed try: Backoff doubled n-1 times,
// capped at MaxBackoff.
func (q *Queue) backoff(n int) time.Duration {
	d := q.cfg.Backoff
	for i := 1; i < n && d < q.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, q.cfg.MaxBackoff)
}

// retryAfter puts j back in the queue after delay. Waiting retries hold no
// worker, so one slow server does not stall other mail.
func (q *Queue) retryAfter(j job, delay time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.aborting {
		q.dropped(j, "shutting down")
		return
	}
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if _, ok := q.timers[t]; !ok {
			return // giveUp already dropped it
		}
		delete(q.timers, t)
		select {
		case q.jobs <- j:
		default:
			q.dropped(j, "queue full on retry")
		}
	})
	q.timers[t] = j
}

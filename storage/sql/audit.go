package sql

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"gatehouse/storage"
)

const auditCols = `id, partner_id, occurred_at, actor, action, target, ip, details`

func scanAudit(s scanner) (storage.AuditEvent, error) {
	var e storage.AuditEvent
	err := s.Scan(&e.ID, &e.PartnerID, timeCol{&e.Time}, &e.Actor, &e.Action, &e.Target, &e.IP, jsonCol{&e.Details})
	return e, err
}

// AppendAudit records an event. An event without an id gets a random one;
// one without a time gets the store's clock.
func (db *DB) AppendAudit(ctx context.Context, e storage.AuditEvent) error {
	if e.ID == "" {
		e.ID = newID()
	}
	db.created(&e.Time, nil)
	details, err := jsonMap(e.Details)
	if err != nil {
		return err
	}
	return db.exec(ctx, "append audit", `INSERT INTO audit_events (`+auditCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.ID, e.PartnerID, db.f.timeArg(e.Time), e.Actor, e.Action, e.Target, e.IP, details)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// ListAudit pages through a partner's events, newest first. Events of the
// same instant are ordered by id, so the order, and the pages, are total.
func (db *DB) ListAudit(ctx context.Context, partnerID string, p storage.Page) ([]storage.AuditEvent, string, error) {
	q := `SELECT ` + auditCols + ` FROM audit_events WHERE partner_id = $1`
	args := []any{partnerID}
	if p.Token != "" {
		at, id, err := decodeToken(p.Token)
		if err != nil {
			return nil, "", err
		}
		micros, err := strconv.ParseInt(at, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("bad page token: %w", storage.ErrNotFound)
		}
		args = append(args, db.f.timeArg(time.UnixMicro(micros)), id)
		q += ` AND (occurred_at < $2 OR (occurred_at = $2 AND id < $3))`
	}
	limit := pageSize(p)
	args = append(args, limit+1)
	q += fmt.Sprintf(` ORDER BY occurred_at DESC, id DESC LIMIT $%d`, len(args))

	events, err := list(ctx, db, "list audit", scanAudit, q, args...)
	if err != nil || len(events) <= limit {
		return events, "", err
	}
	events = events[:limit]
	last := events[limit-1]
	return events, encodeToken(strconv.FormatInt(last.Time.UnixMicro(), 10), last.ID), nil
}

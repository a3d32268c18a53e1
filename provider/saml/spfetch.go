package saml

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"gatehouse/storage"
)

// fetchedBytes is the last metadata fetched from one URL on this node.
type fetchedBytes struct {
	text string
	at   time.Time
}

func metadataKey(url string) string {
	sum := sha256.Sum256([]byte(url))
	return "saml:sp-metadata:" + hex.EncodeToString(sum[:16])
}

// metadataText returns the SP's metadata: inline, or from its metadata_url.
// Fetched metadata is shared through the ephemeral store for MetadataTTL and
// kept on this node as a last good copy: past the TTL it is still served
// while a refresh runs in the background, so a slow or failing SP never
// holds up sign-ins once its metadata has been read once. With no copy at
// all the fetch is synchronous, and a failed one falls back to the copy in
// the record (the seed may carry both).
func (p *IdP) metadataText(ctx context.Context, rec storage.ServiceProvider) (string, error) {
	if rec.MetadataURL == "" {
		return rec.Metadata, nil
	}
	url := rec.MetadataURL
	now := p.now()
	p.mdMu.Lock()
	last, haveLast := p.fetched[url]
	p.mdMu.Unlock()
	if haveLast && now.Sub(last.at) < p.cfg.MetadataTTL {
		return last.text, nil
	}
	if b, err := p.cfg.Ephemeral.Get(ctx, metadataKey(url)); err == nil {
		p.remember(url, string(b), now)
		return string(b), nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		p.log.Warn("saml: reading cached metadata", "sp", rec.EntityID, "err", err)
	}
	if haveLast {
		p.bg.Add(1)
		go func() {
			defer p.bg.Done()
			_, _ = p.refresh(rec) // failures are logged; the stale copy serves meanwhile
		}()
		return last.text, nil
	}
	text, err := p.refresh(rec)
	if err == nil {
		return text, nil
	}
	if rec.Metadata != "" {
		return rec.Metadata, nil
	}
	return "", fmt.Errorf("%w: fetching %s: %v", errBadMetadata, url, err)
}

// refresh fetches the SP's metadata once however many requests ask at the
// same time, and shares it.
func (p *IdP) refresh(rec storage.ServiceProvider) (string, error) {
	v, err, _ := p.fetches.Do(rec.MetadataURL, func() (any, error) {
		// Not the caller's context: a fetch shared by several requests
		// must not fail because the first of them went away.
		ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
		defer cancel()
		text, err := p.fetch(ctx, rec.MetadataURL)
		if err != nil {
			p.log.Warn("saml: fetching service provider metadata", "sp", rec.EntityID, "url", rec.MetadataURL, "err", err)
			return "", err
		}
		if _, err := parseSPMetadata(rec, []byte(text)); err != nil {
			p.log.Warn("saml: fetched metadata unusable", "sp", rec.EntityID, "url", rec.MetadataURL, "err", err)
			return "", err
		}
		p.remember(rec.MetadataURL, text, p.now())
		if err := p.cfg.Ephemeral.Set(ctx, metadataKey(rec.MetadataURL), []byte(text), p.cfg.MetadataTTL); err != nil {
			p.log.Warn("saml: caching metadata", "sp", rec.EntityID, "err", err)
		}
		return text, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

func (p *IdP) remember(url, text string, at time.Time) {
	p.mdMu.Lock()
	p.fetched[url] = fetchedBytes{text: text, at: at}
	p.mdMu.Unlock()
}

func (p *IdP) fetch(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	resp, err := p.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxMetadataBytes {
		return "", fmt.Errorf("larger than %d bytes", maxMetadataBytes)
	}
	return string(b), nil
}

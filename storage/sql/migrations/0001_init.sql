-- Gatehouse's first schema. Written in PostgreSQL syntax; the SQLite flavor
-- rewrites the types (TIMESTAMPTZ, BYTEA, BIGINT) when it applies it.
--
-- Conventions: list fields and maps are JSON text; an unset time is NULL;
-- emails and usernames are stored lower-cased so uniqueness is
-- case-insensitive.

CREATE TABLE partners (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    domain        TEXT NOT NULL,
    primary_email TEXT NOT NULL,
    require_mfa   BOOLEAN NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

-- Organization ids are chosen by people, so two partners may pick the same one.
CREATE TABLE organizations (
    partner_id    TEXT NOT NULL REFERENCES partners (id),
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    co_management BOOLEAN NOT NULL,
    saas_account  TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (partner_id, id)
);

CREATE TABLE users (
    id                      TEXT PRIMARY KEY,
    partner_id              TEXT NOT NULL REFERENCES partners (id),
    email                   TEXT NOT NULL,
    name                    TEXT NOT NULL,
    kind                    TEXT NOT NULL,
    role                    TEXT NOT NULL,
    phone                   TEXT NOT NULL,
    username                TEXT NOT NULL,
    organization_id         TEXT NOT NULL,
    password_hash           TEXT NOT NULL,
    active                  BOOLEAN NOT NULL,
    sso                     BOOLEAN NOT NULL,
    password_reset_disabled BOOLEAN NOT NULL,
    locked_until            TIMESTAMPTZ,
    mfa_pause_next_login    BOOLEAN NOT NULL,
    mfa_pause_until         TIMESTAMPTZ,
    mfa_pause_reason        TEXT NOT NULL,
    upstream_subject        TEXT NOT NULL,
    notifications           TEXT NOT NULL,
    password_changed_at     TIMESTAMPTZ,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email) WHERE email <> '';
CREATE UNIQUE INDEX users_partner_username ON users (partner_id, username) WHERE username <> '';
CREATE INDEX users_partner_email ON users (partner_id, email, id);
CREATE INDEX users_partner_organization ON users (partner_id, organization_id);

CREATE TABLE factors (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    secret       BYTEA NOT NULL,
    counter      BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);
CREATE INDEX factors_user ON factors (user_id, kind);

CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE connections (
    id            TEXT PRIMARY KEY,
    partner_id    TEXT NOT NULL REFERENCES partners (id),
    type          TEXT NOT NULL,
    name          TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_secret BYTEA NOT NULL,
    metadata_url  TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX connections_partner ON connections (partner_id);

CREATE TABLE clients (
    id                         TEXT PRIMARY KEY,
    name                       TEXT NOT NULL,
    secret_hash                TEXT NOT NULL,
    redirect_uris              TEXT NOT NULL,
    post_logout_redirect_uris  TEXT NOT NULL,
    backchannel_logout_uri     TEXT NOT NULL,
    grant_types                TEXT NOT NULL,
    scopes                     TEXT NOT NULL,
    token_endpoint_auth_method TEXT NOT NULL,
    jwks_uri                   TEXT NOT NULL,
    allowed_roles              TEXT NOT NULL,
    first_party                BOOLEAN NOT NULL,
    id_token_alg               TEXT NOT NULL,
    created_at                 TIMESTAMPTZ NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL
);

CREATE TABLE service_providers (
    entity_id     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    metadata_url  TEXT NOT NULL,
    allowed_roles TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    private_key BYTEA NOT NULL,
    active      BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    retired_at  TIMESTAMPTZ
);

CREATE TABLE refresh_tokens (
    signature  TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    session_id TEXT NOT NULL,
    data       BYTEA NOT NULL,
    active     BOOLEAN NOT NULL,
    used_at    TIMESTAMPTZ,
    expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- No foreign keys: the log outlives what it describes.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    partner_id  TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    ip          TEXT NOT NULL,
    details     TEXT NOT NULL
);
CREATE INDEX audit_events_partner_time ON audit_events (partner_id, occurred_at DESC, id DESC);

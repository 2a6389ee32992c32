-- Organisation tree (组织机构). `path` is the materialised path `/1/5/23/`.
CREATE TABLE units (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id   INTEGER REFERENCES units(id),
    path        TEXT NOT NULL,
    depth       INTEGER NOT NULL,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    stage       TEXT,
    rural       BOOLEAN NOT NULL DEFAULT 0,
    active      BOOLEAN NOT NULL DEFAULT 1,
    attrs       TEXT NOT NULL DEFAULT '{}',
    sort_order  INTEGER NOT NULL DEFAULT 0,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX units_path ON units(path);
CREATE INDEX units_parent ON units(parent_id, sort_order, name);

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    unit_id              INTEGER NOT NULL REFERENCES units(id),
    password_hash        TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT 1,
    password_changed_at  INTEGER NOT NULL,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         INTEGER,
    last_login_at        INTEGER,
    active               BOOLEAN NOT NULL DEFAULT 1,
    version              INTEGER NOT NULL DEFAULT 1,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX users_unit ON users(unit_id);

-- Role assignments (角色及数据范围). `units` is a JSON array of subtree roots for `custom`.
CREATE TABLE role_assignments (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id  INTEGER NOT NULL REFERENCES users(id),
    role     TEXT NOT NULL,
    scope    TEXT NOT NULL,
    units    TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX role_assignments_user ON role_assignments(user_id);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

-- Login log (登录日志).
CREATE TABLE login_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    username    TEXT NOT NULL,
    user_id     INTEGER REFERENCES users(id),
    success     BOOLEAN NOT NULL,
    reason      TEXT NOT NULL,
    ip          TEXT,
    user_agent  TEXT
);
CREATE INDEX login_log_at ON login_log(at);

-- Audit trail (审计日志): append-only, hash-chained.
CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT NOT NULL,
    unit_id     INTEGER,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    ip          TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_events_unit ON audit_events(unit_id, seq);
CREATE INDEX audit_events_entity ON audit_events(entity, entity_id, seq);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

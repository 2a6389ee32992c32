-- Supervision ledgers (督办台账) and their items (事项). Dates are 'YYYY-MM-DD' text.
CREATE TABLE ledgers (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    owner_unit_id  INTEGER NOT NULL REFERENCES units(id),
    period         TEXT NOT NULL,
    yellow_days    INTEGER NOT NULL DEFAULT 3,
    active         BOOLEAN NOT NULL DEFAULT 1,
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (owner_unit_id, name)
);

CREATE TABLE items (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    ledger_id           INTEGER NOT NULL REFERENCES ledgers(id),
    number              TEXT NOT NULL,
    source              TEXT NOT NULL,
    category            TEXT NOT NULL DEFAULT '',
    urgency             TEXT NOT NULL DEFAULT '一般',
    title               TEXT NOT NULL,
    requirements        TEXT NOT NULL DEFAULT '',
    instruction         TEXT NOT NULL DEFAULT '',
    leader              TEXT NOT NULL DEFAULT '',
    supervisor          TEXT NOT NULL DEFAULT '',
    subject             TEXT NOT NULL DEFAULT '',
    lead_unit_id        INTEGER NOT NULL REFERENCES units(id),
    level               TEXT NOT NULL DEFAULT 'local',
    cycle               TEXT NOT NULL DEFAULT 'none',
    measures            TEXT NOT NULL DEFAULT '',
    result              TEXT NOT NULL DEFAULT '',
    state               TEXT NOT NULL,
    assigned_on         TEXT,
    deadline            TEXT,
    original_deadline   TEXT,
    extension_requested TEXT,
    submitted_by        INTEGER,
    closed_on           TEXT,
    last_action         TEXT NOT NULL DEFAULT '',
    reminders           INTEGER NOT NULL DEFAULT 0,
    version             INTEGER NOT NULL DEFAULT 1,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    UNIQUE (ledger_id, number)
);
CREATE INDEX items_ledger_state ON items(ledger_id, state);
CREATE INDEX items_lead ON items(lead_unit_id, state);
CREATE INDEX items_deadline ON items(deadline);

-- 协办单位: cooperating units, each with its own progress.
CREATE TABLE item_units (
    item_id   INTEGER NOT NULL REFERENCES items(id),
    unit_id   INTEGER NOT NULL REFERENCES units(id),
    progress  INTEGER NOT NULL DEFAULT 0,
    note      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (item_id, unit_id)
);

-- The item's timeline: transitions, progress reports (进展反馈), reminders (催办).
CREATE TABLE item_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id     INTEGER NOT NULL REFERENCES items(id),
    at          INTEGER NOT NULL,
    on_date     TEXT NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    state_from  TEXT NOT NULL,
    state_to    TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX item_events_item ON item_events(item_id, id);

-- In-app inbox (消息): reminders (催办) and warnings addressed to a unit; its handlers and
-- supervisors see them. `dedupe` makes automatic reminders idempotent.
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    item_id     INTEGER REFERENCES items(id),
    kind        TEXT NOT NULL,
    dedupe      TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX notifications_unit ON notifications(unit_id, id);

CREATE TABLE notification_reads (
    notification_id INTEGER NOT NULL REFERENCES notifications(id),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    read_at         INTEGER NOT NULL,
    PRIMARY KEY (notification_id, user_id)
);

-- Chat-robot webhooks (企业微信 / 钉钉 / 飞书) for notifications of a unit's subtree.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    kind        TEXT NOT NULL,
    url         TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks(id),
    notification_id INTEGER NOT NULL REFERENCES notifications(id),
    at              INTEGER NOT NULL,
    status          INTEGER NOT NULL,
    error           TEXT NOT NULL DEFAULT ''
);

-- Working-day calendar entries an administrator adds for years after the shipped 2007-2026
-- (or corrections): holidays (is_off) and adjusted working days (调休).
CREATE TABLE calendar_days (
    date        TEXT PRIMARY KEY,
    is_off      BOOLEAN NOT NULL,
    name        TEXT NOT NULL,
    source      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Evidence (佐证材料) attached to items, stored in the database so that a backup holds them.
CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id       INTEGER NOT NULL REFERENCES items(id),
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    data          BLOB NOT NULL,
    uploaded_by   TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX attachments_item ON attachments(item_id);

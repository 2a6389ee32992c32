-- School data (数据填报): one value per school, period (学年 '2024' = 2024-25), stage ('' for a
-- school-wide element such as books or area) and data element (数据项 code).
CREATE TABLE indicator_values (
    unit_id  BIGINT NOT NULL REFERENCES units(id),
    period   TEXT NOT NULL,
    stage    TEXT NOT NULL DEFAULT '',
    element  TEXT NOT NULL,
    value    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (unit_id, period, stage, element)
);

-- A school's return for a period (填报状态): draft → submitted → approved (locked), or
-- returned (退回) to draft with a reason.
CREATE TABLE indicator_returns (
    unit_id       BIGINT NOT NULL REFERENCES units(id),
    period        TEXT NOT NULL,
    state         TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    submitted_by  BIGINT,
    submitted_at  BIGINT,
    approved_by   BIGINT,
    approved_at   BIGINT,
    version       BIGINT NOT NULL DEFAULT 1,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (unit_id, period)
);
CREATE INDEX indicator_returns_period ON indicator_returns(period, state);

-- Administrators' standards (copies of the built-in presets, adjusted per province), as JSON.
CREATE TABLE standards (
    id          TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    based_on    TEXT,
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Administrators' report templates (报告模板): copies of the built-in ones (tongbao, huibao,
-- zipingbaogao), edited. The body is minijinja source checked by the service on every save.
CREATE TABLE report_templates (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    based_on    TEXT NOT NULL,
    body        TEXT NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

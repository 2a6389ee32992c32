-- Custom data elements (自定义数据项) and forms (填报表), as JSON checked by the service.
-- A custom form's values and returns live in indicator_values / indicator_returns with the
-- period key '<form id>/<period>' (e.g. 'canteen-checks/2024-05'); the built-in 学年 form keeps
-- the bare 学年 ('2024').
CREATE TABLE data_elements (
    code        TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE forms (
    id          TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

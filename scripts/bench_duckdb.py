"""The quality-2017 evaluation as one DuckDB query over the school import CSV that
`taizhang bench indicators --out DIR` writes: the yardstick for our evaluation's speed.

Same rules as crates/domain/src/evaluate.rs: schools become stage units (小学/初中), physical
resources split by weighted enrolment (一贯制 1 : 1.1, 完全中学 1 : 1.2, 十二年一贯制
1 : 1.1 : 1.32), teaching points under 50 pupils left out, 高中 not evaluated; each unit's
seven indicators against the per-stage thresholds (6 of 7 met and the rest ≥ 85 %) and the
class-size cap G1 (largest class ≤ 45 小学 / 50 初中) and the school-size cap G2 (the
school's pupils ≤ 2000, 2500 for 一贯制), requirements outside the 6 of 7; per
county and stage X̄ (ratio of sums), the student-weighted CV of each indicator, and the
verdict (every CV within 0.50 小学 / 0.45 初中, and no school over either cap). Prints the median time of the query (the
table already loaded), the process's peak memory, and ΣCV to compare with the Rust checksum.

    python bench_duckdb.py DIR/schools.csv [--runs 5] [--threads 2]
"""

import argparse
import resource
import statistics
import time

import duckdb

IND = ["L1", "L2", "L3", "L4", "L5", "L6", "L7"]

QUERY = """
WITH s AS (
  SELECT *,
    coalesce("小学在校生数", 0) AS ep, coalesce("初中在校生数", 0) AS ej, coalesce("高中在校生数", 0) AS es
  FROM raw
  WHERE "办学类型" <> '高中'
    AND NOT ("办学类型" = '教学点' AND coalesce("小学在校生数", 0) < 50)
),
w AS (
  SELECT *,
    CASE "办学类型"
      WHEN '九年一贯制' THEN ep * 1.0 + ej * 1.1
      WHEN '完全中学' THEN ej * 1.0 + es * 1.2
      WHEN '十二年一贯制' THEN ep * 1.0 + ej * 1.1 + es * 1.32
      ELSE 1.0 END AS wsum,
    "办学类型" IN ('九年一贯制', '完全中学', '十二年一贯制') AS multi
  FROM s
),
u AS (
  SELECT "所属区县" AS county, 'primary' AS stage, ep AS p, ep + ej + es AS size, "办学类型" AS kind,
    "小学高于规定学历教师数" AS above, "小学骨干教师数" AS backbone, "小学体育艺术专任教师数" AS peart,
    "小学最大班额" AS maxc,
    CASE WHEN multi THEN ep * 1.0 / wsum ELSE 1.0 END AS share,
    "教学及辅助用房面积" AS area, "体育运动场馆面积" AS sports, "教学仪器设备值" AS equip, "网络多媒体教室数" AS mm
  FROM w WHERE "办学类型" IN ('小学', '教学点', '九年一贯制', '十二年一贯制') AND ep > 0
  UNION ALL
  SELECT "所属区县", 'junior', ej, ep + ej + es, "办学类型",
    "初中高于规定学历教师数", "初中骨干教师数", "初中体育艺术专任教师数",
    "初中最大班额",
    CASE WHEN multi THEN ej * (CASE WHEN "办学类型" = '完全中学' THEN 1.0 ELSE 1.1 END) / wsum ELSE 1.0 END,
    "教学及辅助用房面积", "体育运动场馆面积", "教学仪器设备值", "网络多媒体教室数"
  FROM w WHERE "办学类型" IN ('初中', '九年一贯制', '完全中学', '十二年一贯制') AND ej > 0
),
x AS (
  SELECT county, stage, p, maxc, size, kind,
    above / p * 100 AS L1, backbone / p * 100 AS L2, peart / p * 100 AS L3,
    area * share / p AS L4, sports * share / p AS L5, equip * share / p AS L6, mm * share / p * 100 AS L7
  FROM u
),
t AS (
  SELECT * FROM (VALUES
    ('primary', 4.2, 1.0, 0.9, 4.5, 7.5, 2000.0, 2.3, 0.50, 45),
    ('junior', 5.3, 1.0, 0.9, 5.8, 10.2, 2500.0, 2.4, 0.45, 50)
  ) AS t(stage, t1, t2, t3, t4, t5, t6, t7, cvmax, cap)
),
m AS (
  SELECT x.*, t.cvmax,
    (L1 >= t1)::INT + (L2 >= t2)::INT + (L3 >= t3)::INT + (L4 >= t4)::INT
      + (L5 >= t5)::INT + (L6 >= t6)::INT + (L7 >= t7)::INT AS met,
    (L1 >= 0.85 * t1) AND (L2 >= 0.85 * t2) AND (L3 >= 0.85 * t3) AND (L4 >= 0.85 * t4)
      AND (L5 >= 0.85 * t5) AND (L6 >= 0.85 * t6) AND (L7 >= 0.85 * t7) AS floors,
    coalesce(maxc <= cap, true) AS g1,
    size <= CASE WHEN kind IN ('九年一贯制', '十二年一贯制') THEN 2500 ELSE 2000 END AS g2
  FROM x JOIN t USING (stage)
),
g AS (
  SELECT county, stage, any_value(cvmax) AS cvmax, count(*) AS n, sum(p) AS sp,
    sum((met >= 6 AND floors AND g1 AND g2)::INT) AS schools_pass,
    bool_and(g1 AND g2) AS g1_all,
    {sums}
  FROM m GROUP BY county, stage
),
c AS (
  SELECT county, stage, n, schools_pass, cvmax, g1_all,
    {cvs}
  FROM g
)
SELECT county, stage, n, schools_pass, {cvlist},
  ({allpass}) AND g1_all AS pass
FROM c ORDER BY county, stage
""".format(
    sums=",\n    ".join(
        f"sum({i} * p) / sum(p) AS mean_{i}, sum(p * {i} * {i}) / sum(p) AS sq_{i}" for i in IND
    ),
    cvs=",\n    ".join(
        f"CASE WHEN mean_{i} <> 0 THEN sqrt(greatest(sq_{i} - mean_{i} * mean_{i}, 0)) / mean_{i} END AS cv_{i}"
        for i in IND
    ),
    cvlist=", ".join(f"cv_{i}" for i in IND),
    allpass=" AND ".join(f"cv_{i} <= cvmax" for i in IND),
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    con = duckdb.connect()
    con.execute(f"SET threads = {a.threads}")
    t = time.perf_counter()
    con.execute(f"CREATE TABLE raw AS SELECT * FROM read_csv('{a.csv}', header = true, all_varchar = false)")
    load = time.perf_counter() - t
    times = []
    rows = None
    for _ in range(a.runs):
        t = time.perf_counter()
        rows = con.execute(QUERY).fetchall()
        times.append(time.perf_counter() - t)
    cv_sum = sum(v for r in rows for v in r[4:11] if v is not None)
    passing = sum(1 for r in rows if r[11])
    units_pass = sum(r[3] for r in rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"DuckDB {duckdb.__version__} ({a.threads} threads): {len(rows)} county×stage rows ({passing} pass), {units_pass} units pass the school rule, "
        f"ΣCV {cv_sum:.6f}; query median {statistics.median(times):.3f} s over {a.runs} runs "
        f"[{', '.join(f'{x:.3f}' for x in sorted(times))}]; peak {peak:.0f} MiB; loading the CSV took {load:.1f} s"
    )


if __name__ == "__main__":
    main()

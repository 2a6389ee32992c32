//! Evaluating schools and counties against a [`Standard`] (评估): schools become stage units
//! (a 九年一贯制 school is a 小学部 and an 初中部, physical resources split 1 : 1.1), every
//! indicator is the standard's formula over a unit's data, each school is judged against the
//! thresholds (达标值, 85 % 基本值), and each county per stage gets X̄ (the formula over the
//! summed data: a ratio of sums, never a mean of ratios), the student-weighted 差异系数 and the
//! verdict of the standard's county rule.

use crate::expr::{Expr, Value};
use crate::indicators::{self, Obs};
use crate::standards::{Elements, Standard};
use serde::Serialize;
use std::collections::BTreeMap;

/// The kinds of school the presets know, and their stages in order.
pub fn stages_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "primary" | "teaching_point" => &["primary"],
        "junior" => &["junior"],
        "nine_year" => &["primary", "junior"],
        "complete_secondary" | "complete" => &["junior", "senior"],
        "twelve_year" => &["primary", "junior", "senior"],
        "senior" => &["senior"],
        _ => &[],
    }
}

fn split_weights(kind: &str) -> &'static [f64] {
    match kind {
        "nine_year" => indicators::NINE_YEAR,
        "complete_secondary" | "complete" => indicators::COMPLETE_SECONDARY,
        "twelve_year" => indicators::TWELVE_YEAR,
        _ => &[1.0],
    }
}

/// One school's reported data for a year: per-stage elements (students, classes, teachers …)
/// and school-wide physical resources (area, equipment, books …).
#[derive(Debug, Clone, Default)]
pub struct SchoolData {
    pub code: String,
    pub name: String,
    pub county: String,
    /// `primary`, `junior`, `nine_year`, `complete_secondary` (or `complete`, the unit stage
    /// name), `twelve_year`, `teaching_point`.
    pub kind: String,
    pub per_stage: BTreeMap<String, BTreeMap<String, f64>>,
    pub school: BTreeMap<String, f64>,
}

/// A school's result on one indicator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorResult {
    pub code: String,
    /// 实际值; None when the data are missing.
    pub value: Option<f64>,
    /// 达标值.
    pub threshold: Option<f64>,
    /// 基本值 (85 % of the threshold) under an `at_least` school rule.
    pub floor: Option<f64>,
    pub met: Option<bool>,
    /// How far from the threshold (positive: short of it).
    pub gap: Option<f64>,
}

/// One stage unit of a school and its results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchoolResult {
    pub code: String,
    pub name: String,
    pub county: String,
    pub stage: String,
    pub students: f64,
    pub indicators: Vec<IndicatorResult>,
    pub met_count: usize,
    /// The school rule's verdict; None under a standard without one.
    pub pass: Option<bool>,
}

/// A county's result on one indicator for one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CountyIndicator {
    pub county: String,
    pub stage: String,
    pub indicator: String,
    /// X̄: the formula over the county's summed data.
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub n: usize,
    pub cv: Option<f64>,
    /// The CV limit (差异系数上限) for this stage, or the indicator's threshold under a
    /// ratio-of-sums rule.
    pub threshold: Option<f64>,
    pub pass: Option<bool>,
}

/// A county's verdict for one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CountyVerdict {
    pub county: String,
    pub stage: String,
    /// 综合差异系数 under `composite_mean`.
    pub composite_cv: Option<f64>,
    pub pass: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub standard: String,
    pub schools: Vec<SchoolResult>,
    pub county: Vec<CountyIndicator>,
    pub verdicts: Vec<CountyVerdict>,
    /// Schools left out by the standard's scope rule, with the reason.
    pub excluded: Vec<(String, String)>,
}

struct Unit<'a> {
    school: &'a SchoolData,
    stage: &'static str,
    values: BTreeMap<String, f64>,
}

fn students(values: &BTreeMap<String, f64>) -> f64 {
    values.get("students").copied().unwrap_or(0.0)
}

/// Evaluates `schools` against `std` (whose formulas [`Standard::check`] has accepted).
pub fn evaluate(std: &Standard, els: &Elements, schools: &[SchoolData]) -> Evaluation {
    let formulas: Vec<Option<Expr>> = std
        .indicators
        .iter()
        .map(|i| Expr::parse(&i.formula).ok())
        .collect();
    let physical: Vec<&str> = els
        .elements
        .iter()
        .filter(|e| e.physical)
        .map(|e| e.code.as_str())
        .collect();
    let maxed: Vec<&str> = els
        .elements
        .iter()
        .filter(|e| e.aggregate.as_deref() == Some("max"))
        .map(|e| e.code.as_str())
        .collect();
    let mut excluded = Vec::new();
    let mut units: Vec<Unit<'_>> = Vec::new();
    for s in schools {
        let kind = if s.kind == "complete" {
            "complete_secondary"
        } else {
            s.kind.as_str()
        };
        if !std.scope.kinds.iter().any(|k| k == kind) && kind != "teaching_point" {
            excluded.push((s.code.clone(), format!("学校类型“{}”不在评估范围", s.kind)));
            continue;
        }
        let stages = stages_of(&s.kind);
        let enrol: Vec<f64> = stages
            .iter()
            .map(|st| s.per_stage.get(*st).map_or(0.0, students))
            .collect();
        if s.kind == "teaching_point"
            && let Some(min) = std.scope.exclude_teaching_points_under
            && enrol.iter().sum::<f64>() < f64::from(min)
        {
            excluded.push((s.code.clone(), format!("教学点学生不足{min}人")));
            continue;
        }
        let weights = split_weights(&s.kind);
        for (k, stage) in stages.iter().enumerate() {
            if !std.stages.iter().any(|x| x == stage) || enrol[k] <= 0.0 {
                continue;
            }
            let mut values = s.per_stage.get(*stage).cloned().unwrap_or_default();
            for (code, total) in &s.school {
                let share = if physical.contains(&code.as_str()) && stages.len() > 1 {
                    indicators::split_resource(*total, &enrol, weights)[k]
                } else {
                    *total
                };
                values.insert(code.clone(), share);
            }
            units.push(Unit {
                school: s,
                stage,
                values,
            });
        }
    }

    let rule = &std.school_rule;
    let mut school_results = Vec::new();
    for u in &units {
        let mut results = Vec::new();
        for (ind, f) in std.indicators.iter().zip(&formulas) {
            let value = f
                .as_ref()
                .and_then(|f| match f.eval(&|k| u.values.get(k).copied()) {
                    Value::Number(x) => Some(x),
                    _ => None,
                });
            let threshold = ind.thresholds.get(u.stage).copied();
            let floor = match (rule.kind.as_str(), threshold, rule.floor_share) {
                ("at_least", Some(t), Some(share)) => Some(t * share),
                _ => None,
            };
            let met = match (value, threshold) {
                (Some(v), Some(t)) => Some(if ind.smaller_is_better {
                    v <= t
                } else {
                    v >= t
                }),
                _ => None,
            };
            let gap = match (value, threshold) {
                (Some(v), Some(t)) if met == Some(false) => {
                    Some(if ind.smaller_is_better { v - t } else { t - v })
                }
                _ => None,
            };
            results.push(IndicatorResult {
                code: ind.code.clone(),
                value,
                threshold,
                floor,
                met,
                gap,
            });
        }
        let met_count = results.iter().filter(|r| r.met == Some(true)).count();
        let pass = match rule.kind.as_str() {
            "at_least" => {
                let k = rule.k.unwrap_or(results.len());
                let rest_ok = results.iter().all(|r| {
                    r.met == Some(true)
                        || matches!((r.value, r.floor), (Some(v), Some(fl)) if v >= fl)
                });
                Some(met_count >= k && rest_ok)
            }
            "all" => Some(
                results.iter().all(|r| r.met != Some(false))
                    && results.iter().any(|r| r.met.is_some()),
            ),
            _ => None,
        };
        school_results.push(SchoolResult {
            code: u.school.code.clone(),
            name: u.school.name.clone(),
            county: u.school.county.clone(),
            stage: u.stage.to_string(),
            students: students(&u.values),
            indicators: results,
            met_count,
            pass,
        });
    }

    // Counties per stage.
    let mut groups: BTreeMap<(String, &str), Vec<&Unit<'_>>> = BTreeMap::new();
    for u in &units {
        groups
            .entry((u.school.county.clone(), u.stage))
            .or_default()
            .push(u);
    }
    let mut county = Vec::new();
    let mut verdicts = Vec::new();
    for ((name, stage), us) in &groups {
        let mut sums: BTreeMap<String, f64> = BTreeMap::new();
        for u in us {
            for (k, v) in &u.values {
                let e = sums.entry(k.clone()).or_default();
                if maxed.contains(&k.as_str()) {
                    *e = e.max(*v);
                } else {
                    *e += v;
                }
            }
        }
        let cv_max = std.county_rule.cv_max.get(*stage).copied();
        let mut cvs = Vec::new();
        let mut all_pass = true;
        for (ind, f) in std.indicators.iter().zip(&formulas) {
            let mean = f
                .as_ref()
                .and_then(|f| match f.eval(&|k| sums.get(k).copied()) {
                    Value::Number(x) => Some(x),
                    _ => None,
                });
            // X_i and P_i of each unit; the CV's mean is the student-weighted mean of X_i,
            // which is X̄ for a per-student formula.
            let points: Vec<Obs> = us
                .iter()
                .filter_map(|u| {
                    let x = match f.as_ref()?.eval(&|k| u.values.get(k).copied()) {
                        Value::Number(x) => x,
                        _ => return None,
                    };
                    let p = students(&u.values);
                    Some(Obs {
                        resource: x * p,
                        students: p,
                    })
                })
                .collect();
            let spread = indicators::spread(&points, 1.0);
            let (threshold, pass) = match std.county_rule.kind.as_str() {
                "each" | "composite_mean" => {
                    let cv = spread.as_ref().and_then(|s| s.cv);
                    if let Some(cv) = cv {
                        cvs.push(cv);
                    }
                    let pass = match (std.county_rule.kind.as_str(), cv, cv_max) {
                        ("each", Some(cv), Some(m)) => Some(cv <= m),
                        _ => None,
                    };
                    (cv_max, pass)
                }
                _ => {
                    let t = ind.thresholds.get(*stage).copied();
                    let pass = match (mean, t) {
                        (Some(v), Some(t)) => Some(if ind.smaller_is_better {
                            v <= t
                        } else {
                            v >= t
                        }),
                        _ => None,
                    };
                    (t, pass)
                }
            };
            if pass == Some(false) {
                all_pass = false;
            }
            county.push(CountyIndicator {
                county: name.clone(),
                stage: stage.to_string(),
                indicator: ind.code.clone(),
                mean,
                sd: spread.as_ref().map(|s| s.sd),
                n: spread.as_ref().map_or(0, |s| s.n),
                cv: spread.as_ref().and_then(|s| s.cv),
                threshold,
                pass,
            });
        }
        let (composite_cv, pass) = match std.county_rule.kind.as_str() {
            "composite_mean" => {
                let c = (cvs.len() == std.indicators.len() && !cvs.is_empty())
                    .then(|| cvs.iter().sum::<f64>() / cvs.len() as f64);
                (c, c.zip(cv_max).map(|(c, m)| c <= m))
            }
            _ => (None, Some(all_pass)),
        };
        verdicts.push(CountyVerdict {
            county: name.clone(),
            stage: stage.to_string(),
            composite_cv,
            pass,
        });
    }
    Evaluation {
        standard: std.id.clone(),
        schools: school_results,
        county,
        verdicts,
        excluded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standards::{elements, presets};

    fn school(
        code: &str,
        kind: &str,
        stages: &[(&str, &[(&str, f64)])],
        whole: &[(&str, f64)],
    ) -> SchoolData {
        SchoolData {
            code: code.into(),
            name: format!("学校{code}"),
            county: "屏南县".into(),
            kind: kind.into(),
            per_stage: stages
                .iter()
                .map(|(s, v)| {
                    (
                        s.to_string(),
                        v.iter().map(|(k, x)| (k.to_string(), *x)).collect(),
                    )
                })
                .collect(),
            school: whole.iter().map(|(k, x)| (k.to_string(), *x)).collect(),
        }
    }

    /// STANDARDS.md's worked example through the whole evaluation: 生均图书册数 (A5) of five
    /// primary schools has X̄ 6.334 and CV 0.515.
    #[test]
    fn worked_example_through_basic_2012() {
        let std = &presets()[0];
        let data: Vec<SchoolData> = [
            (45.0, 279.0),
            (37.0, 137.0),
            (89.0, 935.0),
            (76.0, 160.0),
            (55.0, 402.0),
        ]
        .iter()
        .enumerate()
        .map(|(i, (p, b))| {
            school(
                &format!("S{i}"),
                "primary",
                &[("primary", &[("students", *p)])],
                &[("books", *b)],
            )
        })
        .collect();
        let e = evaluate(std, &elements(), &data);
        let a5 = e.county.iter().find(|c| c.indicator == "A5").expect("A5");
        assert!((a5.mean.expect("mean") - 6.334).abs() < 5e-4);
        assert!((a5.cv.expect("cv") - 0.515).abs() < 5e-4);
        assert_eq!((a5.n, a5.threshold), (5, Some(0.65)));
        // Other indicators have no data: no CV, so no composite and no verdict.
        let v = &e.verdicts[0];
        assert_eq!(
            (v.stage.as_str(), v.composite_cv, v.pass),
            ("primary", None, None)
        );
        assert_eq!(e.schools.len(), 5);
        assert!(e.schools.iter().all(|s| s.pass.is_none()));
    }

    /// A 九年一贯制 school becomes two stage units; its books split 1 : 1.1 (9,711.67 /
    /// 13,514.33 of 23,226); teachers stay where they teach.
    #[test]
    fn a_nine_year_school_is_split_into_stage_units() {
        let std = &presets()[0];
        let s = school(
            "J1",
            "nine_year",
            &[
                ("primary", &[("students", 166.0), ("teachers", 12.0)]),
                ("junior", &[("students", 210.0), ("teachers", 20.0)]),
            ],
            &[("books", 23_226.0)],
        );
        let e = evaluate(std, &elements(), &[s]);
        assert_eq!(e.schools.len(), 2);
        let a5 = |st: &str| {
            e.schools
                .iter()
                .find(|s| s.stage == st)
                .expect("unit")
                .indicators
                .iter()
                .find(|i| i.code == "A5")
                .expect("A5")
                .value
                .expect("v")
        };
        assert!((a5("primary") * 166.0 - 23_226.0 * 166.0 / 397.0).abs() < 1e-6);
        assert!((a5("junior") * 210.0 - 23_226.0 * 231.0 / 397.0).abs() < 1e-6);
        let a6 = e
            .schools
            .iter()
            .find(|s| s.stage == "junior")
            .expect("j")
            .indicators
            .iter()
            .find(|i| i.code == "A6")
            .expect("A6")
            .value;
        assert_eq!(a6, Some(20.0 / 210.0));
    }

    /// 优质均衡: a school passes with 6 of 7 met and the seventh at ≥ 85 %; at 80 % it fails.
    #[test]
    fn quality_2017_six_of_seven_and_the_85_percent_floor() {
        let std = &presets()[1];
        // 100 primary pupils; all seven at the threshold except L6 (equipment, 2000 元).
        let mk = |equipment: f64| {
            school(
                "Q1",
                "primary",
                &[(
                    "primary",
                    &[
                        ("students", 100.0),
                        ("teachers_above", 4.2),
                        ("teachers_backbone", 1.0),
                        ("teachers_pe_art", 0.9),
                    ],
                )],
                &[
                    ("area_teaching", 450.0),
                    ("area_sports", 750.0),
                    ("equipment_value", equipment),
                    ("multimedia_rooms", 2.3),
                ],
            )
        };
        let pass = evaluate(std, &elements(), &[mk(100.0 * 2000.0 * 0.86)]);
        let s = &pass.schools[0];
        assert_eq!((s.met_count, s.pass), (6, Some(true)));
        let l6 = s.indicators.iter().find(|i| i.code == "L6").expect("L6");
        assert_eq!((l6.met, l6.floor), (Some(false), Some(1700.0)));
        assert!((l6.gap.expect("gap") - 280.0).abs() < 1e-6);
        let fail = evaluate(std, &elements(), &[mk(100.0 * 2000.0 * 0.80)]);
        assert_eq!(fail.schools[0].pass, Some(false));
    }

    /// Scope: a teaching point under 50 pupils is left out (and says why); special schools
    /// are not in the presets' kinds.
    #[test]
    fn scope_rules_leave_schools_out_with_a_reason() {
        let std = &presets()[0];
        let tp = school(
            "T1",
            "teaching_point",
            &[("primary", &[("students", 30.0)])],
            &[("books", 300.0)],
        );
        let sp = school("X1", "special", &[("primary", &[("students", 80.0)])], &[]);
        let ok = school(
            "P1",
            "primary",
            &[("primary", &[("students", 300.0)])],
            &[("books", 3000.0)],
        );
        let e = evaluate(std, &elements(), &[tp, sp, ok]);
        assert_eq!(e.schools.len(), 1);
        assert_eq!(e.excluded.len(), 2);
        assert!(e.excluded[0].1.contains("不足50人"));
    }

    /// 班额: the county share is the ratio of sums (classes ≥ 56 over all classes), never the
    /// mean of the schools' shares.
    #[test]
    fn class_size_county_share_is_a_ratio_of_sums() {
        let std = &presets()[2];
        let a = school(
            "C1",
            "primary",
            &[(
                "primary",
                &[
                    ("students", 900.0),
                    ("classes", 18.0),
                    ("classes_56", 9.0),
                    ("classes_66", 0.0),
                    ("max_class", 60.0),
                ],
            )],
            &[],
        );
        let b = school(
            "C2",
            "primary",
            &[(
                "primary",
                &[
                    ("students", 200.0),
                    ("classes", 2.0),
                    ("classes_56", 0.0),
                    ("classes_66", 0.0),
                    ("max_class", 44.0),
                ],
            )],
            &[],
        );
        let e = evaluate(std, &elements(), &[a, b]);
        let c1 = e.county.iter().find(|c| c.indicator == "C1").expect("C1");
        assert_eq!(c1.mean, Some(9.0 / 20.0 * 100.0));
        // 最大班额 of the county is the largest class, not a sum of the schools' maxima.
        let c3 = e.county.iter().find(|c| c.indicator == "C3").expect("C3");
        assert_eq!(c3.mean, Some(60.0));
        assert_eq!(c1.pass, Some(false));
        assert_eq!(e.verdicts[0].pass, Some(false));
        // Per school: C2 keeps every class at or under 45.
        let s2 = e.schools.iter().find(|s| s.code == "C2").expect("C2");
        assert_eq!(s2.pass, Some(true));
        assert_eq!(
            e.schools.iter().find(|s| s.code == "C1").expect("C1").pass,
            Some(false)
        );
    }
}

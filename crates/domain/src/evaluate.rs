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
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

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
    pub code: Arc<str>,
    pub name: Arc<str>,
    pub county: Arc<str>,
    /// `primary`, `junior`, `nine_year`, `complete_secondary` (or `complete`, the unit stage
    /// name), `twelve_year`, `teaching_point`.
    pub kind: String,
    pub per_stage: BTreeMap<String, BTreeMap<String, f64>>,
    pub school: BTreeMap<String, f64>,
}

/// A school's result on one indicator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorResult {
    pub code: Arc<str>,
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
    pub code: Arc<str>,
    pub name: Arc<str>,
    pub county: Arc<str>,
    pub stage: &'static str,
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

/// A stage unit: a school's stage with its values by element index (physical resources
/// already split), and its indicator values.
struct Unit<'a> {
    school: &'a SchoolData,
    stage: &'static str,
    values: Vec<Option<f64>>,
    students: f64,
}

/// A threshold set for the school's type (学校规模 of an 一贯制 school), if any.
fn kind_threshold(ind: &crate::standards::Indicator, kind: &str) -> Option<f64> {
    if ind.thresholds_by_kind.is_empty() {
        return None;
    }
    let kind = if kind == "complete" {
        "complete_secondary"
    } else {
        kind
    };
    ind.thresholds_by_kind.get(kind).copied()
}

/// An indicator's threshold (达标值) and 85 % floor (基本值) for one stage.
type Limit = (Option<f64>, Option<f64>);

fn compare(v: f64, t: f64, smaller_is_better: bool) -> bool {
    if smaller_is_better { v <= t } else { v >= t }
}

/// One formula bound to element indices: slot i of the formula reads element `slots[i]`.
struct Bound {
    expr: Option<Expr>,
    slots: Vec<Option<usize>>,
}

impl Bound {
    fn value(&self, values: &[Option<f64>], buf: &mut Vec<Option<f64>>) -> Option<f64> {
        let e = self.expr.as_ref()?;
        buf.clear();
        buf.extend(self.slots.iter().map(|s| s.and_then(|i| values[i])));
        match e.eval_slots(buf) {
            Value::Number(x) => Some(x),
            _ => None,
        }
    }
}

/// Evaluates `schools` against `std` (whose formulas [`Standard::check`] has accepted).
pub fn evaluate<'a>(std: &Standard, els: &Elements, schools: &'a [SchoolData]) -> Evaluation {
    let index: BTreeMap<&str, usize> = els
        .elements
        .iter()
        .enumerate()
        .map(|(i, e)| (e.code.as_str(), i))
        .collect();
    let n_el = els.elements.len();
    let students_at = index.get("students").copied();
    let school_students_at = index.get("school_students").copied();
    let formulas: Vec<Bound> = std
        .indicators
        .iter()
        .map(|i| {
            let expr = Expr::parse(&i.formula).ok();
            let slots = expr
                .as_ref()
                .map(|e| {
                    e.names()
                        .iter()
                        .map(|n| index.get(n.as_str()).copied())
                        .collect()
                })
                .unwrap_or_default();
            Bound { expr, slots }
        })
        .collect();
    let physical: Vec<bool> = els.elements.iter().map(|e| e.physical).collect();
    let maxed: Vec<bool> = els
        .elements
        .iter()
        .map(|e| e.aggregate.as_deref() == Some("max"))
        .collect();
    let make_units = |schools: &'a [SchoolData]| -> (Vec<Unit<'a>>, Vec<(String, String)>) {
        let mut excluded = Vec::new();
        let mut units: Vec<Unit<'a>> = Vec::with_capacity(schools.len() * 11 / 10);
        for s in schools {
            let kind = if s.kind == "complete" {
                "complete_secondary"
            } else {
                s.kind.as_str()
            };
            if !std.scope.kinds.iter().any(|k| k == kind) && kind != "teaching_point" {
                excluded.push((
                    s.code.to_string(),
                    format!("学校类型“{}”不在评估范围", s.kind),
                ));
                continue;
            }
            let stages = stages_of(&s.kind);
            let enrol: Vec<f64> = stages
                .iter()
                .map(|st| {
                    s.per_stage
                        .get(*st)
                        .and_then(|m| m.get("students").copied())
                        .unwrap_or(0.0)
                })
                .collect();
            if s.kind == "teaching_point"
                && let Some(min) = std.scope.exclude_teaching_points_under
                && enrol.iter().sum::<f64>() < f64::from(min)
            {
                excluded.push((s.code.to_string(), format!("教学点学生不足{min}人")));
                continue;
            }
            // Each stage's share of the physical resources (w_k·E_k ÷ Σ w_j·E_j).
            let shares = if stages.len() > 1 {
                indicators::split_resource(1.0, &enrol, split_weights(&s.kind))
            } else {
                vec![1.0]
            };
            let mut whole = vec![None; n_el];
            for (code, v) in &s.school {
                if let Some(&i) = index.get(code.as_str()) {
                    whole[i] = Some(*v);
                }
            }
            for (k, stage) in stages.iter().enumerate() {
                if !std.stages.iter().any(|x| x == stage) || enrol[k] <= 0.0 {
                    continue;
                }
                let mut values = vec![None; n_el];
                if let Some(m) = s.per_stage.get(*stage) {
                    for (code, v) in m {
                        if let Some(&i) = index.get(code.as_str()) {
                            values[i] = Some(*v);
                        }
                    }
                }
                for (i, w) in whole.iter().enumerate() {
                    if let Some(total) = w {
                        values[i] = Some(if physical[i] && stages.len() > 1 {
                            total * shares[k]
                        } else {
                            *total
                        });
                    }
                }
                if let Some(i) = school_students_at {
                    values[i] = Some(enrol.iter().sum());
                }
                units.push(Unit {
                    school: s,
                    stage,
                    students: students_at.and_then(|i| values[i]).unwrap_or(0.0),
                    values,
                });
            }
        }
        (units, excluded)
    };
    let (units, excluded) = if schools.len() >= 20_000 {
        let (a, b) = schools.split_at(schools.len() / 2);
        let ((mut ua, mut ea), (ub, eb)) = std::thread::scope(|sc| {
            let h = sc.spawn(|| make_units(b));
            let ra = make_units(a);
            (ra, h.join().expect("evaluation thread"))
        });
        ua.extend(ub);
        ea.extend(eb);
        (ua, ea)
    } else {
        make_units(schools)
    };

    // Every unit's indicator values and results, in two halves on two threads.
    let n_ind = std.indicators.len();
    let codes: Vec<Arc<str>> = std
        .indicators
        .iter()
        .map(|i| Arc::from(i.code.as_str()))
        .collect();
    // Thresholds and 85 % floors per stage, looked up once.
    let rule = &std.school_rule;
    let limits: BTreeMap<&str, Vec<Limit>> = std
        .stages
        .iter()
        .map(|st| {
            (
                st.as_str(),
                std.indicators
                    .iter()
                    .map(|ind| {
                        let t = ind.thresholds.get(st).copied();
                        let floor = match (rule.kind.as_str(), t, rule.floor_share) {
                            ("at_least", Some(t), Some(share)) if !ind.requirement => {
                                Some(t * share)
                            }
                            _ => None,
                        };
                        (t, floor)
                    })
                    .collect(),
            )
        })
        .collect();
    let judge = |chunk: &[Unit<'_>]| -> (Vec<Option<f64>>, Vec<SchoolResult>) {
        // This thread's own copies: two threads bumping the same reference counts millions
        // of times would fight over their cache lines.
        let codes: Vec<Arc<str>> = codes.iter().map(|c| Arc::from(&**c)).collect();
        let mut buf = Vec::new();
        let mut vals = Vec::with_capacity(chunk.len() * n_ind);
        let mut out = Vec::with_capacity(chunk.len());
        for u in chunk {
            let lim = limits.get(u.stage);
            let mut results = Vec::with_capacity(n_ind);
            for (k, (ind, f)) in std.indicators.iter().zip(&formulas).enumerate() {
                let value = f.value(&u.values, &mut buf);
                vals.push(value);
                let (mut threshold, floor) = lim.map_or((None, None), |l| l[k]);
                if let Some(t) = kind_threshold(ind, &u.school.kind) {
                    threshold = Some(t);
                }
                let met = match (value, threshold) {
                    (Some(v), Some(t)) => Some(compare(v, t, ind.smaller_is_better)),
                    _ => None,
                };
                let gap = match (value, threshold) {
                    (Some(v), Some(t)) if met == Some(false) => {
                        Some(if ind.smaller_is_better { v - t } else { t - v })
                    }
                    _ => None,
                };
                results.push(IndicatorResult {
                    code: codes[k].clone(),
                    value,
                    threshold,
                    floor,
                    met,
                    gap,
                });
            }
            // The k-of-n rule counts the ordinary indicators; requirements must all be met.
            let ordinary = || {
                results
                    .iter()
                    .zip(&std.indicators)
                    .filter(|(_, ind)| !ind.requirement)
                    .map(|(r, _)| r)
            };
            let requirements_ok = results
                .iter()
                .zip(&std.indicators)
                .all(|(r, ind)| !ind.requirement || r.met != Some(false));
            let met_count = ordinary().filter(|r| r.met == Some(true)).count();
            let pass = match rule.kind.as_str() {
                "at_least" => {
                    let k = rule.k.unwrap_or(ordinary().count());
                    let rest_ok = ordinary().all(|r| {
                        r.met == Some(true)
                            || matches!((r.value, r.floor), (Some(v), Some(fl)) if v >= fl)
                    });
                    Some(met_count >= k && rest_ok && requirements_ok)
                }
                "all" => Some(
                    results.iter().all(|r| r.met != Some(false))
                        && results.iter().any(|r| r.met.is_some()),
                ),
                _ => None,
            };
            out.push(SchoolResult {
                code: u.school.code.clone(),
                name: u.school.name.clone(),
                county: u.school.county.clone(),
                stage: u.stage,
                students: u.students,
                indicators: results,
                met_count,
                pass,
            });
        }
        (vals, out)
    };
    let (ind_values, school_results) = if units.len() >= 20_000 {
        let (a, b) = units.split_at(units.len() / 2);
        let (ra, rb) = std::thread::scope(|sc| {
            let h = sc.spawn(|| judge(b));
            let ra = judge(a);
            (ra, h.join().expect("evaluation thread"))
        });
        let (mut v, mut r) = ra;
        v.extend(rb.0);
        r.extend(rb.1);
        (v, r)
    } else {
        judge(&units)
    };
    let mut buf = Vec::new();

    // Counties per stage: units bucketed by (county, stage), counties in name order.
    // Every county with a school in the standard's scope: a stage its schools teach but where
    // they have no pupils gets rows without values (无学生), never a division by zero or a
    // silent gap.
    let mut county_ids: HashMap<&str, usize> = HashMap::new();
    let mut covered: std::collections::HashSet<(usize, usize)> = Default::default();
    for s in schools {
        let kind = if s.kind == "complete" {
            "complete_secondary"
        } else {
            s.kind.as_str()
        };
        if std.scope.kinds.iter().any(|k| k == kind) {
            let n = county_ids.len();
            let ci = *county_ids.entry(&s.county).or_insert(n);
            for st in stages_of(&s.kind) {
                if let Some(si) = std.stages.iter().position(|x| x == st) {
                    covered.insert((ci, si));
                }
            }
        }
    }
    for u in &units {
        let n = county_ids.len();
        county_ids.entry(&u.school.county).or_insert(n);
    }
    let n_st = std.stages.len().max(1);
    let stage_ix = |st: &str| std.stages.iter().position(|x| x == st).unwrap_or(0);
    let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); county_ids.len() * n_st];
    for (ui, u) in units.iter().enumerate() {
        buckets[county_ids[&*u.school.county] * n_st + stage_ix(u.stage)].push(ui);
    }
    let mut names: Vec<(&str, usize)> = county_ids.into_iter().collect();
    names.sort_unstable();
    let mut stage_order: Vec<(&str, usize)> = std
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    stage_order.sort_unstable();
    let mut groups: Vec<((&str, &str), &Vec<usize>)> = Vec::new();
    for (name, ci) in &names {
        for (st, si) in &stage_order {
            let b = &buckets[ci * n_st + si];
            if !b.is_empty() || covered.contains(&(*ci, *si)) {
                groups.push(((name, st), b));
            }
        }
    }
    let mut county = Vec::with_capacity(groups.len() * n_ind);
    let mut verdicts = Vec::with_capacity(groups.len());
    let mut points: Vec<Obs> = Vec::new();
    for ((name, stage), us) in &groups {
        let us: &Vec<usize> = us;
        if us.is_empty() {
            for ind in &std.indicators {
                county.push(CountyIndicator {
                    county: name.to_string(),
                    stage: stage.to_string(),
                    indicator: ind.code.clone(),
                    mean: None,
                    sd: None,
                    n: 0,
                    cv: None,
                    threshold: ind.thresholds.get(*stage).copied(),
                    pass: None,
                });
            }
            verdicts.push(CountyVerdict {
                county: name.to_string(),
                stage: stage.to_string(),
                composite_cv: None,
                pass: None,
            });
            continue;
        }
        let mut sums: Vec<Option<f64>> = vec![None; n_el];
        for &ui in us.iter() {
            for (i, v) in units[ui].values.iter().enumerate() {
                if let Some(v) = v {
                    let e = sums[i].get_or_insert(if maxed[i] { f64::MIN } else { 0.0 });
                    if maxed[i] {
                        *e = e.max(*v);
                    } else {
                        *e += v;
                    }
                }
            }
        }
        let cv_max = std.county_rule.cv_max.get(*stage).copied();
        let mut cvs = Vec::new();
        let mut all_pass = true;
        for (k, (ind, f)) in std.indicators.iter().zip(&formulas).enumerate() {
            let mean = f.value(&sums, &mut buf);
            // X_i and P_i of each unit; the CV's mean is the student-weighted mean of X_i,
            // which is X̄ for a per-student formula.
            points.clear();
            points.extend(us.iter().filter_map(|&ui| {
                let x = ind_values[ui * n_ind + k]?;
                let p = units[ui].students;
                Some(Obs {
                    resource: x * p,
                    students: p,
                })
            }));
            let spread = indicators::spread(&points, 1.0);
            let (threshold, pass) = match std.county_rule.kind.as_str() {
                // A requirement: the county's value (e.g. its largest class) against the
                // threshold, failing if any school misses it.
                _ if ind.requirement => {
                    let t = ind.thresholds.get(*stage).copied();
                    let any_fails = us.iter().any(|&ui| {
                        let t = kind_threshold(ind, &units[ui].school.kind).or(t);
                        match (ind_values[ui * n_ind + k], t) {
                            (Some(v), Some(t)) => !compare(v, t, ind.smaller_is_better),
                            _ => false,
                        }
                    });
                    (t, t.map(|_| !any_fails))
                }
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
                        (Some(v), Some(t)) => Some(compare(v, t, ind.smaller_is_better)),
                        _ => None,
                    };
                    (t, pass)
                }
            };
            if pass == Some(false) {
                all_pass = false;
            }
            county.push(CountyIndicator {
                county: name.to_string(),
                stage: stage.to_string(),
                indicator: ind.code.clone(),
                mean,
                sd: spread.as_ref().filter(|_| !ind.requirement).map(|s| s.sd),
                n: spread.as_ref().map_or(0, |s| s.n),
                cv: spread
                    .as_ref()
                    .filter(|_| !ind.requirement)
                    .and_then(|s| s.cv),
                threshold,
                pass,
            });
        }
        let (composite_cv, pass) = match std.county_rule.kind.as_str() {
            "composite_mean" => {
                let ordinary = std.indicators.iter().filter(|i| !i.requirement).count();
                let c = (cvs.len() == ordinary && !cvs.is_empty())
                    .then(|| cvs.iter().sum::<f64>() / cvs.len() as f64);
                (c, c.zip(cv_max).map(|(c, m)| c <= m && all_pass))
            }
            _ => (None, Some(all_pass)),
        };
        verdicts.push(CountyVerdict {
            county: name.to_string(),
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
            name: format!("学校{code}").into(),
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
                .find(|i| i.code.as_ref() == "A5")
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
            .find(|i| i.code.as_ref() == "A6")
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
        let l6 = s
            .indicators
            .iter()
            .find(|i| i.code.as_ref() == "L6")
            .expect("L6");
        assert_eq!((l6.met, l6.floor), (Some(false), Some(1700.0)));
        assert!((l6.gap.expect("gap") - 280.0).abs() < 1e-6);
        let fail = evaluate(std, &elements(), &[mk(100.0 * 2000.0 * 0.80)]);
        assert_eq!(fail.schools[0].pass, Some(false));
        // The class-size cap (G1, ≤ 45 in 小学) is a requirement outside the 6 of 7: a class
        // of 48 fails the school and the county, and has no 差异系数.
        let mut big = mk(100.0 * 2000.0 * 0.86);
        big.per_stage
            .get_mut("primary")
            .expect("primary")
            .insert("max_class".into(), 48.0);
        let e = evaluate(std, &elements(), &[big]);
        let s = &e.schools[0];
        assert_eq!((s.met_count, s.pass), (6, Some(false)));
        let g1 = s
            .indicators
            .iter()
            .find(|i| i.code.as_ref() == "G1")
            .expect("G1");
        assert_eq!((g1.met, g1.gap, g1.floor), (Some(false), Some(3.0), None));
        let c = e
            .county
            .iter()
            .find(|c| c.indicator == "G1")
            .expect("county G1");
        assert_eq!((c.mean, c.pass, c.cv), (Some(48.0), Some(false), None));
        assert_eq!(e.verdicts[0].pass, Some(false));
        // 学校规模 (G2): 2,100 pupils fail a 小学 (≤ 2000) but not a 九年一贯制 school (≤ 2500),
        // whose size is its stages' pupils together.
        let size = |kind: &str, stages: &[(&str, f64)]| {
            let mut s = mk(100.0 * 2000.0 * 0.86);
            s.kind = kind.into();
            s.per_stage.clear();
            for (st, n) in stages {
                s.per_stage
                    .insert(st.to_string(), BTreeMap::from([("students".into(), *n)]));
            }
            let e = evaluate(std, &elements(), &[s]);
            let g2 = e.schools[0]
                .indicators
                .iter()
                .find(|i| i.code.as_ref() == "G2")
                .cloned();
            g2.map(|g| (g.value, g.threshold, g.met))
        };
        assert_eq!(
            size("primary", &[("primary", 2100.0)]),
            Some((Some(2100.0), Some(2000.0), Some(false)))
        );
        assert_eq!(
            size("nine_year", &[("primary", 1300.0), ("junior", 800.0)]),
            Some((Some(2100.0), Some(2500.0), Some(true)))
        );
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

    /// A county whose schools have no 初中 pupils gets 初中 rows without values (no division
    /// by zero, no verdict), beside its 小学 results.
    #[test]
    fn a_stage_without_pupils_is_marked_not_divided() {
        let std = &presets()[0];
        let p = school(
            "P1",
            "primary",
            &[("primary", &[("students", 300.0)])],
            &[("books", 3000.0)],
        );
        let j = school(
            "J1",
            "junior",
            &[("junior", &[("students", 0.0)])],
            &[("books", 500.0)],
        );
        let e = evaluate(std, &elements(), &[p, j]);
        let junior: Vec<_> = e.county.iter().filter(|c| c.stage == "junior").collect();
        assert_eq!(junior.len(), std.indicators.len());
        assert!(
            junior
                .iter()
                .all(|c| c.mean.is_none() && c.n == 0 && c.pass.is_none())
        );
        let v = e
            .verdicts
            .iter()
            .find(|v| v.stage == "junior")
            .expect("junior verdict");
        assert_eq!(v.pass, None);
        let a5 = e
            .county
            .iter()
            .find(|c| c.stage == "primary" && c.indicator == "A5")
            .expect("A5");
        assert_eq!(a5.mean, Some(10.0));
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
        let s2 = e
            .schools
            .iter()
            .find(|s| s.code.as_ref() == "C2")
            .expect("C2");
        assert_eq!(s2.pass, Some(true));
        assert_eq!(
            e.schools
                .iter()
                .find(|s| s.code.as_ref() == "C1")
                .expect("C1")
                .pass,
            Some(false)
        );
    }
}

//! Data validation (数据校验) and year-on-year outlier flags (异常值提示).
//!
//! A rule is `left op right` over a school's data elements, with an importance (`error`: the
//! return cannot be submitted; `warning`: the clerk is asked to check) and a missing-value
//! strategy (`skip`: a rule over missing data is not checked; `fail`: missing data fails it;
//! `zero`: missing counts as 0). Rules are data (`data/validation.json`), checked on load like
//! the standards' formulas. Outliers: a value whose change from last year is far from the
//! other schools' changes, by the robust z-score on the median and the MAD.

use crate::FieldError;
use crate::expr::{Expr, Type, Value};
use crate::standards::Elements;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub code: String,
    pub name: String,
    /// `stage`: checked on each stage's data (with the school-wide data); `school`: on the
    /// school-wide data once.
    pub scope: String,
    pub left: String,
    /// `<=`, `<`, `>=`, `>`, `==`, `!=`.
    pub op: String,
    pub right: String,
    /// `error` or `warning`.
    pub importance: String,
    /// `skip`, `fail` or `zero`.
    pub missing: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    pub version: String,
    pub rules: Vec<Rule>,
}

/// The built-in rules.
pub fn builtin() -> Rules {
    let r: Rules = serde_json::from_str(include_str!("../data/validation.json"))
        .expect("built-in validation rules are valid JSON");
    r
}

struct Compiled<'a> {
    rule: &'a Rule,
    left: Expr,
    right: Expr,
}

fn compile<'a>(rules: &'a Rules, els: &Elements) -> Result<Vec<Compiled<'a>>, FieldError> {
    let known: Vec<&str> = els.elements.iter().map(|e| e.code.as_str()).collect();
    let mut out = Vec::new();
    for r in &rules.rules {
        let side = |src: &str, which: &str| -> Result<Expr, FieldError> {
            let e = Expr::parse(src).map_err(|e| {
                FieldError::new(
                    "invalid_rule",
                    which,
                    format!("校验规则{}的{}:{}", r.code, which, e.message_zh),
                    format!("rule {} {which}: {}", r.code, e.message_en),
                )
            })?;
            if e.ty() != Type::Number {
                return Err(FieldError::new(
                    "invalid_rule",
                    which,
                    format!("校验规则{}的{}应得出数值", r.code, which),
                    format!("rule {} {which} must give a number", r.code),
                ));
            }
            if let Some(v) = e
                .variables()
                .into_iter()
                .find(|v| !known.contains(&v.as_str()))
            {
                return Err(FieldError::new(
                    "invalid_rule",
                    which,
                    format!("校验规则{}引用了未定义的数据项“{v}”", r.code),
                    format!("rule {} uses unknown data element '{v}'", r.code),
                ));
            }
            Ok(e)
        };
        let left = side(&r.left, "left")?;
        let right = side(&r.right, "right")?;
        let known_enum = |v: &str, ok: &[&str], field: &str| {
            if ok.contains(&v) {
                Ok(())
            } else {
                Err(FieldError::new(
                    "invalid_rule",
                    field,
                    format!(
                        "校验规则{}的{field}“{v}”无效,应为:{}",
                        r.code,
                        ok.join("、")
                    ),
                    format!(
                        "rule {}: {field} '{v}' must be one of {}",
                        r.code,
                        ok.join(", ")
                    ),
                ))
            }
        };
        known_enum(&r.op, &["<=", "<", ">=", ">", "==", "!="], "op")?;
        known_enum(&r.importance, &["error", "warning"], "importance")?;
        known_enum(&r.missing, &["skip", "fail", "zero"], "missing")?;
        known_enum(&r.scope, &["stage", "school"], "scope")?;
        out.push(Compiled {
            rule: r,
            left,
            right,
        });
    }
    Ok(out)
}

/// Checks rules for errors (each side parses to a number over known elements, known
/// operator, importance, strategy and scope).
pub fn check_rules(rules: &Rules, els: &Elements) -> Result<(), FieldError> {
    compile(rules, els).map(|_| ())
}

/// One rule a school's data breaks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub name: String,
    /// The stage checked, or empty for a school-wide rule.
    pub stage: String,
    pub importance: String,
    /// The two sides' values (None: missing).
    pub left: Option<f64>,
    pub right: Option<f64>,
    pub message: String,
}

/// Checks a school's data: `per_stage` values by stage, `school` the school-wide values.
pub fn check(
    rules: &Rules,
    els: &Elements,
    per_stage: &BTreeMap<String, BTreeMap<String, f64>>,
    school: &BTreeMap<String, f64>,
) -> Vec<Finding> {
    let Ok(compiled) = compile(rules, els) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in &compiled {
        let targets: Vec<(&str, Option<&BTreeMap<String, f64>>)> = if c.rule.scope == "stage" {
            per_stage
                .iter()
                .map(|(s, v)| (s.as_str(), Some(v)))
                .collect()
        } else {
            vec![("", None)]
        };
        for (stage, values) in targets {
            let lookup = |k: &str| -> Option<f64> {
                let v = values
                    .and_then(|m| m.get(k))
                    .or_else(|| school.get(k))
                    .copied();
                match (v, c.rule.missing.as_str()) {
                    (None, "zero") => Some(0.0),
                    (v, _) => v,
                }
            };
            let num = |e: &Expr| match e.eval(&lookup) {
                Value::Number(x) => Some(x),
                _ => None,
            };
            let (l, r) = (num(&c.left), num(&c.right));
            let ok = match (l, r) {
                (Some(l), Some(r)) => match c.rule.op.as_str() {
                    "<=" => l <= r + 1e-9,
                    "<" => l < r,
                    ">=" => l + 1e-9 >= r,
                    ">" => l > r,
                    "==" => (l - r).abs() < 1e-9,
                    _ => (l - r).abs() >= 1e-9,
                },
                _ => c.rule.missing != "fail",
            };
            if !ok {
                let show = |v: Option<f64>| v.map_or("缺失".to_string(), |x| format!("{x}"));
                out.push(Finding {
                    rule: c.rule.code.clone(),
                    name: c.rule.name.clone(),
                    stage: stage.to_string(),
                    importance: c.rule.importance.clone(),
                    left: l,
                    right: r,
                    message: format!(
                        "{}:{} = {},{} = {}",
                        c.rule.name,
                        c.rule.left,
                        show(l),
                        c.rule.right,
                        show(r)
                    ),
                });
            }
        }
    }
    out
}

/// A value whose change since last year stands out among the schools compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outlier {
    pub key: String,
    pub before: f64,
    pub now: f64,
    /// Relative change (now − before) / before.
    pub change: f64,
    /// The median change of all schools compared.
    pub median: f64,
    /// Robust z-score: 0.6745 (x − median) / MAD.
    pub score: f64,
}

/// Changes within this distance of the median (25 percentage points) are never flagged,
/// however tight the other schools' changes are: a school that did not grow when all others
/// grew 8 % is not a typing error.
pub const MIN_DEVIATION: f64 = 0.25;

/// Robust year-on-year outliers among `points` (key, before, now): the relative changes'
/// robust z-score |0.6745 (x − median) / MAD| above `limit` (3.5 is the usual cut, Iglewicz
/// and Hoaglin) and at least [`MIN_DEVIATION`] from the median. With MAD = 0 the mean absolute deviation stands in (×1.2533); with fewer
/// than five comparable values, nothing is flagged. Values with no or zero last-year value
/// are not compared.
pub fn outliers(points: &[(String, f64, f64)], limit: f64) -> Vec<Outlier> {
    let changes: Vec<(usize, f64)> = points
        .iter()
        .enumerate()
        .filter_map(|(i, (_, b, n))| change(*b, *n).map(|x| (i, x)))
        .collect();
    let Some((m, scale)) = robust(&changes.iter().map(|(_, x)| *x).collect::<Vec<_>>()) else {
        return Vec::new();
    };
    changes
        .into_iter()
        .filter_map(|(i, x)| {
            let score = (x - m) / scale;
            (score.abs() > limit && (x - m).abs() >= MIN_DEVIATION).then(|| Outlier {
                key: points[i].0.clone(),
                before: points[i].1,
                now: points[i].2,
                change: x,
                median: m,
                score,
            })
        })
        .collect()
}

/// The relative change from `before` to `now`; None without a positive last-year value.
pub fn change(before: f64, now: f64) -> Option<f64> {
    (before > 0.0 && before.is_finite() && now.is_finite()).then(|| (now - before) / before)
}

/// The median and robust scale (MAD / 0.6745, or 1.2533 × the mean absolute deviation when
/// the MAD is 0) of `xs`; None with fewer than five values or no spread at all.
pub fn robust(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.len() < 5 {
        return None;
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    let m = median(xs.to_vec());
    let mad = median(xs.iter().map(|x| (x - m).abs()).collect());
    let scale = if mad > 1e-12 {
        mad / 0.6745
    } else {
        xs.iter().map(|x| (x - m).abs()).sum::<f64>() / xs.len() as f64 * 1.253_314
    };
    (scale > 1e-12).then_some((m, scale))
}

/// Scores one school's change against other schools' changes (`reference`): Some when it
/// stands out (|robust z| > `limit`).
pub fn outlier_against(
    key: &str,
    before: f64,
    now: f64,
    reference: &[f64],
    limit: f64,
) -> Option<Outlier> {
    let x = change(before, now)?;
    let (m, scale) = robust(reference)?;
    let score = (x - m) / scale;
    (score.abs() > limit && (x - m).abs() >= MIN_DEVIATION).then(|| Outlier {
        key: key.to_string(),
        before,
        now,
        change: x,
        median: m,
        score,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standards::elements;

    fn stage(v: &[(&str, f64)]) -> BTreeMap<String, f64> {
        v.iter().map(|(k, x)| (k.to_string(), *x)).collect()
    }

    #[test]
    fn builtin_rules_are_valid() {
        check_rules(&builtin(), &elements()).expect("valid");
    }

    #[test]
    fn broken_rules_name_what_is_wrong() {
        let mut r = builtin();
        r.rules[0].left = "teachers_above +".into();
        let e = check_rules(&r, &elements()).expect_err("parse");
        assert!(e.message_zh.contains("V01"), "{}", e.message_zh);
        let mut r = builtin();
        r.rules[0].right = "teachers_total".into();
        let e = check_rules(&r, &elements()).expect_err("unknown");
        assert!(e.message_zh.contains("teachers_total"));
        let mut r = builtin();
        r.rules[0].op = "=<".into();
        assert_eq!(check_rules(&r, &elements()).expect_err("op").field, "op");
    }

    #[test]
    fn findings_name_rule_stage_and_both_sides() {
        let per_stage = BTreeMap::from([
            (
                "primary".to_string(),
                stage(&[
                    ("students", 1313.0),
                    ("classes", 28.0),
                    ("classes_56", 3.0),
                    ("classes_66", 4.0),
                    ("max_class", 58.0),
                    ("teachers", 70.0),
                    ("teachers_above", 71.0),
                ]),
            ),
            (
                "junior".to_string(),
                stage(&[("students", 40.0), ("classes", 0.0), ("teachers", 3.0)]),
            ),
        ]);
        let f = check(
            &builtin(),
            &elements(),
            &per_stage,
            &stage(&[("area_teaching", 4208.0)]),
        );
        let codes: Vec<(&str, &str)> = f
            .iter()
            .map(|f| (f.rule.as_str(), f.stage.as_str()))
            .collect();
        // V01 (71 > 70) and V06 (4 > 3) in primary; V07 in junior (40 students, 0 classes).
        assert_eq!(
            codes,
            vec![("V01", "primary"), ("V06", "primary"), ("V07", "junior")]
        );
        assert_eq!((f[0].left, f[0].right), (Some(71.0), Some(70.0)));
        assert!(f.iter().all(|f| f.importance == "error"));
    }

    #[test]
    fn missing_strategies() {
        let rule = |missing: &str| Rules {
            version: "t".into(),
            rules: vec![Rule {
                code: "T".into(),
                name: "t".into(),
                scope: "stage".into(),
                left: "classes_56".into(),
                op: "<=".into(),
                right: "classes".into(),
                importance: "warning".into(),
                missing: missing.into(),
            }],
        };
        let data = BTreeMap::from([("primary".to_string(), stage(&[("classes_56", 2.0)]))]);
        let none = BTreeMap::new();
        assert!(check(&rule("skip"), &elements(), &data, &none).is_empty());
        assert_eq!(check(&rule("fail"), &elements(), &data, &none).len(), 1);
        // zero: classes missing → 0, and 2 > 0 fails.
        assert_eq!(check(&rule("zero"), &elements(), &data, &none).len(), 1);
    }

    #[test]
    fn an_outlier_among_steady_schools_is_flagged() {
        let mut pts: Vec<(String, f64, f64)> = (0..9)
            .map(|i| (format!("S{i}"), 1000.0, 1000.0 + 10.0 * i as f64))
            .collect();
        pts.push(("BAD".into(), 1000.0, 10_000.0)); // typed one zero too many
        pts.push(("NEW".into(), 0.0, 500.0)); // nothing last year: not compared
        let o = outliers(&pts, 3.5);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].key, "BAD");
        assert!((o[0].change - 9.0).abs() < 1e-12);
        // Against a reference: a tenfold jump stands out among steady schools.
        let reference: Vec<f64> = (0..9).map(|i| 0.01 * i as f64).collect();
        assert!(outlier_against("X", 9811.0, 98_110.0, &reference, 3.5).is_some());
        assert!(outlier_against("X", 9811.0, 9900.0, &reference, 3.5).is_none());
        // Far in z but within 25 points of the median: not flagged.
        assert!(outlier_against("X", 100.0, 80.0, &reference, 3.5).is_none());
        // Too few schools: nothing.
        assert!(outliers(&pts[..4], 3.5).is_empty());
        // Everyone unchanged except one: the mean absolute deviation stands in.
        let mut flat: Vec<(String, f64, f64)> =
            (0..8).map(|i| (format!("F{i}"), 50.0, 50.0)).collect();
        flat.push(("X".into(), 50.0, 5.0));
        let o = outliers(&flat, 3.5);
        assert_eq!(
            o.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(),
            vec!["X"]
        );
    }
}

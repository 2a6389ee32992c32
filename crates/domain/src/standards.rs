//! Evaluation standards as data (评估标准): the built-in presets of `design/STANDARDS.md` —
//! `basic-2012` (基本均衡), `quality-2017` (优质均衡), `class-size` (大班额) — each indicator a
//! formula in [`crate::expr`] over the data elements (数据项) of `data/standards/elements.json`,
//! each threshold with the clause it comes from and a confidence mark. Administrators copy a
//! preset and adjust it (thresholds, scope rules) as data; nothing here is code per province.

use crate::FieldError;
use crate::expr::{Expr, Type};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One data element a school reports (数据项).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Element {
    pub code: String,
    pub name: String,
    pub unit: String,
    /// `count` (whole numbers) or `amount`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Reported per school stage (students, classes, teachers), or once per school.
    pub per_stage: bool,
    /// A physical resource: split among a multi-stage school's stage units (1 : 1.1 …).
    #[serde(default)]
    pub physical: bool,
    /// How a county's value is formed from its schools': `sum` (the default: students, area,
    /// books …) or `max` (最大班额: the largest class anywhere, not a sum of maxima).
    #[serde(default)]
    pub aggregate: Option<String>,
    /// Computed by the evaluation, never reported (学校在校生总数 = the stages' pupils).
    #[serde(default)]
    pub derived: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Elements {
    pub version: String,
    pub source: String,
    pub elements: Vec<Element>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    pub code: String,
    pub name: String,
    pub unit: String,
    /// A number-valued [`Expr`] over element codes.
    pub formula: String,
    /// Per stage (`primary`, `junior`): the standard value (达标值), if the preset sets one.
    #[serde(default)]
    pub thresholds: BTreeMap<String, f64>,
    /// For shares of oversized classes and the like: the value must not exceed the threshold.
    #[serde(default)]
    pub smaller_is_better: bool,
    /// A requirement every school must meet (e.g. 优质均衡's class-size cap), outside the
    /// k-of-n school rule and without a 差异系数: a school fails if it misses it, a county
    /// fails if any school does.
    #[serde(default)]
    pub requirement: bool,
    /// Thresholds that depend on the school type rather than the stage (学校规模: 2000, but
    /// 2500 for an 一贯制 school), overriding `thresholds` for schools of that type.
    #[serde(default)]
    pub thresholds_by_kind: BTreeMap<String, f64>,
    pub clause: String,
    #[serde(default)]
    pub confidence: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountyRule {
    /// `composite_mean` (mean of the CVs), `each` (every CV), or `ratio_of_sums` (no CV rule).
    pub kind: String,
    #[serde(default)]
    pub cv_max: BTreeMap<String, f64>,
    pub clause: String,
    #[serde(default)]
    pub confidence: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchoolRule {
    /// `none`, `at_least` (k indicators met and the rest ≥ floor_share of the value), `all`.
    pub kind: String,
    #[serde(default)]
    pub k: Option<usize>,
    #[serde(default)]
    pub floor_share: Option<f64>,
    #[serde(default)]
    pub clause: Option<String>,
    #[serde(default)]
    pub confidence: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopeRule {
    /// School kinds counted.
    pub kinds: Vec<String>,
    /// Teaching points (教学点) under this many students are left out; null: all counted.
    pub exclude_teaching_points_under: Option<u32>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A standard: versioned data, overridable by copying.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standard {
    pub id: String,
    pub name: String,
    pub version: String,
    pub document: String,
    pub stages: Vec<String>,
    pub scope: ScopeRule,
    pub indicators: Vec<Indicator>,
    pub county_rule: CountyRule,
    pub school_rule: SchoolRule,
    #[serde(default)]
    pub note: Option<String>,
}

const ELEMENTS: &str = include_str!("../data/standards/elements.json");
const PRESETS: &[&str] = &[
    include_str!("../data/standards/basic-2012.json"),
    include_str!("../data/standards/quality-2017.json"),
    include_str!("../data/standards/class-size.json"),
];

/// The data elements the built-in presets use.
pub fn elements() -> Elements {
    serde_json::from_str(ELEMENTS).unwrap_or_else(|e| panic!("built-in elements.json: {e}"))
}

/// The built-in presets, checked.
pub fn presets() -> Vec<Standard> {
    let els = elements();
    PRESETS
        .iter()
        .map(|p| {
            let s = Standard::from_json(p).unwrap_or_else(|e| panic!("built-in preset: {e:?}"));
            s.check(&els)
                .unwrap_or_else(|e| panic!("built-in preset {}: {e:?}", s.id));
            s
        })
        .collect()
}

impl Standard {
    /// Reads a standard (a preset, or an administrator's copy) from JSON.
    pub fn from_json(text: &str) -> Result<Standard, FieldError> {
        serde_json::from_str(text).map_err(|e| {
            FieldError::new(
                "invalid_standard",
                "standard",
                format!("评估标准格式有误:第{}行第{}列:{e}", e.line(), e.column()),
                format!(
                    "the standard is malformed at line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })
    }

    /// Checks what JSON cannot: every formula parses to a number over known elements, every
    /// threshold names a stage of the standard, CV limits cover the stages, rules are known.
    pub fn check(&self, els: &Elements) -> Result<(), FieldError> {
        let bad = |field: &str, zh: String, en: String| {
            Err(FieldError::new("invalid_standard", field, zh, en))
        };
        let known: Vec<&str> = els.elements.iter().map(|e| e.code.as_str()).collect();
        for ind in &self.indicators {
            let e = Expr::parse(&ind.formula).map_err(|e| {
                FieldError::new(
                    "invalid_standard",
                    "formula",
                    format!("指标{}的公式:{}", ind.code, e.message_zh),
                    format!("indicator {} formula: {}", ind.code, e.message_en),
                )
            })?;
            if e.ty() != Type::Number {
                return bad(
                    "formula",
                    format!("指标{}的公式应得出数值", ind.code),
                    format!("indicator {} must give a number", ind.code),
                );
            }
            if let Some(v) = e
                .variables()
                .into_iter()
                .find(|v| !known.contains(&v.as_str()))
            {
                return bad(
                    "formula",
                    format!("指标{}的公式引用了未定义的数据项“{v}”", ind.code),
                    format!("indicator {} uses unknown data element '{v}'", ind.code),
                );
            }
            if let Some(s) = ind.thresholds.keys().find(|s| !self.stages.contains(s)) {
                return bad(
                    "thresholds",
                    format!("指标{}的阈值学段“{s}”不在本标准中", ind.code),
                    format!(
                        "indicator {} has a threshold for unknown stage '{s}'",
                        ind.code
                    ),
                );
            }
        }
        match self.county_rule.kind.as_str() {
            "composite_mean" | "each" => {
                if let Some(s) = self
                    .stages
                    .iter()
                    .find(|s| !self.county_rule.cv_max.contains_key(*s))
                {
                    return bad(
                        "county_rule",
                        format!("缺少学段“{s}”的差异系数上限"),
                        format!("no CV limit for stage '{s}'"),
                    );
                }
            }
            "ratio_of_sums" => {}
            k => {
                return bad(
                    "county_rule",
                    format!("未知的县域判定方式“{k}”"),
                    format!("unknown county rule '{k}'"),
                );
            }
        }
        match (
            self.school_rule.kind.as_str(),
            self.school_rule.k,
            self.school_rule.floor_share,
        ) {
            ("none" | "all", _, _) => {}
            ("at_least", Some(k), Some(f))
                if k <= self.indicators.len() && (0.0..=1.0).contains(&f) => {}
            (k, _, _) => {
                return bad(
                    "school_rule",
                    format!("学校达标规则“{k}”不完整或无效"),
                    format!("school rule '{k}' is incomplete or invalid"),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_load_and_carry_standards_md_values() {
        let p = presets();
        let ids: Vec<&str> = p.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, vec!["basic-2012", "quality-2017", "class-size"]);
        let basic = &p[0];
        assert_eq!(basic.indicators.len(), 8);
        assert_eq!(basic.county_rule.kind, "composite_mean");
        assert_eq!(basic.county_rule.cv_max["primary"], 0.65);
        assert_eq!(basic.county_rule.cv_max["junior"], 0.55);
        let q = &p[1];
        let t: Vec<(f64, f64)> = q
            .indicators
            .iter()
            .filter(|i| !i.requirement)
            .map(|i| (i.thresholds["primary"], i.thresholds["junior"]))
            .collect();
        assert_eq!(
            t,
            vec![
                (4.2, 5.3),
                (1.0, 1.0),
                (0.9, 0.9),
                (4.5, 5.8),
                (7.5, 10.2),
                (2000.0, 2500.0),
                (2.3, 2.4)
            ]
        );
        assert_eq!(
            (q.school_rule.k, q.school_rule.floor_share),
            (Some(6), Some(0.85))
        );
        assert_eq!(
            (
                q.county_rule.cv_max["primary"],
                q.county_rule.cv_max["junior"]
            ),
            (0.50, 0.45)
        );
        let c = &p[2];
        assert_eq!(c.indicators[2].thresholds["primary"], 45.0);
        assert!(c.indicators.iter().all(|i| i.smaller_is_better));
        // Every threshold and rule says where it comes from.
        for s in &p {
            assert!(s.indicators.iter().all(|i| !i.clause.is_empty()));
            assert!(!s.county_rule.clause.is_empty());
        }
    }

    #[test]
    fn an_administrators_copy_is_checked() {
        let els = elements();
        let mut s = presets().remove(1);
        s.id = "quality-2017-fj".into();
        s.scope.exclude_teaching_points_under = Some(100);
        s.indicators[0].thresholds.insert("primary".into(), 4.5);
        assert!(s.check(&els).is_ok());
        s.indicators[1].formula = "teachers_backbone / pupils * 100".into();
        assert!(s.check(&els).unwrap_err().message_zh.contains("pupils"));
        s.indicators[1].formula = "teachers_backbone > students".into();
        assert!(s.check(&els).unwrap_err().message_zh.contains("数值"));
        s.indicators[1].formula = "teachers_backbone / students * 100".into();
        s.county_rule.cv_max.remove("junior");
        assert!(s.check(&els).unwrap_err().message_zh.contains("junior"));
        let e = Standard::from_json("{\"id\": 1}").unwrap_err();
        assert!(e.message_zh.contains("第1行"), "{}", e.message_zh);
    }
}

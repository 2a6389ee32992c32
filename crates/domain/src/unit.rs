//! Organisation (组织机构): one tree of units (单位). Each unit stores a materialised path
//! (`/1/5/23/`) so that "this unit and everything below it" is one index range scan.

use crate::error::{FieldError, required_text};
use serde::{Deserialize, Serialize};

/// Kind of a unit (单位类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// 局 (education bureau, county government office)
    Bureau,
    /// 学校
    School,
    /// 镇/乡
    Town,
    /// 村/社区
    Village,
    /// 科室/股室
    Department,
    /// 窗口 (service-centre window)
    Window,
    /// 工作组/帮扶队
    Team,
    /// 企业 (subject of assistance)
    Enterprise,
    /// 项目 (subject of assistance)
    Project,
}

impl UnitKind {
    pub const ALL: [UnitKind; 9] = [
        UnitKind::Bureau,
        UnitKind::School,
        UnitKind::Town,
        UnitKind::Village,
        UnitKind::Department,
        UnitKind::Window,
        UnitKind::Team,
        UnitKind::Enterprise,
        UnitKind::Project,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Bureau => "bureau",
            UnitKind::School => "school",
            UnitKind::Town => "town",
            UnitKind::Village => "village",
            UnitKind::Department => "department",
            UnitKind::Window => "window",
            UnitKind::Team => "team",
            UnitKind::Enterprise => "enterprise",
            UnitKind::Project => "project",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            UnitKind::Bureau => "局",
            UnitKind::School => "学校",
            UnitKind::Town => "乡镇",
            UnitKind::Village => "村(社区)",
            UnitKind::Department => "科室",
            UnitKind::Window => "窗口",
            UnitKind::Team => "工作组/帮扶队",
            UnitKind::Enterprise => "企业",
            UnitKind::Project => "项目",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            UnitKind::Bureau => "Bureau",
            UnitKind::School => "School",
            UnitKind::Town => "Town",
            UnitKind::Village => "Village",
            UnitKind::Department => "Department",
            UnitKind::Window => "Window",
            UnitKind::Team => "Team",
            UnitKind::Enterprise => "Enterprise",
            UnitKind::Project => "Project",
        }
    }

    /// The kind a new child of this unit most often has (preselected in the form).
    pub fn usual_child(self) -> UnitKind {
        match self {
            UnitKind::Bureau | UnitKind::School => UnitKind::Department,
            UnitKind::Town => UnitKind::Village,
            UnitKind::Village | UnitKind::Team => UnitKind::Enterprise,
            UnitKind::Department | UnitKind::Window => UnitKind::Window,
            UnitKind::Enterprise | UnitKind::Project => UnitKind::Project,
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|k| k.as_str() == s || k.label_zh() == s).ok_or_else(|| {
            FieldError::new(
                "invalid_value",
                field,
                format!("单位类型“{s}”无效,应为:局、学校、乡镇、村(社区)、科室、窗口、工作组/帮扶队、企业、项目"),
                format!(
                    "unknown unit kind '{s}', expected one of: {}",
                    Self::ALL.map(|k| k.as_str()).join(", ")
                ),
            )
        })
    }
}

/// School stage (学段) — only for units of kind `school`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchoolStage {
    /// 幼儿园
    Kindergarten,
    /// 小学
    Primary,
    /// 初中
    Junior,
    /// 九年一贯制
    NineYear,
    /// 完全中学
    Complete,
    /// 高中
    Senior,
    /// 中职
    Vocational,
    /// 特教
    Special,
    /// 十二年一贯制
    TwelveYear,
    /// 教学点 (a small village site teaching the lower primary grades)
    TeachingPoint,
}

impl SchoolStage {
    pub const ALL: [SchoolStage; 10] = [
        SchoolStage::Kindergarten,
        SchoolStage::Primary,
        SchoolStage::Junior,
        SchoolStage::NineYear,
        SchoolStage::Complete,
        SchoolStage::Senior,
        SchoolStage::Vocational,
        SchoolStage::Special,
        SchoolStage::TwelveYear,
        SchoolStage::TeachingPoint,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SchoolStage::Kindergarten => "kindergarten",
            SchoolStage::Primary => "primary",
            SchoolStage::Junior => "junior",
            SchoolStage::NineYear => "nine_year",
            SchoolStage::Complete => "complete",
            SchoolStage::Senior => "senior",
            SchoolStage::Vocational => "vocational",
            SchoolStage::Special => "special",
            SchoolStage::TwelveYear => "twelve_year",
            SchoolStage::TeachingPoint => "teaching_point",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            SchoolStage::Kindergarten => "幼儿园",
            SchoolStage::Primary => "小学",
            SchoolStage::Junior => "初中",
            SchoolStage::NineYear => "九年一贯制",
            SchoolStage::Complete => "完全中学",
            SchoolStage::Senior => "高中",
            SchoolStage::Vocational => "中职",
            SchoolStage::Special => "特教",
            SchoolStage::TwelveYear => "十二年一贯制",
            SchoolStage::TeachingPoint => "教学点",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            SchoolStage::Kindergarten => "Kindergarten",
            SchoolStage::Primary => "Primary",
            SchoolStage::Junior => "Junior secondary",
            SchoolStage::NineYear => "Nine-year",
            SchoolStage::Complete => "Complete secondary",
            SchoolStage::Senior => "Senior secondary",
            SchoolStage::Vocational => "Vocational",
            SchoolStage::Special => "Special education",
            SchoolStage::TwelveYear => "Twelve-year",
            SchoolStage::TeachingPoint => "Teaching point",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|k| k.as_str() == s || k.label_zh() == s).ok_or_else(|| {
            FieldError::new(
                "invalid_value",
                field,
                format!("学段“{s}”无效,应为:幼儿园、小学、初中、九年一贯制、完全中学、高中、中职、特教、十二年一贯制、教学点"),
                format!(
                    "unknown school stage '{s}', expected one of: {}",
                    Self::ALL.map(|k| k.as_str()).join(", ")
                ),
            )
        })
    }
}

/// A validated unit name (单位名称): 1–100 characters.
pub fn unit_name(value: &str) -> Result<String, FieldError> {
    required_text("name", "单位名称", value, 100)
}

/// A validated unit code (单位代码, e.g. 学校标识码 or 统一社会信用代码): 1–40 characters of
/// ASCII letters, digits, `-`, `_` and `.`.
pub fn unit_code(value: &str) -> Result<String, FieldError> {
    let v = required_text("code", "单位代码", value, 40)?;
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(FieldError::new(
            "invalid_format",
            "code",
            format!("单位代码“{v}”只能包含字母、数字、-、_ 和 ."),
            format!("code '{v}' may contain only ASCII letters, digits, '-', '_' and '.'"),
        ));
    }
    Ok(v)
}

/// Checks that a stage is given exactly for schools.
pub fn check_stage(kind: UnitKind, stage: Option<SchoolStage>) -> Result<(), FieldError> {
    match (kind, stage) {
        (UnitKind::School, None) => Err(FieldError::new(
            "required",
            "stage",
            "学校必须填写学段",
            "a school needs a stage",
        )),
        (k, Some(_)) if k != UnitKind::School => Err(FieldError::new(
            "not_allowed",
            "stage",
            "只有学校可以填写学段",
            "only schools have a stage",
        )),
        _ => Ok(()),
    }
}

/// Basic facts of a unit (基本情况), e.g. `{"classes": 28, "students": 1313}`: a flat JSON
/// object of numbers and short strings. Indicator data proper lives in its own module.
pub fn unit_attrs(value: &serde_json::Value) -> Result<String, FieldError> {
    let bad =
        |why_zh: String, why_en: String| FieldError::new("invalid_value", "attrs", why_zh, why_en);
    let obj = value.as_object().ok_or_else(|| {
        bad(
            "基本情况必须是对象".into(),
            "attrs must be a JSON object".into(),
        )
    })?;
    if obj.len() > 50 {
        return Err(bad(
            "基本情况最多50项".into(),
            "attrs may hold at most 50 keys".into(),
        ));
    }
    for (k, v) in obj {
        if k.is_empty() || k.chars().count() > 40 {
            return Err(bad(
                format!("项名“{k}”长度应为1–40"),
                format!("key '{k}' must be 1-40 characters"),
            ));
        }
        let ok = match v {
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => true,
            serde_json::Value::String(s) => s.chars().count() <= 200,
            _ => false,
        };
        if !ok {
            return Err(bad(
                format!("“{k}”的值必须是数字、布尔或200字以内的文字"),
                format!(
                    "value of '{k}' must be a number, boolean or string of at most 200 characters"
                ),
            ));
        }
    }
    Ok(value.to_string())
}

/// Materialised path of a unit under `parent_path` (`/` for a root).
pub fn child_path(parent_path: &str, id: i64) -> String {
    format!("{parent_path}{id}/")
}

/// Exclusive upper bound of the index range that holds `prefix` and everything below it:
/// every path in the subtree satisfies `prefix <= path < subtree_upper(prefix)` in byte order.
/// Paths contain only digits and `/`, and `/` + 1 = `0`.
pub fn subtree_upper(prefix: &str) -> String {
    debug_assert!(prefix.ends_with('/'));
    let mut s = prefix[..prefix.len() - 1].to_string();
    s.push('0');
    s
}

/// Whether `path` lies in the subtree rooted at `prefix` (including the root itself).
pub fn in_subtree(prefix: &str, path: &str) -> bool {
    path.starts_with(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_range_holds_exactly_the_subtree() {
        let p = "/1/5/";
        let up = subtree_upper(p);
        for (path, inside) in [
            ("/1/5/", true),
            ("/1/5/7/", true),
            ("/1/5/70/99/", true),
            ("/1/50/", false),
            ("/1/51/", false),
            ("/1/4/", false),
            ("/1/", false),
            ("/2/5/", false),
        ] {
            let by_range = p <= path && path < up.as_str();
            assert_eq!(by_range, inside, "{path}");
            assert_eq!(in_subtree(p, path), inside, "{path}");
        }
    }

    #[test]
    fn codes_and_names() {
        assert!(unit_code("3621000123").is_ok());
        assert_eq!(unit_code("学校").unwrap_err().code, "invalid_format");
        assert_eq!(unit_code("  ").unwrap_err().code, "required");
        assert_eq!(unit_name(&"长".repeat(101)).unwrap_err().code, "too_long");
        assert_eq!(unit_name(" 第三小学 ").unwrap(), "第三小学");
    }

    #[test]
    fn stage_only_for_schools() {
        assert!(check_stage(UnitKind::School, Some(SchoolStage::Primary)).is_ok());
        assert_eq!(
            check_stage(UnitKind::School, None).unwrap_err().field,
            "stage"
        );
        assert_eq!(
            check_stage(UnitKind::Town, Some(SchoolStage::Primary))
                .unwrap_err()
                .code,
            "not_allowed"
        );
        assert_eq!(UnitKind::parse("kind", "学校").unwrap(), UnitKind::School);
        assert!(UnitKind::parse("kind", "planet").is_err());
    }

    #[test]
    fn attrs_are_flat() {
        assert!(unit_attrs(&serde_json::json!({"classes": 28, "students": 1313})).is_ok());
        assert!(unit_attrs(&serde_json::json!({"x": {"y": 1}})).is_err());
        assert!(unit_attrs(&serde_json::json!([1])).is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn path_of(ids: &[u32]) -> String {
        let mut p = "/".to_string();
        for id in ids {
            p = child_path(&p, i64::from(*id) + 1);
        }
        p
    }

    proptest! {
        /// The index range the store scans for a subtree holds exactly the paths below it.
        #[test]
        fn range_scan_equals_prefix_test(a in prop::collection::vec(0u32..200, 1..5), b in prop::collection::vec(0u32..200, 1..6)) {
            let prefix = path_of(&a);
            let path = path_of(&b);
            let upper = subtree_upper(&prefix);
            let by_range = prefix.as_str() <= path.as_str() && path.as_str() < upper.as_str();
            let is_descendant = b.len() >= a.len() && b[..a.len()] == a[..];
            prop_assert_eq!(by_range, is_descendant);
            prop_assert_eq!(in_subtree(&prefix, &path), is_descendant);
        }
    }
}

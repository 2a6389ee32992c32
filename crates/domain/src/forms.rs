//! Forms (填报表): a named set of data elements, filled in per period of one type by the
//! schools of the kinds it is assigned to. The built-in 学校基础数据 form is filled per 学年
//! by every school; administrators add forms for other needs (a monthly canteen-inspection
//! count, a per-semester after-school figure) with their own data elements.

use crate::FieldError;
use serde::{Deserialize, Serialize};

/// How a form's periods are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodType {
    /// 学年, September to August, named by its first year: `2024` is 2024–25.
    SchoolYear,
    /// 学期: `2024-1` is the first semester of 学年 2024 (autumn 2024), `2024-2` the second.
    Semester,
    /// 年 (calendar year): `2024`.
    Year,
    /// 月: `2024-05`.
    Month,
}

impl PeriodType {
    pub fn label_zh(self) -> &'static str {
        match self {
            PeriodType::SchoolYear => "学年",
            PeriodType::Semester => "学期",
            PeriodType::Year => "年",
            PeriodType::Month => "月",
        }
    }

    /// Checks a period's name for this type; the error shows the expected form.
    pub fn check(self, period: &str) -> Result<String, FieldError> {
        let p = period.trim();
        let year =
            |s: &str| s.len() == 4 && s.parse::<i32>().is_ok_and(|y| (2000..=2100).contains(&y));
        let ok = match self {
            PeriodType::SchoolYear | PeriodType::Year => year(p),
            PeriodType::Semester => p
                .split_once('-')
                .is_some_and(|(y, s)| year(y) && (s == "1" || s == "2")),
            PeriodType::Month => p.split_once('-').is_some_and(|(y, m)| {
                year(y) && m.len() == 2 && m.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
            }),
        };
        if ok {
            return Ok(p.to_string());
        }
        let (zh, en) = match self {
            PeriodType::SchoolYear => (
                "四位年份,如 2024(即2024—2025学年)",
                "four digits, e.g. 2024 (school year 2024-25)",
            ),
            PeriodType::Semester => (
                "学年-学期,如 2024-1(2024—2025学年第一学期)",
                "year-semester, e.g. 2024-1",
            ),
            PeriodType::Year => ("四位年份,如 2024", "four digits, e.g. 2024"),
            PeriodType::Month => ("年-月,如 2024-05", "year-month, e.g. 2024-05"),
        };
        Err(FieldError::new(
            "invalid_format",
            "period",
            format!("{}“{period}”应为{zh}", self.label_zh()),
            format!("period '{period}' must be {en}"),
        ))
    }

    /// The period before `period` (last month, last semester, last year); `period` must have
    /// passed [`PeriodType::check`].
    pub fn previous(self, period: &str) -> String {
        let num = |s: &str| s.parse::<i32>().unwrap_or_default();
        match self {
            PeriodType::SchoolYear | PeriodType::Year => (num(period) - 1).to_string(),
            PeriodType::Semester => match period.split_once('-') {
                Some((y, "2")) => format!("{y}-1"),
                Some((y, _)) => format!("{}-2", num(y) - 1),
                None => String::new(),
            },
            PeriodType::Month => match period.split_once('-') {
                Some((y, "01")) => format!("{}-12", num(y) - 1),
                Some((y, m)) => format!("{y}-{:02}", num(m) - 1),
                None => String::new(),
            },
        }
    }

    /// The period as users read it: 2024—2025学年第一学期, 2024年5月 ….
    pub fn label(self, period: &str) -> String {
        match self {
            PeriodType::SchoolYear => period
                .parse::<i32>()
                .map_or(period.to_string(), |y| format!("{y}—{}学年", y + 1)),
            PeriodType::Semester => match period.split_once('-') {
                Some((y, s)) => {
                    let y: i32 = y.parse().unwrap_or_default();
                    format!(
                        "{y}—{}学年第{}学期",
                        y + 1,
                        if s == "1" { "一" } else { "二" }
                    )
                }
                None => period.to_string(),
            },
            PeriodType::Year => format!("{period}年"),
            PeriodType::Month => match period.split_once('-') {
                Some((y, m)) => format!("{y}年{}月", m.trim_start_matches('0')),
                None => period.to_string(),
            },
        }
    }
}

/// A form (填报表).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Form {
    pub id: String,
    pub name: String,
    pub period_type: PeriodType,
    /// School types it is assigned to (`primary`, `nine_year` …); empty: every school.
    #[serde(default)]
    pub school_kinds: Vec<String>,
    /// Data element codes, in the order the form shows them.
    pub elements: Vec<String>,
}

/// The built-in form's id: the 学年 school statistics every evaluation reads.
pub const BASIC: &str = "school-basic";

impl Form {
    /// The key its values are stored under for `period`: the bare 学年 for the built-in form,
    /// `<id>/<period>` for the others (so forms never share values).
    pub fn key(&self, period: &str) -> String {
        if self.id == BASIC {
            period.to_string()
        } else {
            format!("{}/{period}", self.id)
        }
    }

    pub fn applies_to(&self, school_kind: &str) -> bool {
        self.school_kinds.is_empty() || self.school_kinds.iter().any(|k| k == school_kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_checked_per_type_and_read_as_users_write_them() {
        assert_eq!(
            PeriodType::SchoolYear.check(" 2024 ").as_deref(),
            Ok("2024")
        );
        assert_eq!(
            PeriodType::Semester.check("2024-2").as_deref(),
            Ok("2024-2")
        );
        assert_eq!(PeriodType::Month.check("2024-05").as_deref(), Ok("2024-05"));
        for (t, bad) in [
            (PeriodType::Semester, "2024-3"),
            (PeriodType::Month, "2024-5"),
            (PeriodType::Month, "2024-13"),
            (PeriodType::Year, "24"),
            (PeriodType::SchoolYear, "2024-1"),
        ] {
            let e = t.check(bad).expect_err(bad);
            assert_eq!(e.field, "period");
            assert!(e.message_zh.contains(bad), "{}", e.message_zh);
        }
        assert_eq!(
            PeriodType::Semester.label("2024-1"),
            "2024—2025学年第一学期"
        );
        assert_eq!(PeriodType::Month.label("2024-05"), "2024年5月");
        assert_eq!(PeriodType::SchoolYear.label("2024"), "2024—2025学年");
        assert_eq!(PeriodType::Month.previous("2024-01"), "2023-12");
        assert_eq!(PeriodType::Month.previous("2024-10"), "2024-09");
        assert_eq!(PeriodType::Semester.previous("2024-1"), "2023-2");
        assert_eq!(PeriodType::Semester.previous("2024-2"), "2024-1");
    }

    #[test]
    fn keys_keep_forms_apart() {
        let f = Form {
            id: "canteen".into(),
            name: "食堂检查".into(),
            period_type: PeriodType::Month,
            school_kinds: vec![],
            elements: vec![],
        };
        assert_eq!(f.key("2024-05"), "canteen/2024-05");
        let b = Form {
            id: BASIC.into(),
            ..f
        };
        assert_eq!(b.key("2024"), "2024");
    }
}

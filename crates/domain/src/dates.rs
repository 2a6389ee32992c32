//! Dates as users type them: 2024-05-06, 2024-5-6, 2024/5/6, 2024.5.6, 2024年5月6日,
//! 20240506. Anything else is refused with the field named. Dates are shown as 2024年5月6日.

use crate::error::FieldError;
use chrono::{Datelike, NaiveDate};

pub fn parse(field: &str, s: &str) -> Result<NaiveDate, FieldError> {
    let t = s.trim();
    let bad = || {
        FieldError::new(
            "invalid_date",
            field,
            format!("“{t}”不是有效日期,应写作 2024-05-06、2024/5/6、2024.5.6 或 2024年5月6日"),
            format!(
                "'{t}' is not a valid date: write 2024-05-06, 2024/5/6, 2024.5.6 or 2024年5月6日"
            ),
        )
    };
    let digits_only = t.len() == 8 && t.chars().all(|c| c.is_ascii_digit());
    let parts: Vec<String> = if digits_only {
        vec![
            t[0..4].to_string(),
            t[4..6].to_string(),
            t[6..8].to_string(),
        ]
    } else {
        let norm = t
            .trim_end_matches('日')
            .replace(['年', '月', '/', '.'], "-");
        norm.split('-').map(str::to_string).collect()
    };
    match parts.as_slice() {
        [y, m, d] => build(y, m, d).ok_or_else(bad),
        _ => Err(bad()),
    }
}

fn build(y: &str, m: &str, d: &str) -> Option<NaiveDate> {
    if y.len() != 4 || m.is_empty() || m.len() > 2 || d.is_empty() || d.len() > 2 {
        return None;
    }
    let (y, m, d) = (
        y.parse::<i32>().ok()?,
        m.parse::<u32>().ok()?,
        d.parse::<u32>().ok()?,
    );
    if !(1900..=2100).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

/// 2026年5月6日 (no zero padding), as official documents write dates.
pub fn chinese(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_users_type() {
        let want = NaiveDate::from_ymd_opt(2024, 5, 6).unwrap();
        for s in [
            "2024-05-06",
            "2024-5-6",
            "2024/5/6",
            "2024.5.6",
            "2024年5月6日",
            "2024年05月06日",
            " 20240506 ",
        ] {
            assert_eq!(parse("deadline", s).unwrap(), want, "{s}");
        }
    }

    #[test]
    fn refuses_nonsense_naming_the_field() {
        for s in [
            "",
            "明天",
            "2024-13-01",
            "2024-02-30",
            "24-5-6",
            "2024-5",
            "5/6/2024",
            "2024-05-06T00:00",
        ] {
            let e = parse("deadline", s).unwrap_err();
            assert_eq!(
                (e.code, e.field.as_str()),
                ("invalid_date", "deadline"),
                "{s}"
            );
        }
        assert_eq!(
            chinese(NaiveDate::from_ymd_opt(2026, 5, 6).unwrap()),
            "2026年5月6日"
        );
    }
}

//! The demo county's school statistics (学校基础数据), loaded through the same import as a
//! user's file. 篇五's 第三小学 is exact (1,313 students, 28 classes, 4,208 ㎡ teaching rooms,
//! 6,880 ㎡ sports ground, 50 student computers, 9,811 books), so it falls short of several
//! 优质均衡 thresholds, as the report says. 学年 2023 and 2024 are approved, except
//! 双溪中心小学's 2024 return, which waits for 审核; 第三小学 has a 2025 draft with a books
//! figure typed with one zero too many, so the outlier flag has something to show.

use crate::schools_import::{SCHOOL_COLUMNS, import};
use crate::{Actor, App, Result, ServiceError};
use taizhang_office::excel::Sheet;

/// 学年 2024, in template column order from 小学在校生数 on.
const ROWS_2024: &[(&str, &str, &str, &str, [&str; 25])] = &[
    (
        "3509230001",
        "屏南县第一小学",
        "小学",
        "城区",
        [
            "1642", "", "", "36", "", "2", "0", "57", "", "92", "", "88", "", "18", "", "15", "",
            "50", "", "7800", "12500", "3600000", "160", "40", "38000",
        ],
    ),
    (
        "3509230002",
        "屏南县第二小学",
        "小学",
        "城区",
        [
            "1088", "", "", "24", "", "0", "0", "48", "", "60", "", "55", "", "12", "", "10", "",
            "30", "", "5100", "8400", "2300000", "110", "26", "25000",
        ],
    ),
    (
        "3509230003",
        "屏南县第三小学",
        "小学",
        "城区",
        [
            "1313", "", "", "28", "", "0", "0", "52", "", "68", "", "60", "", "8", "", "9", "",
            "40", "", "4208", "6880", "2100000", "50", "28", "9811",
        ],
    ),
    (
        "3509230004",
        "牙力古孜铁热克小学",
        "小学",
        "乡村",
        [
            "526", "", "", "14", "", "0", "0", "42", "", "30", "", "26", "", "4", "", "5", "",
            "14", "", "2600", "5200", "1150000", "40", "14", "12000",
        ],
    ),
    (
        "3509230005",
        "屏南县第一中学",
        "完全中学",
        "城区",
        [
            "", "1235", "800", "", "26", "3", "0", "", "58", "", "98", "", "90", "", "14", "",
            "10", "", "60", "16000", "26000", "8200000", "380", "70", "90000",
        ],
    ),
    (
        "3509230006",
        "屏南县实验中学",
        "初中",
        "城区",
        [
            "", "1410", "", "", "30", "1", "0", "", "56", "", "102", "", "96", "", "16", "", "12",
            "", "62", "8400", "15800", "3900000", "210", "36", "52000",
        ],
    ),
    (
        "3509230007",
        "双溪中心小学",
        "小学",
        "乡村",
        [
            "398", "", "", "12", "", "0", "0", "38", "", "26", "", "24", "", "4", "", "4", "",
            "12", "", "2200", "4300", "900000", "45", "10", "9000",
        ],
    ),
    (
        "3509230008",
        "棠口九年一贯制学校",
        "九年一贯制",
        "乡村",
        [
            "430", "272", "", "10", "8", "0", "0", "46", "38", "30", "26", "27", "20", "3", "3",
            "3", "2", "14", "14", "3900", "7600", "1500000", "70", "16", "22000",
        ],
    ),
    (
        "3509230010",
        "前洋教学点",
        "教学点",
        "乡村",
        [
            "36", "", "", "3", "", "0", "0", "15", "", "4", "", "3", "", "0", "", "0", "", "1", "",
            "180", "600", "50000", "6", "1", "800",
        ],
    ),
    (
        "3509230011",
        "岭下教学点",
        "教学点",
        "乡村",
        [
            "68", "", "", "4", "", "0", "0", "20", "", "6", "", "5", "", "0", "", "1", "", "2", "",
            "320", "900", "90000", "8", "2", "1600",
        ],
    ),
];

fn sheet(scale: impl Fn(usize, usize, f64) -> f64, only: Option<&str>) -> Sheet {
    let mut rows = Vec::new();
    for (k, (code, name, kind, ur, v)) in ROWS_2024.iter().enumerate() {
        if only.is_some_and(|o| o != *code) {
            continue;
        }
        let mut r = vec![
            code.to_string(),
            name.to_string(),
            "屏南县".to_string(),
            kind.to_string(),
            ur.to_string(),
        ];
        for (i, x) in v.iter().enumerate() {
            r.push(match x.parse::<f64>() {
                Ok(x) => format!("{}", scale(k, i, x).round()),
                Err(_) => String::new(),
            });
        }
        debug_assert_eq!(r.len(), SCHOOL_COLUMNS.len());
        rows.push((k + 2, r));
    }
    Sheet { rows }
}

/// Loads 学年 2023–2025 for the demo county's schools.
pub async fn load(app: &App) -> Result<()> {
    let sys = Actor::system("demo");
    let fail = |e: crate::ledger_excel::ImportError| {
        ServiceError::Internal(format!("demo school data: {e:?}"))
    };
    // 2023: a year earlier, a little smaller (3 % fewer pupils, fewer books and computers);
    // class-size counts (columns 5, 6) and maxima stay.
    let earlier = |k: usize, i: usize, x: f64| match i {
        5..=8 => x,
        0..=2 => x * (0.95 + 0.01 * (k % 4) as f64),
        19..=24 => x * (0.88 + 0.02 * ((k + i) % 5) as f64),
        _ => x,
    };
    import(app, &sys, "2023", sheet(earlier, None), true)
        .await
        .map_err(fail)?;
    import(app, &sys, "2024", sheet(|_, _, x| x, None), true)
        .await
        .map_err(fail)?;
    // 双溪中心小学's 2024 return goes back to 已报送 (awaiting 审核).
    let id = {
        let mut c = app.store.conn().await?;
        taizhang_store::units::id_by_code(&mut c, "3509230007")
            .await?
            .ok_or(ServiceError::NotFound)?
    };
    crate::indicators::transition(app, &sys, id, "2024", "return", "演示:退回重新报送").await?;
    crate::indicators::transition(app, &sys, id, "2024", "submit", "").await?;
    // 第三小学's 2025 draft, saved as its clerk would: 1,350 pupils, and 98,110 books (one
    // zero too many).
    let draft = |_k: usize, i: usize, x: f64| match i {
        0 => 1350.0,
        24 => 98_110.0,
        _ => x,
    };
    let (cells, id3) = {
        let s = sheet(draft, Some("3509230003"));
        let mut c = app.store.conn().await?;
        let id = taizhang_store::units::id_by_code(&mut c, "3509230003")
            .await?
            .ok_or(ServiceError::NotFound)?;
        (s.rows[0].1.clone(), id)
    };
    let (row, _) = crate::schools_import::parse_row(2, &cells, &["students"])
        .map_err(|e| ServiceError::Internal(format!("demo draft: {e:?}")))?;
    let entries: Vec<crate::indicators::Entry> = row
        .values
        .into_iter()
        .map(|(stage, element, value)| crate::indicators::Entry {
            stage: stage.into(),
            element: element.into(),
            value,
        })
        .collect();
    crate::indicators::save(app, &sys, id3, "2025", &entries).await?;
    Ok(())
}

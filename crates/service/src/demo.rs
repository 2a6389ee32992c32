//! The demo county (演示县) and first-run bootstrap. The organisation mirrors the seed reports:
//! a county with its supervision office (督查室), discipline inspection (纪委), service centre,
//! the 15 precision-assistance teams (精准帮扶队, 篇三), towns and villages with the enterprises
//! they help, and an education bureau whose schools include 篇五's 第三小学 (28 classes, 1313
//! students) and 篇七's 牙力古孜铁热克小学 (14 classes, 526 students).

use crate::units::CreateUnit;
use crate::users::CreateUser;
use crate::{Actor, App, Result};
use serde_json::json;
use taizhang_domain::role::{Role, RoleAssignment, ScopeKind};
use taizhang_store::units::Unit;

/// Password of every demo account.
pub const DEMO_PASSWORD: &str = "Demo#2026";

/// One demo account: user name, name, role, scope, unit code.
pub const DEMO_ACCOUNTS: &[(&str, &str, Role, ScopeKind, &str)] = &[
    ("admin", "系统管理员", Role::Admin, ScopeKind::All, "350923"),
    (
        "duban",
        "林督办",
        Role::Supervisor,
        ScopeKind::All,
        "350923-DCS",
    ),
    (
        "leader",
        "陈局长",
        Role::Leader,
        ScopeKind::OwnUnitAndBelow,
        "350923-JYJ",
    ),
    (
        "handler",
        "王老师",
        Role::Handler,
        ScopeKind::OwnUnit,
        "3509230003",
    ),
    (
        "clerk",
        "李填报",
        Role::Clerk,
        ScopeKind::OwnUnit,
        "3509230003",
    ),
    (
        "jijian",
        "张纪检",
        Role::Inspector,
        ScopeKind::All,
        "350923-JW",
    ),
    (
        "viewer",
        "周查看",
        Role::Viewer,
        ScopeKind::OwnUnitAndBelow,
        "350923-T01",
    ),
    (
        "team01",
        "帮扶队联络员",
        Role::Handler,
        ScopeKind::OwnUnitAndBelow,
        "350923-BF01",
    ),
];

struct Spec {
    code: String,
    name: String,
    kind: &'static str,
    stage: Option<&'static str>,
    rural: bool,
    attrs: serde_json::Value,
}

fn spec(code: impl Into<String>, name: impl Into<String>, kind: &'static str) -> Spec {
    Spec {
        code: code.into(),
        name: name.into(),
        kind,
        stage: None,
        rural: false,
        attrs: json!({}),
    }
}

async fn add(app: &App, actor: &Actor, parent: Option<&Unit>, s: Spec, order: i64) -> Result<Unit> {
    crate::units::create(
        app,
        actor,
        CreateUnit {
            parent_id: parent.map(|p| p.id),
            code: s.code,
            name: s.name,
            kind: s.kind.to_string(),
            stage: s.stage.map(str::to_string),
            rural: s.rural,
            attrs: Some(s.attrs),
            sort_order: order,
        },
    )
    .await
}

/// Loads the demo county into an empty database. Returns the number of units created.
pub async fn load(app: &App) -> Result<usize> {
    let sys = Actor::system("demo-loader");
    let mut n = 0usize;
    let county = add(app, &sys, None, spec("350923", "屏南县", "bureau"), 0).await?;
    n += 1;
    let mut depts = Vec::new();
    for (i, (code, name)) in [
        ("350923-DCS", "县委督查室"),
        ("350923-JW", "县纪委监委"),
        ("350923-SZB", "县“三转一加强”活动办公室"),
        ("350923-XZFW", "县行政服务中心"),
    ]
    .into_iter()
    .enumerate()
    {
        depts.push(
            add(
                app,
                &sys,
                Some(&county),
                spec(code, name, "department"),
                i as i64,
            )
            .await?,
        );
        n += 1;
    }
    for (i, name) in ["综合窗口", "教育局窗口", "市场监管窗口"]
        .into_iter()
        .enumerate()
    {
        add(
            app,
            &sys,
            Some(&depts[3]),
            spec(format!("350923-XZFW-W{:02}", i + 1), name, "window"),
            i as i64,
        )
        .await?;
        n += 1;
    }
    // 15 精准帮扶队 (篇三), under the campaign office.
    let mut teams = Vec::new();
    for i in 1..=15 {
        let team = add(
            app,
            &sys,
            Some(&depts[2]),
            spec(
                format!("350923-BF{i:02}"),
                format!("第{}精准帮扶队", chinese_number(i)),
                "team",
            ),
            i,
        )
        .await?;
        teams.push(team);
        n += 1;
    }
    // Towns, villages and the enterprises and projects the teams help.
    let towns = [
        ("古峰镇", false),
        ("双溪镇", true),
        ("黛溪镇", true),
        ("长桥镇", true),
        ("屏城乡", true),
        ("棠口乡", true),
        ("甘棠乡", true),
        ("熙岭乡", true),
        ("路下乡", true),
        ("寿山乡", true),
        ("岭下乡", true),
    ];
    let mut town_units = Vec::new();
    for (i, (name, rural)) in towns.iter().enumerate() {
        let mut s = spec(format!("350923-T{:02}", i + 1), *name, "town");
        s.rural = *rural;
        town_units.push(add(app, &sys, Some(&county), s, 10 + i as i64).await?);
        n += 1;
    }
    for (t, villages) in [
        (0, ["城东社区", "城西社区"]),
        (1, ["双溪村", "北村"]),
        (5, ["棠口村", "漈头村"]),
    ] {
        for (j, v) in villages.into_iter().enumerate() {
            let mut s = spec(
                format!("{}-V{:02}", town_units[t].code, j + 1),
                v,
                "village",
            );
            s.rural = t != 0;
            add(app, &sys, Some(&town_units[t]), s, j as i64).await?;
            n += 1;
        }
    }
    for (j, (name, kind, town)) in [
        ("乡下厨房食品有限公司", "enterprise", 0),
        ("惠泽龙酒业有限公司", "enterprise", 0),
        ("榕屏化工有限公司", "enterprise", 3),
        ("天外天酒店", "enterprise", 0),
        ("御皇农业发展有限公司", "enterprise", 5),
        ("利南硅业有限公司", "enterprise", 3),
        ("工业园区标准厂房项目", "project", 3),
        ("城东安置房项目", "project", 0),
    ]
    .into_iter()
    .enumerate()
    {
        add(
            app,
            &sys,
            Some(&town_units[town]),
            spec(format!("350923-E{:03}", j + 1), name, kind),
            j as i64,
        )
        .await?;
        n += 1;
    }
    // The education bureau with its offices and schools.
    let bureau = add(
        app,
        &sys,
        Some(&county),
        spec("350923-JYJ", "屏南县教育局", "bureau"),
        5,
    )
    .await?;
    n += 1;
    for (i, name) in [
        "办公室",
        "基础教育股",
        "教育督导室",
        "计划财务股",
        "人事股",
        "纪检组",
    ]
    .into_iter()
    .enumerate()
    {
        add(
            app,
            &sys,
            Some(&bureau),
            spec(format!("350923-JYJ-D{:02}", i + 1), name, "department"),
            i as i64,
        )
        .await?;
        n += 1;
    }
    let schools: [(&str, &str, &str, bool, serde_json::Value); 9] = [
        (
            "3509230001",
            "屏南县第一小学",
            "primary",
            false,
            json!({"classes": 36, "students": 1642}),
        ),
        (
            "3509230002",
            "屏南县第二小学",
            "primary",
            false,
            json!({"classes": 24, "students": 1088}),
        ),
        (
            "3509230003",
            "屏南县第三小学",
            "primary",
            false,
            json!({"classes": 28, "students": 1313, "teaching_area_m2": 4208, "sports_area_m2": 6880,
                   "student_computers": 50, "books": 9811}),
        ),
        (
            "3509230004",
            "牙力古孜铁热克小学",
            "primary",
            true,
            json!({"classes": 14, "students": 526, "bilingual_classes": 11, "bilingual_students": 402,
                   "regular_classes": 3, "regular_students": 124, "staff": 33}),
        ),
        (
            "3509230005",
            "屏南县第一中学",
            "complete",
            false,
            json!({"classes": 42, "students": 2035}),
        ),
        (
            "3509230006",
            "屏南县实验中学",
            "junior",
            false,
            json!({"classes": 30, "students": 1410}),
        ),
        (
            "3509230007",
            "双溪中心小学",
            "primary",
            true,
            json!({"classes": 12, "students": 398}),
        ),
        (
            "3509230008",
            "棠口九年一贯制学校",
            "nine_year",
            true,
            json!({"classes": 18, "students": 702}),
        ),
        (
            "3509230009",
            "屏南县实验幼儿园",
            "kindergarten",
            false,
            json!({"classes": 12, "students": 380}),
        ),
    ];
    for (i, (code, name, stage, rural, attrs)) in schools.into_iter().enumerate() {
        let s = Spec {
            code: code.into(),
            name: name.into(),
            kind: "school",
            stage: Some(stage),
            rural,
            attrs,
        };
        add(app, &sys, Some(&bureau), s, 10 + i as i64).await?;
        n += 1;
    }
    // Demo accounts: known password, no forced change (it is a demo).
    let mut c = app.store.conn().await?;
    let mut accounts = Vec::new();
    for (username, display, role, scope, unit_code) in DEMO_ACCOUNTS {
        let units = taizhang_store::units::list(
            &mut c,
            &taizhang_domain::scope::Scope::everything(),
            &taizhang_store::units::UnitFilter {
                q: Some(unit_code.to_string()),
                limit: 10,
                ..Default::default()
            },
        )
        .await?;
        let unit = units
            .into_iter()
            .find(|u| u.code == *unit_code)
            .ok_or(crate::ServiceError::NotFound)?;
        accounts.push((username, display, *role, *scope, unit.id));
    }
    drop(c);
    for (username, display, role, scope, unit_id) in accounts {
        let view = crate::users::create(
            app,
            &sys,
            CreateUser {
                username: username.to_string(),
                display_name: display.to_string(),
                unit_id,
                password: DEMO_PASSWORD.to_string(),
                roles: vec![RoleAssignment {
                    role,
                    scope,
                    units: vec![],
                }],
            },
        )
        .await?;
        let mut tx = app.store.begin().await?;
        taizhang_store::users::set_password(
            &mut tx,
            view.user.id,
            &crate::auth::hash_password(DEMO_PASSWORD.to_string()).await?,
            false,
            app.now(),
        )
        .await?;
        tx.commit().await?;
    }
    crate::demo_ledger::load(app, &depts[0], &depts[1], &teams, &town_units).await?;
    crate::demo_schools::load(app).await?;
    Ok(n)
}

/// 一 … 十五, for team names.
pub fn chinese_number(n: i64) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => D[n as usize].to_string(),
        10 => "十".to_string(),
        11..=19 => format!("十{}", D[(n - 10) as usize]),
        20..=99 => {
            let (t, o) = (n / 10, n % 10);
            if o == 0 {
                format!("{}十", D[t as usize])
            } else {
                format!("{}十{}", D[t as usize], D[o as usize])
            }
        }
        _ => n.to_string(),
    }
}

/// First run of `serve` on an empty database: creates the root unit and the first administrator
/// (全部 scope) with the password the operator chose. No default password ever exists.
pub async fn bootstrap(
    app: &App,
    root_name: &str,
    root_code: &str,
    username: &str,
    password: &str,
) -> Result<i64> {
    let sys = Actor::system("bootstrap");
    // Check the operator's input before writing anything, so a refused password leaves the
    // database empty rather than half set up.
    let username = crate::users::username(username)?;
    taizhang_domain::password::check(password, &username)?;
    let username = username.as_str();
    let root = crate::units::create(
        app,
        &sys,
        CreateUnit {
            parent_id: None,
            code: root_code.to_string(),
            name: root_name.to_string(),
            kind: "bureau".to_string(),
            stage: None,
            rural: false,
            attrs: None,
            sort_order: 0,
        },
    )
    .await?;
    let view = crate::users::create(
        app,
        &sys,
        CreateUser {
            username: username.to_string(),
            display_name: "系统管理员".to_string(),
            unit_id: root.id,
            password: password.to_string(),
            roles: vec![RoleAssignment {
                role: Role::Admin,
                scope: ScopeKind::All,
                units: vec![],
            }],
        },
    )
    .await?;
    // The operator chose this password: no forced change.
    let mut tx = app.store.begin().await?;
    taizhang_store::users::set_password(
        &mut tx,
        view.user.id,
        &crate::auth::hash_password(password.to_string()).await?,
        false,
        app.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(view.user.id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn chinese_numbers() {
        assert_eq!(super::chinese_number(1), "一");
        assert_eq!(super::chinese_number(10), "十");
        assert_eq!(super::chinese_number(15), "十五");
        assert_eq!(super::chinese_number(23), "二十三");
    }
}

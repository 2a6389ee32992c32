//! The demo county's ledgers. 篇三's assistance ledger is reproduced exactly: 15 teams,
//! 145 problems (126 from enterprises, 15 from projects, 4 rural), 69 closed and 76 in
//! progress; 17 need city-level coordination (需上级协调), 15 of them closed. Beside it, a
//! discipline-inspection ledger in the spirit of 篇一 (问题清单, 限期整改).

use crate::ledger::{CreateItem, CreateLedger, act, create_item, create_ledger};
use crate::{Actor, App, Clock, Result};
use chrono::{Duration, NaiveDate};
use taizhang_domain::ledger::Action;
use taizhang_domain::role::Permission;
use taizhang_store::units::Unit;

/// Enterprises, projects and villages the teams help (80多家, 篇三): the seed names six; the
/// rest are named the way such lists read.
fn subjects() -> Vec<String> {
    let mut v: Vec<String> = [
        "乡下厨房食品有限公司",
        "惠泽龙酒业有限公司",
        "榕屏化工有限公司",
        "天外天酒店",
        "御皇农业发展有限公司",
        "利南硅业有限公司",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let a = [
        "鸳鸯溪",
        "白水洋",
        "仙山",
        "宜洋",
        "翠屏",
        "金山",
        "龙潭",
        "双溪",
        "棠口",
        "古峰",
        "黛溪",
        "长桥",
        "路下",
        "寿山",
        "熙岭",
    ];
    let b = [
        "茶业",
        "食品",
        "电机",
        "竹木",
        "旅游开发",
        "矿业",
        "生态农业",
        "建材",
        "水电",
        "药业",
    ];
    let mut i = 0;
    while v.len() < 76 {
        v.push(format!(
            "屏南县{}{}有限公司",
            a[i % a.len()],
            b[(i / a.len() + i) % b.len()]
        ));
        i += 1;
    }
    for p in [
        "工业园区标准厂房项目",
        "城东安置房项目",
        "鸳鸯溪景区提升项目",
        "古峰污水处理项目",
        "双溪古镇保护项目",
    ] {
        v.push(p.to_string());
    }
    for c in ["棠口村", "漈头村", "北村", "双溪村"] {
        v.push(c.to_string());
    }
    v
}

const ENTERPRISE_PROBLEMS: &[&str] = &[
    "流动资金贷款审批慢",
    "厂区道路硬化未完成",
    "用电增容报装受阻",
    "用工招聘困难",
    "环评手续办理滞后",
    "土地证办理遇阻",
    "产品质量检测费用高",
    "税费减免政策未落实",
    "排污许可证延续",
    "供水管网未接通",
];
const PROJECT_PROBLEMS: &[&str] = &[
    "征地拆迁进度滞后",
    "施工许可办理慢",
    "配套资金未到位",
    "临时用地审批受阻",
];
const RURAL_PROBLEMS: &[&str] = &[
    "村道安全护栏缺失",
    "饮水工程水压不足",
    "便民服务站场地不足",
    "危桥改造资金缺口",
];

fn at(d: NaiveDate) -> i64 {
    // 09:00 China Standard Time.
    d.and_hms_opt(1, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0)
}

struct Day<'a> {
    app: App,
    sup: &'a Actor,
    hand: &'a Actor,
}

impl Day<'_> {
    fn on(&self, d: NaiveDate) -> App {
        self.app.with_clock(Clock::fixed(at(d)))
    }

    async fn step(
        &self,
        d: NaiveDate,
        who: &Actor,
        id: i64,
        version: i64,
        a: Action,
    ) -> Result<i64> {
        Ok(act(&self.on(d), who, id, version, a).await?.item.version)
    }

    /// Takes a fresh item through assignment, acceptance and a progress report.
    async fn start(&self, id: i64, assigned: NaiveDate, deadline: NaiveDate) -> Result<i64> {
        let v = self
            .step(assigned, self.sup, id, 1, Action::Assign { deadline })
            .await?;
        let v = self
            .step(
                assigned + Duration::days(1),
                self.hand,
                id,
                v,
                Action::Accept,
            )
            .await?;
        self.step(
            assigned + Duration::days(5),
            self.hand,
            id,
            v,
            Action::Report {
                text: "已与企业对接,正在协调相关部门办理".into(),
            },
        )
        .await
    }

    async fn close(&self, id: i64, v: i64, on: NaiveDate) -> Result<i64> {
        let v = self
            .step(
                on,
                self.hand,
                id,
                v,
                Action::Submit {
                    result: "问题已解决,企业确认".into(),
                },
            )
            .await?;
        self.step(on, self.sup, id, v, Action::Close).await
    }
}

/// Loads both demo ledgers. `teams` are the 15 精准帮扶队, `towns` the towns.
pub async fn load(
    app: &App,
    office: &Unit,
    jiwei: &Unit,
    teams: &[Unit],
    towns: &[Unit],
) -> Result<()> {
    let sup = Actor::synthetic(
        -1,
        "县委督查室",
        &[
            Permission::ItemRead,
            Permission::ItemSupervise,
            Permission::UnitRead,
        ],
    );
    let hand = Actor::synthetic(
        -2,
        "帮扶队联络员",
        &[
            Permission::ItemRead,
            Permission::ItemHandle,
            Permission::UnitRead,
        ],
    );
    let day = Day {
        app: app.clone(),
        sup: &sup,
        hand: &hand,
    };
    let d = |m: u32, dd: u32| NaiveDate::from_ymd_opt(2026, m, dd).unwrap_or_default();
    let start_app = day.on(d(3, 2));
    let ledger = create_ledger(
        &start_app,
        &sup,
        CreateLedger {
            name: "2026年“三转一加强”精准帮扶问题台账".into(),
            kind: "帮扶".into(),
            owner_unit_id: office.id,
            period: "2026".into(),
            yellow_days: Some(3),
        },
    )
    .await?;
    let subjects = subjects();
    // Which of the 145 close (69): the even indices up to 136 except 120 and 128, plus 1 and 3.
    // The 17 city-level items are indices 0, 8, 16, …, 128: all but 120 and 128 close (15).
    for i in 0..145usize {
        let (category, problem, subject) = if i < 126 {
            (
                "企业类",
                ENTERPRISE_PROBLEMS[i % ENTERPRISE_PROBLEMS.len()],
                subjects[i % 76].clone(),
            )
        } else if i < 141 {
            (
                "项目类",
                PROJECT_PROBLEMS[i % PROJECT_PROBLEMS.len()],
                subjects[76 + (i - 126) % 5].clone(),
            )
        } else {
            (
                "农村基层类",
                RURAL_PROBLEMS[i - 141],
                subjects[81 + (i - 141)].clone(),
            )
        };
        let escalate = i % 8 == 0 && i <= 128;
        let closes = (i % 2 == 0 && i <= 136 && i != 120 && i != 128) || i == 1 || i == 3;
        // Closed problems came in from March; open ones are recent, so their lights differ.
        let assigned = if closes {
            d(3, 2) + Duration::days((i as i64 * 3) % 120)
        } else {
            d(9, 1) + Duration::days((i as i64 * 5) % 70)
        };
        let deadline = app.calendar().add_working_days(assigned, 30).0;
        let item = create_item(
            &day.on(assigned),
            &sup,
            ledger.id,
            CreateItem {
                number: Some(format!("BF{:02}-{:03}", i % 15 + 1, i + 1)),
                source: "精准帮扶".into(),
                category: category.into(),
                urgency: Some(if escalate { "紧急" } else { "一般" }.into()),
                title: format!("{subject}{problem}"),
                requirements: "帮扶队跟踪协调,限期解决并反馈".into(),
                leader: "县分管领导".into(),
                supervisor: "县委督查室".into(),
                subject,
                lead_unit_id: teams[i % 15].id,
                level: Some(if escalate { "escalate" } else { "local" }.into()),
                cycle: Some("monthly".into()),
                ..Default::default()
            },
        )
        .await?;
        let v = day.start(item.item.id, assigned, deadline).await?;
        if closes {
            // Most close in time; every fifth closes a few days late.
            let on = if i % 10 == 4 {
                deadline + Duration::days(4)
            } else {
                assigned + Duration::days(20)
            };
            day.close(item.item.id, v, on).await?;
        } else if escalate {
            day.step(
                assigned + Duration::days(10),
                &hand,
                item.item.id,
                v,
                Action::Escalate {
                    reason: "需市级部门协调".into(),
                },
            )
            .await?;
        }
    }
    // 篇一: the discipline-inspection office's rectification list (问题清单, 限期整改).
    let jw = create_ledger(
        &start_app,
        &sup,
        CreateLedger {
            name: "2026年乡镇纪委落实“三转”问题整改台账".into(),
            kind: "整改".into(),
            owner_unit_id: jiwei.id,
            period: "2026".into(),
            yellow_days: Some(3),
        },
    )
    .await?;
    let problems = [
        (
            "主业不突出,参与镇村中心工作过多",
            "厘清工作职责,解决“主业不清”问题",
        ),
        (
            "部分班子成员无合力,监督责任落实不到位",
            "完善考核机制,解决“责任不明”问题",
        ),
        (
            "对“三转”认识不到位,角色定位未调整",
            "加强教育培训,解决“素质不高”问题",
        ),
        ("执纪审查力量薄弱,专职人员不足", "配齐配强专职纪检干部"),
        (
            "村务公开不及时,群众知情度低",
            "建立民主监督机制,按季度公开村务",
        ),
    ];
    for (k, town) in towns.iter().take(4).enumerate() {
        for (j, (title, measure)) in problems.iter().enumerate() {
            if (k + j) % 2 == 1 {
                continue;
            }
            let assigned = d(4, 1) + Duration::days((k * 7 + j) as i64);
            let deadline = app
                .calendar()
                .add_working_days(assigned, if j < 2 { 40 } else { 150 })
                .0;
            let item = create_item(
                &day.on(assigned),
                &sup,
                jw.id,
                CreateItem {
                    number: Some(format!("〔2026〕{}号", k * 5 + j + 1)),
                    source: "巡察反馈".into(),
                    category: "作风建设".into(),
                    title: format!("{}:{title}", town.name),
                    requirements: "限期整改,整改完成后报送佐证材料申请销号".into(),
                    measures: measure.to_string(),
                    leader: "县纪委副书记".into(),
                    supervisor: "县纪委监委".into(),
                    subject: format!("{}纪委", town.name),
                    lead_unit_id: town.id,
                    cycle: Some("monthly".into()),
                    ..Default::default()
                },
            )
            .await?;
            let v = day.start(item.item.id, assigned, deadline).await?;
            if j < 2 {
                day.close(item.item.id, v, assigned + Duration::days(30))
                    .await?;
            }
        }
    }
    Ok(())
}

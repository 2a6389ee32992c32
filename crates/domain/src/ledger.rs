//! The supervision ledger's item workflow (督办事项流程) as a state machine, and its warning
//! lights (红黄绿灯). Every path that changes an item — UI, API, import — goes through
//! [`apply`], so the rules below hold everywhere:
//!
//! 草稿 → 交办(待签收) → 办理中 (进展反馈) → 申请销号(待审核) → 已销号 → 已归档, with
//! 退回 (reason required) back to 办理中; 上报协调 and back; 延期申请 before the deadline only
//! (approval keeps the original deadline on record); 暂缓 and 撤销 with reasons.
//! 销号 is a two-person rule: a supervisor over the lead unit who is neither the handler nor the
//! person who asked for close-out. A closed item is frozen; corrections are new events.
//! 逾期 and 临期 are computed (see [`light`]), never states.

use crate::calendar::Calendar;
use crate::error::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// State of an item (事项状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// 草稿
    Draft,
    /// 已交办(待签收)
    Assigned,
    /// 办理中
    InProgress,
    /// 申请销号(待审核)
    Submitted,
    /// 已销号
    Closed,
    /// 上报协调 (waiting for the level above)
    Escalated,
    /// 暂缓(已中止)
    Suspended,
    /// 已撤销
    Cancelled,
    /// 已归档
    Archived,
}

impl ItemState {
    pub const ALL: [ItemState; 9] = [
        ItemState::Draft,
        ItemState::Assigned,
        ItemState::InProgress,
        ItemState::Submitted,
        ItemState::Closed,
        ItemState::Escalated,
        ItemState::Suspended,
        ItemState::Cancelled,
        ItemState::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Draft => "draft",
            ItemState::Assigned => "assigned",
            ItemState::InProgress => "in_progress",
            ItemState::Submitted => "submitted",
            ItemState::Closed => "closed",
            ItemState::Escalated => "escalated",
            ItemState::Suspended => "suspended",
            ItemState::Cancelled => "cancelled",
            ItemState::Archived => "archived",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ItemState::Draft => "草稿",
            ItemState::Assigned => "待签收",
            ItemState::InProgress => "办理中",
            ItemState::Submitted => "待审核",
            ItemState::Closed => "已销号",
            ItemState::Escalated => "上报协调",
            ItemState::Suspended => "暂缓",
            ItemState::Cancelled => "已撤销",
            ItemState::Archived => "已归档",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.label_zh() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "invalid_value",
                    field,
                    format!("状态“{s}”无效"),
                    format!(
                        "unknown state '{s}', expected one of: {}",
                        Self::ALL.map(|k| k.as_str()).join(", ")
                    ),
                )
            })
    }

    /// Open: the item is still being worked on (counts as 正在办理, can be reminded, can go overdue).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ItemState::Assigned
                | ItemState::InProgress
                | ItemState::Submitted
                | ItemState::Escalated
        )
    }

    /// Frozen: nothing about the item may change any more except archiving.
    pub fn is_frozen(self) -> bool {
        matches!(
            self,
            ItemState::Closed | ItemState::Cancelled | ItemState::Archived
        )
    }
}

/// Something a person does to an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// 交办: send the draft to the lead unit with its deadline.
    Assign { deadline: NaiveDate },
    /// 签收: the lead unit acknowledges.
    Accept,
    /// 进展反馈.
    Report { text: String },
    /// 申请销号: the lead unit reports the result and asks for close-out.
    Submit { result: String },
    /// 销号: the supervisor verifies and closes.
    Close,
    /// 退回: the supervisor sends it back with requirements.
    Return { reason: String },
    /// 上报协调: needs the level above.
    Escalate { reason: String },
    /// 协调完毕: back from the level above.
    DeEscalate { note: String },
    /// 延期申请.
    RequestExtension {
        new_deadline: NaiveDate,
        reason: String,
    },
    /// 批准延期.
    ApproveExtension,
    /// 不予延期.
    RejectExtension { reason: String },
    /// 暂缓.
    Suspend { reason: String },
    /// 恢复办理.
    Resume,
    /// 撤销.
    Cancel { reason: String },
    /// 归档.
    Archive,
    /// 催办.
    Remind { method: String, note: String },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Assign { .. } => "assign",
            Action::Accept => "accept",
            Action::Report { .. } => "report",
            Action::Submit { .. } => "submit",
            Action::Close => "close",
            Action::Return { .. } => "return",
            Action::Escalate { .. } => "escalate",
            Action::DeEscalate { .. } => "de_escalate",
            Action::RequestExtension { .. } => "request_extension",
            Action::ApproveExtension => "approve_extension",
            Action::RejectExtension { .. } => "reject_extension",
            Action::Suspend { .. } => "suspend",
            Action::Resume => "resume",
            Action::Cancel { .. } => "cancel",
            Action::Archive => "archive",
            Action::Remind { .. } => "remind",
        }
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            Action::Assign { .. } => "交办",
            Action::Accept => "签收",
            Action::Report { .. } => "进展反馈",
            Action::Submit { .. } => "申请销号",
            Action::Close => "销号",
            Action::Return { .. } => "退回",
            Action::Escalate { .. } => "上报协调",
            Action::DeEscalate { .. } => "协调完毕",
            Action::RequestExtension { .. } => "延期申请",
            Action::ApproveExtension => "批准延期",
            Action::RejectExtension { .. } => "不予延期",
            Action::Suspend { .. } => "暂缓",
            Action::Resume => "恢复办理",
            Action::Cancel { .. } => "撤销",
            Action::Archive => "归档",
            Action::Remind { .. } => "催办",
        }
    }
}

/// The facts about an item that the rules look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemFacts {
    pub state: ItemState,
    /// 交办日期.
    pub assigned_on: Option<NaiveDate>,
    /// The deadline in force (办结时限).
    pub deadline: Option<NaiveDate>,
    /// The deadline before the first approved extension, kept on record.
    pub original_deadline: Option<NaiveDate>,
    /// A pending extension request: the deadline asked for.
    pub extension_requested: Option<NaiveDate>,
    /// Who asked for close-out (申请销号人), for the two-person rule.
    pub submitted_by: Option<i64>,
}

impl ItemFacts {
    pub fn draft() -> Self {
        ItemFacts {
            state: ItemState::Draft,
            assigned_on: None,
            deadline: None,
            original_deadline: None,
            extension_requested: None,
            submitted_by: None,
        }
    }
}

/// Who acts, as seen from this item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    /// Belongs to the lead unit (牵头单位) and may act for it (承办人).
    pub is_handler: bool,
    /// Holds the supervisor role (督办员) with a scope over the lead unit.
    pub is_supervisor: bool,
}

fn err(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> FieldError {
    FieldError::new(code, "action", zh, en)
}

fn need_reason(field: &str, r: &str) -> Result<(), FieldError> {
    if r.trim().is_empty() {
        return Err(FieldError::new(
            "reason_required",
            field,
            "必须填写原因",
            "a reason is required",
        ));
    }
    if r.chars().count() > 2000 {
        return Err(FieldError::new(
            "too_long",
            field,
            "最多2000字",
            "at most 2000 characters",
        ));
    }
    Ok(())
}

/// Whether `who` may edit an item's fields (修改事项) in `state`. Only a supervisor over the
/// lead unit edits; a frozen item (已销号, 已撤销, 已归档) never changes — corrections are new
/// events; the lead unit and the deadline change by edit only while the item is a draft
/// (afterwards: the extension workflow, or cancel and re-issue).
pub fn may_edit(
    state: ItemState,
    who: Actor,
    lead_changed: bool,
    deadline_changed: bool,
) -> Result<(), FieldError> {
    if !who.is_supervisor {
        return Err(err(
            "not_supervisor",
            "只有对牵头单位有督办权限的督办员才能修改事项",
            "only a supervisor over the lead unit may edit an item",
        ));
    }
    if state.is_frozen() {
        return Err(err(
            "frozen",
            format!("“{}”的事项已冻结,不能修改;更正请另行记录", state.label_zh()),
            format!(
                "an item in state '{}' is frozen and cannot be edited",
                state.as_str()
            ),
        ));
    }
    if state != ItemState::Draft && lead_changed {
        return Err(FieldError::new(
            "not_draft",
            "lead_unit_id",
            "事项交办后不能更换牵头单位,请撤销后重新交办",
            "the lead unit cannot change after assignment: cancel and re-issue",
        ));
    }
    if state != ItemState::Draft && deadline_changed {
        return Err(FieldError::new(
            "not_draft",
            "deadline",
            "事项交办后办结时限只能通过延期申请变更",
            "after assignment the deadline changes only by an extension request",
        ));
    }
    Ok(())
}

/// Applies `action` by `who` on `today` to an item; returns its new facts, or the rule broken.
pub fn apply(
    item: &ItemFacts,
    action: &Action,
    who: Actor,
    today: NaiveDate,
) -> Result<ItemFacts, FieldError> {
    use ItemState::*;
    let s = item.state;
    let illegal = || {
        err(
            "illegal_transition",
            format!("“{}”状态的事项不能“{}”", s.label_zh(), action.label_zh()),
            format!(
                "an item in state '{}' cannot be '{}'",
                s.as_str(),
                action.name()
            ),
        )
    };
    let supervisor = || {
        if who.is_supervisor {
            Ok(())
        } else {
            Err(err(
                "not_supervisor",
                format!(
                    "只有对牵头单位有督办权限的督办员才能“{}”",
                    action.label_zh()
                ),
                format!(
                    "only a supervisor over the lead unit may '{}'",
                    action.name()
                ),
            ))
        }
    };
    let handler = || {
        if who.is_handler {
            Ok(())
        } else {
            Err(err(
                "not_handler",
                format!("只有牵头单位的承办人才能“{}”", action.label_zh()),
                format!("only a handler of the lead unit may '{}'", action.name()),
            ))
        }
    };
    let mut next = item.clone();
    match action {
        Action::Assign { deadline } => {
            if s != Draft {
                return Err(illegal());
            }
            supervisor()?;
            if *deadline < today {
                return Err(FieldError::new(
                    "deadline_before_assignment",
                    "deadline",
                    format!("办结时限{deadline}早于交办日期{today}"),
                    format!("deadline {deadline} is before the assignment date {today}"),
                ));
            }
            next.state = Assigned;
            next.assigned_on = Some(today);
            next.deadline = Some(*deadline);
        }
        Action::Accept => {
            if s != Assigned {
                return Err(illegal());
            }
            handler()?;
            next.state = InProgress;
        }
        Action::Report { text } => {
            if !matches!(s, InProgress | Escalated | Assigned) {
                return Err(illegal());
            }
            handler()?;
            need_reason("text", text)?;
            if s == Assigned {
                next.state = InProgress;
            }
        }
        Action::Submit { result } => {
            if s != InProgress {
                return Err(illegal());
            }
            handler()?;
            if result.trim().is_empty() {
                return Err(FieldError::new(
                    "result_required",
                    "result",
                    "申请销号必须填写办理结果",
                    "asking for close-out needs the result",
                ));
            }
            next.state = Submitted;
            next.submitted_by = Some(who.user_id);
        }
        Action::Close => {
            if s != Submitted {
                return Err(illegal());
            }
            supervisor()?;
            if who.is_handler || item.submitted_by == Some(who.user_id) {
                return Err(err(
                    "same_person",
                    "销号须由承办人以外的督办人员核实后办理",
                    "close-out must be verified by someone other than the handler",
                ));
            }
            next.state = Closed;
            next.extension_requested = None;
        }
        Action::Return { reason } => {
            if s != Submitted {
                return Err(illegal());
            }
            supervisor()?;
            need_reason("reason", reason)?;
            next.state = InProgress;
            next.submitted_by = None;
        }
        Action::Escalate { reason } => {
            if s != InProgress {
                return Err(illegal());
            }
            if !who.is_supervisor {
                handler()?;
            }
            need_reason("reason", reason)?;
            next.state = Escalated;
        }
        Action::DeEscalate { .. } => {
            if s != Escalated {
                return Err(illegal());
            }
            supervisor()?;
            next.state = InProgress;
        }
        Action::RequestExtension {
            new_deadline,
            reason,
        } => {
            if !matches!(s, Assigned | InProgress | Escalated) {
                return Err(illegal());
            }
            handler()?;
            need_reason("reason", reason)?;
            let Some(deadline) = item.deadline else {
                return Err(illegal());
            };
            if today > deadline {
                return Err(FieldError::new(
                    "after_deadline",
                    "new_deadline",
                    format!("已超过办结时限{deadline},不能再申请延期"),
                    format!(
                        "the deadline {deadline} has passed: an extension must be asked for before it"
                    ),
                ));
            }
            if *new_deadline <= deadline {
                return Err(FieldError::new(
                    "not_later",
                    "new_deadline",
                    format!("申请的新时限应晚于现时限{deadline}"),
                    format!("the new deadline must be after the current one ({deadline})"),
                ));
            }
            if item.extension_requested.is_some() {
                return Err(err(
                    "pending",
                    "已有待审批的延期申请",
                    "an extension request is already pending",
                ));
            }
            next.extension_requested = Some(*new_deadline);
        }
        Action::ApproveExtension | Action::RejectExtension { .. } => {
            let Some(asked) = item.extension_requested else {
                return Err(err(
                    "no_request",
                    "没有待审批的延期申请",
                    "there is no pending extension request",
                ));
            };
            if s.is_frozen() {
                return Err(illegal());
            }
            supervisor()?;
            if let Action::RejectExtension { reason } = action {
                need_reason("reason", reason)?;
            } else {
                next.original_deadline = item.original_deadline.or(item.deadline);
                next.deadline = Some(asked);
            }
            next.extension_requested = None;
        }
        Action::Suspend { reason } => {
            if !s.is_open() {
                return Err(illegal());
            }
            supervisor()?;
            need_reason("reason", reason)?;
            next.state = Suspended;
        }
        Action::Resume => {
            if s != Suspended {
                return Err(illegal());
            }
            supervisor()?;
            next.state = InProgress;
        }
        Action::Cancel { reason } => {
            if s.is_frozen() {
                return Err(illegal());
            }
            supervisor()?;
            need_reason("reason", reason)?;
            next.state = Cancelled;
        }
        Action::Archive => {
            if !matches!(s, Closed | Cancelled) {
                return Err(illegal());
            }
            supervisor()?;
            next.state = Archived;
        }
        Action::Remind { method, .. } => {
            if !s.is_open() {
                return Err(illegal());
            }
            supervisor()?;
            if !["系统", "短信", "电话", "发函", "登门", "现场"].contains(&method.as_str())
            {
                return Err(FieldError::new(
                    "invalid_value",
                    "method",
                    "催办方式应为:系统、短信、电话、发函、登门、现场",
                    "method must be one of 系统, 短信, 电话, 发函, 登门, 现场",
                ));
            }
        }
    }
    Ok(next)
}

/// Warning light (预警灯).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    Green,
    Yellow,
    Red,
    /// Not open (draft, closed, suspended, cancelled, archived): no light.
    None,
}

/// Computes the light of an item on `today`: red when overdue, yellow when at most
/// `yellow_days` working days are left or a reminder was sent, green otherwise. Returns the
/// light and the working days left (negative = days overdue), and whether the calendar covered
/// the dates involved.
pub fn light(
    cal: &Calendar,
    state: ItemState,
    deadline: Option<NaiveDate>,
    reminded: bool,
    yellow_days: i64,
    today: NaiveDate,
) -> (Light, Option<i64>, bool) {
    let Some(deadline) = deadline else {
        return (Light::None, None, true);
    };
    if !state.is_open() {
        return (Light::None, None, true);
    }
    let (left, covered) = cal.working_days_between(today, deadline);
    let l = if today > deadline {
        Light::Red
    } else if left <= yellow_days || reminded {
        Light::Yellow
    } else {
        Light::Green
    };
    (l, Some(left), covered)
}

/// The date the next progress report (进展反馈) is due for an item reporting on `cycle`
/// (`weekly`: 7 days, `monthly`: one calendar month) after its last report — or after it was
/// signed for or sent back, whichever came last. None for irregular and milestone cycles.
pub fn feedback_due(cycle: &str, last: NaiveDate) -> Option<NaiveDate> {
    match cycle {
        "weekly" => last.checked_add_days(chrono::Days::new(7)),
        "monthly" => last.checked_add_months(chrono::Months::new(1)),
        _ => None,
    }
}

/// The timeline actions that start a new reporting period.
pub const FEEDBACK_ACTIONS: &[&str] = &[
    "assign",
    "accept",
    "report",
    "return",
    "de_escalate",
    "resume",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_falls_due_one_cycle_after_the_last_report() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            feedback_due("weekly", d("2026-06-01")),
            Some(d("2026-06-08"))
        );
        assert_eq!(
            feedback_due("monthly", d("2026-01-31")),
            Some(d("2026-02-28"))
        );
        assert_eq!(feedback_due("none", d("2026-06-01")), None);
        assert_eq!(feedback_due("milestones", d("2026-06-01")), None);
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const SUP: Actor = Actor {
        user_id: 1,
        is_handler: false,
        is_supervisor: true,
    };
    const HANDLER: Actor = Actor {
        user_id: 2,
        is_handler: true,
        is_supervisor: false,
    };
    const BOTH: Actor = Actor {
        user_id: 3,
        is_handler: true,
        is_supervisor: true,
    };
    const NOBODY: Actor = Actor {
        user_id: 4,
        is_handler: false,
        is_supervisor: false,
    };

    fn run(steps: &[(Action, Actor)]) -> Result<ItemFacts, FieldError> {
        let mut f = ItemFacts::draft();
        for (a, who) in steps {
            f = apply(&f, a, *who, d("2024-05-06"))?;
        }
        Ok(f)
    }

    fn assigned() -> Vec<(Action, Actor)> {
        vec![
            (
                Action::Assign {
                    deadline: d("2024-05-31"),
                },
                SUP,
            ),
            (Action::Accept, HANDLER),
        ]
    }

    #[test]
    fn the_happy_path_closes_with_two_people() {
        let mut steps = assigned();
        steps.push((
            Action::Report {
                text: "已完成一半".into(),
            },
            HANDLER,
        ));
        steps.push((
            Action::Submit {
                result: "已整改到位".into(),
            },
            HANDLER,
        ));
        steps.push((Action::Close, SUP));
        steps.push((Action::Archive, SUP));
        let f = run(&steps).unwrap();
        assert_eq!(f.state, ItemState::Archived);
        assert_eq!(f.assigned_on, Some(d("2024-05-06")));
    }

    #[test]
    fn the_handler_cannot_close_even_as_supervisor() {
        let mut steps = assigned();
        steps.push((
            Action::Submit {
                result: "完成".into(),
            },
            HANDLER,
        ));
        let f = run(&steps).unwrap();
        assert_eq!(
            apply(&f, &Action::Close, HANDLER, d("2024-05-07"))
                .unwrap_err()
                .code,
            "not_supervisor"
        );
        assert_eq!(
            apply(&f, &Action::Close, BOTH, d("2024-05-07"))
                .unwrap_err()
                .code,
            "same_person"
        );
        // The supervisor who submitted on behalf of the unit cannot close either.
        let mut steps = assigned();
        steps.push((
            Action::Submit {
                result: "完成".into(),
            },
            BOTH,
        ));
        let f = run(&steps).unwrap();
        let other = Actor {
            user_id: 3,
            is_handler: false,
            is_supervisor: true,
        };
        assert_eq!(
            apply(&f, &Action::Close, other, d("2024-05-07"))
                .unwrap_err()
                .code,
            "same_person"
        );
    }

    #[test]
    fn illegal_transitions_and_missing_reasons() {
        let draft = ItemFacts::draft();
        assert_eq!(
            apply(&draft, &Action::Close, SUP, d("2024-05-06"))
                .unwrap_err()
                .code,
            "illegal_transition"
        );
        assert_eq!(
            apply(&draft, &Action::Accept, HANDLER, d("2024-05-06"))
                .unwrap_err()
                .code,
            "illegal_transition"
        );
        assert_eq!(
            apply(
                &draft,
                &Action::Assign {
                    deadline: d("2024-05-01")
                },
                SUP,
                d("2024-05-06")
            )
            .unwrap_err()
            .code,
            "deadline_before_assignment"
        );
        assert_eq!(
            apply(
                &draft,
                &Action::Assign {
                    deadline: d("2024-05-31")
                },
                NOBODY,
                d("2024-05-06")
            )
            .unwrap_err()
            .code,
            "not_supervisor"
        );
        let mut steps = assigned();
        steps.push((
            Action::Submit {
                result: "完成".into(),
            },
            HANDLER,
        ));
        let f = run(&steps).unwrap();
        assert_eq!(
            apply(
                &f,
                &Action::Return { reason: " ".into() },
                SUP,
                d("2024-05-07")
            )
            .unwrap_err()
            .code,
            "reason_required"
        );
        let back = apply(
            &f,
            &Action::Return {
                reason: "佐证材料不全".into(),
            },
            SUP,
            d("2024-05-07"),
        )
        .unwrap();
        assert_eq!(back.state, ItemState::InProgress);
        assert_eq!(
            apply(
                &back,
                &Action::Submit { result: "".into() },
                HANDLER,
                d("2024-05-07")
            )
            .unwrap_err()
            .code,
            "result_required"
        );
    }

    #[test]
    fn a_closed_item_is_frozen() {
        let mut steps = assigned();
        steps.push((
            Action::Submit {
                result: "完成".into(),
            },
            HANDLER,
        ));
        steps.push((Action::Close, SUP));
        let f = run(&steps).unwrap();
        for a in [
            Action::Report {
                text: "补充".into(),
            },
            Action::Return { reason: "x".into() },
            Action::Cancel { reason: "x".into() },
            Action::Suspend { reason: "x".into() },
            Action::Remind {
                method: "电话".into(),
                note: String::new(),
            },
            Action::RequestExtension {
                new_deadline: d("2024-06-30"),
                reason: "x".into(),
            },
        ] {
            assert!(apply(&f, &a, SUP, d("2024-05-08")).is_err(), "{a:?}");
            assert!(apply(&f, &a, BOTH, d("2024-05-08")).is_err(), "{a:?}");
        }
    }

    #[test]
    fn extension_only_before_the_deadline_and_the_original_is_kept() {
        let f = run(&assigned()).unwrap();
        let late = apply(
            &f,
            &Action::RequestExtension {
                new_deadline: d("2024-06-30"),
                reason: "资金未到位".into(),
            },
            HANDLER,
            d("2024-06-01"),
        );
        assert_eq!(late.unwrap_err().code, "after_deadline");
        let asked = apply(
            &f,
            &Action::RequestExtension {
                new_deadline: d("2024-06-30"),
                reason: "资金未到位".into(),
            },
            HANDLER,
            d("2024-05-20"),
        )
        .unwrap();
        assert_eq!(asked.deadline, Some(d("2024-05-31")));
        let ok = apply(&asked, &Action::ApproveExtension, SUP, d("2024-05-21")).unwrap();
        assert_eq!(ok.deadline, Some(d("2024-06-30")));
        assert_eq!(ok.original_deadline, Some(d("2024-05-31")));
        let no = apply(
            &asked,
            &Action::RejectExtension { reason: "".into() },
            SUP,
            d("2024-05-21"),
        );
        assert_eq!(no.unwrap_err().code, "reason_required");
    }

    #[test]
    fn lights() {
        let cal = Calendar::builtin();
        let open = ItemState::InProgress;
        // Deadline Tue 2024-10-08, today Mon 2024-09-23: 7 working days left.
        assert_eq!(
            light(&cal, open, Some(d("2024-10-08")), false, 3, d("2024-09-23")),
            (Light::Green, Some(7), true)
        );
        assert_eq!(
            light(&cal, open, Some(d("2024-10-08")), true, 3, d("2024-09-23")).0,
            Light::Yellow
        );
        // Monday 2024-09-30: only 10-08 is left (the holiday week does not count).
        assert_eq!(
            light(&cal, open, Some(d("2024-10-08")), false, 3, d("2024-09-30")),
            (Light::Yellow, Some(1), true)
        );
        assert_eq!(
            light(&cal, open, Some(d("2024-10-08")), false, 3, d("2024-10-10")),
            (Light::Red, Some(-2), true)
        );
        assert_eq!(
            light(
                &cal,
                ItemState::Closed,
                Some(d("2024-10-08")),
                false,
                3,
                d("2024-10-10")
            )
            .0,
            Light::None
        );
        assert!(!light(&cal, open, Some(d("2027-03-01")), false, 3, d("2027-01-04")).2);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn action() -> impl Strategy<Value = Action> {
        let day = (0i64..60)
            .prop_map(|n| NaiveDate::from_ymd_opt(2024, 5, 1).unwrap() + chrono::Duration::days(n));
        let text = prop_oneof![Just(String::new()), Just("原因".to_string())];
        prop_oneof![
            day.clone().prop_map(|deadline| Action::Assign { deadline }),
            Just(Action::Accept),
            text.clone().prop_map(|text| Action::Report { text }),
            text.clone().prop_map(|result| Action::Submit { result }),
            Just(Action::Close),
            text.clone().prop_map(|reason| Action::Return { reason }),
            text.clone().prop_map(|reason| Action::Escalate { reason }),
            Just(Action::DeEscalate {
                note: String::new()
            }),
            (day, text.clone()).prop_map(|(new_deadline, reason)| Action::RequestExtension {
                new_deadline,
                reason
            }),
            Just(Action::ApproveExtension),
            text.clone()
                .prop_map(|reason| Action::RejectExtension { reason }),
            text.clone().prop_map(|reason| Action::Suspend { reason }),
            Just(Action::Resume),
            text.prop_map(|reason| Action::Cancel { reason }),
            Just(Action::Archive),
        ]
    }

    fn actor() -> impl Strategy<Value = Actor> {
        (1i64..4, any::<bool>(), any::<bool>()).prop_map(|(user_id, is_handler, is_supervisor)| {
            Actor {
                user_id,
                is_handler,
                is_supervisor,
            }
        })
    }

    proptest! {
        /// Whatever happens, an item is closed only by a Close from 待审核 done by a supervisor
        /// who is neither a handler nor the submitter; frozen items never change except by
        /// archiving; and the original deadline, once recorded, never moves.
        #[test]
        fn workflow_invariants(steps in prop::collection::vec((action(), actor(), 0i64..60), 1..40)) {
            let mut f = ItemFacts::draft();
            for (a, who, day) in steps {
                let today = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap() + chrono::Duration::days(day);
                match apply(&f, &a, who, today) {
                    Ok(next) => {
                        if next.state == ItemState::Closed && f.state != ItemState::Closed {
                            prop_assert_eq!(&a, &Action::Close);
                            prop_assert_eq!(f.state, ItemState::Submitted);
                            prop_assert!(who.is_supervisor && !who.is_handler);
                            prop_assert_ne!(f.submitted_by, Some(who.user_id));
                        }
                        if f.state.is_frozen() {
                            prop_assert_eq!(&a, &Action::Archive);
                            prop_assert_eq!(next.state, ItemState::Archived);
                        }
                        if f.original_deadline.is_some() {
                            prop_assert_eq!(next.original_deadline, f.original_deadline);
                        }
                        f = next;
                    }
                    Err(e) => prop_assert!(!e.code.is_empty() && !e.message_zh.is_empty()),
                }
            }
        }
    }
}

//! Forms (填报表) and custom data elements (自定义数据项): the built-in 学年 form of school
//! statistics, and the forms administrators add — any period type (学年/学期/年/月), assigned
//! to school types, over built-in and custom elements. Values and returns go through the same
//! 填报 → 报送 → 审核 workflow as the built-in form (`indicators::save_form`, `transition_form`).

use crate::{Actor, App, Result, ServiceError, record};
use taizhang_domain::FieldError;
use taizhang_domain::forms::{BASIC, Form, PeriodType};
use taizhang_domain::role::Permission;
use taizhang_domain::standards::{self, Element, Elements};
use taizhang_store::indicators as store;

/// Built-in and custom data elements.
pub async fn elements(app: &App) -> Result<Elements> {
    let mut els = standards::elements();
    let mut c = app.store.conn().await?;
    for d in store::list_defs(&mut c, false).await? {
        if let Ok(e) = serde_json::from_str::<Element>(&d.body) {
            els.elements.push(e);
        }
    }
    Ok(els)
}

/// The built-in form: every school, every 学年, the built-in elements.
pub fn basic() -> Form {
    Form {
        id: BASIC.into(),
        name: "学校基础数据".into(),
        period_type: PeriodType::SchoolYear,
        school_kinds: Vec::new(),
        elements: standards::elements()
            .elements
            .into_iter()
            .filter(|e| !e.derived)
            .map(|e| e.code)
            .collect(),
    }
}

/// Every form: the built-in one, then administrators' forms.
pub async fn forms(app: &App) -> Result<Vec<Form>> {
    let mut out = vec![basic()];
    let mut c = app.store.conn().await?;
    for d in store::list_defs(&mut c, true).await? {
        if let Ok(f) = serde_json::from_str::<Form>(&d.body) {
            out.push(f);
        }
    }
    Ok(out)
}

/// The form with this id (empty: the built-in one).
pub async fn form(app: &App, id: &str) -> Result<Form> {
    if id.is_empty() || id == BASIC {
        return Ok(basic());
    }
    forms(app)
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or_else(|| {
            FieldError::new(
                "not_found",
                "form",
                format!("填报表“{id}”不存在"),
                format!("no form '{id}'"),
            )
            .into()
        })
}

fn may_manage(actor: &Actor) -> Result<()> {
    if actor.scope(Permission::UnitWrite).all {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

fn check_key(field: &str, key: &str, what: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 40
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "invalid_format",
            field,
            format!("{what}“{key}”应以小写字母开头,只含小写字母、数字、_ 和 -(最多40位)"),
            format!("'{key}' must start with a lowercase letter and hold only a-z, 0-9, _ and - (40 at most)"),
        )
        .into())
    }
}

fn check_text(field: &str, label: &str, v: &str, max: usize) -> Result<String> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(FieldError::new(
            "invalid_value",
            field,
            format!("{label}不能为空,最多{max}字"),
            format!("{field} must be 1-{max} characters"),
        )
        .into());
    }
    Ok(v.to_string())
}

/// Adds a custom data element (administrators over everything).
pub async fn add_element(app: &App, actor: &Actor, e: Element) -> Result<Element> {
    may_manage(actor)?;
    check_key("code", &e.code, "数据项代码")?;
    let e = Element {
        name: check_text("name", "数据项名称", &e.name, 60)?,
        unit: e.unit.trim().chars().take(10).collect(),
        aggregate: None,
        derived: false,
        ..e
    };
    if !matches!(e.kind.as_str(), "count" | "amount") {
        return Err(FieldError::new(
            "invalid_value",
            "kind",
            "类型应为 count(整数,如人数、个数)或 amount(可带小数,如面积、金额)",
            "kind must be count (whole numbers) or amount",
        )
        .into());
    }
    if elements(app)
        .await?
        .elements
        .iter()
        .any(|x| x.code == e.code)
    {
        return Err(FieldError::new(
            "duplicate",
            "code",
            format!("数据项代码“{}”已存在", e.code),
            format!("the element '{}' exists", e.code),
        )
        .into());
    }
    let body = serde_json::to_string(&e).map_err(|x| ServiceError::Internal(x.to_string()))?;
    let mut tx = app.store.begin().await?;
    if !store::add_def(&mut tx, false, &e.code, &body, app.now()).await? {
        return Err(ServiceError::Duplicate("code".into()));
    }
    record(
        app,
        &mut tx,
        actor,
        "element.create",
        "data_element",
        0,
        None,
        None::<&()>,
        Some(&e),
    )
    .await?;
    tx.commit().await?;
    Ok(e)
}

/// Adds a form (administrators over everything): its elements must exist, its school types
/// be known.
pub async fn create_form(app: &App, actor: &Actor, f: Form) -> Result<Form> {
    may_manage(actor)?;
    check_key("id", &f.id, "填报表编号")?;
    if f.id == BASIC {
        return Err(FieldError::new(
            "duplicate",
            "id",
            "不能使用内置填报表的编号",
            "that id is the built-in form's",
        )
        .into());
    }
    let name = check_text("name", "填报表名称", &f.name, 60)?;
    let els = elements(app).await?;
    if f.elements.is_empty() {
        return Err(FieldError::new(
            "required",
            "elements",
            "请至少选择一个数据项",
            "choose at least one data element",
        )
        .into());
    }
    let mut seen = Vec::new();
    for code in &f.elements {
        if !els.elements.iter().any(|e| &e.code == code) {
            return Err(FieldError::new(
                "invalid_value",
                "elements",
                format!("数据项“{code}”不存在"),
                format!("no data element '{code}'"),
            )
            .into());
        }
        if seen.contains(&code) {
            return Err(FieldError::new(
                "duplicate",
                "elements",
                format!("数据项“{code}”重复"),
                format!("'{code}' is listed twice"),
            )
            .into());
        }
        seen.push(code);
    }
    for k in &f.school_kinds {
        taizhang_domain::unit::SchoolStage::parse("school_kinds", k)?;
    }
    let f = Form { name, ..f };
    if forms(app).await?.iter().any(|x| x.id == f.id) {
        return Err(FieldError::new(
            "duplicate",
            "id",
            format!("填报表编号“{}”已存在", f.id),
            format!("the form '{}' exists", f.id),
        )
        .into());
    }
    let body = serde_json::to_string(&f).map_err(|x| ServiceError::Internal(x.to_string()))?;
    let mut tx = app.store.begin().await?;
    if !store::add_def(&mut tx, true, &f.id, &body, app.now()).await? {
        return Err(ServiceError::Duplicate("code".into()));
    }
    record(
        app,
        &mut tx,
        actor,
        "form.create",
        "form",
        0,
        None,
        None::<&()>,
        Some(&f),
    )
    .await?;
    tx.commit().await?;
    Ok(f)
}

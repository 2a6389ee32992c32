//! Reports from live data (报告生成): minijinja templates that pull figures from the records
//! through named data functions, rendered to Markdown, HTML and .docx (GB/T 9704 layout).
//!
//! Built in: `tongbao` (月度督办通报), `huibao` (工作情况汇报) and `zipingbaogao` (均衡发展自评
//! 报告). Administrators copy and edit templates; a copy never changes a built-in one.
//!
//! Every figure a data function returns is a [`Fig`]: printed, it registers itself with its
//! definition, denominator and the filtered list that produced it (数据说明), so the HTML can
//! link it and the .docx can list it. The data are read before rendering, inside the caller's
//! data scope; a function whose data were not asked for (no ledger, no standard) fails with a
//! message naming the missing option.

use crate::ledger::{self, Figures};
use crate::{Actor, App, Result, ServiceError, indicators};
use chrono::{Datelike, NaiveDate};
use minijinja::value::{Object, ObjectRepr, Value};
use minijinja::{Environment, Error as TplError, ErrorKind, UndefinedBehavior};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use taizhang_domain::FieldError;
use taizhang_domain::ledger::Light;
use taizhang_domain::role::Permission;
use taizhang_office::report::{self, Doc, DocxOptions, FIG_END, FIG_MID, FIG_START, FigureNote};
use taizhang_store as store;
use taizhang_store::ledger::ItemFilter;
use taizhang_store::reports::StoredTemplate;

/// A built-in template: id, name, and its minijinja source.
pub struct Builtin {
    pub id: &'static str,
    pub name: &'static str,
    pub needs: &'static str,
    pub source: &'static str,
}

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        id: "tongbao",
        name: "督办工作通报(月度)",
        needs: "ledger",
        source: include_str!("../templates/tongbao.j2"),
    },
    Builtin {
        id: "huibao",
        name: "督办工作情况汇报",
        needs: "ledger",
        source: include_str!("../templates/huibao.j2"),
    },
    Builtin {
        id: "zipingbaogao",
        name: "义务教育均衡发展自评报告",
        needs: "evaluation",
        source: include_str!("../templates/zipingbaogao.j2"),
    },
];

/// Largest template source accepted (a report template is a few kilobytes).
pub const MAX_TEMPLATE: usize = 200_000;

/// A template as listed: built-in or an administrator's copy.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateEntry {
    pub id: String,
    pub name: String,
    pub builtin: bool,
    pub based_on: Option<String>,
    /// What it reads: `ledger` or `evaluation`.
    pub needs: String,
    pub version: i64,
    pub body: String,
}

fn builtin(id: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.id == id)
}

fn needs_of(based_on: &str) -> &'static str {
    builtin(based_on).map_or("ledger", |b| b.needs)
}

pub async fn list_templates(app: &App) -> Result<Vec<TemplateEntry>> {
    let mut out: Vec<TemplateEntry> = BUILTINS
        .iter()
        .map(|b| TemplateEntry {
            id: b.id.into(),
            name: b.name.into(),
            builtin: true,
            based_on: None,
            needs: b.needs.into(),
            version: 0,
            body: b.source.into(),
        })
        .collect();
    let mut c = app.store.conn().await?;
    for t in store::reports::list_templates(&mut c).await? {
        out.push(entry(t));
    }
    Ok(out)
}

fn entry(t: StoredTemplate) -> TemplateEntry {
    TemplateEntry {
        needs: needs_of(&t.based_on).into(),
        id: t.id,
        name: t.name,
        builtin: false,
        based_on: Some(t.based_on),
        version: t.version,
        body: t.body,
    }
}

pub async fn get_template(app: &App, id: &str) -> Result<TemplateEntry> {
    if let Some(b) = builtin(id) {
        return Ok(TemplateEntry {
            id: b.id.into(),
            name: b.name.into(),
            builtin: true,
            based_on: None,
            needs: b.needs.into(),
            version: 0,
            body: b.source.into(),
        });
    }
    let mut c = app.store.conn().await?;
    store::reports::get_template(&mut c, id)
        .await?
        .map(entry)
        .ok_or(ServiceError::NotFound)
}

/// Templates are configuration for everyone: managing them needs an administrator over
/// everything (全部), as standards and forms do.
pub fn may_manage(actor: &Actor) -> Result<()> {
    if actor.scope(Permission::UnitWrite).all {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

/// Checks a template's source: it must compile; a syntax error names the line and the reason.
pub fn check_source(body: &str) -> Result<()> {
    if body.len() > MAX_TEMPLATE {
        return Err(FieldError::new(
            "too_large",
            "body",
            format!("模板过长:{}字节,上限{MAX_TEMPLATE}字节", body.len()),
            format!(
                "the template is {} bytes; at most {MAX_TEMPLATE}",
                body.len()
            ),
        )
        .into());
    }
    let env = environment();
    env.template_from_str(body).map_err(template_error)?;
    Ok(())
}

/// Copies a template (built-in or another copy) under a new id.
pub async fn copy_template(
    app: &App,
    actor: &Actor,
    based_on: &str,
    id: &str,
    name: &str,
) -> Result<TemplateEntry> {
    may_manage(actor)?;
    let id = crate::check_copy_id(id, "模板", "tongbao-xian")?;
    if builtin(id).is_some() {
        return Err(FieldError::new(
            "duplicate",
            "id",
            "不能使用内置模板的编号",
            "that id belongs to a built-in template",
        )
        .into());
    }
    let src = get_template(app, based_on).await?;
    // A copy of a copy keeps the built-in it descends from (what data it reads).
    let root = src.based_on.clone().unwrap_or(src.id.clone());
    let t = StoredTemplate {
        id: id.to_string(),
        name: if name.trim().is_empty() {
            format!("{}(副本)", src.name)
        } else {
            name.trim().to_string()
        },
        based_on: root,
        body: src.body,
        version: 1,
        created_at: app.now(),
        updated_at: app.now(),
    };
    let mut tx = app.store.begin().await?;
    if store::reports::get_template(&mut tx, id).await?.is_some() {
        return Err(FieldError::new(
            "duplicate",
            "id",
            format!("模板编号“{id}”已被使用"),
            format!("the id '{id}' is taken"),
        )
        .into());
    }
    store::reports::put_template(&mut tx, &t, 0, app.now()).await?;
    crate::record(
        app,
        &mut tx,
        actor,
        "report_template.copy",
        "report_template",
        0,
        None,
        None::<&()>,
        Some(&serde_json::json!({"id": t.id, "name": t.name, "based_on": t.based_on})),
    )
    .await?;
    tx.commit().await?;
    Ok(entry(t))
}

/// Saves an edited template if `version` is current. A template that does not compile is
/// refused with its line and reason, and nothing is written.
pub async fn update_template(
    app: &App,
    actor: &Actor,
    id: &str,
    version: i64,
    name: &str,
    body: &str,
) -> Result<TemplateEntry> {
    may_manage(actor)?;
    if builtin(id).is_some() {
        return Err(FieldError::new(
            "builtin",
            "id",
            "内置模板不能修改,请先复制",
            "a built-in template cannot be changed: copy it first",
        )
        .into());
    }
    let mut tx = app.store.begin().await?;
    let before = store::reports::get_template(&mut tx, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    check_source(body)?;
    let t = StoredTemplate {
        name: if name.trim().is_empty() {
            before.name.clone()
        } else {
            name.trim().to_string()
        },
        body: body.to_string(),
        version: version + 1,
        updated_at: app.now(),
        ..before.clone()
    };
    store::reports::put_template(&mut tx, &t, version, app.now()).await?;
    crate::record(
        app,
        &mut tx,
        actor,
        "report_template.update",
        "report_template",
        0,
        None,
        Some(&serde_json::json!({"id": before.id, "name": before.name, "body": before.body})),
        Some(&serde_json::json!({"id": t.id, "name": t.name, "body": t.body})),
    )
    .await?;
    tx.commit().await?;
    Ok(entry(t))
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    Docx,
    Markdown,
    Html,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "docx" | "word" => Ok(Format::Docx),
            "md" | "markdown" => Ok(Format::Markdown),
            "html" | "htm" => Ok(Format::Html),
            other => Err(FieldError::new(
                "invalid_format",
                "format",
                format!("格式“{other}”不支持,应为 docx、md 或 html"),
                format!("format '{other}' is not supported: docx, md or html"),
            )
            .into()),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Docx => "docx",
            Format::Markdown => "md",
            Format::Html => "html",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
        }
    }
}

/// What to report on.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub template: String,
    /// A ledger by id or exact name (督办台账).
    #[serde(default)]
    pub ledger: Option<String>,
    /// The month reported on, `2024-05`; the current month when empty.
    #[serde(default)]
    pub period: Option<String>,
    /// An evaluation: standard id, 学年, and the county (unit id, code or name; the caller's
    /// own unit when empty).
    #[serde(default)]
    pub standard: Option<String>,
    #[serde(default)]
    pub year: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    /// Add the 数据说明 appendix to the .docx.
    #[serde(default)]
    pub data_notes: bool,
}

/// A rendered report.
#[derive(Debug)]
pub struct Rendered {
    pub doc: Doc,
    pub title: String,
    /// The markup the template wrote (before numbering and layout).
    pub markup: String,
    /// Page numbers centred (汇报材料) rather than at the outer side (通报, 报告).
    pub centred_page_numbers: bool,
    /// What it was generated from (`ledger:12`), written into the file for the checker.
    pub source: Option<String>,
}

impl Rendered {
    /// The report in a format, with a file name from its title.
    pub fn output(&self, format: Format, data_notes: bool) -> Vec<u8> {
        match format {
            Format::Markdown => self
                .doc
                .to_markdown_from(self.source.as_deref())
                .into_bytes(),
            Format::Html => self
                .doc
                .to_html(&self.title, self.source.as_deref())
                .into_bytes(),
            Format::Docx => self.doc.to_docx(&DocxOptions {
                title: self.title.clone(),
                page_number_centered: self.centred_page_numbers,
                data_notes,
                source: self.source.clone(),
            }),
        }
    }

    pub fn file_name(&self, format: Format) -> String {
        let base: String = self
            .title
            .chars()
            .filter(|c| !matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|'))
            .take(60)
            .collect();
        let base = if base.trim().is_empty() {
            "report".to_string()
        } else {
            base
        };
        format!("{base}.{}", format.extension())
    }
}

/// Renders a stored or built-in template for the caller.
pub async fn render(app: &App, actor: &Actor, req: &ReportRequest) -> Result<Rendered> {
    let t = get_template(app, &req.template)
        .await
        .map_err(|e| match e {
            ServiceError::NotFound => FieldError::new(
                "unknown",
                "template",
                format!(
                    "没有名为“{}”的报告模板(内置:tongbao、huibao、zipingbaogao)",
                    req.template
                ),
                format!(
                    "no report template '{}' (built in: tongbao, huibao, zipingbaogao)",
                    req.template
                ),
            )
            .into(),
            other => other,
        })?;
    let mut r = render_source(app, actor, &t.body, req).await?;
    r.centred_page_numbers = t.based_on.as_deref().unwrap_or(&t.id) == "huibao";
    Ok(r)
}

/// Renders template source (the editor's live preview uses this with unsaved text).
pub async fn render_source(
    app: &App,
    actor: &Actor,
    source: &str,
    req: &ReportRequest,
) -> Result<Rendered> {
    check_source(source)?;
    let data = Arc::new(load(app, actor, req).await?);
    let reg = Arc::new(Mutex::new(Registry::default()));
    let mut env = environment();
    install(&mut env, &data, &reg);
    let tpl = env.template_from_str(source).map_err(template_error)?;
    let markup = tpl.render(()).map_err(template_error)?;
    let figures = std::mem::take(&mut reg.lock().expect("registry lock").notes);
    let doc = report::parse(&markup, figures).map_err(|e| {
        FieldError::new(
            "template",
            "body",
            format!("模板输出{e}"),
            format!("template output, line {}: {}", e.line, e.reason),
        )
    })?;
    let title = doc
        .blocks
        .iter()
        .find_map(|b| match b {
            report::Block::Title(t) => Some(
                t.iter()
                    .map(|r| match r {
                        report::Inline::Text(s) | report::Inline::Figure(_, s) => s.as_str(),
                    })
                    .collect::<String>(),
            ),
            _ => None,
        })
        .unwrap_or_else(|| "报告".into());
    let source = data.ledger.as_ref().and_then(|l| match &l.meta {
        V::M(m) => m.iter().find_map(|(k, v)| match (k, v) {
            (&"id", V::N(id)) => Some(format!("ledger:{id}")),
            _ => None,
        }),
        _ => None,
    });
    Ok(Rendered {
        doc,
        title,
        markup,
        centred_page_numbers: false,
        source,
    })
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Unknown names are errors, never silently empty: a template that references data that
    // does not exist must say so.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.add_filter("date_cn", |s: String| date_cn(&s));
    env
}

/// A template error as users read it: the line and the reason.
fn template_error(e: TplError) -> ServiceError {
    let line = e.line().unwrap_or(0);
    let detail = e
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| e.kind().to_string());
    let what = match e.kind() {
        ErrorKind::SyntaxError => "语法错误",
        ErrorKind::UndefinedError => "引用了不存在的数据",
        ErrorKind::UnknownFunction => "未知的数据函数",
        ErrorKind::UnknownFilter => "未知的过滤器",
        ErrorKind::InvalidOperation => "无法计算",
        _ => "模板错误",
    };
    FieldError::new(
        "template",
        "body",
        format!("模板第{line}行:{what}:{detail}"),
        format!("template line {line}: {}: {detail}", e.kind()),
    )
    .into()
}

/// `2024-05-06` → `2024年5月6日` (the 成文日期 form: Arabic numerals, no zero padding).
pub fn date_cn(s: &str) -> String {
    match NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d") {
        Ok(d) => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        Err(_) => s.to_string(),
    }
}

/// The figures of this report (数据说明), deduplicated.
#[derive(Default)]
struct Registry {
    notes: Vec<FigureNote>,
    index: BTreeMap<(String, String, Option<String>), usize>,
}

/// 数字: a figure with what it means; printed, it registers itself and prints a marker.
#[derive(Debug)]
struct Fig {
    value: f64,
    text: String,
    label: String,
    definition: String,
    link: Option<String>,
    reg: Arc<Mutex<Registry>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Registry({})", self.notes.len())
    }
}

impl Object for Fig {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "value" => Some(Value::from(self.value)),
            "text" => Some(Value::from(self.text.clone())),
            "label" => Some(Value::from(self.label.clone())),
            _ => None,
        }
    }

    fn is_true(self: &Arc<Self>) -> bool {
        self.value != 0.0
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No value (no denominator, no data): a dash, not a figure to trace.
        if self.text == "—" {
            return f.write_str("—");
        }
        let id = {
            let mut r = self.reg.lock().map_err(|_| fmt::Error)?;
            let key = (self.label.clone(), self.text.clone(), self.link.clone());
            match r.index.get(&key) {
                Some(i) => *i,
                None => {
                    let i = r.notes.len();
                    r.notes.push(FigureNote {
                        text: self.text.clone(),
                        label: self.label.clone(),
                        definition: self.definition.clone(),
                        link: self.link.clone(),
                    });
                    r.index.insert(key, i);
                    i
                }
            }
        };
        write!(f, "{FIG_START}{id}{FIG_MID}{}{FIG_END}", self.text)
    }
}

/// A figure before it meets a template: made into a [`Fig`] value when a function returns it.
#[derive(Debug, Clone)]
struct F {
    value: f64,
    text: String,
    label: String,
    definition: String,
    link: Option<String>,
}

fn count(n: i64, label: &str, definition: impl Into<String>, link: Option<String>) -> F {
    F {
        value: n as f64,
        text: n.to_string(),
        label: label.into(),
        definition: definition.into(),
        link,
    }
}

/// A share in percent with one decimal, or "—" when the denominator is zero.
fn rate(r: Option<f64>, label: &str, definition: impl Into<String>, link: Option<String>) -> F {
    F {
        value: r.unwrap_or(0.0),
        text: r.map_or("—".into(), |v| format!("{v:.1}%")),
        label: label.into(),
        definition: definition.into(),
        link,
    }
}

fn decimal(
    v: Option<f64>,
    digits: usize,
    label: &str,
    definition: impl Into<String>,
    link: Option<String>,
) -> F {
    // A whole number (a class size, a school size limit) is printed without decimals.
    let digits = if v.is_some_and(|x| x.fract() == 0.0 && x.abs() >= 1.0) {
        0
    } else {
        digits
    };
    F {
        value: v.unwrap_or(0.0),
        text: v.map_or("—".into(), |x| format!("{x:.digits$}")),
        label: label.into(),
        definition: definition.into(),
        link,
    }
}

/// A JSON-like tree of plain values and figures, turned into template values.
#[derive(Debug, Clone)]
enum V {
    S(String),
    B(bool),
    N(i64),
    Fig(F),
    L(Vec<V>),
    M(Vec<(&'static str, V)>),
    Null,
}

impl V {
    fn into_value(self, reg: &Arc<Mutex<Registry>>) -> Value {
        match self {
            V::S(s) => Value::from(s),
            V::B(b) => Value::from(b),
            V::N(n) => Value::from(n),
            V::Null => Value::from(()),
            V::Fig(f) => Value::from_object(Fig {
                value: f.value,
                text: f.text,
                label: f.label,
                definition: f.definition,
                link: f.link,
                reg: reg.clone(),
            }),
            V::L(l) => Value::from(l.into_iter().map(|v| v.into_value(reg)).collect::<Vec<_>>()),
            V::M(m) => Value::from(
                m.into_iter()
                    .map(|(k, v)| (k, v.into_value(reg)))
                    .collect::<BTreeMap<_, _>>(),
            ),
        }
    }
}

fn s(x: impl Into<String>) -> V {
    V::S(x.into())
}

/// Everything a report may read, fetched inside the caller's data scope before rendering.
#[derive(Debug, Default)]
struct Data {
    today: NaiveDate,
    issuer: String,
    period: Option<(String, NaiveDate, NaiveDate)>,
    ledger: Option<LedgerData>,
    evaluation: Option<V>,
}

#[derive(Debug)]
struct LedgerData {
    meta: V,
    figures: V,
    period_figures: V,
    ranking: V,
    red: V,
    late: V,
    items: V,
}

fn month(p: &str) -> Result<(String, NaiveDate, NaiveDate)> {
    let bad = || {
        ServiceError::from(FieldError::new(
            "invalid_format",
            "period",
            format!("报告期“{p}”格式不对,应为年-月,如 2024-05"),
            format!("period '{p}' should be year-month, e.g. 2024-05"),
        ))
    };
    let first =
        NaiveDate::parse_from_str(&format!("{}-01", p.trim()), "%Y-%m-%d").map_err(|_| bad())?;
    if p.trim().len() != 7 {
        return Err(bad());
    }
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .ok_or_else(bad)?;
    let last = next.pred_opt().ok_or_else(bad)?;
    Ok((
        format!("{}年{}月", first.year(), first.month()),
        first,
        last,
    ))
}

fn figures_v(f: &Figures, base: &str, scope_label: &str, extra: &str) -> V {
    let link = |q: &str| {
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(if q.is_empty() {
            base.to_string()
        } else {
            format!("{base}{sep}{q}")
        })
    };
    let counted =
        format!("state=assigned,in_progress,submitted,escalated,suspended,closed,archived{extra}");
    let closed = format!("state=closed,archived{extra}");
    let open = format!("state=assigned,in_progress,submitted,escalated,suspended{extra}");
    let overdue = format!("overdue=1{extra}");
    V::M(vec![
        (
            "total",
            V::Fig(count(
                f.total,
                "问题总数",
                format!("{scope_label}已交办的问题(不含草稿和已撤销)"),
                link(&counted),
            )),
        ),
        (
            "closed",
            V::Fig(count(
                f.closed,
                "已办结",
                format!("{scope_label}已销号(含已归档)的问题"),
                link(&closed),
            )),
        ),
        (
            "in_progress",
            V::Fig(count(
                f.in_progress,
                "正在办理",
                format!("{scope_label}问题总数{} − 已办结{}", f.total, f.closed),
                link(&open),
            )),
        ),
        (
            "closed_on_time",
            V::Fig(count(
                f.closed_on_time,
                "按期办结",
                format!("{scope_label}在期限(含批准的延期)内销号的问题"),
                link(&closed),
            )),
        ),
        (
            "overdue",
            V::Fig(count(
                f.overdue,
                "超期未办结",
                format!("{scope_label}未办结且已过期限的问题"),
                link(&overdue),
            )),
        ),
        (
            "closed_rate",
            V::Fig(rate(
                f.closed_rate,
                "办结率",
                format!("已办结{} ÷ 问题总数{}", f.closed, f.total),
                link(&closed),
            )),
        ),
        (
            "on_time_rate",
            V::Fig(rate(
                f.on_time_rate,
                "按期办结率",
                format!("按期办结{} ÷ 已办结{}", f.closed_on_time, f.closed),
                link(&closed),
            )),
        ),
        (
            "overdue_rate",
            V::Fig(rate(
                (f.total > 0).then(|| f.overdue as f64 * 100.0 / f.total as f64),
                "超期率",
                format!("超期未办结{} ÷ 问题总数{}", f.overdue, f.total),
                link(&overdue),
            )),
        ),
        (
            "avg_days",
            V::Fig(decimal(
                f.avg_days_to_close,
                1,
                "平均办结用时",
                "已办结问题从交办到销号的工作日数的平均值",
                link(&closed),
            )),
        ),
    ])
}

async fn load(app: &App, actor: &Actor, req: &ReportRequest) -> Result<Data> {
    let today = ledger::today(app);
    let period = match req
        .period
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(p) => Some(month(p)?),
        None => Some(month(&today.format("%Y-%m").to_string())?),
    };
    let mut data = Data {
        today,
        issuer: actor.unit_name.clone(),
        period,
        ..Default::default()
    };
    if let Some(l) = req
        .ledger
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        data.ledger = Some(load_ledger(app, actor, l, data.period.as_ref()).await?);
        if data.issuer.is_empty()
            && let Some(V::M(m)) = data.ledger.as_ref().map(|l| &l.meta)
            && let Some((_, V::S(o))) = m.iter().find(|(k, _)| *k == "owner")
        {
            data.issuer = o.clone();
        }
    }
    if let Some(std) = req
        .standard
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let year = req.year.as_deref().map(str::trim).unwrap_or("");
        if year.is_empty() {
            return Err(FieldError::new(
                "required",
                "year",
                "自评报告需要指定学年(如 2024)",
                "a self-evaluation report needs the school year (e.g. 2024)",
            )
            .into());
        }
        let (ev, issuer) = load_evaluation(app, actor, std, year, req.unit.as_deref()).await?;
        data.evaluation = Some(ev);
        if data.issuer.is_empty() {
            data.issuer = issuer;
        }
    }
    Ok(data)
}

async fn load_ledger(
    app: &App,
    actor: &Actor,
    id_or_name: &str,
    period: Option<&(String, NaiveDate, NaiveDate)>,
) -> Result<LedgerData> {
    let l = ledger::find_ledger(app, actor, id_or_name).await?;
    let base = format!("/ledgers/{}", l.id);
    let filter = ItemFilter {
        ledger_id: Some(l.id),
        ..Default::default()
    };
    let figs = ledger::figures(app, actor, &filter).await?;
    let figures = figures_v(&figs.overall, &base, "", "");
    let period_figures = match period {
        Some((label, from, to)) => {
            let (f, t) = (
                from.format("%Y-%m-%d").to_string(),
                to.format("%Y-%m-%d").to_string(),
            );
            let pf = ledger::figures(
                app,
                actor,
                &ItemFilter {
                    deadline_from: Some(f.clone()),
                    deadline_to: Some(t.clone()),
                    ..filter.clone()
                },
            )
            .await?;
            figures_v(
                &pf.overall,
                &base,
                &format!("期限在{label}内"),
                &format!("&deadline_from={f}&deadline_to={t}"),
            )
        }
        None => V::Null,
    };
    // Unit codes for the links (the list filters by 单位代码).
    // (These are the lead units of items the caller sees; their codes are not secret.)
    let mut c = app.store.conn().await?;
    let ids: Vec<i64> = figs
        .by_unit
        .iter()
        .filter_map(|g| g.key.parse().ok())
        .collect();
    let code_of: BTreeMap<i64, String> = store::units::get_many_unscoped(&mut c, &ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u.code))
        .collect();
    drop(c);
    let unit_link = |id: i64, extra: &str| {
        code_of
            .get(&id)
            .map(|code| format!("{base}?unit={}{extra}", urlencode(code)))
    };
    let ranking = V::L(
        figs.by_unit
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let id = g.key.parse::<i64>().unwrap_or(0);
                let f = &g.figures;
                let lbl = |x: &str| format!("{}{x}", g.label);
                V::M(vec![
                    ("rank", V::N(i as i64 + 1)),
                    ("name", s(g.label.clone())),
                    (
                        "total",
                        V::Fig(count(
                            f.total,
                            &lbl("问题数"),
                            format!("{}牵头的问题(不含草稿和已撤销)", g.label),
                            unit_link(id, ""),
                        )),
                    ),
                    (
                        "closed",
                        V::Fig(count(
                            f.closed,
                            &lbl("已办结"),
                            format!("{}牵头且已销号的问题", g.label),
                            unit_link(id, "&state=closed,archived"),
                        )),
                    ),
                    (
                        "overdue",
                        V::Fig(count(
                            f.overdue,
                            &lbl("超期"),
                            format!("{}牵头、未办结且已过期限的问题", g.label),
                            unit_link(id, "&overdue=1"),
                        )),
                    ),
                    (
                        "closed_rate",
                        V::Fig(rate(
                            f.closed_rate,
                            &lbl("办结率"),
                            format!("已办结{} ÷ 问题数{}", f.closed, f.total),
                            unit_link(id, "&state=closed,archived"),
                        )),
                    ),
                    (
                        "on_time_rate",
                        V::Fig(rate(
                            f.on_time_rate,
                            &lbl("按期办结率"),
                            format!("按期办结{} ÷ 已办结{}", f.closed_on_time, f.closed),
                            unit_link(id, "&state=closed,archived"),
                        )),
                    ),
                ])
            })
            .collect(),
    );
    // The items as the report lists them, with their lights (one lean query).
    let items = {
        let mut c = app.store.conn().await?;
        store::ledger::report_rows(&mut c, &actor.scope(Permission::ItemRead), &filter).await?
    };
    let cal = app.calendar();
    let today = ledger::today(app);
    struct Row {
        r: store::ledger::ReportRow,
        light: Light,
        days_left: Option<i64>,
        state_label: &'static str,
    }
    let counted: Vec<Row> = items
        .into_iter()
        .filter(|i| !matches!(i.state.as_str(), "draft" | "cancelled"))
        .map(|r| {
            let (light, days_left, state_label) = ledger::light_of(
                &cal,
                &r.state,
                &r.deadline,
                r.reminders,
                l.yellow_days,
                today,
            );
            Row {
                r,
                light,
                days_left,
                state_label,
            }
        })
        .collect();
    let red: Vec<&Row> = counted.iter().filter(|i| i.light == Light::Red).collect();
    let red_v = V::L(
        red.iter()
            .map(|i| {
                V::M(vec![
                    ("number", s(i.r.number.clone())),
                    ("title", s(i.r.title.clone())),
                    ("unit", s(i.r.lead_unit_name.clone())),
                    (
                        "deadline",
                        s(i.r.deadline.as_deref().map(date_cn).unwrap_or_default()),
                    ),
                    ("days_overdue", V::N(-i.days_left.unwrap_or(0))),
                    ("link", s(format!("/items/{}", i.r.id))),
                ])
            })
            .collect(),
    );
    let mut late: BTreeMap<(String, i64), Vec<String>> = BTreeMap::new();
    for i in &red {
        late.entry((i.r.lead_unit_name.clone(), i.r.lead_unit_id))
            .or_default()
            .push(i.r.number.clone());
    }
    let mut late: Vec<_> = late.into_iter().collect();
    late.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    let figures = match figures {
        V::M(mut m) => {
            m.push((
                "late_units",
                V::Fig(count(
                    late.len() as i64,
                    "有超期问题的单位数",
                    "牵头的问题中有未办结且已过期限的单位",
                    Some(format!("{base}?overdue=1")),
                )),
            ));
            V::M(m)
        }
        other => other,
    };
    let late_v = V::L(
        late.into_iter()
            .map(|((name, id), numbers)| {
                V::M(vec![
                    (
                        "count",
                        V::Fig(count(
                            numbers.len() as i64,
                            &format!("{name}超期"),
                            format!("{name}牵头、未办结且已过期限的问题"),
                            unit_link(id, "&overdue=1"),
                        )),
                    ),
                    ("name", s(name)),
                    ("numbers", s(numbers.join("、"))),
                ])
            })
            .collect(),
    );
    let items_v = V::L(
        counted
            .iter()
            .enumerate()
            .map(|(k, i)| {
                V::M(vec![
                    ("seq", V::N(k as i64 + 1)),
                    ("number", s(i.r.number.clone())),
                    ("title", s(i.r.title.clone())),
                    ("unit", s(i.r.lead_unit_name.clone())),
                    ("deadline", s(i.r.deadline.clone().unwrap_or_default())),
                    ("state", s(i.state_label)),
                    ("closed_on", s(i.r.closed_on.clone().unwrap_or_default())),
                    ("overdue", V::B(i.light == Light::Red)),
                ])
            })
            .collect(),
    );
    Ok(LedgerData {
        meta: V::M(vec![
            ("id", V::N(l.id)),
            ("name", s(l.name.clone())),
            ("owner", s(l.owner_unit_name.clone())),
            ("link", s(base.clone())),
        ]),
        figures,
        period_figures,
        ranking,
        red: red_v,
        late: late_v,
        items: items_v,
    })
}

fn urlencode(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

fn stage_label(s: &str) -> &'static str {
    match s {
        "primary" => "小学",
        "junior" => "初中",
        "senior" => "高中",
        _ => "全校",
    }
}

async fn load_evaluation(
    app: &App,
    actor: &Actor,
    std_id: &str,
    year: &str,
    unit: Option<&str>,
) -> Result<(V, String)> {
    let std = indicators::standard_for(app, std_id).await?;
    let scope = actor.scope(Permission::DataRead);
    let mut c = app.store.conn().await?;
    let county = match unit.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => {
            let by_id = match u.parse::<i64>() {
                Ok(id) => store::units::get(&mut c, &scope, id).await?,
                Err(_) => None,
            };
            match by_id {
                Some(x) => x,
                None => {
                    let found = store::units::by_names_or_codes(&mut c, &[u.to_string()]).await?;
                    let id = found.first().map(|x| x.id).ok_or(ServiceError::NotFound)?;
                    store::units::get(&mut c, &scope, id)
                        .await?
                        .ok_or(ServiceError::NotFound)?
                }
            }
        }
        None => {
            let own = store::units::get(&mut c, &scope, actor.unit_id).await?;
            match own {
                Some(x) => x,
                None => {
                    let mut visible = store::units::list(
                        &mut c,
                        &scope,
                        &store::units::UnitFilter {
                            limit: 10_000,
                            ..Default::default()
                        },
                    )
                    .await?;
                    visible.sort_by_key(|u| (u.depth, u.sort_order, u.id));
                    visible.into_iter().next().ok_or(ServiceError::NotFound)?
                }
            }
        }
    };
    drop(c);
    let mut ev = indicators::evaluate(app, actor, std_id, year, county.id, false).await?;
    // 小学 before 初中 before 高中, as reports list them.
    let order = |s: &str| {
        ["primary", "junior", "senior"]
            .iter()
            .position(|x| *x == s)
            .unwrap_or(3)
    };
    ev.county.sort_by_key(|r| order(&r.stage));
    ev.verdicts.sort_by_key(|v| order(&v.stage));
    let y: i32 = year.parse().unwrap_or(0);
    let link = format!(
        "/indicators/evaluate?standard={}&year={}&unit={}",
        urlencode(std_id),
        urlencode(year),
        county.id
    );
    let l = || Some(link.clone());
    let ind_name = |code: &str| {
        std.indicators
            .iter()
            .find(|i| i.code == code)
            .map_or(code.to_string(), |i| i.name.clone())
    };
    let ind_unit = |code: &str| {
        std.indicators
            .iter()
            .find(|i| i.code == code)
            .map_or(String::new(), |i| i.unit.clone())
    };
    let cv_rule = std.county_rule.kind != "ratio_of_sums";
    let county_rows = V::L(
        ev.county
            .iter()
            .map(|r| {
                let stage = stage_label(&r.stage);
                let name = ind_name(&r.indicator);
                V::M(vec![
                    ("stage", s(stage)),
                    ("code", s(r.indicator.clone())),
                    ("name", s(name.clone())),
                    ("unit", s(ind_unit(&r.indicator))),
                    (
                        "n",
                        V::Fig(count(
                            r.n as i64,
                            &format!("{stage}{name}参评校数"),
                            "参加评估的学校(学段)数",
                            l(),
                        )),
                    ),
                    (
                        "mean",
                        V::Fig(decimal(
                            r.mean,
                            2,
                            &format!("{stage}{name}平均值"),
                            "全县汇总数据计算的比值(总量之比,不是各校比值的平均)",
                            l(),
                        )),
                    ),
                    (
                        "sd",
                        V::Fig(decimal(
                            r.sd,
                            2,
                            &format!("{stage}{name}标准差"),
                            "以在校生数加权的标准差",
                            l(),
                        )),
                    ),
                    (
                        "cv",
                        V::Fig(decimal(
                            if cv_rule { r.cv } else { None },
                            3,
                            &format!("{stage}{name}差异系数"),
                            "标准差 ÷ 平均值(在校生数加权)",
                            l(),
                        )),
                    ),
                    (
                        "threshold",
                        V::Fig(decimal(
                            r.threshold,
                            3,
                            &format!("{stage}{name}标准"),
                            if cv_rule {
                                "差异系数上限"
                            } else {
                                "达标值"
                            },
                            l(),
                        )),
                    ),
                    (
                        "pass",
                        match r.pass {
                            Some(b) => V::B(b),
                            None => V::Null,
                        },
                    ),
                ])
            })
            .collect(),
    );
    let verdicts = V::L(
        ev.verdicts
            .iter()
            .map(|v| {
                let stage = stage_label(&v.stage);
                V::M(vec![
                    ("stage", s(stage)),
                    (
                        "composite_cv",
                        match v.composite_cv {
                            Some(_) => V::Fig(decimal(
                                v.composite_cv,
                                3,
                                &format!("{stage}综合差异系数"),
                                "各项指标差异系数的平均值",
                                l(),
                            )),
                            None => V::Null,
                        },
                    ),
                    (
                        "pass",
                        match v.pass {
                            Some(b) => V::B(b),
                            None => V::Null,
                        },
                    ),
                ])
            })
            .collect(),
    );
    let codes: Vec<String> = ev
        .schools
        .first()
        .map(|s| s.indicators.iter().map(|i| i.code.to_string()).collect())
        .unwrap_or_default();
    let schools = V::L(
        ev.schools
            .iter()
            .map(|sr| {
                V::M(vec![
                    ("code", s(sr.code.to_string())),
                    ("name", s(sr.name.to_string())),
                    ("stage", s(stage_label(sr.stage))),
                    ("students", V::N(sr.students.round() as i64)),
                    ("met", V::N(sr.met_count as i64)),
                    (
                        "pass",
                        match sr.pass {
                            Some(b) => V::B(b),
                            None => V::Null,
                        },
                    ),
                    (
                        "values",
                        V::L(
                            sr.indicators
                                .iter()
                                .map(|i| s(i.value.map_or("—".into(), |v| format!("{v:.2}"))))
                                .collect(),
                        ),
                    ),
                ])
            })
            .collect(),
    );
    let units = ev.schools.len() as i64;
    let passing = ev.schools.iter().filter(|s| s.pass == Some(true)).count() as i64;
    let judged = ev.schools.iter().filter(|s| s.pass.is_some()).count() as i64;
    let stages_passing = ev.verdicts.iter().filter(|v| v.pass == Some(true)).count();
    let v = V::M(vec![
        ("standard", s(std.name.clone())),
        ("standard_id", s(std.id.clone())),
        ("document", s(std.document.clone())),
        ("year", s(year)),
        ("year_label", s(format!("{}—{}学年", y, y + 1))),
        ("county", s(county.name.clone())),
        ("link", s(link.clone())),
        ("cv_rule", V::B(cv_rule)),
        (
            "indicators",
            V::L(
                codes
                    .iter()
                    .map(|c| {
                        V::M(vec![
                            ("code", s(c.clone())),
                            ("name", s(ind_name(c))),
                            ("unit", s(ind_unit(c))),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "failing",
            V::L(
                ev.county
                    .iter()
                    .filter(|r| r.pass == Some(false))
                    .map(|r| {
                        s(format!(
                            "{}{}",
                            stage_label(&r.stage),
                            ind_name(&r.indicator)
                        ))
                    })
                    .collect(),
            ),
        ),
        ("county_rows", county_rows),
        ("verdicts", verdicts),
        (
            "all_stages_pass",
            V::B(!ev.verdicts.is_empty() && stages_passing == ev.verdicts.len()),
        ),
        ("schools", schools),
        (
            "units",
            V::Fig(count(
                units,
                "参评学校(学段)数",
                "参加评估的学校学段数(九年一贯制学校按小学部、初中部分别计)",
                l(),
            )),
        ),
        (
            "judged",
            V::Fig(count(
                judged,
                "有达标结论的学校(学段)数",
                "按标准的学校规则作出结论的学校学段数",
                l(),
            )),
        ),
        (
            "passing",
            V::Fig(count(
                passing,
                "达标学校(学段)数",
                "学校规则判定达标的学校学段数",
                l(),
            )),
        ),
        (
            "pass_rate",
            V::Fig(rate(
                (judged > 0).then(|| passing as f64 * 100.0 / judged as f64),
                "学校达标率",
                format!("达标{passing} ÷ 有结论{judged}"),
                l(),
            )),
        ),
        (
            "excluded",
            V::L(
                ev.excluded
                    .iter()
                    .map(|(code, why)| {
                        V::M(vec![("code", s(code.clone())), ("reason", s(why.clone()))])
                    })
                    .collect(),
            ),
        ),
    ]);
    Ok((v, county.name))
}

fn need<'a, T>(x: Option<&'a T>, f: &str, opt: &str) -> std::result::Result<&'a T, TplError> {
    x.ok_or_else(|| {
        TplError::new(
            ErrorKind::InvalidOperation,
            format!("{f}() 需要先指定{opt} / {f}() needs {opt}"),
        )
    })
}

/// One part of the ledger's data, picked out for its data function.
type LedgerPart = fn(&LedgerData) -> &V;

/// The named data functions (数据函数) a template may call.
fn install(env: &mut Environment<'static>, data: &Arc<Data>, reg: &Arc<Mutex<Registry>>) {
    macro_rules! func {
        ($name:literal, |$d:ident| $body:expr) => {{
            let data = data.clone();
            let reg = reg.clone();
            env.add_function($name, move || -> std::result::Result<Value, TplError> {
                let $d: &Data = &data;
                let v: V = $body?;
                Ok(v.into_value(&reg))
            });
        }};
    }
    let ledger_opt = "台账(--ledger)";
    let eval_opt = "评估标准和学年(--standard、--year)";
    func!("today", |d| Ok::<_, TplError>(s(date_cn(
        &d.today.format("%Y-%m-%d").to_string()
    ))));
    func!("issuer", |d| Ok::<_, TplError>(s(d.issuer.clone())));
    func!("period", |d| {
        let p = need(d.period.as_ref(), "period", "报告期(--period)")?;
        Ok::<_, TplError>(V::M(vec![
            ("label", s(p.0.clone())),
            ("first", s(date_cn(&p.1.format("%Y-%m-%d").to_string()))),
            ("last", s(date_cn(&p.2.format("%Y-%m-%d").to_string()))),
            ("code", s(p.1.format("%Y-%m").to_string())),
        ]))
    });
    // The ledger's parts, each behind its own function name.
    let parts: [(&'static str, LedgerPart); 7] = [
        ("ledger", |l| &l.meta),
        ("ledger_figures", |l| &l.figures),
        ("period_figures", |l| &l.period_figures),
        ("unit_ranking", |l| &l.ranking),
        ("red_items", |l| &l.red),
        ("late_units", |l| &l.late),
        ("ledger_items", |l| &l.items),
    ];
    for (name, part) in parts {
        let data = data.clone();
        let reg = reg.clone();
        env.add_function(name, move || -> std::result::Result<Value, TplError> {
            let l = need(data.ledger.as_ref(), name, ledger_opt)?;
            Ok(part(l).clone().into_value(&reg))
        });
    }
    func!("evaluation", |d| need(
        d.evaluation.as_ref(),
        "evaluation",
        eval_opt
    )
    .cloned());
}

/// The data functions, for the editor's help panel.
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("today()", "今天的日期,如 2026年5月6日"),
    ("issuer()", "发文单位(当前用户所在单位)"),
    ("period()", "报告期:label(2024年5月)、first、last、code"),
    ("ledger()", "台账:id、name、owner、link"),
    (
        "ledger_figures()",
        "台账合计:total、closed、in_progress、closed_on_time、overdue、closed_rate、on_time_rate、overdue_rate、avg_days",
    ),
    ("period_figures()", "期限在报告期内的问题,字段同上"),
    (
        "unit_ranking()",
        "各单位按按期办结率排名:rank、name、total、closed、overdue、closed_rate、on_time_rate",
    ),
    (
        "red_items()",
        "红灯(超期未办结)事项:number、title、unit、deadline、days_overdue",
    ),
    ("late_units()", "有超期事项的单位:name、count、numbers"),
    (
        "ledger_items()",
        "台账全部事项:seq、number、title、unit、deadline、state、closed_on",
    ),
    (
        "evaluation()",
        "指标评估:standard、year_label、county、county_rows、verdicts、schools、units、passing、pass_rate、excluded",
    ),
];

/// The ledger's figures as the checker compares a report with them (核对台账): the whole
/// ledger, each lead unit, and each month the text names (items whose deadline falls in it).
pub async fn record_figures(
    app: &App,
    actor: &Actor,
    ledger_ref: &str,
    text: &str,
) -> Result<Vec<taizhang_domain::checker::RecordFigure>> {
    let l = ledger::find_ledger(app, actor, ledger_ref).await?;
    let filter = ItemFilter {
        ledger_id: Some(l.id),
        ..Default::default()
    };
    let figs = ledger::figures(app, actor, &filter).await?;
    let mut sets: Vec<Figures> = vec![figs.overall.clone()];
    sets.extend(figs.by_unit.iter().map(|g| g.figures.clone()));
    // Months the text names (2026年11月): the figures of the items due in each.
    let mut months: Vec<String> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, _) in chars.iter().enumerate().filter(|(_, c)| **c == '年') {
        let year: String = chars[i.saturating_sub(4)..i].iter().collect();
        let mm: String = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .take(2)
            .collect();
        let closes = chars.get(i + 1 + mm.len()) == Some(&'月');
        if year.len() == 4 && year.chars().all(|c| c.is_ascii_digit()) && closes {
            let code = format!("{year}-{mm:0>2}");
            if month(&code).is_ok() && !months.contains(&code) && months.len() < 12 {
                months.push(code);
            }
        }
    }
    for m in &months {
        let (_, from, to) = month(m)?;
        let pf = ledger::figures(
            app,
            actor,
            &ItemFilter {
                deadline_from: Some(from.format("%Y-%m-%d").to_string()),
                deadline_to: Some(to.format("%Y-%m-%d").to_string()),
                ..filter.clone()
            },
        )
        .await?;
        sets.push(pf.overall);
    }
    let source = format!("台账“{}”(截至{})", l.name, date_cn(&figs.as_of));
    let fig = |label: &str, percent: bool, f: &dyn Fn(&Figures) -> Option<f64>| {
        taizhang_domain::checker::RecordFigure {
            label: label.into(),
            percent,
            values: sets.iter().filter_map(f).collect(),
            source: source.clone(),
        }
    };
    let n = |x: i64| Some(x as f64);
    Ok(vec![
        fig("共交办问题", false, &|f| n(f.total)),
        fig("问题总数", false, &|f| n(f.total)),
        fig("已办结", false, &|f| n(f.closed)),
        fig("正在办理", false, &|f| n(f.in_progress)),
        fig("超期未办结", false, &|f| n(f.overdue)),
        fig("按期办结", false, &|f| n(f.closed_on_time)),
        fig("办结率", true, &|f| f.closed_rate),
        fig("按期办结率", true, &|f| f.on_time_rate),
    ])
}

/// Whether a report that says it was generated from ledger `id` can be checked against this
/// database's ledger `id`: the ledger is visible to the caller and the text names it (another
/// database's ledger 12 is not this one).
pub async fn generated_from(app: &App, actor: &Actor, id: &str, text: &str) -> Result<bool> {
    match ledger::find_ledger(app, actor, id).await {
        Ok(l) => Ok(text.contains(&l.name)),
        Err(ServiceError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

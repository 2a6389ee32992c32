//! `taizhang`: the one binary. Serves the web UI and API, loads the demo county, manages users,
//! verifies the audit trail, backs up the database, and measures itself (`bench`).

mod bench;
mod bench_http;
mod bench_import;
mod bench_indicators;
mod indicators_cmd;

use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use taizhang_domain::role::{Role, RoleAssignment, ScopeKind};
use taizhang_service::{Actor, App, ServiceError};
use taizhang_store::Store;
use taizhang_web::AppState;

#[derive(Parser)]
#[command(
    name = "taizhang",
    version,
    about = "台账 Taizhang — work supervision for education bureaus and public agencies"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Clone)]
pub(crate) struct DbArg {
    /// Database URL: sqlite:PATH (default sqlite:data/taizhang.db) or postgres://USER@HOST:PORT/DB
    #[arg(long, env = "TAIZHANG_DB", default_value = "sqlite:data/taizhang.db")]
    pub(crate) db: String,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the web UI and the API. On an empty database, creates the first administrator.
    Serve {
        #[command(flatten)]
        db: DbArg,
        /// Address to listen on
        #[arg(long, env = "TAIZHANG_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// First administrator's user name (only used on an empty database)
        #[arg(long)]
        admin_user: Option<String>,
        /// First administrator's password (only used on an empty database)
        #[arg(long, env = "TAIZHANG_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
        /// Name of the root unit created with the first administrator
        #[arg(long, default_value = "本级单位")]
        root_name: String,
        /// Mark the session cookie Secure (set this when served over HTTPS)
        #[arg(long, env = "TAIZHANG_COOKIE_SECURE")]
        cookie_secure: bool,
    },
    /// Create the demo county in DIR/taizhang.db (if DIR is empty), then serve it.
    Demo {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        #[arg(long, default_value = "data/demo")]
        data: PathBuf,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// The audit trail (审计日志).
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// Write a consistent snapshot of the SQLite database to FILE.
    Backup {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        out: PathBuf,
    },
    /// School indicators against the national standards (均衡发展评估).
    Indicators {
        #[command(subcommand)]
        cmd: indicators_cmd::IndicatorsCmd,
    },
    /// Supervision ledgers (督办台账).
    Ledger {
        #[command(subcommand)]
        cmd: LedgerCmd,
    },
    /// Write an import template (导入模板).
    Template {
        #[command(subcommand)]
        cmd: TemplateCmd,
    },
    /// 数据核验: check the numbers of reports (.txt/.md in UTF-8 or GBK, or .docx) against each
    /// other. Exit 0: nothing inconsistent; 1: findings; 2: a file could not be read.
    Check {
        files: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
        /// Also list the claims that were checked and found consistent.
        #[arg(long)]
        all: bool,
        /// Also check the figures against this ledger's records (by id or exact name; 核对台账)
        #[arg(long)]
        ledger: Option<String>,
        /// Database of the ledger (with --ledger)
        #[arg(long, env = "TAIZHANG_DB", default_value = "sqlite:data/taizhang.db")]
        db: String,
    },
    /// 报告生成: render a report template (tongbao, huibao, zipingbaogao or an administrator's
    /// copy) from the records, as .docx (GB/T 9704 layout), Markdown or HTML.
    Report {
        #[command(flatten)]
        db: DbArg,
        /// Template id: tongbao | huibao | zipingbaogao | a copy's id
        template: String,
        /// The ledger (督办台账) by id or exact name (tongbao, huibao)
        #[arg(long)]
        ledger: Option<String>,
        /// The month reported on, e.g. 2024-05 (default: this month)
        #[arg(long)]
        period: Option<String>,
        /// The standard of an evaluation (zipingbaogao): basic-2012 | quality-2017 | class-size | a copy
        #[arg(long)]
        standard: Option<String>,
        /// School year of the evaluation by its first year (2024 = 2024–25 学年)
        #[arg(long)]
        year: Option<String>,
        /// The county evaluated (a unit by id, code or exact name; default: the top unit)
        #[arg(long)]
        unit: Option<String>,
        /// docx | md | html (default: from the --out extension)
        #[arg(long)]
        format: Option<String>,
        /// Add the 数据说明 appendix (every figure, its definition and denominator) to a .docx
        #[arg(long)]
        data_notes: bool,
        #[arg(long)]
        out: PathBuf,
    },
    /// Import from Excel: all rows or none; every bad cell is reported.
    Import {
        #[command(subcommand)]
        cmd: ImportCmd,
    },
    /// Export to Excel.
    Export {
        #[command(subcommand)]
        cmd: ExportCmd,
    },
    /// Reminders (催办): send the automatic ones due today.
    Remind {
        #[command(subcommand)]
        cmd: RemindCmd,
    },
    /// Chat-robot webhooks (企业微信 / 钉钉 / 飞书).
    Webhook {
        #[command(subcommand)]
        cmd: WebhookCmd,
    },
    /// Benchmarks (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        cmd: bench::BenchCmd,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user; the password is asked for unless given.
    Add {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        username: String,
        /// Display name (姓名)
        #[arg(long)]
        name: String,
        /// Code of the user's unit
        #[arg(long)]
        unit: String,
        /// admin, supervisor, leader, handler, clerk, inspector or viewer
        #[arg(long, default_value = "viewer")]
        role: String,
        /// all, own_unit, own_unit_and_below or self_only
        #[arg(long, default_value = "own_unit")]
        scope: String,
        #[arg(long, env = "TAIZHANG_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Set a new initial password for a user (they must change it at next sign-in).
    Passwd {
        #[command(flatten)]
        db: DbArg,
        username: String,
        #[arg(long, env = "TAIZHANG_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List users.
    List {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum RemindCmd {
    /// Send the automatic reminders due today (the server also does this every hour).
    Run {
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
enum WebhookCmd {
    /// Add a robot for the notifications of a unit and everything below it.
    Add {
        #[command(flatten)]
        db: DbArg,
        /// Unit code
        #[arg(long)]
        unit: String,
        /// wecom (企业微信), dingtalk (钉钉) or feishu (飞书)
        #[arg(long)]
        kind: String,
        #[arg(long)]
        url: String,
    },
    List {
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
enum TemplateCmd {
    /// The ledger-item import template.
    Ledger {
        #[arg(long)]
        out: PathBuf,
    },
    /// The school statistics template (学校基础数据, one row per school per 学年); a path
    /// ending in .csv writes the CSV headers instead.
    Schools {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// Import items into a ledger from a filled-in template.
    Ledger {
        file: PathBuf,
        /// Ledger id or exact name
        #[arg(long)]
        ledger: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// Import school statistics for a 学年 from .xlsx or .csv (UTF-8 or GBK). Schools are
    /// matched by 学校标识码 and created under their county when new; returns become
    /// 已报送 (submitted), or 已审核 with --approve.
    Schools {
        file: PathBuf,
        /// The 学年 by its first year: 2024 is 2024-25.
        #[arg(long)]
        year: String,
        /// Approve the imported returns at once (the data are the official statistics).
        #[arg(long)]
        approve: bool,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
enum ExportCmd {
    /// Export a ledger's items.
    Ledger {
        #[arg(long)]
        ledger: String,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Subcommand)]
enum LedgerCmd {
    /// List the ledgers.
    List {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        json: bool,
    },
    /// The figures of a ledger (or of all): 问题总数, 已办结, 正在办理, 办结率, 按期办结率, 超期,
    /// by unit, source, category and level.
    Stats {
        #[command(flatten)]
        db: DbArg,
        /// Ledger id or exact name; all ledgers when omitted
        #[arg(long)]
        ledger: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Recompute the hash chain: exit 0 when intact, 1 at the first broken event.
    Verify {
        #[command(flatten)]
        db: DbArg,
        /// A head printed earlier (HASH or SEQ:HASH): also checks it is still in the chain
        #[arg(long)]
        checkpoint: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print the current head (SEQ:HASH), for printing on documents as a checkpoint.
    Head {
        #[command(flatten)]
        db: DbArg,
    },
}

/// A one-line error and the exit code to leave with.
struct Fail(String, u8);

impl From<ServiceError> for Fail {
    fn from(e: ServiceError) -> Self {
        let detail = match &e {
            ServiceError::Internal(d) => format!(" ({d})"),
            _ => String::new(),
        };
        let field = e.field().map(|f| format!(" [{f}]")).unwrap_or_default();
        Fail(
            format!(
                "{}{field}: {} / {}{detail}",
                e.code(),
                e.message_zh(),
                e.message_en()
            ),
            2,
        )
    }
}

impl From<taizhang_store::StoreError> for Fail {
    fn from(e: taizhang_store::StoreError) -> Self {
        Fail(e.to_string(), 2)
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        Fail(e.to_string(), 2)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(Fail(msg, code)) => {
            eprintln!("error: {msg}");
            ExitCode::from(code)
        }
    }
}

pub(crate) async fn open(url: &str) -> Result<Store, Fail> {
    Store::connect(url)
        .await
        .map_err(|e| Fail(format!("cannot open database {url}: {e}"), 2))
}

fn ask_password(prompt: &str) -> Result<String, Fail> {
    if !std::io::stdin().is_terminal() {
        return Err(Fail("no password given: pass --password (or the environment variable) when not at a terminal".into(), 2));
    }
    let p1 = rpassword::prompt_password(prompt)?;
    let p2 = rpassword::prompt_password("Again / 再输入一次: ")?;
    if p1 != p2 {
        return Err(Fail(
            "the two passwords differ / 两次输入的密码不一致".into(),
            2,
        ));
    }
    Ok(p1)
}

async fn serve(
    app: App,
    listen: &str,
    cookie_secure: bool,
    banner: Option<String>,
) -> Result<u8, Fail> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Fail(format!("cannot listen on {listen}: {e}"), 2))?;
    let addr = listener.local_addr()?;
    println!("Taizhang listening on http://{addr}");
    if let Some(b) = banner {
        println!("{b}");
    }
    if let Err(e) = app.reload_calendar().await {
        eprintln!("could not load the administrators' calendar entries: {e}");
    }
    // Automatic reminders: at start, then every hour.
    let reminders = app.clone();
    tokio::spawn(async move {
        loop {
            if let Err(e) = taizhang_service::remind::run_auto(&reminders).await {
                eprintln!("automatic reminders failed: {e}");
            }
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    });
    taizhang_web::serve(AppState { app, cookie_secure }, listener).await?;
    Ok(0)
}

async fn run(cli: Cli) -> Result<u8, Fail> {
    match cli.cmd {
        Cmd::Serve {
            db,
            listen,
            admin_user,
            admin_password,
            root_name,
            cookie_secure,
        } => {
            let store = open(&db.db).await?;
            let app = App::new(store);
            let mut c = app.store.conn().await?;
            let n = taizhang_store::users::count_all(&mut c).await?;
            drop(c);
            if n == 0 {
                let user = match admin_user {
                    Some(u) => u,
                    None if std::io::stdin().is_terminal() => {
                        eprint!(
                            "Empty database. First administrator's user name / 首个管理员用户名: "
                        );
                        let mut s = String::new();
                        std::io::stdin().read_line(&mut s)?;
                        s.trim().to_string()
                    }
                    None => {
                        return Err(Fail(
                            "empty database: create the first administrator with --admin-user NAME and --admin-password PW (or TAIZHANG_ADMIN_PASSWORD) / 空数据库:请用 --admin-user 和 --admin-password 指定首个管理员".into(),
                            2,
                        ));
                    }
                };
                let pw = match admin_password {
                    Some(p) => p,
                    None => ask_password("Password / 密码: ")?,
                };
                taizhang_service::demo::bootstrap(&app, &root_name, "ROOT", &user, &pw).await?;
                println!("created the first administrator '{user}'");
            }
            serve(app, &listen, cookie_secure, None).await
        }
        Cmd::Demo { listen, data } => {
            let db_path = data.join("taizhang.db");
            let fresh = !db_path.exists();
            if fresh && data.exists() && std::fs::read_dir(&data)?.next().is_some() {
                return Err(Fail(
                    format!(
                        "{} is not empty and holds no taizhang.db: choose an empty --data directory",
                        data.display()
                    ),
                    2,
                ));
            }
            std::fs::create_dir_all(&data)?;
            let url = format!("sqlite:{}", db_path.display());
            let store = open(&url).await?;
            let app = App::new(store);
            if fresh {
                let n = taizhang_service::demo::load(&app).await?;
                println!(
                    "created the demo county in {} ({n} units)",
                    db_path.display()
                );
            }
            let mut banner = String::from("Demo accounts / 演示账号 (password 密码: ");
            banner.push_str(taizhang_service::demo::DEMO_PASSWORD);
            banner.push_str("):\n");
            for (u, name, role, scope, _) in taizhang_service::demo::DEMO_ACCOUNTS {
                banner.push_str(&format!(
                    "  {u:<8} {name} — {}({})\n",
                    role.label_zh(),
                    scope.label_zh()
                ));
            }
            serve(app, &listen, false, Some(banner)).await
        }
        Cmd::User { cmd } => user_cmd(cmd).await,
        Cmd::Audit {
            cmd:
                AuditCmd::Verify {
                    db,
                    checkpoint,
                    json,
                },
        } => {
            let store = open(&db.db).await?;
            let r = taizhang_service::audit::verify(&store, checkpoint.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string(&r).unwrap_or_default());
            } else {
                println!("{}", r.summary());
            }
            Ok(if r.intact { 0 } else { 1 })
        }
        Cmd::Audit {
            cmd: AuditCmd::Head { db },
        } => {
            let store = open(&db.db).await?;
            let (seq, hash) = taizhang_service::audit::head(&store).await?;
            println!("{seq}:{hash}");
            Ok(0)
        }
        Cmd::Backup { db, out } => {
            if out.exists() {
                return Err(Fail(
                    format!("{} exists already: choose a new file", out.display()),
                    2,
                ));
            }
            let store = open(&db.db).await?;
            store.backup_sqlite(&out).await?;
            println!("wrote a consistent snapshot to {}", out.display());
            Ok(0)
        }
        Cmd::Bench { cmd } => bench::run(cmd).await,
        Cmd::Ledger { cmd } => ledger_cmd(cmd).await,
        Cmd::Indicators { cmd } => indicators_cmd::run(cmd).await,
        Cmd::Remind {
            cmd: RemindCmd::Run { db },
        } => {
            let app = App::new(open(&db.db).await?);
            let ids = taizhang_service::remind::run_auto(&app).await?;
            println!(
                "sent {} automatic reminders / 已发送{}条自动提醒",
                ids.len(),
                ids.len()
            );
            Ok(0)
        }
        Cmd::Webhook {
            cmd:
                WebhookCmd::Add {
                    db,
                    unit,
                    kind,
                    url,
                },
        } => {
            let app = App::new(open(&db.db).await?);
            let sys = Actor::system("cli");
            let mut c = app.store.conn().await?;
            let found = taizhang_store::units::list(
                &mut c,
                &taizhang_domain::scope::Scope::everything(),
                &taizhang_store::units::UnitFilter {
                    q: Some(unit.clone()),
                    limit: 100,
                    ..Default::default()
                },
            )
            .await?;
            drop(c);
            let Some(u) = found.into_iter().find(|u| u.code == unit) else {
                return Err(Fail(
                    format!("no unit with code '{unit}' / 找不到代码为“{unit}”的单位"),
                    2,
                ));
            };
            let id = taizhang_service::remind::add_webhook(&app, &sys, u.id, &kind, &url).await?;
            println!("added webhook {id} for {} and below", u.name);
            Ok(0)
        }
        Cmd::Webhook {
            cmd: WebhookCmd::List { db },
        } => {
            let app = App::new(open(&db.db).await?);
            for h in taizhang_service::remind::webhooks(&app).await? {
                println!(
                    "{:<4} {:<9} {:<20} {}{}",
                    h.id,
                    h.kind,
                    h.unit_name,
                    h.url,
                    if h.active { "" } else { " [inactive]" }
                );
            }
            Ok(0)
        }
        Cmd::Check {
            files,
            json,
            all,
            ledger,
            db,
        } => check_cmd(&files, json, all, ledger, &db).await,
        Cmd::Report {
            db,
            template,
            ledger,
            period,
            standard,
            year,
            unit,
            format,
            data_notes,
            out,
        } => {
            use taizhang_service::reports::{self, Format, ReportRequest};
            let format = match format {
                Some(f) => Format::parse(&f)?,
                None => Format::parse(out.extension().and_then(|e| e.to_str()).unwrap_or("docx"))?,
            };
            let app = App::new(open(&db.db).await?);
            let sys = Actor::system("cli");
            let req = ReportRequest {
                template,
                ledger,
                period,
                standard,
                year,
                unit,
                data_notes,
            };
            let r = reports::render(&app, &sys, &req).await?;
            let bytes = r.output(format, data_notes);
            // Written whole to a temporary file and renamed: a failed run leaves no half file.
            let tmp = out.with_extension("part");
            std::fs::write(&tmp, &bytes)?;
            std::fs::rename(&tmp, &out)?;
            println!(
                "wrote {} ({} bytes, {} figures) to {}",
                r.title,
                bytes.len(),
                r.doc.figures.len(),
                out.display()
            );
            Ok(0)
        }
        Cmd::Template {
            cmd: TemplateCmd::Ledger { out },
        } => {
            let bytes =
                taizhang_service::ledger_excel::template().map_err(|e| Fail(e.to_string(), 2))?;
            std::fs::write(&out, bytes)?;
            println!("wrote the ledger import template to {}", out.display());
            Ok(0)
        }
        Cmd::Import {
            cmd: ImportCmd::Ledger { file, ledger, db },
        } => import_ledger(&file, &ledger, &db.db).await,
        Cmd::Template {
            cmd: TemplateCmd::Schools { out },
        } => {
            use taizhang_service::schools_import as si;
            let bytes = if out
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
            {
                taizhang_office::table::write_csv(si::SCHOOL_COLUMNS, &[])
            } else {
                si::template().map_err(|e| Fail(e.to_string(), 2))?
            };
            std::fs::write(&out, bytes)?;
            println!("wrote the school statistics template to {}", out.display());
            Ok(0)
        }
        Cmd::Import {
            cmd:
                ImportCmd::Schools {
                    file,
                    year,
                    approve,
                    db,
                },
        } => import_schools(&file, &year, approve, &db.db).await,
        Cmd::Export {
            cmd: ExportCmd::Ledger { ledger, out, db },
        } => {
            let app = App::new(open(&db.db).await?);
            let sys = Actor::system("cli");
            let l = find_ledger(&app, &sys, &ledger).await?;
            let filter = taizhang_store::ledger::ItemFilter {
                ledger_id: Some(l.id),
                limit: 10_000,
                ..Default::default()
            };
            let bytes = taizhang_service::ledger_excel::export(&app, &sys, &filter).await?;
            std::fs::write(&out, bytes)?;
            println!("exported {} to {}", l.name, out.display());
            Ok(0)
        }
    }
}

async fn user_cmd(cmd: UserCmd) -> Result<u8, Fail> {
    let sys = Actor::system("cli");
    match cmd {
        UserCmd::Add {
            db,
            username,
            name,
            unit,
            role,
            scope,
            password,
        } => {
            let app = App::new(open(&db.db).await?);
            let role = Role::parse("role", &role).map_err(ServiceError::from)?;
            let scope = ScopeKind::parse("scope", &scope).map_err(ServiceError::from)?;
            if scope == ScopeKind::Custom {
                return Err(Fail(
                    "--scope custom needs units: set it in the web UI or API".into(),
                    2,
                ));
            }
            let mut c = app.store.conn().await?;
            let units = taizhang_store::units::list(
                &mut c,
                &taizhang_domain::scope::Scope::everything(),
                &taizhang_store::units::UnitFilter {
                    q: Some(unit.clone()),
                    include_inactive: true,
                    limit: 100,
                    ..Default::default()
                },
            )
            .await?;
            drop(c);
            let Some(u) = units.into_iter().find(|u| u.code == unit) else {
                return Err(Fail(
                    format!("no unit with code '{unit}' / 找不到代码为“{unit}”的单位"),
                    2,
                ));
            };
            let password = match password {
                Some(p) => p,
                None => ask_password("Initial password / 初始密码: ")?,
            };
            let v = taizhang_service::users::create(
                &app,
                &sys,
                taizhang_service::users::CreateUser {
                    username,
                    display_name: name,
                    unit_id: u.id,
                    password,
                    roles: vec![RoleAssignment {
                        role,
                        scope,
                        units: vec![],
                    }],
                },
            )
            .await?;
            println!(
                "added user '{}' (id {}) at {}; they must change the password at first sign-in",
                v.user.username, v.user.id, u.name
            );
            Ok(0)
        }
        UserCmd::Passwd {
            db,
            username,
            password,
        } => {
            let app = App::new(open(&db.db).await?);
            let mut c = app.store.conn().await?;
            let Some(cred) = taizhang_store::users::credentials(&mut c, &username).await? else {
                return Err(Fail(
                    format!("no user '{username}' / 用户“{username}”不存在"),
                    2,
                ));
            };
            drop(c);
            let password = match password {
                Some(p) => p,
                None => ask_password("New initial password / 新的初始密码: ")?,
            };
            taizhang_service::users::reset_password(&app, &sys, cred.id, &password).await?;
            println!("password of '{username}' reset; they must change it at next sign-in");
            Ok(0)
        }
        UserCmd::List { db, json } => {
            let app = App::new(open(&db.db).await?);
            let (list, _) = taizhang_service::users::list(
                &app,
                &sys,
                &taizhang_store::users::UserFilter {
                    limit: 10_000,
                    ..Default::default()
                },
            )
            .await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).unwrap_or_default()
                );
            } else {
                println!(
                    "{:<6} {:<16} {:<12} {:<24} roles",
                    "id", "username", "name", "unit"
                );
                for v in list {
                    let roles: Vec<String> = v
                        .roles
                        .iter()
                        .map(|r| format!("{}({})", r.role.as_str(), r.scope.as_str()))
                        .collect();
                    println!(
                        "{:<6} {:<16} {:<12} {:<24} {}{}",
                        v.user.id,
                        v.user.username,
                        v.user.display_name,
                        v.user.unit_name,
                        roles.join(","),
                        if v.user.active { "" } else { " [inactive]" }
                    );
                }
            }
            Ok(0)
        }
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|p| format!("{p:.1}%")).unwrap_or_else(|| "—".into())
}

fn figures_line(f: &taizhang_service::ledger::Figures) -> String {
    format!(
        "共{} 已办结{} 正在办理{} 办结率{} 按期办结{} 按期办结率{} 超期{}",
        f.total,
        f.closed,
        f.in_progress,
        pct(f.closed_rate),
        f.closed_on_time,
        pct(f.on_time_rate),
        f.overdue
    )
}

async fn ledger_cmd(cmd: LedgerCmd) -> Result<u8, Fail> {
    let sys = Actor::system("cli");
    match cmd {
        LedgerCmd::List { db, json } => {
            let app = App::new(open(&db.db).await?);
            let list = taizhang_service::ledger::list_ledgers(&app, &sys).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).unwrap_or_default()
                );
            } else {
                println!(
                    "{:<5} {:<40} {:<6} {:<8} owner",
                    "id", "name", "kind", "period"
                );
                for l in list {
                    println!(
                        "{:<5} {:<40} {:<6} {:<8} {}",
                        l.id, l.name, l.kind, l.period, l.owner_unit_name
                    );
                }
            }
            Ok(0)
        }
        LedgerCmd::Stats { db, ledger, json } => {
            let app = App::new(open(&db.db).await?);
            let ledger_id = match &ledger {
                Some(l) => Some(
                    taizhang_service::ledger::find_ledger(&app, &sys, l)
                        .await
                        .map_err(|e| match e {
                            ServiceError::NotFound => {
                                Fail(format!("no ledger '{l}' / 找不到台账“{l}”"), 2)
                            }
                            other => other.into(),
                        })?,
                ),
                None => None,
            };
            let filter = taizhang_store::ledger::ItemFilter {
                ledger_id: ledger_id.as_ref().map(|l| l.id),
                limit: 1,
                ..Default::default()
            };
            let f = taizhang_service::ledger::figures(&app, &sys, &filter).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&f).unwrap_or_default());
                return Ok(0);
            }
            match &ledger_id {
                Some(l) => println!("{} (as of {})", l.name, f.as_of),
                None => println!("all ledgers (as of {})", f.as_of),
            }
            println!("{}", figures_line(&f.overall));
            for (title, groups) in [
                ("by category 按类别", &f.by_category),
                ("by level 按办理层级", &f.by_level),
                ("by source 按来源", &f.by_source),
                (
                    "by unit, ranked by on-time close-out 按单位(按期办结率排名)",
                    &f.by_unit,
                ),
            ] {
                println!("\n{title}");
                for g in groups {
                    println!("  {:<24} {}", g.label, figures_line(&g.figures));
                }
            }
            Ok(0)
        }
    }
}

async fn find_ledger(
    app: &App,
    actor: &Actor,
    l: &str,
) -> Result<taizhang_store::ledger::Ledger, Fail> {
    taizhang_service::ledger::find_ledger(app, actor, l)
        .await
        .map_err(|e| match e {
            ServiceError::NotFound => Fail(format!("no ledger '{l}' / 找不到台账“{l}”"), 2),
            other => other.into(),
        })
}

/// `taizhang check`: findings per file, as text or JSON.
async fn check_cmd(
    files: &[PathBuf],
    json: bool,
    all: bool,
    ledger: Option<String>,
    db: &str,
) -> Result<u8, Fail> {
    if files.is_empty() {
        return Err(Fail(
            "name at least one file / 请指定要核验的文件".into(),
            2,
        ));
    }
    let mut any = false;
    let mut report = Vec::new();
    for f in files {
        let bytes =
            std::fs::read(f).map_err(|e| Fail(format!("cannot read {}: {e}", f.display()), 2))?;
        let text = taizhang_office::text::report_text(&bytes)
            .map_err(|e| Fail(format!("{}: {e}", f.display()), 2))?;
        let mut findings = taizhang_domain::checker::check(&text, all);
        // Against the records: the ledger named, or the one a report generated by Taizhang
        // says it came from (then only if that database opens and holds it).
        let generated = taizhang_office::text::source_ledger(&bytes);
        if let Some(l) = ledger.clone().or(generated.clone()) {
            let sys = Actor::system("cli");
            let figs = match open(db).await {
                Ok(store) => {
                    let app = App::new(store);
                    let named = ledger.is_some()
                        || taizhang_service::reports::generated_from(&app, &sys, &l, &text).await?;
                    if named {
                        taizhang_service::reports::record_figures(&app, &sys, &l, &text)
                            .await
                            .map_err(Fail::from)
                    } else {
                        Err(Fail("not this ledger".into(), 2))
                    }
                }
                Err(e) => Err(e),
            };
            match (figs, ledger.is_some()) {
                (Ok(figs), _) => {
                    findings.extend(taizhang_domain::checker::check_against(&text, &figs, all));
                    findings.sort_by_key(|f| f.start);
                }
                (Err(e), true) => return Err(e),
                (Err(_), false) => eprintln!(
                    "{}: 由台账生成(台账 {l}),但 {db} 中没有该台账,未核对记录 / generated from ledger {l}, not in {db}: not checked against the records",
                    f.display()
                ),
            }
        }
        any |= findings.iter().any(|x| x.severity != "ok");
        if json {
            report.push(serde_json::json!({"file": f.display().to_string(), "chars": text.chars().count(), "findings": findings}));
        } else {
            let bad = findings.iter().filter(|x| x.severity != "ok").count();
            println!("{}: {bad} 处不一致 / {bad} finding(s)", f.display());
            for x in &findings {
                let sev = match x.severity {
                    "error" => "错误",
                    "minor" => "轻微",
                    "note" => "提示",
                    _ => "一致",
                };
                println!(
                    "  [{sev}] {}–{} {}:“{}” — {}",
                    x.start, x.end, x.kind, x.quote, x.explanation
                );
            }
        }
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    }
    Ok(u8::from(any))
}

pub(crate) async fn import_schools(
    file: &std::path::Path,
    year: &str,
    approve: bool,
    db: &str,
) -> Result<u8, Fail> {
    use taizhang_service::ledger_excel::ImportError;
    use taizhang_service::schools_import as si;
    let bytes =
        std::fs::read(file).map_err(|e| Fail(format!("cannot read {}: {e}", file.display()), 2))?;
    let app = App::new(open(db).await?);
    let sys = Actor::system("cli-import");
    let csv = si::looks_like_csv(&bytes);
    let sheet = tokio::task::spawn_blocking(move || si::read(&bytes, csv))
        .await
        .map_err(|e| Fail(e.to_string(), 2))?
        .map_err(|e| Fail(format!("{}: {e}", file.display()), 2))?;
    match si::import(&app, &sys, year, sheet, approve).await {
        Ok(s) => {
            for w in s.warnings.iter().take(20) {
                eprintln!("  第{}行 row {}: {}", w.row, w.row, w.message);
            }
            if s.warnings.len() > 20 {
                eprintln!(
                    "  … and {} more notes / 另有{}条提示",
                    s.warnings.len() - 20,
                    s.warnings.len() - 20
                );
            }
            println!(
                "imported {} schools for {year} ({} new, {} updated), state {} / 已导入{}所学校({}学年,新建{}所)",
                s.rows, s.created, s.updated, s.state, s.rows, year, s.created
            );
            Ok(0)
        }
        Err(ImportError::Cells(errors)) => {
            eprintln!(
                "nothing was imported: {} bad cells / 未导入任何数据,共{}处错误:",
                errors.len(),
                errors.len()
            );
            for e in errors.iter().take(200) {
                eprintln!(
                    "  第{}行 row {} · {} · “{}”: {} / {}",
                    e.row, e.row, e.column, e.value, e.reason, e.reason_en
                );
            }
            if errors.len() > 200 {
                eprintln!(
                    "  … and {} more / 另有{}处",
                    errors.len() - 200,
                    errors.len() - 200
                );
            }
            Ok(1)
        }
        Err(ImportError::File(e)) => Err(Fail(e.to_string(), 2)),
        Err(ImportError::Service(e)) => Err(e.into()),
    }
}

pub(crate) async fn import_ledger(
    file: &std::path::Path,
    ledger: &str,
    db: &str,
) -> Result<u8, Fail> {
    use taizhang_service::ledger_excel::{self as lx, ImportError};
    let bytes =
        std::fs::read(file).map_err(|e| Fail(format!("cannot read {}: {e}", file.display()), 2))?;
    let app = App::new(open(db).await?);
    let sys = Actor::system("cli-import");
    let l = find_ledger(&app, &sys, ledger).await?;
    let sheet = tokio::task::spawn_blocking(move || lx::read(&bytes))
        .await
        .map_err(|e| Fail(e.to_string(), 2))?
        .map_err(|e| Fail(format!("{}: {e}", file.display()), 2))?;
    let bar = indicatif::ProgressBar::new(sheet.rows.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} 行 rows ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let b = bar.clone();
    let mut progress = move |done: usize, _total: usize| b.set_position(done as u64);
    match lx::import(&app, &sys, l.id, sheet, &mut progress).await {
        Ok(n) => {
            bar.finish_and_clear();
            println!("imported {n} items into {} / 已导入{n}条", l.name);
            Ok(0)
        }
        Err(ImportError::Cells(errors)) => {
            bar.abandon();
            eprintln!(
                "nothing was imported: {} bad cells / 未导入任何数据,共{}处错误:",
                errors.len(),
                errors.len()
            );
            for e in &errors {
                eprintln!(
                    "  第{}行 row {} · {} · “{}”: {} / {}",
                    e.row, e.row, e.column, e.value, e.reason, e.reason_en
                );
            }
            Ok(1)
        }
        Err(ImportError::File(e)) => Err(Fail(e.to_string(), 2)),
        Err(ImportError::Service(e)) => Err(e.into()),
    }
}

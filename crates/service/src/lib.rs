//! Use cases (业务服务): authorisation, transactions and audit events around the store. Every
//! function takes the calling [`Actor`]; every change writes its record and its audit event in
//! one transaction. Framework-free: the web layer and the CLI both call in here.

pub mod audit;
pub mod auth;
pub mod calendar;
pub mod demo;
pub mod demo_ledger;
pub mod demo_schools;
mod error;
pub mod forms;
pub mod indicators;
pub mod ledger;
pub mod ledger_excel;
pub mod remind;
pub mod reports;
pub mod schools_import;
pub mod error_fmt {
    pub use crate::error::fmt_time;
}
pub mod units;
pub mod users;

pub use error::ServiceError;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use taizhang_domain::audit::AuditEvent;
use taizhang_domain::role::{Permission, RoleAssignment, ScopeKind};
use taizhang_domain::scope::Scope;
use taizhang_store::{Store, Tx};

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Wall clock in Unix milliseconds; tests may freeze and advance it.
#[derive(Clone, Debug, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    pub fn system() -> Self {
        Clock(None)
    }

    pub fn fixed(ms: i64) -> Self {
        Clock(Some(Arc::new(AtomicI64::new(ms))))
    }

    pub fn now(&self) -> i64 {
        match &self.0 {
            Some(v) => v.load(Ordering::SeqCst),
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        }
    }

    pub fn advance(&self, ms: i64) {
        if let Some(v) = &self.0 {
            v.fetch_add(ms, Ordering::SeqCst);
        }
    }
}

/// The application: the store, a clock, and the working-day calendar in force (the shipped
/// 2007–2026 arrangements plus what administrators added, see [`App::reload_calendar`]).
#[derive(Clone, Debug)]
pub struct App {
    pub store: Store,
    pub clock: Clock,
    calendar: Arc<std::sync::RwLock<Arc<taizhang_domain::calendar::Calendar>>>,
    /// Compute the ledger figures by streaming items through the service's fold even on
    /// PostgreSQL (which normally aggregates them itself): tests compare the two.
    pub figures_by_fold: bool,
}

impl App {
    pub fn new(store: Store) -> Self {
        App {
            store,
            clock: Clock::system(),
            calendar: Arc::new(std::sync::RwLock::new(Arc::new(
                taizhang_domain::calendar::Calendar::builtin(),
            ))),
            figures_by_fold: false,
        }
    }

    /// The same application seen through another clock (tests, the demo loader).
    pub fn with_clock(&self, clock: Clock) -> App {
        App {
            store: self.store.clone(),
            clock,
            calendar: self.calendar.clone(),
            figures_by_fold: self.figures_by_fold,
        }
    }

    pub fn calendar(&self) -> Arc<taizhang_domain::calendar::Calendar> {
        match self.calendar.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Rebuilds the calendar from the shipped data and the administrators' entries.
    pub async fn reload_calendar(&self) -> Result<()> {
        let mut c = self.store.conn().await?;
        let days = taizhang_store::notify::calendar_days(&mut c).await?;
        drop(c);
        let mut cal = taizhang_domain::calendar::Calendar::builtin();
        for d in days {
            if let Ok(date) = chrono::NaiveDate::parse_from_str(&d.date, "%Y-%m-%d") {
                cal.set_day(taizhang_domain::calendar::SpecialDay {
                    date,
                    is_off: d.is_off,
                    name: d.name,
                    source: d.source,
                });
            }
        }
        match self.calendar.write() {
            Ok(mut w) => *w = Arc::new(cal),
            Err(p) => *p.into_inner() = Arc::new(cal),
        }
        Ok(())
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// Who is calling: the user, their roles, and the data scope each permission resolves to.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub roles: Vec<RoleAssignment>,
    pub must_change_password: bool,
    #[serde(skip)]
    pub ip: Option<String>,
    #[serde(skip)]
    scopes: HashMap<PermissionKey, Scope>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PermissionKey(u8);

impl From<Permission> for PermissionKey {
    fn from(p: Permission) -> Self {
        PermissionKey(p as u8)
    }
}

const PERMISSIONS: [Permission; 11] = [
    Permission::UnitRead,
    Permission::UnitWrite,
    Permission::UserRead,
    Permission::UserWrite,
    Permission::AuditRead,
    Permission::ItemRead,
    Permission::ItemHandle,
    Permission::ItemSupervise,
    Permission::DataRead,
    Permission::DataEnter,
    Permission::DataApprove,
];

impl Actor {
    /// The data scope within which this actor holds `p`; empty when no role grants it.
    pub fn scope(&self, p: Permission) -> Scope {
        self.scopes.get(&p.into()).cloned().unwrap_or_default()
    }

    pub fn can(&self, p: Permission) -> bool {
        !self.scope(p).is_empty()
    }

    /// Loads a user's roles and resolves each permission's scope (the union over roles).
    pub async fn load(app: &App, user_id: i64, ip: Option<String>) -> Result<Option<Actor>> {
        let mut c = app.store.conn().await?;
        let Some(user) = taizhang_store::users::get_unscoped(&mut c, user_id).await? else {
            return Ok(None);
        };
        if !user.active {
            return Ok(None);
        }
        let roles = taizhang_store::users::roles(&mut c, user_id).await?;
        let custom_ids: Vec<i64> = roles.iter().flat_map(|r| r.units.iter().copied()).collect();
        let custom = taizhang_store::units::get_many_unscoped(&mut c, &custom_ids).await?;
        let mut scopes = HashMap::new();
        for p in PERMISSIONS {
            let mut s = Scope::none();
            for r in roles.iter().filter(|r| r.role.grants(p)) {
                match r.scope {
                    ScopeKind::All => s.all = true,
                    ScopeKind::OwnUnit => s.units.push(user.unit_id),
                    ScopeKind::OwnUnitAndBelow => s.subtrees.push(user.unit_path.clone()),
                    ScopeKind::Custom => s.subtrees.extend(
                        custom
                            .iter()
                            .filter(|u| r.units.contains(&u.id))
                            .map(|u| u.path.clone()),
                    ),
                    ScopeKind::SelfOnly => s.self_user = Some(user.id),
                }
            }
            scopes.insert(p.into(), s.normalise());
        }
        Ok(Some(Actor {
            user_id: user.id,
            username: user.username,
            display_name: user.display_name,
            unit_id: user.unit_id,
            unit_name: user.unit_name,
            roles,
            must_change_password: user.must_change_password,
            ip,
            scopes,
        }))
    }

    /// The actor used by CLI commands run by the operator on the server itself.
    pub fn system(name: &str) -> Actor {
        let mut scopes = HashMap::new();
        for p in PERMISSIONS {
            scopes.insert(p.into(), Scope::everything());
        }
        Actor {
            user_id: 0,
            username: name.to_string(),
            display_name: name.to_string(),
            unit_id: 0,
            unit_name: String::new(),
            roles: Vec::new(),
            must_change_password: false,
            ip: None,
            scopes,
        }
    }

    /// An actor holding only `perms`, everywhere: used by loaders (the demo county) that act as
    /// a named office rather than as a person.
    pub fn synthetic(id: i64, name: &str, perms: &[Permission]) -> Actor {
        let mut a = Actor::system(name);
        a.user_id = id;
        a.display_name = name.to_string();
        a.scopes
            .retain(|k, _| perms.iter().any(|p| PermissionKey::from(*p) == *k));
        a
    }

    fn actor_id(&self) -> Option<i64> {
        (self.user_id > 0).then_some(self.user_id)
    }
}

/// The audit event for a change, not yet chained (for [`taizhang_store::audit::append_many`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn audit_event(
    app: &App,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: i64,
    unit_id: Option<i64>,
    before: Option<&impl Serialize>,
    after: Option<&impl Serialize>,
) -> AuditEvent {
    AuditEvent {
        seq: 0,
        at: app.now(),
        actor_id: actor.actor_id(),
        actor_name: actor.username.clone(),
        unit_id,
        action: action.to_string(),
        entity: entity.to_string(),
        entity_id: entity_id.to_string(),
        before: before.map(to_json),
        after: after.map(to_json),
        ip: actor.ip.clone(),
        prev_hash: String::new(),
        hash: String::new(),
    }
}

/// Appends one audit event for a change made in `tx`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record(
    app: &App,
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: i64,
    unit_id: Option<i64>,
    before: Option<&impl Serialize>,
    after: Option<&impl Serialize>,
) -> Result<()> {
    let event = audit_event(
        app, actor, action, entity, entity_id, unit_id, before, after,
    );
    taizhang_store::audit::append(tx, event).await?;
    Ok(())
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The id of an administrator's copy (a standard, a report template): lowercase letters,
/// digits and '-', 1–40 long; `what` names the thing in the message, `example` shows one.
pub(crate) fn check_copy_id<'a>(id: &'a str, what: &str, example: &str) -> Result<&'a str> {
    let id = id.trim();
    if id.is_empty()
        || id.len() > 40
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(taizhang_domain::FieldError::new(
            "invalid_format",
            "id",
            format!("{what}编号只能由小写字母、数字和“-”组成(1–40位),如 {example}"),
            format!("the id may hold lowercase letters, digits and '-' (1-40), e.g. {example}"),
        )
        .into());
    }
    Ok(id)
}

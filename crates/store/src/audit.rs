//! The audit trail (审计日志): append-only and hash-chained. Appends are serialised: on SQLite by
//! the write lock every [`crate::Tx`] takes first; on PostgreSQL by a transaction-scoped advisory
//! lock, so two server processes on one database cannot fork the chain.

use crate::sql::{Arg, Filter};
use crate::{AsConn, Conn, Result, bind_all, run};
use sqlx::AssertSqlSafe;
use taizhang_domain::audit::{AuditEvent, GENESIS};
use taizhang_domain::scope::Scope;

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    at: i64,
    actor_id: Option<i64>,
    actor_name: String,
    unit_id: Option<i64>,
    action: String,
    entity: String,
    entity_id: String,
    before_json: Option<String>,
    after_json: Option<String>,
    ip: Option<String>,
    prev_hash: String,
    hash: String,
}

impl From<Row> for AuditEvent {
    fn from(r: Row) -> Self {
        AuditEvent {
            seq: r.seq,
            at: r.at,
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            unit_id: r.unit_id,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            before: r.before_json,
            after: r.after_json,
            ip: r.ip,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

const COLS: &str = "e.seq, e.at, e.actor_id, e.actor_name, e.unit_id, e.action, e.entity, e.entity_id, e.before_json, e.after_json, \
     e.ip, e.prev_hash, e.hash";

/// The current head: `(seq, hash)`, `(0, GENESIS)` for an empty trail.
pub async fn head(c: &mut impl AsConn) -> Result<(i64, String)> {
    let row: Option<(i64, String)> = run!(c, |x| sqlx::query_as(
        "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
    )
    .fetch_optional(&mut *x)
    .await?);
    Ok(row.unwrap_or((0, GENESIS.to_string())))
}

/// Seals `event` after the current head and inserts it, inside the caller's transaction.
pub async fn append(tx: &mut crate::Tx, mut event: AuditEvent) -> Result<AuditEvent> {
    if let Conn::Pg(x) = tx.conn() {
        sqlx::query("SELECT pg_advisory_xact_lock(7461)")
            .execute(&mut *x)
            .await?;
    }
    let (seq, hash) = head(tx).await?;
    event.seal(seq, &hash);
    let e = &event;
    run!(tx, |x| {
        sqlx::query(
        "INSERT INTO audit_events (seq, at, actor_id, actor_name, unit_id, action, entity, entity_id, before_json, \
         after_json, ip, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )
    .bind(e.seq)
    .bind(e.at)
    .bind(e.actor_id)
    .bind(&e.actor_name)
    .bind(e.unit_id)
    .bind(&e.action)
    .bind(&e.entity)
    .bind(&e.entity_id)
    .bind(&e.before)
    .bind(&e.after)
    .bind(&e.ip)
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .execute(&mut *x)
    .await?
    .rows_affected()
    });
    Ok(event)
}

/// Appends many events in order, chained onto the head under the same lock as [`append`], with
/// multi-row inserts (a 100,000-row import writes its 200,000 events this way).
pub async fn append_many(tx: &mut crate::Tx, mut events: Vec<AuditEvent>) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    if let Conn::Pg(x) = tx.conn() {
        sqlx::query("SELECT pg_advisory_xact_lock(7461)")
            .execute(&mut *x)
            .await?;
    }
    let (mut seq, mut hash) = head(tx).await?;
    for e in &mut events {
        e.seal(seq, &hash);
        seq = e.seq;
        hash.clone_from(&e.hash);
    }
    for chunk in events.chunks(1000) {
        use crate::sql::Arg;
        let mut f = crate::sql::Filter::default();
        let rows = crate::sql::values_rows(
            &mut f,
            chunk.iter().map(|e| {
                vec![
                    Arg::I64(e.seq),
                    Arg::I64(e.at),
                    Arg::OptI64(e.actor_id),
                    Arg::Str(e.actor_name.clone()),
                    Arg::OptI64(e.unit_id),
                    Arg::Str(e.action.clone()),
                    Arg::Str(e.entity.clone()),
                    Arg::Str(e.entity_id.clone()),
                    Arg::OptStr(e.before.clone()),
                    Arg::OptStr(e.after.clone()),
                    Arg::OptStr(e.ip.clone()),
                    Arg::Str(e.prev_hash.clone()),
                    Arg::Str(e.hash.clone()),
                ]
            }),
        );
        let sql = crate::sql::for_backend(
            tx,
            format!(
                "INSERT INTO audit_events (seq, at, actor_id, actor_name, unit_id, action, entity, entity_id, before_json, \
                 after_json, ip, prev_hash, hash) VALUES {rows}"
            ),
        );
        run!(tx, |x| bind_all!(sqlx::query(AssertSqlSafe(sql)), &f.args)
            .execute(&mut *x)
            .await?
            .rows_affected());
    }
    Ok(())
}

/// Events with `seq > after`, in chain order, at most `limit`: the verifier pages through the
/// whole trail with this.
pub async fn page(c: &mut impl AsConn, after: i64, limit: i64) -> Result<Vec<AuditEvent>> {
    let sql = format!("SELECT {COLS} FROM audit_events e WHERE e.seq > $1 ORDER BY e.seq LIMIT $2");
    let rows: Vec<Row> = run!(c, |x| sqlx::query_as::<_, Row>(AssertSqlSafe(sql))
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *x)
        .await?);
    Ok(rows.into_iter().map(AuditEvent::from).collect())
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub action: Option<String>,
    /// Only events before this sequence number (paging backwards from the newest).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// Events whose unit lies inside `scope`, newest first. Events without a unit (system events)
/// are visible only with the 全部 scope.
pub async fn list(
    c: &mut impl AsConn,
    scope: &Scope,
    filter: &AuditFilter,
) -> Result<Vec<AuditEvent>> {
    let mut f = Filter::default();
    f.scope(scope, "u.path", "u.id", None);
    if let Some(v) = &filter.entity {
        let a = f.arg(Arg::Str(v.clone()));
        f.push(format!("e.entity = {a}"));
    }
    if let Some(v) = &filter.entity_id {
        let a = f.arg(Arg::Str(v.clone()));
        f.push(format!("e.entity_id = {a}"));
    }
    if let Some(v) = &filter.action {
        let a = f.arg(Arg::Str(v.clone()));
        f.push(format!("e.action = {a}"));
    }
    if let Some(v) = filter.before_seq {
        let a = f.arg(Arg::I64(v));
        f.push(format!("e.seq < {a}"));
    }
    let lim = f.arg(Arg::I64(filter.limit.clamp(1, 1000)));
    let sql = format!(
        "SELECT {COLS} FROM audit_events e LEFT JOIN units u ON u.id = e.unit_id{} ORDER BY e.seq DESC LIMIT {lim}",
        f.where_sql()
    );
    let rows: Vec<Row> = run!(c, |x| bind_all!(
        sqlx::query_as::<_, Row>(AssertSqlSafe(sql)),
        &f.args
    )
    .fetch_all(&mut *x)
    .await?);
    Ok(rows.into_iter().map(AuditEvent::from).collect())
}

/// The event at `seq` if it exists (for checkpoint checks).
pub async fn at_seq(c: &mut impl AsConn, seq: i64) -> Result<Option<AuditEvent>> {
    let sql = format!("SELECT {COLS} FROM audit_events e WHERE e.seq = $1");
    let row: Option<Row> = run!(c, |x| sqlx::query_as::<_, Row>(AssertSqlSafe(sql))
        .bind(seq)
        .fetch_optional(&mut *x)
        .await?);
    Ok(row.map(AuditEvent::from))
}

/// Streams the whole trail in chain order, in batches, for the verifier. Reading runs on its
/// own thread while the caller hashes the previous batch. On an SQLite file it reads through a
/// dedicated read-only connection (rusqlite): sqlx's per-row overhead would otherwise be most
/// of the verification time. A read transaction keeps the snapshot consistent throughout.
pub fn stream(
    store: &crate::Store,
    batch: usize,
) -> tokio::sync::mpsc::Receiver<Result<Vec<AuditEvent>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let batch = batch.max(1);
    if let Some(path) = store.sqlite_path.clone() {
        tokio::task::spawn_blocking(move || {
            if let Err(e) = read_sqlite(&path, batch, &tx) {
                let _ = tx.blocking_send(Err(crate::StoreError::Db(sqlx::Error::Protocol(
                    format!("reading the audit trail: {e}"),
                ))));
            }
        });
    } else {
        let store = store.clone();
        tokio::spawn(async move {
            let mut c = match store.conn().await {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let mut after = 0;
            loop {
                match page(&mut c, after, batch as i64).await {
                    Ok(events) => {
                        let done = events.len() < batch;
                        if let Some(last) = events.last() {
                            after = last.seq;
                        }
                        if !events.is_empty() && tx.send(Ok(events)).await.is_err() {
                            return;
                        }
                        if done {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
            }
        });
    }
    rx
}

fn read_sqlite(
    path: &std::path::Path,
    batch: usize,
    tx: &tokio::sync::mpsc::Sender<Result<Vec<AuditEvent>>>,
) -> rusqlite::Result<()> {
    use rusqlite::{Connection, OpenFlags};
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    let txn = conn.transaction()?;
    let mut stmt = txn.prepare(
        "SELECT seq, at, actor_id, actor_name, unit_id, action, entity, entity_id, before_json, after_json, ip, \
         prev_hash, hash FROM audit_events ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut buf = Vec::with_capacity(batch);
    while let Some(r) = rows.next()? {
        buf.push(AuditEvent {
            seq: r.get(0)?,
            at: r.get(1)?,
            actor_id: r.get(2)?,
            actor_name: r.get(3)?,
            unit_id: r.get(4)?,
            action: r.get(5)?,
            entity: r.get(6)?,
            entity_id: r.get(7)?,
            before: r.get(8)?,
            after: r.get(9)?,
            ip: r.get(10)?,
            prev_hash: r.get(11)?,
            hash: r.get(12)?,
        });
        if buf.len() == batch
            && tx
                .blocking_send(Ok(std::mem::replace(&mut buf, Vec::with_capacity(batch))))
                .is_err()
        {
            return Ok(());
        }
    }
    if !buf.is_empty() {
        let _ = tx.blocking_send(Ok(buf));
    }
    Ok(())
}

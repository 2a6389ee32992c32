//! Reading and verifying the audit trail (审计日志) and the login log (登录日志).

use crate::{Actor, App, Result, ServiceError};
use serde::Serialize;
use taizhang_domain::audit::{AuditEvent, ChainVerifier};
use taizhang_domain::role::Permission;
use taizhang_store::Store;
use taizhang_store::audit::{self as store, AuditFilter};
use taizhang_store::auth::LoginEntry;

pub async fn list(app: &App, actor: &Actor, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
    let scope = actor.scope(Permission::AuditRead);
    if scope.is_empty() {
        return Err(ServiceError::Forbidden);
    }
    let mut c = app.store.conn().await?;
    Ok(store::list(&mut c, &scope, filter).await?)
}

pub async fn login_log(
    app: &App,
    actor: &Actor,
    limit: i64,
    offset: i64,
) -> Result<Vec<LoginEntry>> {
    let scope = actor.scope(Permission::AuditRead);
    if scope.is_empty() {
        return Err(ServiceError::Forbidden);
    }
    let mut c = app.store.conn().await?;
    Ok(taizhang_store::auth::login_log(&mut c, &scope, limit, offset).await?)
}

/// Result of recomputing the chain.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub intact: bool,
    pub events: u64,
    pub head_seq: i64,
    pub head_hash: String,
    /// First event that does not fit, with the reason.
    pub broken_seq: Option<i64>,
    pub reason: Option<String>,
}

impl VerifyReport {
    pub fn summary(&self) -> String {
        if self.intact {
            format!(
                "audit chain intact: {} events, head #{} {}",
                self.events, self.head_seq, self.head_hash
            )
        } else {
            format!(
                "audit chain BROKEN at event #{}: {} ({} events verified before it)",
                self.broken_seq.unwrap_or(0),
                self.reason.as_deref().unwrap_or(""),
                self.events
            )
        }
    }
}

/// Recomputes the whole chain, streaming it in batches. With `checkpoint` (`hash` or
/// `seq:hash`, as printed on a document), also confirms that this earlier head is still in the
/// chain — which detects a truncated tail.
pub async fn verify(store: &Store, checkpoint: Option<&str>) -> Result<VerifyReport> {
    let mut v = ChainVerifier::default();
    let (want_seq, want_hash) = match checkpoint {
        Some(cp) => match cp.split_once(':') {
            Some((s, h)) => (s.parse::<i64>().ok(), Some(h.to_string())),
            None => (None, Some(cp.to_string())),
        },
        None => (None, None),
    };
    let mut checkpoint_seen = want_hash.is_none();
    let mut batches = store::stream(store, 8192);
    while let Some(batch) = batches.recv().await {
        for e in &batch? {
            if let Err(b) = v.push(e) {
                return Ok(VerifyReport {
                    intact: false,
                    events: v.count(),
                    head_seq: e.seq,
                    head_hash: e.hash.clone(),
                    broken_seq: Some(b.seq),
                    reason: Some(b.reason),
                });
            }
            if let Some(h) = &want_hash
                && &e.hash == h
                && want_seq.is_none_or(|s| s == e.seq)
            {
                checkpoint_seen = true;
            }
        }
    }
    let head_seq = v.count() as i64;
    if !checkpoint_seen {
        return Ok(VerifyReport {
            intact: false,
            events: v.count(),
            head_seq,
            head_hash: v.head().to_string(),
            broken_seq: Some(want_seq.unwrap_or(head_seq + 1)),
            reason: Some(format!(
                "checkpoint {} is not in the chain (events were removed from the end, or the chain was rebuilt)",
                checkpoint.unwrap_or_default()
            )),
        });
    }
    Ok(VerifyReport {
        intact: true,
        events: v.count(),
        head_seq,
        head_hash: v.head().to_string(),
        broken_seq: None,
        reason: None,
    })
}

pub async fn head(store: &Store) -> Result<(i64, String)> {
    let mut c = store.conn().await?;
    Ok(store::head(&mut c).await?)
}

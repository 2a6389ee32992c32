//! Sign-in (登录), sessions, API tokens and password changes.

use crate::{Actor, App, Result, ServiceError, record};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};
use taizhang_domain::FieldError;
use taizhang_domain::password;
use taizhang_store::auth::{self as store_auth, ApiToken, Session};
use taizhang_store::users;

/// Absolute lifetime of a browser session.
pub const SESSION_MAX_MS: i64 = 12 * 3600 * 1000;
/// A session unused for this long expires.
pub const SESSION_IDLE_MS: i64 = 2 * 3600 * 1000;

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    hex::encode(buf)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Hashes a password with argon2id, off the async runtime (it takes tens of milliseconds).
pub async fn hash_password(pw: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let salt =
            SaltString::encode_b64(&salt).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Argon2::default()
            .hash_password(pw.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ServiceError::Internal(e.to_string()))
    })
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))?
}

async fn verify_password(pw: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A fresh browser session: the cookie value and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub user_id: i64,
    pub must_change_password: bool,
}

/// Signs in with user name and password. Every attempt goes to the login log; five failures in
/// a row lock the account for ten minutes, and a locked account rejects even the right password.
pub async fn login(
    app: &App,
    username: &str,
    pw: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<NewSession> {
    let now = app.now();
    let ua = user_agent.map(|s| s.chars().take(300).collect::<String>());
    let ua = ua.as_deref();
    let username = username.trim();
    let mut c = app.store.conn().await?;
    let Some(cred) = users::credentials(&mut c, username).await? else {
        drop(c);
        // Spend the same time as a real check so that timing does not reveal which names exist.
        let _ = verify_password(pw.to_string(), DUMMY_HASH.to_string()).await;
        let mut tx = app.store.begin().await?;
        store_auth::log_login(&mut tx, now, username, None, false, "unknown_user", ip, ua).await?;
        tx.commit().await?;
        return Err(ServiceError::BadCredentials);
    };
    drop(c);
    if let Some(until) = cred.locked_until
        && until > now
    {
        let mut tx = app.store.begin().await?;
        store_auth::log_login(
            &mut tx,
            now,
            username,
            Some(cred.id),
            false,
            "locked",
            ip,
            ua,
        )
        .await?;
        tx.commit().await?;
        return Err(ServiceError::Locked(until));
    }
    let ok = verify_password(pw.to_string(), cred.password_hash.clone()).await;
    let mut tx = app.store.begin().await?;
    if let Some(until) = cred.locked_until
        && until <= now
    {
        users::clear_expired_lock(&mut tx, cred.id).await?;
    }
    if !ok || !cred.active {
        let reason = if cred.active {
            "bad_password"
        } else {
            "inactive"
        };
        let lock_until = now + password::LOCK_MINUTES * 60_000;
        let n =
            users::record_failure(&mut tx, cred.id, (password::MAX_FAILURES, lock_until)).await?;
        store_auth::log_login(&mut tx, now, username, Some(cred.id), false, reason, ip, ua).await?;
        tx.commit().await?;
        if n >= password::MAX_FAILURES {
            return Err(ServiceError::Locked(lock_until));
        }
        return Err(ServiceError::BadCredentials);
    }
    users::record_success(&mut tx, cred.id, now).await?;
    store_auth::log_login(&mut tx, now, username, Some(cred.id), true, "ok", ip, ua).await?;
    let token = random_hex(32);
    let csrf = random_hex(32);
    let s = Session {
        token_hash: sha256_hex(&token),
        user_id: cred.id,
        csrf_token: csrf.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + SESSION_MAX_MS,
    };
    store_auth::insert_session(&mut tx, &s, ip, ua).await?;
    tx.commit().await?;
    Ok(NewSession {
        token,
        csrf_token: csrf,
        user_id: cred.id,
        must_change_password: cred.must_change_password,
    })
}

/// A valid argon2id hash of a random string, used to equalise timing for unknown names.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3zhg8RdrwYNbbMDrj5NVRdJVJhvwMlBY9jE/nRCPgh8";

/// The actor behind a session cookie and the session's CSRF token; `None` when the session is
/// unknown, expired or idle too long.
pub async fn session_actor(
    app: &App,
    token: &str,
    ip: Option<String>,
) -> Result<Option<(Actor, String)>> {
    let now = app.now();
    let hash = sha256_hex(token);
    let mut c = app.store.conn().await?;
    let Some(s) = store_auth::get_session(&mut c, &hash).await? else {
        return Ok(None);
    };
    drop(c);
    if s.expires_at <= now || s.last_seen_at + SESSION_IDLE_MS <= now {
        let mut tx = app.store.begin().await?;
        store_auth::delete_session(&mut tx, &hash).await?;
        tx.commit().await?;
        return Ok(None);
    }
    if now - s.last_seen_at > 60_000 {
        let mut tx = app.store.begin().await?;
        store_auth::touch_session(&mut tx, &hash, now).await?;
        tx.commit().await?;
    }
    Ok(Actor::load(app, s.user_id, ip)
        .await?
        .map(|a| (a, s.csrf_token)))
}

pub async fn logout(app: &App, token: &str) -> Result<()> {
    let mut tx = app.store.begin().await?;
    store_auth::delete_session(&mut tx, &sha256_hex(token)).await?;
    tx.commit().await?;
    Ok(())
}

/// The actor behind an API token (`Authorization: Bearer tz_…`).
pub async fn token_actor(app: &App, token: &str, ip: Option<String>) -> Result<Option<Actor>> {
    let now = app.now();
    let mut c = app.store.conn().await?;
    let Some(t) = store_auth::token_by_hash(&mut c, &sha256_hex(token)).await? else {
        return Ok(None);
    };
    drop(c);
    if t.revoked_at.is_some() || t.expires_at.is_some_and(|e| e <= now) {
        return Ok(None);
    }
    if t.last_used_at.is_none_or(|u| now - u > 60_000) {
        let mut tx = app.store.begin().await?;
        store_auth::touch_token(&mut tx, t.id, now).await?;
        tx.commit().await?;
    }
    Actor::load(app, t.user_id, ip).await
}

/// Creates an API token for the actor; the secret is shown once and stored only as a hash.
pub async fn create_token(
    app: &App,
    actor: &Actor,
    name: &str,
    days: Option<i64>,
) -> Result<(String, ApiToken)> {
    let name = taizhang_domain::error::required_text("name", "令牌名称", name, 100)?;
    if let Some(d) = days
        && !(1..=3650).contains(&d)
    {
        return Err(FieldError::new(
            "out_of_range",
            "days",
            "有效天数应为1–3650",
            "days must be between 1 and 3650",
        )
        .into());
    }
    let now = app.now();
    let secret = format!("tz_{}", random_hex(32));
    let mut tx = app.store.begin().await?;
    let t = store_auth::insert_token(
        &mut tx,
        actor.user_id,
        &name,
        &sha256_hex(&secret),
        now,
        days.map(|d| now + d * 86_400_000),
    )
    .await?;
    record(
        app,
        &mut tx,
        actor,
        "token.create",
        "api_token",
        t.id,
        Some(actor.unit_id),
        None::<&()>,
        Some(&t),
    )
    .await?;
    tx.commit().await?;
    Ok((secret, t))
}

pub async fn list_tokens(app: &App, actor: &Actor) -> Result<Vec<ApiToken>> {
    let mut c = app.store.conn().await?;
    Ok(store_auth::tokens_of(&mut c, actor.user_id).await?)
}

/// Revokes one of the actor's own tokens; someone else's token id answers not found.
pub async fn revoke_token(app: &App, actor: &Actor, id: i64) -> Result<()> {
    let mut tx = app.store.begin().await?;
    if !store_auth::revoke_token(&mut tx, actor.user_id, id, app.now()).await? {
        return Err(ServiceError::NotFound);
    }
    record(
        app,
        &mut tx,
        actor,
        "token.revoke",
        "api_token",
        id,
        Some(actor.unit_id),
        None::<&()>,
        None::<&()>,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Changes the actor's own password after checking the current one; ends their other sessions.
pub async fn change_password(
    app: &App,
    actor: &Actor,
    current: &str,
    new: &str,
    keep_session: Option<&str>,
) -> Result<()> {
    let mut c = app.store.conn().await?;
    let cred = users::credentials_by_id(&mut c, actor.user_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    drop(c);
    if !verify_password(current.to_string(), cred.password_hash.clone()).await {
        return Err(FieldError::new(
            "wrong_password",
            "current_password",
            "当前密码不正确",
            "the current password is wrong",
        )
        .into());
    }
    password::check(new, &cred.username)?;
    if new == current {
        return Err(FieldError::new(
            "unchanged",
            "new_password",
            "新密码不能与当前密码相同",
            "the new password must differ from the current one",
        )
        .into());
    }
    let hash = hash_password(new.to_string()).await?;
    let mut tx = app.store.begin().await?;
    users::set_password(&mut tx, actor.user_id, &hash, false, app.now()).await?;
    store_auth::delete_user_sessions(
        &mut tx,
        actor.user_id,
        keep_session.map(sha256_hex).as_deref(),
    )
    .await?;
    record(
        app,
        &mut tx,
        actor,
        "user.password_change",
        "user",
        actor.user_id,
        Some(actor.unit_id),
        None::<&()>,
        Some(&serde_json::json!({"password": "changed"})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

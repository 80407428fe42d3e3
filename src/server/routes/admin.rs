//! Accounts and tokens (administrators), and `whoami` (everyone).

use super::Json;
use crate::access;
use crate::accounts::{self, AccountError, Role, TokenId, UserName, UserRow};
use crate::custody::LogTx;
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::problem::{ApiError, ApiJson, Problem};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    /// Account name.
    pub user: String,
    /// Vault role.
    pub role: String,
    /// The token in use (its id).
    pub token: String,
    /// Cases the caller belongs to, with their role in each.
    pub cases: Vec<Membership>,
}

/// A case membership.
#[derive(Debug, Serialize, ToSchema)]
pub struct Membership {
    /// Case name.
    pub case: String,
    /// Role in the case.
    pub role: String,
}

/// Who am I?
#[utoipa::path(get, path = "/v1/whoami", tag = "accounts",
    responses((status = 200, body = WhoAmI), (status = 401, body = Problem)),
    security(("token" = [])))]
pub async fn whoami(
    State(st): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<WhoAmI>, ApiError> {
    let user = caller.account.name.to_string();
    let cases = st
        .db
        .run(move |c| -> Result<_, ApiError> {
            let mut s = c.prepare(
                "SELECT c.name, m.role FROM case_members m JOIN cases c ON c.id = m.case_id
                 WHERE m.user_name = ?1 ORDER BY c.name",
            )?;
            let rows = s.query_map([user], |r| {
                Ok(Membership {
                    case: r.get(0)?,
                    role: r.get(1)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(WhoAmI {
        user: caller.account.name.to_string(),
        role: caller.role().to_string(),
        token: caller.account.token.to_string(),
        cases,
    }))
}

pub(crate) fn account_err(e: AccountError) -> ApiError {
    match e {
        AccountError::BadUserName { .. }
        | AccountError::BadRole { .. }
        | AccountError::BadTokenId { .. } => ApiError::invalid(e.to_string()),
        AccountError::UserExists { .. } | AccountError::UserDisabled { .. } => {
            ApiError::conflict(e.to_string())
        }
        AccountError::NoSuchUser { .. } | AccountError::NoSuchToken { .. } => {
            ApiError::new("not-found", e.to_string())
        }
        AccountError::Db(d) => d.into(),
        AccountError::Log(l) => l.into(),
    }
}

/// All accounts (administrators).
#[utoipa::path(get, path = "/v1/users", tag = "accounts",
    responses((status = 200, body = Vec<UserRow>), (status = 403, body = Problem)),
    security(("token" = [])))]
pub async fn list_users(
    State(st): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Vec<UserRow>>, ApiError> {
    st.require(
        &caller,
        access::may_administer(caller.role()),
        "managing accounts",
    )
    .await?;
    let now = crate::db::now_micros();
    Ok(Json(
        st.db.run(move |c| accounts::list_users(c, now)).await?,
    ))
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Account name: 1 to 64 of a-z 0-9 . _ -
    pub name: String,
    /// administrator, examiner, supervisor, prosecutor, defence, court or auditor.
    pub role: String,
}

/// The result of an account change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountChange {
    /// Account.
    pub user: String,
    /// Index of the event recording it.
    pub event: u64,
}

async fn in_log<R: Send + 'static>(
    st: &AppState,
    f: impl FnOnce(&mut LogTx<'_>) -> Result<R, AccountError> + Send + 'static,
) -> Result<R, ApiError> {
    st.vault
        .sequencer
        .submit(f)
        .await
        .map(|(r, _)| r)
        .map_err(account_err)
}

/// Create an account (administrators).
#[utoipa::path(post, path = "/v1/users", tag = "accounts", request_body = NewUser,
    responses((status = 201, body = AccountChange), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem)),
    security(("token" = [])))]
pub async fn add_user(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<AccountChange>), ApiError> {
    st.require(
        &caller,
        access::may_administer(caller.role()),
        "managing accounts",
    )
    .await?;
    let name = UserName::parse(&body.name).map_err(account_err)?;
    let role = Role::parse(&body.role).map_err(account_err)?;
    let by = caller.actor();
    let n = name.clone();
    let event = in_log(&st, move |tx| accounts::add_user(tx, &by, &n, role)).await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountChange {
            user: name.to_string(),
            event,
        }),
    ))
}

/// Disable an account: its tokens stop working at once (administrators).
#[utoipa::path(post, path = "/v1/users/{user}/disable", tag = "accounts",
    params(("user" = String, Path, description = "Account name")),
    responses((status = 200, body = AccountChange), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("token" = [])))]
pub async fn disable_user(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(user): Path<String>,
) -> Result<Json<AccountChange>, ApiError> {
    st.require(
        &caller,
        access::may_administer(caller.role()),
        "managing accounts",
    )
    .await?;
    let name = UserName::parse(&user).map_err(account_err)?;
    let by = caller.actor();
    let n = name.clone();
    let event = in_log(&st, move |tx| accounts::disable_user(tx, &by, &n)).await?;
    Ok(Json(AccountChange {
        user: name.to_string(),
        event,
    }))
}

/// Lift a lockout (administrators).
#[utoipa::path(post, path = "/v1/users/{user}/unlock", tag = "accounts",
    params(("user" = String, Path, description = "Account name")),
    responses((status = 200, body = AccountChange), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("token" = [])))]
pub async fn unlock_user(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(user): Path<String>,
) -> Result<Json<AccountChange>, ApiError> {
    st.require(
        &caller,
        access::may_administer(caller.role()),
        "managing accounts",
    )
    .await?;
    let name = UserName::parse(&user).map_err(account_err)?;
    let by = caller.actor();
    let n = name.clone();
    let event = in_log(&st, move |tx| accounts::unlock_user(tx, &by, &n)).await?;
    Ok(Json(AccountChange {
        user: name.to_string(),
        event,
    }))
}

/// Options of a new token.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// A label (e.g. the machine it is for).
    pub label: Option<String>,
    /// Lifetime in seconds (default: server.token_ttl_secs).
    pub ttl_secs: Option<u64>,
}

/// A newly issued token: the secret is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenIssued {
    /// Account.
    pub user: String,
    /// Token id (to revoke it).
    pub id: String,
    /// The token: `cst_<id>_<secret>`. Not stored by the vault; keep it safe.
    pub token: String,
    /// Expiry (RFC 3339).
    pub expires_at: String,
    /// Idle expiry, seconds.
    pub idle_secs: u64,
}

/// Issue a token for an account (administrators).
#[utoipa::path(post, path = "/v1/users/{user}/tokens", tag = "accounts",
    params(("user" = String, Path, description = "Account name")), request_body = NewToken,
    responses((status = 201, body = TokenIssued), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)),
    security(("token" = [])))]
pub async fn issue_token(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(user): Path<String>,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<TokenIssued>), ApiError> {
    st.require(
        &caller,
        access::may_administer(caller.role()),
        "managing accounts",
    )
    .await?;
    let name = UserName::parse(&user).map_err(account_err)?;
    let label = super::opt_text(body.label, "label", 200)?;
    let ttl = body.ttl_secs.unwrap_or(st.policy.ttl_secs);
    if ttl == 0 || ttl > 10 * 365 * 24 * 3600 {
        return Err(ApiError::invalid("ttl_secs must be 1 to 315360000"));
    }
    let idle = st.policy.idle_secs;
    let by = caller.actor();
    let n = name.clone();
    let t = in_log(&st, move |tx| {
        accounts::issue_token(tx, &by, &n, label.as_deref(), ttl, idle)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenIssued {
            user: name.to_string(),
            id: t.id.to_string(),
            token: t.secret.to_string(),
            expires_at: crate::db::rfc3339(t.expires_at),
            idle_secs: idle,
        }),
    ))
}

/// Revoke a token (administrators).
#[utoipa::path(delete, path = "/v1/tokens/{token}", tag = "accounts",
    params(("token" = String, Path, description = "Token id")),
    responses((status = 200, body = AccountChange), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("token" = [])))]
pub async fn revoke_token(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(token): Path<String>,
) -> Result<Json<AccountChange>, ApiError> {
    st.require(
        &caller,
        access::may_administer(caller.role()),
        "managing accounts",
    )
    .await?;
    let id = TokenId::parse(&token).map_err(account_err)?;
    let by = caller.actor();
    let (user, receipts) = st
        .vault
        .sequencer
        .submit(move |tx| accounts::revoke_token(tx, &by, &id))
        .await
        .map_err(account_err)?;
    Ok(Json(AccountChange {
        user: user.to_string(),
        event: receipts.last().map_or(0, |r| r.index),
    }))
}

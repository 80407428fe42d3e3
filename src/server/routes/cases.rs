//! Cases and their members.

use super::Json;
use crate::access::{self, Permission};
use crate::accounts::{self, Role, UserName};
use crate::custody::{EventDraft, LogError};
use crate::db::SqlContext;
use crate::ids::CaseName;
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::problem::{ApiError, ApiJson, Problem};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use custos_core::event::Action;
use custos_core::jcs::Value;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// A case as its members see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    /// Case name.
    pub name: String,
    /// Opened (RFC 3339).
    pub created_at: String,
    /// The caller's role in the case (absent for an administrator who is not a member).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_role: Option<String>,
    /// Members.
    pub members: Vec<MemberView>,
    /// Number of items.
    pub items: u64,
}

/// A member of a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    /// Account.
    pub user: String,
    /// Role in the case.
    pub role: String,
    /// Since (RFC 3339).
    pub added_at: String,
}

/// A case in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseSummary {
    /// Case name.
    pub name: String,
    /// The caller's role in it (absent when an administrator lists every case).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_role: Option<String>,
}

/// The cases I belong to (administrators: every case, to manage membership).
#[utoipa::path(get, path = "/v1/cases", tag = "cases",
    responses((status = 200, body = Vec<CaseSummary>), (status = 401, body = Problem)),
    security(("token" = [])))]
pub async fn list_cases(
    State(st): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Vec<CaseSummary>>, ApiError> {
    let user = caller.account.name.to_string();
    let all = access::may_administer(caller.role());
    let cases = st
        .db
        .run(move |c| -> Result<_, ApiError> {
            let mut s = c.prepare(
                "SELECT c.name, m.role FROM cases c
                 LEFT JOIN case_members m ON m.case_id = c.id AND m.user_name = ?1
                 WHERE m.role IS NOT NULL OR ?2 ORDER BY c.name",
            )?;
            let rows = s.query_map(params![user, all], |r| {
                Ok(CaseSummary {
                    name: r.get(0)?,
                    my_role: r.get(1)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(cases))
}

/// A new case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// Case name (1 to 128 printable characters, no '/').
    pub name: String,
    /// Why the case is opened (recorded).
    pub reason: Option<String>,
}

/// Open a case (administrators, supervisors, examiners). The creator becomes its first member,
/// in their own role (an administrator does not, and adds members instead).
#[utoipa::path(post, path = "/v1/cases", tag = "cases", request_body = NewCase,
    responses((status = 201, body = CaseSummary), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem)),
    security(("token" = [])))]
pub async fn create_case(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<NewCase>,
) -> Result<(StatusCode, Json<CaseSummary>), ApiError> {
    st.require(
        &caller,
        access::may_create_case(caller.role()),
        "opening cases",
    )
    .await?;
    let name = CaseName::parse(&body.name).map_err(|e| ApiError::invalid(e.to_string()))?;
    let reason = super::opt_text(body.reason, "reason", 1000)?;
    let actor = caller.actor();
    let member = (caller.role() != Role::Administrator)
        .then(|| (caller.account.name.clone(), caller.role()));
    let n = name.clone();
    let m = member.clone();
    let (created, _) = st
        .vault
        .sequencer
        .submit(move |tx| -> Result<bool, LogError> {
            let now = crate::db::now_micros();
            let inserted = tx
                .tx
                .execute(
                    "INSERT OR IGNORE INTO cases (name, created_at) VALUES (?1, ?2)",
                    params![n.as_str(), now],
                )
                .doing("opening the case")?;
            if inserted == 0 {
                return Ok(false);
            }
            tx.append(EventDraft {
                actor: actor.clone(),
                action: Action::CaseCreate,
                case: Some(n.to_string()),
                item: None,
                reason,
                details: Value::object(Vec::<(String, Value)>::new()),
            })?;
            if let Some((user, role)) = m {
                tx.tx
                    .execute(
                        "INSERT INTO case_members (case_id, user_name, role, added_at)
                         SELECT id, ?2, ?3, ?4 FROM cases WHERE name = ?1",
                        params![n.as_str(), user.as_str(), role.as_str(), now],
                    )
                    .doing("adding the case's first member")?;
                tx.append(member_event(&actor, &n, &user, Some(role), "case opened"))?;
            }
            Ok(true)
        })
        .await?;
    if !created {
        // Case names are not secret from those allowed to open cases: they must not collide.
        return Err(ApiError::conflict(format!(
            "a case named {name} already exists; choose another name"
        )));
    }
    Ok((
        StatusCode::CREATED,
        Json(CaseSummary {
            name: name.to_string(),
            my_role: member.map(|(_, r)| r.to_string()),
        }),
    ))
}

fn member_event(
    actor: &custos_core::event::Actor,
    case: &CaseName,
    user: &UserName,
    role: Option<Role>,
    reason: &str,
) -> EventDraft {
    let mut details = vec![("user", Value::String(user.to_string()))];
    if let Some(r) = role {
        details.push(("role", Value::String(r.to_string())));
    }
    EventDraft {
        actor: actor.clone(),
        action: if role.is_some() {
            Action::MemberAdd
        } else {
            Action::MemberRemove
        },
        case: Some(case.to_string()),
        item: None,
        reason: Some(reason.to_string()),
        details: Value::object(details),
    }
}

/// A case: its members and item count.
#[utoipa::path(get, path = "/v1/cases/{case}", tag = "cases",
    params(("case" = String, Path, description = "Case name")),
    responses((status = 200, body = CaseView), (status = 404, body = Problem)),
    security(("token" = [])))]
pub async fn get_case(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(case): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    // Administrators who are not members see the membership (to manage it), not the items.
    let p = if access::may_administer(caller.role()) {
        Permission::ManageMembers
    } else {
        Permission::ViewCase
    };
    let ca = st.case_access(&caller, &case, p).await?;
    let id = ca.case_id;
    let (created, members, items) = st
        .db
        .run(move |c| -> Result<_, ApiError> {
            let created: i64 =
                c.query_row("SELECT created_at FROM cases WHERE id = ?1", [id], |r| r.get(0))?;
            let mut s = c.prepare(
                "SELECT user_name, role, added_at FROM case_members WHERE case_id = ?1 ORDER BY user_name",
            )?;
            let members = s
                .query_map([id], |r| {
                    Ok(MemberView {
                        user: r.get(0)?,
                        role: r.get(1)?,
                        added_at: crate::db::rfc3339(r.get(2)?),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let items: i64 =
                c.query_row("SELECT COUNT(*) FROM items WHERE case_id = ?1", [id], |r| r.get(0))?;
            Ok((created, members, items))
        })
        .await?;
    Ok(Json(CaseView {
        name: ca.case,
        created_at: crate::db::rfc3339(created),
        my_role: ca.role.map(|r| r.to_string()),
        members,
        items: items.max(0) as u64,
    }))
}

/// A member to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// Account name.
    pub user: String,
    /// Role in the case (default: the account's vault role).
    pub role: Option<String>,
    /// Why (recorded).
    pub reason: Option<String>,
}

/// The result of a membership change.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberChange {
    /// Case.
    pub case: String,
    /// Account.
    pub user: String,
    /// Role in the case (absent on removal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Index of the event recording it.
    pub event: u64,
}

/// Add a member, or change a member's role (case supervisors, administrators).
#[utoipa::path(post, path = "/v1/cases/{case}/members", tag = "cases",
    params(("case" = String, Path, description = "Case name")), request_body = NewMember,
    responses((status = 200, body = MemberChange), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("token" = [])))]
pub async fn add_member(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(case): Path<String>,
    ApiJson(body): ApiJson<NewMember>,
) -> Result<Json<MemberChange>, ApiError> {
    let ca = st
        .case_access(&caller, &case, Permission::ManageMembers)
        .await?;
    let user = UserName::parse(&body.user).map_err(super::admin::account_err)?;
    let reason = super::opt_text(body.reason, "reason", 1000)?;
    let (u, want) = (user.clone(), body.role.clone());
    let account = st.db.run(move |c| accounts::find_user(c, &u)).await?;
    let Some((vault_role, disabled)) = account else {
        return Err(ApiError::invalid(format!("no account named {user}")));
    };
    if disabled {
        return Err(ApiError::conflict(format!("account {user} is disabled")));
    }
    let role = match want {
        Some(r) => Role::parse(&r).map_err(super::admin::account_err)?,
        None => vault_role,
    };
    if !access::is_case_role(role) {
        return Err(ApiError::invalid(
            "administrator is a vault role, not a case role: choose examiner, supervisor, prosecutor, defence, court or auditor",
        ));
    }
    let actor = caller.actor();
    let case_name = CaseName::parse(&ca.case).map_err(|e| ApiError::invalid(e.to_string()))?;
    let (cid, u) = (ca.case_id, user.clone());
    let (seq, _) = st
        .vault
        .sequencer
        .submit(move |tx| -> Result<u64, LogError> {
            let ev = tx.append(member_event(
                &actor,
                &case_name,
                &u,
                Some(role),
                reason.as_deref().unwrap_or("member added"),
            ))?;
            tx.tx
                .execute(
                    "INSERT INTO case_members (case_id, user_name, role, added_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (case_id, user_name) DO UPDATE SET role = excluded.role",
                    params![cid, u.as_str(), role.as_str(), crate::db::now_micros()],
                )
                .doing("adding the member")?;
            Ok(ev.seq)
        })
        .await?;
    Ok(Json(MemberChange {
        case: ca.case,
        user: user.to_string(),
        role: Some(role.to_string()),
        event: seq,
    }))
}

/// Remove a member (case supervisors, administrators).
#[utoipa::path(delete, path = "/v1/cases/{case}/members/{user}", tag = "cases",
    params(("case" = String, Path, description = "Case name"), ("user" = String, Path, description = "Account")),
    responses((status = 200, body = MemberChange), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("token" = [])))]
pub async fn remove_member(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((case, user)): Path<(String, String)>,
) -> Result<Json<MemberChange>, ApiError> {
    let ca = st
        .case_access(&caller, &case, Permission::ManageMembers)
        .await?;
    let user = UserName::parse(&user).map_err(super::admin::account_err)?;
    let actor = caller.actor();
    let case_name = CaseName::parse(&ca.case).map_err(|e| ApiError::invalid(e.to_string()))?;
    let (cid, u) = (ca.case_id, user.clone());
    let (seq, _) = st
        .vault
        .sequencer
        .submit(move |tx| -> Result<Option<u64>, LogError> {
            let n = tx
                .tx
                .execute(
                    "DELETE FROM case_members WHERE case_id = ?1 AND user_name = ?2",
                    params![cid, u.as_str()],
                )
                .doing("removing the member")?;
            if n == 0 {
                return Ok(None);
            }
            let ev = tx.append(member_event(&actor, &case_name, &u, None, "member removed"))?;
            Ok(Some(ev.seq))
        })
        .await?;
    let Some(seq) = seq else {
        return Err(ApiError::not_found(format!(
            "member {user} of case {}",
            ca.case
        )));
    };
    Ok(Json(MemberChange {
        case: ca.case,
        user: user.to_string(),
        role: None,
        event: seq,
    }))
}

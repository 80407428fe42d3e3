//! Custody transfers: handing an item from its custodian to another case member.
//!
//! A transfer is offered (`transfer-initiate`) and takes effect only when the named receiver
//! accepts it (`transfer-accept`): the item's custodian changes in the same transaction as the
//! accept event, so the custody chain and the `items` row never disagree. Rules (docs/ACCESS.md):
//!
//! - who may offer: the item's current custodian, if their case role allows `transfer`; or a
//!   case member whose case role is supervisor (which allows `transfer`);
//! - to whom: a case member, not disabled, whose case role allows `transfer`, other than the
//!   current custodian;
//! - at most one pending transfer per item (409 otherwise);
//! - who may accept: the named receiver only, while still such a member. Anyone else is answered
//!   404, exactly as for a transfer that does not exist, and the attempt is recorded.

use super::ids::TransferId;
use super::{Json, text};
use crate::access::{self, Permission};
use crate::accounts::{Role, UserName};
use crate::custody::EventDraft;
use crate::db::SqlContext;
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::problem::{ApiError, ApiJson, Problem};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use custos_core::event::{Action, ItemRef};
use custos_core::jcs::Value;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// A custody transfer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransferView {
    /// Transfer id (`trf_` + 26 base32 characters).
    pub id: String,
    /// The item.
    pub item: String,
    /// The item's case.
    pub case: String,
    /// The custodian when the transfer was offered.
    pub from: String,
    /// The receiver.
    pub to: String,
    /// Why custody is handed over (recorded).
    pub reason: String,
    /// `pending` or `accepted`.
    pub state: String,
    /// Offered (RFC 3339).
    pub created_at: String,
    /// Index of the `transfer-initiate` event.
    pub initiate_event: u64,
    /// Index of the `transfer-accept` event, once accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_event: Option<u64>,
}

/// A transfer to offer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransfer {
    /// The receiver: a member of the item's case whose role there allows `transfer`.
    pub to: String,
    /// Why custody is handed over (recorded; required).
    pub reason: String,
}

const TRANSFER_COLUMNS: &str = "t.id, t.item_id, c.name, t.from_user, t.to_user, t.reason, \
     t.state, t.created_at, t.initiate_seq, t.accept_seq";

fn transfer_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TransferView> {
    Ok(TransferView {
        id: r.get(0)?,
        item: r.get(1)?,
        case: r.get(2)?,
        from: r.get(3)?,
        to: r.get(4)?,
        reason: r.get(5)?,
        state: r.get(6)?,
        created_at: crate::db::rfc3339(r.get(7)?),
        initiate_event: r.get::<_, i64>(8)?.max(0) as u64,
        accept_event: r.get::<_, Option<i64>>(9)?.map(|s| s.max(0) as u64),
    })
}

/// `user`'s role in case `case_id`, if a member.
pub(crate) fn member_role(
    c: &Connection,
    case_id: i64,
    user: &str,
) -> Result<Option<Role>, crate::db::DbError> {
    let role: Option<String> = c
        .query_row(
            "SELECT role FROM case_members WHERE case_id = ?1 AND user_name = ?2",
            params![case_id, user],
            |r| r.get(0),
        )
        .optional()
        .doing("reading a case membership")?;
    Ok(role.and_then(|r| Role::parse(&r).ok()))
}

/// Whether `user` may receive custody in case `case_id`: an enabled member whose case role
/// allows `transfer`.
fn may_receive_custody(
    c: &Connection,
    case_id: i64,
    user: &str,
) -> Result<bool, crate::db::DbError> {
    let disabled: Option<bool> = c
        .query_row("SELECT disabled FROM users WHERE name = ?1", [user], |r| {
            r.get(0)
        })
        .optional()
        .doing("reading an account")?;
    if disabled != Some(false) {
        return Ok(false);
    }
    Ok(member_role(c, case_id, user)?
        .is_some_and(|r| access::case_role_allows(r, Permission::Transfer)))
}

fn transfer_details(id: &str, from: &str, to: &str) -> Value {
    Value::object(vec![
        ("transfer", Value::String(id.to_string())),
        ("from", Value::String(from.to_string())),
        ("to", Value::String(to.to_string())),
    ])
}

/// Offer custody of an item to another case member. Allowed to the item's custodian (if their
/// case role allows `transfer`) and to case supervisors. The custodian changes only when the
/// receiver accepts.
#[utoipa::path(post, path = "/v1/items/{item}/transfers", tag = "custody",
    params(("item" = String, Path, description = "Item id")), request_body = NewTransfer,
    responses((status = 201, body = TransferView), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("token" = [])))]
pub async fn initiate(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(item): Path<String>,
    ApiJson(body): ApiJson<NewTransfer>,
) -> Result<(StatusCode, Json<TransferView>), ApiError> {
    let (ca, view) = st.item_access(&caller, &item, Permission::Transfer).await?;
    let me = caller.account.name.to_string();
    let as_supervisor = ca.role == Some(Role::Supervisor);
    if view.custodian != me && !as_supervisor {
        let e = ApiError::forbidden(format!(
            "only the item's custodian ({}) or a supervisor of case {} may hand over its custody",
            view.custodian, ca.case
        ));
        return Err(st
            .deny(
                caller.actor(),
                Some(ca.case),
                Some(view.item_ref()),
                &caller.route,
                e,
            )
            .await);
    }
    let to = UserName::parse(&body.to).map_err(super::admin::account_err)?;
    let reason = text(body.reason, "reason", 1000)?;
    if to.as_str() == view.custodian {
        return Err(ApiError::invalid(format!(
            "{to} already holds custody of item {}",
            view.id
        )));
    }
    let (case_id, receiver) = (ca.case_id, to.to_string());
    if !st
        .db
        .run(move |c| may_receive_custody(c, case_id, &receiver))
        .await?
    {
        return Err(ApiError::invalid(format!(
            "{to} cannot receive custody: the receiver must be an enabled member of case {} whose role there allows transfer (examiner or supervisor)",
            ca.case
        )));
    }
    let id = TransferId::random().map_err(ApiError::unavailable)?;
    let draft = EventDraft {
        actor: caller.actor(),
        action: Action::TransferInitiate,
        case: Some(ca.case.clone()),
        item: Some(view.item_ref()),
        reason: Some(reason.clone()),
        details: Value::Null,
    };
    let (item_id, case) = (view.id.to_string(), ca.case.clone());
    let (view, _) = st
        .vault
        .sequencer
        .submit(move |tx| -> Result<TransferView, ApiError> {
            // Decided again inside the write transaction: custody may have moved, or another
            // transfer been offered, since the checks above.
            let custodian: String = tx
                .tx
                .query_row(
                    "SELECT custodian FROM items WHERE id = ?1",
                    [&item_id],
                    |r| r.get(0),
                )
                .doing("reading the item's custodian")?;
            if custodian != me && !as_supervisor {
                return Err(ApiError::conflict(format!(
                    "custody of item {item_id} has moved to {custodian} meanwhile"
                )));
            }
            if custodian == to.as_str() {
                return Err(ApiError::invalid(format!(
                    "{to} already holds custody of item {item_id}"
                )));
            }
            let pending: Option<String> = tx
                .tx
                .query_row(
                    "SELECT id FROM transfers WHERE item_id = ?1 AND state = 'pending'",
                    [&item_id],
                    |r| r.get(0),
                )
                .optional()
                .doing("looking for a pending transfer")?;
            if let Some(p) = pending {
                return Err(ApiError::conflict(format!(
                    "item {item_id} already has a pending transfer {p}; it must be accepted first"
                )));
            }
            let ev = tx.append(EventDraft {
                details: transfer_details(id.as_str(), &custodian, to.as_str()),
                ..draft
            })?;
            let now = crate::db::now_micros();
            tx.tx
                .execute(
                    "INSERT INTO transfers (id, item_id, from_user, to_user, reason, state,
                                            created_at, initiate_seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)",
                    params![
                        id.as_str(),
                        item_id,
                        custodian,
                        to.as_str(),
                        reason,
                        now,
                        ev.seq as i64
                    ],
                )
                .doing("recording the transfer")?;
            Ok(TransferView {
                id: id.to_string(),
                item: item_id,
                case,
                from: custodian,
                to: to.to_string(),
                reason,
                state: "pending".into(),
                created_at: crate::db::rfc3339(now),
                initiate_event: ev.seq,
                accept_event: None,
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// A transfer with what access decisions need.
struct Found {
    view: TransferView,
    case_id: i64,
    item_ref: ItemRef,
}

fn load_transfer(c: &Connection, id: &TransferId) -> Result<Option<Found>, ApiError> {
    let sql = format!(
        "SELECT {TRANSFER_COLUMNS}, i.case_id, i.sha256 FROM transfers t
         JOIN items i ON i.id = t.item_id JOIN cases c ON c.id = i.case_id WHERE t.id = ?1"
    );
    let row = c
        .query_row(&sql, [id.as_str()], |r| {
            let view = transfer_from_row(r)?;
            let case_id: i64 = r.get(10)?;
            let sha: Vec<u8> = r.get(11)?;
            Ok((view, case_id, sha))
        })
        .optional()?;
    let Some((view, case_id, sha)) = row else {
        return Ok(None);
    };
    let sha: [u8; 32] = sha.try_into().map_err(|_| {
        ApiError::unavailable(format!("the stored hash of item {} is damaged", view.item))
    })?;
    let item_ref = ItemRef {
        id: view.item.clone(),
        sha256: custos_core::Sha256Hash(sha),
    };
    Ok(Some(Found {
        view,
        case_id,
        item_ref,
    }))
}

/// Accept custody (the named receiver only). The item's custodian changes in the same
/// transaction as the `transfer-accept` event.
#[utoipa::path(post, path = "/v1/transfers/{id}/accept", tag = "custody",
    params(("id" = String, Path, description = "Transfer id")),
    responses((status = 200, body = TransferView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("token" = [])))]
pub async fn accept(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TransferView>, ApiError> {
    let what = format!("transfer {}", crate::server::problem::clean(&id));
    let me = caller.account.name.to_string();
    let found = match TransferId::parse(&id) {
        Some(tid) => st.db.run(move |c| load_transfer(c, &tid)).await?,
        None => None,
    };
    // Only the receiver learns that the transfer exists.
    let Found {
        view,
        case_id,
        item_ref,
    } = match found {
        Some(f) if f.view.to == me => f,
        other => {
            let (case, item) = match other {
                Some(f) => (Some(f.view.case), Some(f.item_ref)),
                None => (None, None),
            };
            let e = ApiError::not_found(what);
            return Err(st.deny(caller.actor(), case, item, &caller.route, e).await);
        }
    };
    let user = me.clone();
    if !st
        .db
        .run(move |c| may_receive_custody(c, case_id, &user))
        .await?
    {
        let e = ApiError::forbidden(format!(
            "you can no longer receive custody in case {}: your membership or role there changed",
            view.case
        ));
        return Err(st
            .deny(
                caller.actor(),
                Some(view.case.clone()),
                Some(item_ref),
                &caller.route,
                e,
            )
            .await);
    }
    if view.state != "pending" {
        return Err(ApiError::conflict(format!(
            "transfer {} was already accepted",
            view.id
        )));
    }
    let draft = EventDraft {
        actor: caller.actor(),
        action: Action::TransferAccept,
        case: Some(view.case.clone()),
        item: Some(item_ref),
        reason: None,
        details: transfer_details(&view.id, &view.from, &view.to),
    };
    let (view, _) = st
        .vault
        .sequencer
        .submit(move |tx| -> Result<TransferView, ApiError> {
            let ev = tx.append(draft)?;
            let n = tx
                .tx
                .execute(
                    "UPDATE transfers SET state = 'accepted', accept_seq = ?2
                     WHERE id = ?1 AND state = 'pending'",
                    params![view.id, ev.seq as i64],
                )
                .doing("accepting the transfer")?;
            if n == 0 {
                // Accepted concurrently: the savepoint drops the event appended above.
                return Err(ApiError::conflict(format!(
                    "transfer {} was already accepted",
                    view.id
                )));
            }
            tx.tx
                .execute(
                    "UPDATE items SET custodian = ?2 WHERE id = ?1",
                    params![view.item, view.to],
                )
                .doing("changing the item's custodian")?;
            Ok(TransferView {
                state: "accepted".into(),
                accept_event: Some(ev.seq),
                ..view
            })
        })
        .await?;
    Ok(Json(view))
}

/// The transfers I offered (as custodian) or am offered: pending first, newest first.
#[utoipa::path(get, path = "/v1/transfers", tag = "custody",
    responses((status = 200, body = Vec<TransferView>), (status = 401, body = Problem)),
    security(("token" = [])))]
pub async fn list_transfers(
    State(st): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Vec<TransferView>>, ApiError> {
    let me = caller.account.name.to_string();
    let rows = st
        .db
        .run(move |c| -> Result<_, ApiError> {
            let sql = format!(
                "SELECT {TRANSFER_COLUMNS} FROM transfers t
                 JOIN items i ON i.id = t.item_id JOIN cases c ON c.id = i.case_id
                 WHERE t.from_user = ?1 OR t.to_user = ?1
                 ORDER BY t.state = 'pending' DESC, t.created_at DESC, t.id"
            );
            let mut s = c.prepare(&sql)?;
            let rows = s.query_map([me], transfer_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(rows))
}

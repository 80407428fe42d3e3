//! Disclosures: handing items to a named recipient (defence, court, a foreign agency) under a
//! legal instrument, with every step in each item's custody chain.
//!
//! Life cycle: `requested` (by a member whose case role allows `request-disclosure`) →
//! `approved` or `refused` (by another member whose case role allows `decide-disclosure`; never
//! the requester or the recipient) → `acknowledged` (by the recipient). Each step records one
//! event per item (`disclosure-request`, `-approve`, `-refuse`, `-ack`), so each item's chain
//! shows it.
//!
//! The recipient needs no case membership: they act only through the disclosure, and only
//! while it is approved (or acknowledged) and not expired. A download disclosure allows each
//! item to be fetched `max_downloads` times (each request counts, ranged or not; the counter
//! moves in the same transaction as the `disclosure-fetch` event); a view-only disclosure
//! (18 U.S.C. §3509(m): inspection without a copy) refuses downloads and serves the content
//! inline, never cached. Reading in place is allowed for both kinds and is not counted.
//!
//! Who sees a disclosure: its requester, its recipient, and members of its case whose role
//! allows `view-case`. Anyone else is answered 404, exactly as for a disclosure that does not
//! exist. Every refusal (404, 403, 410) is recorded as an `access-denied` event first.

use super::ids::DisclosureId;
use super::items::ItemView;
use super::{Json, opt_text, text};
use crate::access::{self, Permission};
use crate::accounts::{self, Role, UserName};
use crate::custody::EventDraft;
use crate::db::SqlContext;
use crate::ids::ItemId;
use crate::server::AppState;
use crate::server::auth::Caller;
use crate::server::content::{self, ByteRange, Delivery};
use crate::server::problem::{ApiError, ApiJson, Problem};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use custos_core::Sha256Hash;
use custos_core::event::{Action, Actor, ItemRef};
use custos_core::jcs::Value;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// Default lifetime of an approved disclosure: 7 days.
pub const DEFAULT_EXPIRES_SECS: u64 = 7 * 24 * 3600;
/// Longest lifetime of an approved disclosure: 1 year.
pub const MAX_EXPIRES_SECS: u64 = 365 * 24 * 3600;
/// Default number of downloads of each item of a download disclosure.
pub const DEFAULT_MAX_DOWNLOADS: u32 = 3;
/// Most downloads of each item a disclosure may allow.
pub const MAX_DOWNLOADS: u32 = 100;
/// Most items in one disclosure.
pub const MAX_ITEMS: usize = 1000;

/// Who receives a disclosure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RecipientKind {
    /// Defence counsel.
    Defence,
    /// A court.
    Court,
    /// A foreign agency (mutual legal assistance, EU e-Evidence, Budapest Convention).
    ForeignAgency,
}

impl RecipientKind {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientKind::Defence => "defence",
            RecipientKind::Court => "court",
            RecipientKind::ForeignAgency => "foreign-agency",
        }
    }
}

/// A disclosure request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDisclosure {
    /// Items of this case to disclose (1 to 1000; duplicates are dropped).
    pub items: Vec<String>,
    /// The recipient's account (its vault role must be defence, court or prosecutor).
    pub recipient: String,
    /// What the recipient is.
    pub recipient_kind: RecipientKind,
    /// The legal instrument: court order, request or EPOC id (required, recorded).
    pub instrument: String,
    /// Why the items are disclosed (required, recorded).
    pub purpose: String,
    /// Inspection in place only: no download (required, so the choice is explicit).
    pub view_only: bool,
    /// Lifetime once approved, seconds (default 7 days, at most 1 year).
    pub expires_secs: Option<u64>,
    /// Downloads allowed per item (default 3, at most 100; 0 and ignored when view-only).
    pub max_downloads: Option<u32>,
}

/// A decision on a disclosure.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisclosureDecision {
    /// Why (required, recorded).
    pub reason: String,
}

/// The recipient's acknowledgement of receipt.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgement {
    /// A note (recorded).
    pub note: Option<String>,
}

/// A disclosed item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisclosedItem {
    /// Item id.
    pub item: String,
    /// Its SHA-256 (hex), to check what is received.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Downloads made through this disclosure.
    pub downloads: u32,
}

/// A disclosure.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisclosureView {
    /// Disclosure id (`dsc_` + 26 base32 characters).
    pub id: String,
    /// Case.
    pub case: String,
    /// Who asked for it.
    pub requested_by: String,
    /// Who receives it.
    pub recipient: String,
    /// `defence`, `court` or `foreign-agency`.
    pub recipient_kind: String,
    /// The legal instrument.
    pub instrument: String,
    /// Why.
    pub purpose: String,
    /// Inspection in place only.
    pub view_only: bool,
    /// Downloads allowed per item (0 when view-only).
    pub max_downloads: u32,
    /// Lifetime once approved, seconds.
    pub expires_secs: u64,
    /// `requested`, `approved`, `refused` or `acknowledged`.
    pub state: String,
    /// Who approved or refused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// The decision's stated reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
    /// When access ends (RFC 3339), set on approval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Requested (RFC 3339).
    pub created_at: String,
    /// The items.
    pub items: Vec<DisclosedItem>,
    /// Indices of the events this request recorded (one per item), in answers to a change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<u64>,
}

/// A disclosure as loaded for an access decision.
struct Loaded {
    view: DisclosureView,
    id: DisclosureId,
    /// Unix microseconds; set once approved.
    expires_at: Option<i64>,
    /// The caller's role in the case, if a member.
    my_role: Option<Role>,
    /// The items as events name them, in `view.items` order.
    refs: Vec<ItemRef>,
}

impl Loaded {
    fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| now >= t)
    }
    fn item_ref(&self, item: &str) -> Option<ItemRef> {
        self.refs.iter().find(|r| r.id == item).cloned()
    }
}

const DISCLOSURE_COLUMNS: &str = "d.id, c.name, d.requested_by, d.recipient, d.recipient_kind, \
     d.instrument, d.purpose, d.view_only, d.max_downloads, d.expires_secs, d.state, \
     d.decided_by, d.decision_reason, d.expires_at, d.created_at";

fn damaged(what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Blob,
        format!("damaged disclosure row: {what}").into(),
    )
}

/// Loads disclosure `id` with its items and `user`'s role in its case.
fn load(c: &Connection, id: &DisclosureId, user: &str) -> Result<Option<Loaded>, ApiError> {
    let sql = format!(
        "SELECT {DISCLOSURE_COLUMNS}, m.role FROM disclosures d JOIN cases c ON c.id = d.case_id
         LEFT JOIN case_members m ON m.case_id = d.case_id AND m.user_name = ?2
         WHERE d.id = ?1"
    );
    let row = c
        .query_row(&sql, params![id.as_str(), user], |r| {
            let expires_at: Option<i64> = r.get(13)?;
            let view = DisclosureView {
                id: r.get(0)?,
                case: r.get(1)?,
                requested_by: r.get(2)?,
                recipient: r.get(3)?,
                recipient_kind: r.get(4)?,
                instrument: r.get(5)?,
                purpose: r.get(6)?,
                view_only: r.get(7)?,
                max_downloads: r.get(8)?,
                expires_secs: r.get::<_, i64>(9)?.max(0) as u64,
                state: r.get(10)?,
                decided_by: r.get(11)?,
                decision_reason: r.get(12)?,
                expires_at: expires_at.map(crate::db::rfc3339),
                created_at: crate::db::rfc3339(r.get(14)?),
                items: Vec::new(),
                events: Vec::new(),
            };
            let role: Option<String> = r.get(15)?;
            Ok((view, expires_at, role))
        })
        .optional()?;
    let Some((mut view, expires_at, role)) = row else {
        return Ok(None);
    };
    let mut s = c.prepare(
        "SELECT di.item_id, i.sha256, i.size, di.downloads FROM disclosure_items di
         JOIN items i ON i.id = di.item_id WHERE di.disclosure_id = ?1 ORDER BY di.item_id",
    )?;
    let rows = s.query_map([id.as_str()], |r| {
        let item: String = r.get(0)?;
        let sha: Vec<u8> = r.get(1)?;
        let sha: [u8; 32] = sha
            .try_into()
            .map_err(|_| damaged(format!("item {item} hash")))?;
        Ok((
            DisclosedItem {
                item: item.clone(),
                sha256: hex::encode(sha),
                size: r.get::<_, i64>(2)?.max(0) as u64,
                downloads: r.get(3)?,
            },
            ItemRef {
                id: item,
                sha256: Sha256Hash(sha),
            },
        ))
    })?;
    let (items, refs): (Vec<_>, Vec<_>) = rows.collect::<Result<Vec<_>, _>>()?.into_iter().unzip();
    view.items = items;
    Ok(Some(Loaded {
        view,
        id: id.clone(),
        expires_at,
        my_role: role.and_then(|r| Role::parse(&r).ok()),
        refs,
    }))
}

/// Records the refusal `e` as an `access-denied` event, then returns it.
async fn refuse(
    st: &AppState,
    caller: &Caller,
    case: Option<String>,
    item: Option<ItemRef>,
    e: ApiError,
) -> ApiError {
    st.deny(caller.actor(), case, item, &caller.route, e).await
}

/// The disclosure `id` if the caller may see it (requester, recipient, case members whose role
/// allows `view-case`); otherwise a recorded 404, the same as for a disclosure that does not
/// exist.
async fn visible(st: &Arc<AppState>, caller: &Caller, id: &str) -> Result<Loaded, ApiError> {
    let me = caller.account.name.to_string();
    let found = match DisclosureId::parse(id) {
        Some(did) => {
            let user = me.clone();
            st.db.run(move |c| load(c, &did, &user)).await?
        }
        None => None,
    };
    match found {
        Some(d)
            if d.view.requested_by == me
                || d.view.recipient == me
                || d.my_role
                    .is_some_and(|r| access::case_role_allows(r, Permission::ViewCase)) =>
        {
            Ok(d)
        }
        other => {
            let what = format!("disclosure {}", crate::server::problem::clean(id));
            let case = other.map(|d| d.view.case);
            Err(refuse(st, caller, case, None, ApiError::not_found(what)).await)
        }
    }
}

/// Appends one event per item of `d` (`details` shared), in a log transaction.
fn per_item_events(
    tx: &mut crate::custody::LogTx<'_>,
    actor: &Actor,
    action: &Action,
    case: &str,
    refs: &[ItemRef],
    reason: Option<&str>,
    details: &Value,
) -> Result<Vec<u64>, ApiError> {
    let mut seqs = Vec::with_capacity(refs.len());
    for r in refs {
        let ev = tx.append(EventDraft {
            actor: actor.clone(),
            action: action.clone(),
            case: Some(case.to_string()),
            item: Some(r.clone()),
            reason: reason.map(str::to_string),
            details: details.clone(),
        })?;
        seqs.push(ev.seq);
    }
    Ok(seqs)
}

/// The validated terms of a request.
struct Terms {
    items: Vec<ItemId>,
    recipient: UserName,
    instrument: String,
    purpose: String,
    expires_secs: u64,
    max_downloads: u32,
}

fn terms(body: NewDisclosure, me: &str) -> Result<Terms, ApiError> {
    let mut items: Vec<ItemId> = Vec::with_capacity(body.items.len().min(MAX_ITEMS));
    for s in &body.items {
        let id = ItemId::parse(s).map_err(|e| ApiError::invalid(e.to_string()))?;
        if !items.contains(&id) {
            items.push(id);
        }
        if items.len() > MAX_ITEMS {
            return Err(ApiError::invalid(format!(
                "a disclosure holds at most {MAX_ITEMS} items; split the request"
            )));
        }
    }
    if items.is_empty() {
        return Err(ApiError::invalid("items must name at least one item"));
    }
    let recipient = UserName::parse(&body.recipient).map_err(super::admin::account_err)?;
    if recipient.as_str() == me {
        return Err(ApiError::invalid(
            "you cannot be the recipient of your own disclosure request",
        ));
    }
    let expires_secs = body.expires_secs.unwrap_or(DEFAULT_EXPIRES_SECS);
    if !(1..=MAX_EXPIRES_SECS).contains(&expires_secs) {
        return Err(ApiError::invalid(format!(
            "expires_secs must be 1 to {MAX_EXPIRES_SECS} (one year); the default is {DEFAULT_EXPIRES_SECS} (7 days)"
        )));
    }
    let max_downloads = if body.view_only {
        0
    } else {
        let n = body.max_downloads.unwrap_or(DEFAULT_MAX_DOWNLOADS);
        if !(1..=MAX_DOWNLOADS).contains(&n) {
            return Err(ApiError::invalid(format!(
                "max_downloads must be 1 to {MAX_DOWNLOADS} (or make the disclosure view_only)"
            )));
        }
        n
    };
    Ok(Terms {
        items,
        recipient,
        instrument: text(body.instrument, "instrument", 400)?,
        purpose: text(body.purpose, "purpose", 1000)?,
        expires_secs,
        max_downloads,
    })
}

/// Checks the recipient account and resolves the items within case `case_id`.
fn check_parties(
    c: &Connection,
    case: &str,
    case_id: i64,
    t: &Terms,
) -> Result<Vec<ItemRef>, ApiError> {
    let who = &t.recipient;
    match accounts::find_user(c, who)? {
        None => return Err(ApiError::invalid(format!("no account named {who}"))),
        Some((_, true)) => {
            return Err(ApiError::invalid(format!(
                "account {who} is disabled and cannot receive a disclosure"
            )));
        }
        Some((role, false)) if !access::may_receive_disclosure(role) => {
            return Err(ApiError::invalid(format!(
                "{who} is a {role} account; only defence, court and prosecutor accounts receive disclosures"
            )));
        }
        Some(_) => {}
    }
    let mut refs = Vec::with_capacity(t.items.len());
    let mut s = c.prepare("SELECT sha256 FROM items WHERE id = ?1 AND case_id = ?2")?;
    for id in &t.items {
        let sha: Option<Vec<u8>> = s
            .query_row(params![id.as_str(), case_id], |r| r.get(0))
            .optional()?;
        // The same answer for an item of another case and one that does not exist.
        let sha =
            sha.ok_or_else(|| ApiError::invalid(format!("{id} is not an item of case {case}")))?;
        let sha: [u8; 32] = sha.try_into().map_err(|_| {
            ApiError::unavailable(format!("the stored hash of item {id} is damaged"))
        })?;
        refs.push(ItemRef {
            id: id.to_string(),
            sha256: Sha256Hash(sha),
        });
    }
    Ok(refs)
}

/// Ask for items of a case to be disclosed to a named recipient (members whose case role allows
/// `request-disclosure`). Records one `disclosure-request` event per item.
#[utoipa::path(post, path = "/v1/cases/{case}/disclosures", tag = "disclosures",
    params(("case" = String, Path, description = "Case name")), request_body = NewDisclosure,
    responses((status = 201, body = DisclosureView), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("token" = [])))]
pub async fn request(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(case): Path<String>,
    ApiJson(body): ApiJson<NewDisclosure>,
) -> Result<(StatusCode, Json<DisclosureView>), ApiError> {
    let ca = st
        .case_access(&caller, &case, Permission::RequestDisclosure)
        .await?;
    let me = caller.account.name.to_string();
    let kind = body.recipient_kind;
    let view_only = body.view_only;
    let t = terms(body, &me)?;
    let id = DisclosureId::random().map_err(ApiError::unavailable)?;
    let written = id.clone();
    let actor = caller.actor();
    let (case_name, case_id) = (ca.case.clone(), ca.case_id);
    let (seqs, _) = st
        .vault
        .sequencer
        .submit(move |tx| -> Result<Vec<u64>, ApiError> {
            let refs = check_parties(tx.tx, &case_name, case_id, &t)?;
            let now = crate::db::now_micros();
            tx.tx
                .execute(
                    "INSERT INTO disclosures (id, case_id, requested_by, recipient, recipient_kind,
                         instrument, purpose, view_only, max_downloads, expires_secs, state, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'requested', ?11)",
                    params![
                        id.as_str(),
                        case_id,
                        me,
                        t.recipient.as_str(),
                        kind.as_str(),
                        t.instrument,
                        t.purpose,
                        view_only,
                        t.max_downloads,
                        t.expires_secs as i64,
                        now
                    ],
                )
                .doing("recording the disclosure request")?;
            let mut ins = tx
                .tx
                .prepare("INSERT INTO disclosure_items (disclosure_id, item_id) VALUES (?1, ?2)")
                .doing("recording the disclosed items")?;
            for r in &refs {
                ins.execute(params![id.as_str(), r.id])
                    .doing("recording the disclosed items")?;
            }
            drop(ins);
            let details = Value::object(vec![
                ("disclosure", Value::String(id.to_string())),
                ("recipient", Value::String(t.recipient.to_string())),
                ("recipient_kind", Value::String(kind.as_str().into())),
                ("instrument", Value::String(t.instrument.clone())),
                ("view_only", Value::Bool(view_only)),
                ("expires_secs", Value::Int(t.expires_secs as i64)),
                ("max_downloads", Value::Int(i64::from(t.max_downloads))),
            ]);
            per_item_events(
                tx,
                &actor,
                &Action::DisclosureRequest,
                &case_name,
                &refs,
                Some(&t.purpose),
                &details,
            )
        })
        .await?;
    let view = reload(&st, &caller, written, seqs).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Reads back a disclosure just written, with the indices of the events that recorded it.
async fn reload(
    st: &Arc<AppState>,
    caller: &Caller,
    id: DisclosureId,
    seqs: Vec<u64>,
) -> Result<DisclosureView, ApiError> {
    let user = caller.account.name.to_string();
    let view = st
        .db
        .run(move |c| load(c, &id, &user))
        .await?
        .ok_or_else(|| ApiError::unavailable("the disclosure just recorded cannot be read back"))?
        .view;
    Ok(DisclosureView {
        events: seqs,
        ..view
    })
}

/// Approve a disclosure: a member whose case role allows `decide-disclosure`, other than the
/// requester and the recipient. Access runs for `expires_secs` from now.
#[utoipa::path(post, path = "/v1/disclosures/{id}/approve", tag = "disclosures",
    params(("id" = String, Path, description = "Disclosure id")), request_body = DisclosureDecision,
    responses((status = 200, body = DisclosureView), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("token" = [])))]
pub async fn approve(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DisclosureDecision>,
) -> Result<Json<DisclosureView>, ApiError> {
    decide(st, caller, id, body, true).await
}

/// Refuse a disclosure (same deciders as approval).
#[utoipa::path(post, path = "/v1/disclosures/{id}/refuse", tag = "disclosures",
    params(("id" = String, Path, description = "Disclosure id")), request_body = DisclosureDecision,
    responses((status = 200, body = DisclosureView), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("token" = [])))]
pub async fn refuse_disclosure(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DisclosureDecision>,
) -> Result<Json<DisclosureView>, ApiError> {
    decide(st, caller, id, body, false).await
}

async fn decide(
    st: Arc<AppState>,
    caller: Caller,
    id: String,
    body: DisclosureDecision,
    approve: bool,
) -> Result<Json<DisclosureView>, ApiError> {
    let d = visible(&st, &caller, &id).await?;
    let me = caller.account.name.as_str();
    let case = d.view.case.clone();
    let refusal = if d.view.requested_by == me {
        Some(format!(
            "you requested disclosure {}; another member whose role allows decide-disclosure must decide it",
            d.id
        ))
    } else if d.view.recipient == me {
        Some(format!(
            "you are the recipient of disclosure {}; you cannot decide it",
            d.id
        ))
    } else {
        match d.my_role {
            Some(r) if access::case_role_allows(r, Permission::DecideDisclosure) => None,
            Some(r) => Some(format!(
                "your role in case {case} ({r}) does not allow decide-disclosure"
            )),
            None => Some(format!("you are not a member of case {case}")),
        }
    };
    if let Some(why) = refusal {
        return Err(refuse(&st, &caller, Some(case), None, ApiError::forbidden(why)).await);
    }
    let reason = text(body.reason, "reason", 1000)?;
    if d.view.state != "requested" {
        return Err(ApiError::conflict(format!(
            "disclosure {} is already {}",
            d.id, d.view.state
        )));
    }
    let now = crate::db::now_micros();
    let expires_at = i64::try_from(d.view.expires_secs)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000))
        .and_then(|us| now.checked_add(us))
        .ok_or_else(|| ApiError::unavailable("the disclosure's expiry is out of range"))?;
    let (state, action) = if approve {
        ("approved", Action::DisclosureApprove)
    } else {
        ("refused", Action::DisclosureRefuse)
    };
    let mut details = vec![
        ("disclosure", Value::String(d.id.to_string())),
        ("recipient", Value::String(d.view.recipient.clone())),
    ];
    if approve {
        details.push(("expires_at", Value::String(crate::db::rfc3339(expires_at))));
    }
    let details = Value::object(details);
    let actor = caller.actor();
    let decider = me.to_string();
    let (did, refs) = (d.id.clone(), d.refs.clone());
    let r = reason.clone();
    let (seqs, _) = st
        .vault
        .sequencer
        .submit(move |tx| -> Result<Vec<u64>, ApiError> {
            let n = tx
                .tx
                .execute(
                    "UPDATE disclosures SET state = ?2, decided_by = ?3, decision_reason = ?4,
                         expires_at = ?5
                     WHERE id = ?1 AND state = 'requested'",
                    params![
                        did.as_str(),
                        state,
                        decider,
                        r,
                        approve.then_some(expires_at)
                    ],
                )
                .doing("recording the decision")?;
            if n == 0 {
                return Err(ApiError::conflict(format!(
                    "disclosure {did} was decided meanwhile"
                )));
            }
            per_item_events(tx, &actor, &action, &case, &refs, Some(&r), &details)
        })
        .await?;
    Ok(Json(DisclosureView {
        state: state.into(),
        decided_by: Some(me.to_string()),
        decision_reason: Some(reason),
        expires_at: approve.then(|| crate::db::rfc3339(expires_at)),
        events: seqs,
        ..d.view
    }))
}

/// The disclosures I requested, may decide (my case role allows `decide-disclosure`), or
/// receive; newest first.
#[utoipa::path(get, path = "/v1/disclosures", tag = "disclosures",
    responses((status = 200, body = Vec<DisclosureView>), (status = 401, body = Problem)),
    security(("token" = [])))]
pub async fn list_disclosures(
    State(st): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Vec<DisclosureView>>, ApiError> {
    let me = caller.account.name.to_string();
    let list = st
        .db
        .run(move |c| -> Result<Vec<DisclosureView>, ApiError> {
            let mut s = c.prepare(
                "SELECT d.id, d.requested_by = ?1 OR d.recipient = ?1, m.role FROM disclosures d
                 LEFT JOIN case_members m ON m.case_id = d.case_id AND m.user_name = ?1
                 WHERE d.requested_by = ?1 OR d.recipient = ?1 OR m.role IS NOT NULL
                 ORDER BY d.created_at DESC, d.id",
            )?;
            let rows = s
                .query_map([&me], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, bool>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::new();
            for (id, party, role) in rows {
                let decides = role
                    .and_then(|r| Role::parse(&r).ok())
                    .is_some_and(|r| access::case_role_allows(r, Permission::DecideDisclosure));
                if !(party || decides) {
                    continue;
                }
                if let Some(l) = DisclosureId::parse(&id)
                    .map(|id| load(c, &id, &me))
                    .transpose()?
                    .flatten()
                {
                    out.push(l.view);
                }
            }
            Ok(out)
        })
        .await?;
    Ok(Json(list))
}

/// A disclosure: its terms, state and items (requester, recipient, and case members whose role
/// allows `view-case`).
#[utoipa::path(get, path = "/v1/disclosures/{id}", tag = "disclosures",
    params(("id" = String, Path, description = "Disclosure id")),
    responses((status = 200, body = DisclosureView), (status = 404, body = Problem)),
    security(("token" = [])))]
pub async fn get_disclosure(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DisclosureView>, ApiError> {
    Ok(Json(visible(&st, &caller, &id).await?.view))
}

/// The recipient acknowledges receipt: `approved` → `acknowledged`, one `disclosure-ack` event
/// per item. Disclosed items stay readable until the disclosure expires.
#[utoipa::path(post, path = "/v1/disclosures/{id}/ack", tag = "disclosures",
    params(("id" = String, Path, description = "Disclosure id")), request_body = Acknowledgement,
    responses((status = 200, body = DisclosureView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("token" = [])))]
pub async fn acknowledge(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Acknowledgement>,
) -> Result<Json<DisclosureView>, ApiError> {
    let d = visible(&st, &caller, &id).await?;
    if d.view.recipient != caller.account.name.as_str() {
        let e = ApiError::forbidden(format!(
            "only the recipient ({}) acknowledges disclosure {}",
            d.view.recipient, d.id
        ));
        return Err(refuse(&st, &caller, Some(d.view.case.clone()), None, e).await);
    }
    let note = opt_text(body.note, "note", 1000)?;
    if d.view.state != "approved" {
        let why = match d.view.state.as_str() {
            "acknowledged" => "already acknowledged",
            "refused" => "refused",
            _ => "not approved yet",
        };
        return Err(ApiError::conflict(format!("disclosure {} is {why}", d.id)));
    }
    let actor = caller.actor();
    let details = Value::object(vec![("disclosure", Value::String(d.id.to_string()))]);
    let (did, refs, case) = (d.id.clone(), d.refs.clone(), d.view.case.clone());
    let (seqs, _) = st
        .vault
        .sequencer
        .submit(move |tx| -> Result<Vec<u64>, ApiError> {
            let n = tx
                .tx
                .execute(
                    "UPDATE disclosures SET state = 'acknowledged' WHERE id = ?1 AND state = 'approved'",
                    [did.as_str()],
                )
                .doing("recording the acknowledgement")?;
            if n == 0 {
                return Err(ApiError::conflict(format!(
                    "disclosure {did} was acknowledged meanwhile"
                )));
            }
            per_item_events(
                tx,
                &actor,
                &Action::DisclosureAck,
                &case,
                &refs,
                note.as_deref(),
                &details,
            )
        })
        .await?;
    Ok(Json(DisclosureView {
        state: "acknowledged".into(),
        events: seqs,
        ..d.view
    }))
}

/// The disclosure and item a recipient fetches, after every check but the download count:
/// the caller is the recipient, the item is disclosed, the disclosure is approved (or
/// acknowledged) and not expired.
async fn for_recipient(
    st: &Arc<AppState>,
    caller: &Caller,
    id: &str,
    item: &str,
) -> Result<(Loaded, ItemView), ApiError> {
    let d = visible(st, caller, id).await?;
    let case = Some(d.view.case.clone());
    let me = caller.account.name.as_str();
    let Some(item_ref) = d.item_ref(item) else {
        let what = format!(
            "item {} in disclosure {}",
            crate::server::problem::clean(item),
            d.id
        );
        return Err(refuse(st, caller, case, None, ApiError::not_found(what)).await);
    };
    let refusal = if d.view.recipient != me {
        Some(ApiError::forbidden(format!(
            "only the recipient ({}) reads through disclosure {}; case members read items at /v1/items/{{item}}/content",
            d.view.recipient, d.id
        )))
    } else {
        match d.view.state.as_str() {
            "approved" | "acknowledged" if d.expired(crate::db::now_micros()) => {
                Some(ApiError::new(
                    "gone",
                    format!(
                        "disclosure {} expired at {}",
                        d.id,
                        d.view.expires_at.as_deref().unwrap_or("?")
                    ),
                ))
            }
            "approved" | "acknowledged" => None,
            "refused" => Some(ApiError::forbidden(format!(
                "disclosure {} was refused",
                d.id
            ))),
            _ => Some(ApiError::forbidden(format!(
                "disclosure {} is not approved yet",
                d.id
            ))),
        }
    };
    if let Some(e) = refusal {
        return Err(refuse(st, caller, case, Some(item_ref), e).await);
    }
    let (iid, user) = (item_ref.id.clone(), me.to_string());
    let view = st
        .db
        .run(move |c| -> Result<_, ApiError> {
            let iid = ItemId::parse(&iid).map_err(|e| ApiError::unavailable(e.to_string()))?;
            Ok(super::items::load_item(c, &iid, &user)?)
        })
        .await?
        .map(|(v, _, _)| v)
        .ok_or_else(|| ApiError::unavailable("a disclosed item cannot be read"))?;
    Ok((d, view))
}

/// Download a disclosed item (the recipient; download disclosures only), whole or a byte range.
/// Each request counts against `max_downloads`, in the same transaction as its
/// `disclosure-fetch` event; when they are used up, or the disclosure has expired: 410.
#[utoipa::path(get, path = "/v1/disclosures/{id}/items/{item}/content", tag = "disclosures",
    params(("id" = String, Path, description = "Disclosure id"),
        ("item" = String, Path, description = "Item id"),
        ("Range" = Option<String>, Header, description = "bytes=START-END")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 410, body = Problem),
        (status = 416, body = Problem)),
    security(("token" = [])))]
pub async fn download(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((id, item)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (d, view) = for_recipient(&st, &caller, &id, &item).await?;
    let item_ref = view.item_ref();
    let case = d.view.case.clone();
    if d.view.view_only {
        let e = ApiError::forbidden(format!(
            "disclosure {} is view-only: read the item in place with GET /v1/disclosures/{}/items/{}/view",
            d.id, d.id, view.id
        ));
        return Err(refuse(&st, &caller, Some(case), Some(item_ref), e).await);
    }
    let range = content::parse_range(&headers, view.size)?;
    let (st2, row) = (st.clone(), view.row());
    let dek = st
        .db
        .run(move |c| {
            crate::export::item_data_key(&st2.vault, c, &row).map_err(|e| {
                tracing::error!(error = %e, "cannot unwrap an item's key");
                ApiError::unavailable("the item's key cannot be read")
            })
        })
        .await?;
    let mut details = vec![
        ("disclosure", Value::String(d.id.to_string())),
        ("delivery", Value::String("download".into())),
    ];
    if let Some(r) = range {
        details.push(("range", range_value(r)));
    }
    let draft = EventDraft {
        actor: caller.actor(),
        action: Action::DisclosureFetch,
        case: Some(case.clone()),
        item: Some(item_ref.clone()),
        reason: None,
        details: Value::Null,
    };
    let (did, iid) = (d.id.clone(), view.id.to_string());
    let counted = st
        .vault
        .sequencer
        .submit(move |tx| -> Result<Result<u64, ApiError>, ApiError> {
            // Decided inside the write transaction, so concurrent fetches cannot overrun.
            let (state, expires_at, max, used): (String, Option<i64>, i64, i64) = tx
                .tx
                .query_row(
                    "SELECT d.state, d.expires_at, d.max_downloads, di.downloads
                     FROM disclosures d JOIN disclosure_items di ON di.disclosure_id = d.id
                     WHERE d.id = ?1 AND di.item_id = ?2",
                    params![did.as_str(), iid],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .doing("reading the download count")?;
            if !matches!(state.as_str(), "approved" | "acknowledged") {
                return Ok(Err(ApiError::forbidden(format!(
                    "disclosure {did} is {state}"
                ))));
            }
            if expires_at.is_some_and(|t| crate::db::now_micros() >= t) {
                return Ok(Err(ApiError::new(
                    "gone",
                    format!("disclosure {did} has expired"),
                )));
            }
            if used >= max {
                return Ok(Err(ApiError::new(
                    "gone",
                    format!(
                        "item {iid} was downloaded {used} times through disclosure {did}, all it allows; ask for a new disclosure"
                    ),
                )));
            }
            let n = used + 1;
            tx.tx
                .execute(
                    "UPDATE disclosure_items SET downloads = ?3 WHERE disclosure_id = ?1 AND item_id = ?2",
                    params![did.as_str(), iid, n],
                )
                .doing("counting the download")?;
            details.push(("download", Value::Int(n)));
            tx.append(EventDraft {
                details: Value::object(details),
                ..draft
            })?;
            Ok(Ok(n as u64))
        })
        .await?;
    let receipt = match counted {
        (Ok(_), mut receipts) => receipts.pop().ok_or_else(|| {
            ApiError::unavailable("the download was not recorded in the custody log")
        })?,
        (Err(e), _) => return Err(refuse(&st, &caller, Some(case), Some(item_ref), e).await),
    };
    content::respond(&st, &view.row(), range, Delivery::Download, dek, &receipt)
}

fn range_value(r: ByteRange) -> Value {
    Value::object(vec![
        (
            "start",
            Value::Int(i64::try_from(r.start).unwrap_or(i64::MAX)),
        ),
        ("end", Value::Int(i64::try_from(r.end).unwrap_or(i64::MAX))),
    ])
}

/// Read a disclosed item in place (the recipient; view-only and download disclosures alike,
/// until expiry; not counted against `max_downloads`). Served inline, never cached; each view
/// is a `disclosure-fetch` event with `delivery: view`.
#[utoipa::path(get, path = "/v1/disclosures/{id}/items/{item}/view", tag = "disclosures",
    params(("id" = String, Path, description = "Disclosure id"),
        ("item" = String, Path, description = "Item id"),
        ("Range" = Option<String>, Header, description = "bytes=START-END")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 410, body = Problem),
        (status = 416, body = Problem)),
    security(("token" = [])))]
pub async fn view(
    State(st): State<Arc<AppState>>,
    caller: Caller,
    Path((id, item)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (d, view) = for_recipient(&st, &caller, &id, &item).await?;
    let range = content::parse_range(&headers, view.size)?;
    let draft = EventDraft {
        actor: caller.actor(),
        action: Action::DisclosureFetch,
        case: Some(d.view.case.clone()),
        item: Some(view.item_ref()),
        reason: None,
        details: Value::object(vec![("disclosure", Value::String(d.id.to_string()))]),
    };
    content::serve(&st, &view, range, Delivery::View, draft).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(
        items: Vec<&str>,
        view_only: bool,
        exp: Option<u64>,
        max: Option<u32>,
    ) -> NewDisclosure {
        NewDisclosure {
            items: items.into_iter().map(String::from).collect(),
            recipient: "dan".into(),
            recipient_kind: RecipientKind::Defence,
            instrument: "Order 17".into(),
            purpose: "trial".into(),
            view_only,
            expires_secs: exp,
            max_downloads: max,
        }
    }

    #[test]
    fn terms_apply_defaults_and_bounds() {
        let a = ItemId::random();
        let t = terms(body(vec![a.as_str(), a.as_str()], false, None, None), "pat").unwrap();
        assert_eq!(t.items, std::slice::from_ref(&a), "duplicates dropped");
        assert_eq!(t.expires_secs, DEFAULT_EXPIRES_SECS);
        assert_eq!(t.max_downloads, DEFAULT_MAX_DOWNLOADS);
        let t = terms(body(vec![a.as_str()], true, Some(1), Some(9)), "pat").unwrap();
        assert_eq!(t.max_downloads, 0, "view-only allows no download");
        for bad in [
            body(vec![], false, None, None),
            body(vec!["itm_x"], false, None, None),
            body(vec![a.as_str()], false, Some(0), None),
            body(vec![a.as_str()], false, Some(MAX_EXPIRES_SECS + 1), None),
            body(vec![a.as_str()], false, None, Some(0)),
            body(vec![a.as_str()], false, None, Some(MAX_DOWNLOADS + 1)),
        ] {
            let e = terms(bad, "pat").err().expect("refused");
            assert_eq!(e.code, "invalid-parameter", "{e}");
        }
        let e = terms(body(vec![a.as_str()], false, None, None), "dan")
            .err()
            .expect("self as recipient");
        assert_eq!(e.code, "invalid-parameter");
        let mut many = body(vec![], false, None, None);
        many.items = (0..=MAX_ITEMS)
            .map(|_| ItemId::random().to_string())
            .collect();
        assert_eq!(
            terms(many, "pat").err().map(|e| e.code),
            Some("invalid-parameter")
        );
    }

    #[test]
    fn recipient_kinds_have_their_wire_names() {
        for (k, s) in [
            (RecipientKind::Defence, "\"defence\""),
            (RecipientKind::Court, "\"court\""),
            (RecipientKind::ForeignAgency, "\"foreign-agency\""),
        ] {
            assert_eq!(serde_json::to_string(&k).unwrap(), s);
            assert_eq!(serde_json::from_str::<RecipientKind>(s).unwrap(), k);
            assert_eq!(format!("\"{}\"", k.as_str()), s);
        }
        assert!(serde_json::from_str::<RecipientKind>("\"press\"").is_err());
    }
}

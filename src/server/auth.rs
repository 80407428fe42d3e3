//! The caller: bearer-token authentication, and the access checks every case and item route
//! makes. Every refusal is recorded as an `access-denied` event before it is answered.

use super::AppState;
use super::problem::ApiError;
use crate::access::{self, Permission};
use crate::accounts::{self, Account, AuthFailure, Role};
use crate::custody::EventDraft;
use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{Method, header};
use custos_core::event::{Action, Actor, ItemRef};
use custos_core::jcs::Value;
use rusqlite::OptionalExtension;
use std::sync::Arc;
use zeroize::Zeroizing;

/// The authenticated caller of a route, and the route they called (for denial events).
pub struct Caller {
    /// The account.
    pub account: Account,
    /// `METHOD /route/{template}`.
    pub route: String,
}

impl Caller {
    /// The actor to record.
    pub fn actor(&self) -> Actor {
        self.account.actor()
    }
    /// The vault role.
    pub fn role(&self) -> Role {
        self.account.role
    }
}

/// `METHOD /template` of a request (the template, never the raw path: no caller text).
pub fn route_of(method: &Method, matched: Option<&MatchedPath>) -> String {
    format!(
        "{} {}",
        method,
        matched.map_or("(no route)", MatchedPath::as_str)
    )
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<AppState>) -> Result<Self, ApiError> {
        let route = route_of(&parts.method, parts.extensions.get::<MatchedPath>());
        let anonymous = Actor {
            name: "anonymous".into(),
            role: "none".into(),
            auth: "none".into(),
        };
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            let e = ApiError::new(
                "token-missing",
                "this route needs a token: send Authorization: Bearer cst_...",
            );
            return Err(st.deny(anonymous, None, None, &route, e).await);
        };
        let text = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| Zeroizing::new(t.trim().to_string()));
        let Some(text) = text else {
            let e = ApiError::new(
                "token-malformed",
                "the Authorization header must be 'Bearer cst_...'",
            );
            return Err(st.deny(anonymous, None, None, &route, e).await);
        };
        let policy = st.policy;
        let now = crate::db::now_micros();
        let checked = st
            .db
            .run(move |c| accounts::authenticate(c, &text, &policy, now))
            .await?;
        match checked {
            Ok(account) => Ok(Caller { account, route }),
            Err(failure) => {
                let code = match &failure {
                    AuthFailure::Malformed => "token-malformed",
                    AuthFailure::Invalid { .. } => "token-invalid",
                    AuthFailure::Expired { .. } => "token-expired",
                    AuthFailure::Revoked { .. } => "token-revoked",
                    AuthFailure::Disabled { .. } => "account-disabled",
                    AuthFailure::Locked { .. } => "account-locked",
                };
                let actor = match failure.user() {
                    Some(u) => Actor {
                        name: u.to_string(),
                        role: "unauthenticated".into(),
                        auth: "token-refused".into(),
                    },
                    None => anonymous,
                };
                let e = ApiError::new(code, failure.to_string());
                Err(st.deny(actor, None, None, &route, e).await)
            }
        }
    }
}

/// A case the caller may act on, and the role they act in.
#[derive(Debug, Clone)]
pub struct CaseAccess {
    /// Row id.
    pub case_id: i64,
    /// Name.
    pub case: String,
    /// The caller's role in the case (`None`: an administrator who is not a member).
    pub role: Option<Role>,
}

/// The outcome of an access decision.
enum Decision {
    Allow(Option<Role>),
    /// 404, exactly as for something that does not exist.
    Hidden,
    /// 403: the caller can see the object but may not do this.
    Forbidden(Role),
}

fn decide(exists: bool, member: Option<Role>, caller: Role, p: Permission) -> Decision {
    let admin_acts = p == Permission::ManageMembers && access::may_administer(caller);
    match (exists, member) {
        (false, _) => Decision::Hidden,
        (true, None) if admin_acts => Decision::Allow(None),
        (true, None) => Decision::Hidden,
        (true, Some(r)) if access::case_role_allows(r, p) || admin_acts => Decision::Allow(Some(r)),
        (true, Some(r)) => Decision::Forbidden(r),
    }
}

impl AppState {
    /// Record an `access-denied` event for `e` (best effort: if the log fails, the request is
    /// refused all the same) and return `e`.
    pub async fn deny(
        &self,
        actor: Actor,
        case: Option<String>,
        item: Option<ItemRef>,
        route: &str,
        e: ApiError,
    ) -> ApiError {
        self.metrics.denied();
        let draft = EventDraft {
            actor,
            action: Action::AccessDenied,
            case,
            item,
            reason: Some(e.code.to_string()),
            details: Value::object(vec![
                ("route", Value::String(route.to_string())),
                ("status", Value::Int(i64::from(e.status.as_u16()))),
            ]),
        };
        if let Err(err) = self.vault.sequencer.append(draft).await {
            tracing::error!(error = %err, "could not record an access-denied event");
        }
        e
    }

    /// Resolve case `name` for `caller`, who needs `p` there.
    pub async fn case_access(
        &self,
        caller: &Caller,
        name: &str,
        p: Permission,
    ) -> Result<CaseAccess, ApiError> {
        let (n, user) = (name.to_string(), caller.account.name.to_string());
        let row: Option<(i64, Option<String>)> = self
            .db
            .run(move |c| {
                c.query_row(
                    "SELECT c.id, m.role FROM cases c
                     LEFT JOIN case_members m ON m.case_id = c.id AND m.user_name = ?2
                     WHERE c.name = ?1",
                    rusqlite::params![n, user],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(|source| crate::db::DbError::Sql {
                    doing: "checking case access",
                    source,
                })
            })
            .await?;
        let member = row
            .as_ref()
            .and_then(|(_, r)| r.as_deref())
            .and_then(|r| Role::parse(r).ok());
        let what = format!("case {}", super::problem::clean(name));
        match decide(row.is_some(), member, caller.role(), p) {
            Decision::Allow(role) => Ok(CaseAccess {
                case_id: row.map_or(0, |r| r.0),
                case: name.to_string(),
                role,
            }),
            Decision::Hidden => {
                let case = row.map(|_| name.to_string());
                Err(self
                    .deny(
                        caller.actor(),
                        case,
                        None,
                        &caller.route,
                        ApiError::not_found(what),
                    )
                    .await)
            }
            Decision::Forbidden(r) => {
                let e = ApiError::forbidden(format!(
                    "your role in {what} ({r}) does not allow {}",
                    p.as_str()
                ));
                Err(self
                    .deny(
                        caller.actor(),
                        Some(name.to_string()),
                        None,
                        &caller.route,
                        e,
                    )
                    .await)
            }
        }
    }

    /// Resolve item `id` for `caller`, who needs `p` in the item's case.
    pub async fn item_access(
        &self,
        caller: &Caller,
        id: &str,
        p: Permission,
    ) -> Result<(CaseAccess, super::routes::items::ItemView), ApiError> {
        let what = format!("item {}", super::problem::clean(id));
        let Ok(item) = crate::ids::ItemId::parse(id) else {
            return Err(self
                .deny(
                    caller.actor(),
                    None,
                    None,
                    &caller.route,
                    ApiError::not_found(what),
                )
                .await);
        };
        let user = caller.account.name.to_string();
        let found = self
            .db
            .run(move |c| super::routes::items::load_item(c, &item, &user))
            .await?;
        let Some((view, case_id, member)) = found else {
            return Err(self
                .deny(
                    caller.actor(),
                    None,
                    None,
                    &caller.route,
                    ApiError::not_found(what),
                )
                .await);
        };
        let item_ref = Some(view.item_ref());
        match decide(true, member, caller.role(), p) {
            Decision::Allow(role) => Ok((
                CaseAccess {
                    case_id,
                    case: view.case.clone(),
                    role,
                },
                view,
            )),
            Decision::Hidden => Err(self
                .deny(
                    caller.actor(),
                    Some(view.case.clone()),
                    item_ref,
                    &caller.route,
                    ApiError::not_found(what),
                )
                .await),
            Decision::Forbidden(r) => {
                let e = ApiError::forbidden(format!(
                    "your role in case {} ({r}) does not allow {}",
                    view.case,
                    p.as_str()
                ));
                Err(self
                    .deny(
                        caller.actor(),
                        Some(view.case.clone()),
                        item_ref,
                        &caller.route,
                        e,
                    )
                    .await)
            }
        }
    }

    /// Require a vault-wide ability; refusals are 403 (the route itself is public knowledge).
    pub async fn require(
        &self,
        caller: &Caller,
        allowed: bool,
        what: &str,
    ) -> Result<(), ApiError> {
        if allowed {
            return Ok(());
        }
        let e = ApiError::forbidden(format!(
            "your role ({}) does not allow {what}",
            caller.role()
        ));
        Err(self
            .deny(caller.actor(), None, None, &caller.route, e)
            .await)
    }
}

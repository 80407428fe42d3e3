//! Accounts and API tokens: who may call the service, and how a token is checked.
//!
//! A token is `cst_<id>_<secret>`: 16 base32 characters naming the token row, and 52 base32
//! characters (256 random bits) of secret. Only SHA-256(secret) is stored, so a copy of the
//! database gives no usable token. The id lets a wrong secret be charged to its account: after
//! `lockout_attempts` wrong secrets the account is locked for `lockout_secs`. A token also
//! expires at a fixed time, after `idle_secs` without use, or when revoked.
//!
//! Plain functions over a [`rusqlite::Connection`]: the HTTP layer and the local `custos admin`
//! commands share them. Writes that need a custody event run inside the log's transaction.

use crate::custody::{EventDraft, LogError, LogTx};
use crate::db::{DbError, SqlContext};
use custos_core::event::{Action, Actor};
use custos_core::jcs::Value;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::Digest;
use std::fmt;
use zeroize::Zeroizing;

/// An account's role in the vault, and a member's role in a case (docs/ACCESS.md).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Manages accounts, tokens and case membership; sees no evidence unless made a member.
    Administrator,
    /// Ingests and examines evidence.
    Examiner,
    /// Leads a case: manages its members, approves disclosures.
    Supervisor,
    /// Reads evidence and requests disclosure.
    Prosecutor,
    /// Receives disclosures.
    Defence,
    /// Receives disclosures; sees case metadata and custody when a member.
    Court,
    /// Sees custody events and metadata, never content.
    Auditor,
}

/// Every role, in documentation order.
pub const ROLES: [Role; 7] = [
    Role::Administrator,
    Role::Examiner,
    Role::Supervisor,
    Role::Prosecutor,
    Role::Defence,
    Role::Court,
    Role::Auditor,
];

impl Role {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Examiner => "examiner",
            Role::Supervisor => "supervisor",
            Role::Prosecutor => "prosecutor",
            Role::Defence => "defence",
            Role::Court => "court",
            Role::Auditor => "auditor",
        }
    }

    /// Parse a role name.
    pub fn parse(s: &str) -> Result<Self, AccountError> {
        ROLES
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| AccountError::BadRole {
                given: s.chars().take(40).collect(),
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account name: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserName(String);

impl UserName {
    /// Validate an account name.
    pub fn parse(s: &str) -> Result<Self, AccountError> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'));
        if ok {
            Ok(UserName(s.to_string()))
        } else {
            Err(AccountError::BadUserName {
                given: s.chars().filter(|c| !c.is_control()).take(64).collect(),
            })
        }
    }
    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A token's public id (16 base32 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenId(String);

impl TokenId {
    /// Validate a token id.
    pub fn parse(s: &str) -> Result<Self, AccountError> {
        if s.len() == TOKEN_ID_LEN && s.bytes().all(is_b32) {
            Ok(TokenId(s.to_string()))
        } else {
            Err(AccountError::BadTokenId {
                given: s.chars().filter(|c| !c.is_control()).take(40).collect(),
            })
        }
    }
    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const TOKEN_ID_LEN: usize = 16;
const TOKEN_SECRET_LEN: usize = 52;
const TOKEN_PREFIX: &str = "cst_";

fn is_b32(b: u8) -> bool {
    B32.contains(&b)
}

/// `n` random base32 characters (5 bits each, from the OS's random source).
fn random_b32(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
        .iter()
        .map(|b| B32[(b & 31) as usize] as char)
        .collect()
}

/// A newly issued token's full text: shown once, never stored.
pub struct IssuedToken {
    /// The token id (public: used to revoke).
    pub id: TokenId,
    /// `cst_<id>_<secret>`.
    pub secret: Zeroizing<String>,
    /// When it expires (Unix microseconds).
    pub expires_at: i64,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IssuedToken({}, <secret>)", self.id)
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Account name.
    pub name: UserName,
    /// Vault role.
    pub role: Role,
    /// The token used.
    pub token: TokenId,
}

impl Account {
    /// The actor recorded in events this caller causes.
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.name.to_string(),
            role: self.role.to_string(),
            auth: format!("token:{}", self.token),
        }
    }
}

/// Token and lockout policy (from `[server]`).
#[derive(Debug, Clone, Copy)]
pub struct AuthPolicy {
    /// Idle expiry, seconds.
    pub idle_secs: u64,
    /// Default lifetime of new tokens, seconds.
    pub ttl_secs: u64,
    /// Wrong secrets before the account locks.
    pub lockout_attempts: u32,
    /// Lock duration, seconds.
    pub lockout_secs: u64,
}

impl AuthPolicy {
    /// From the config.
    pub fn from_config(s: &crate::config::ServerSection) -> Self {
        AuthPolicy {
            idle_secs: s.token_idle_secs,
            ttl_secs: s.token_ttl_secs,
            lockout_attempts: s.lockout_attempts,
            lockout_secs: s.lockout_secs,
        }
    }
}

/// Why a token was refused. Each maps to a stable problem code (docs/ACCESS.md).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// Not `cst_<16>_<52>` base32.
    #[error("the token is malformed: expected cst_ followed by the id and secret custos printed")]
    Malformed,
    /// No such token id, or a wrong secret.
    #[error("the token is not valid")]
    Invalid {
        /// The account charged with the attempt, when the id named one.
        user: Option<UserName>,
    },
    /// Past its expiry, or idle too long.
    #[error("the token has expired; ask an administrator for a new one")]
    Expired {
        /// Its account.
        user: UserName,
    },
    /// Revoked.
    #[error("the token has been revoked")]
    Revoked {
        /// Its account.
        user: UserName,
    },
    /// The account is disabled.
    #[error("the account is disabled")]
    Disabled {
        /// The account.
        user: UserName,
    },
    /// Too many failed attempts.
    #[error(
        "the account is locked after repeated failed attempts; try again later or ask an administrator to unlock it"
    )]
    Locked {
        /// The account.
        user: UserName,
    },
}

impl AuthFailure {
    /// The account the attempt concerns, if known.
    pub fn user(&self) -> Option<&UserName> {
        match self {
            AuthFailure::Malformed => None,
            AuthFailure::Invalid { user } => user.as_ref(),
            AuthFailure::Expired { user }
            | AuthFailure::Revoked { user }
            | AuthFailure::Disabled { user }
            | AuthFailure::Locked { user } => Some(user),
        }
    }
}

/// Account management errors.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Bad account name.
    #[error(
        "invalid account name '{given}': use 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
    )]
    BadUserName {
        /// What was given.
        given: String,
    },
    /// Bad role name.
    #[error(
        "unknown role '{given}': use administrator, examiner, supervisor, prosecutor, defence, court or auditor"
    )]
    BadRole {
        /// What was given.
        given: String,
    },
    /// Bad token id.
    #[error("'{given}' is not a token id (16 letters/digits, as printed by token issue)")]
    BadTokenId {
        /// What was given.
        given: String,
    },
    /// The account exists already.
    #[error("account {user} already exists")]
    UserExists {
        /// The account.
        user: UserName,
    },
    /// No such account.
    #[error("no account named {user}")]
    NoSuchUser {
        /// The account.
        user: UserName,
    },
    /// No such token.
    #[error("no token {token}")]
    NoSuchToken {
        /// The token.
        token: TokenId,
    },
    /// A token for a disabled account.
    #[error("account {user} is disabled; no token can be issued for it")]
    UserDisabled {
        /// The account.
        user: UserName,
    },
    /// Database failure.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Log failure.
    #[error(transparent)]
    Log(#[from] LogError),
}

impl From<rusqlite::Error> for AccountError {
    fn from(source: rusqlite::Error) -> Self {
        AccountError::Db(DbError::Sql {
            doing: "managing accounts",
            source,
        })
    }
}

/// A row of `users`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UserRow {
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Whether disabled.
    pub disabled: bool,
    /// Whether locked now.
    pub locked: bool,
    /// Creation time (RFC 3339).
    pub created_at: String,
}

fn hash_secret(secret: &str) -> [u8; 32] {
    sha2::Sha256::digest(secret.as_bytes()).into()
}

/// Split `cst_<id>_<secret>`.
fn split_token(text: &str) -> Option<(TokenId, &str)> {
    let rest = text.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let id = TokenId::parse(id).ok()?;
    (secret.len() == TOKEN_SECRET_LEN && secret.bytes().all(is_b32)).then_some((id, secret))
}

/// Constant-time equality of two digests.
fn ct_eq(a: &[u8; 32], b: &[u8]) -> bool {
    b.len() == 32 && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Check a bearer token; on success record its use (at most once a minute, to spare writes).
/// A wrong secret counts against the token's account and locks it after
/// `policy.lockout_attempts`.
pub fn authenticate(
    conn: &Connection,
    text: &str,
    policy: &AuthPolicy,
    now: i64,
) -> Result<Result<Account, AuthFailure>, DbError> {
    let Some((id, secret)) = split_token(text) else {
        return Ok(Err(AuthFailure::Malformed));
    };
    type TokenRow = (
        String,
        Vec<u8>,
        i64,
        i64,
        i64,
        Option<i64>,
        String,
        bool,
        i64,
        i64,
    );
    let row: Option<TokenRow> = conn
        .query_row(
            "SELECT t.user_name, t.secret_hash, t.expires_at, t.idle_secs, t.last_used_at,
                    t.revoked_at, u.role, u.disabled, u.failed_attempts, u.locked_until
             FROM tokens t JOIN users u ON u.name = t.user_name WHERE t.id = ?1",
            [id.as_str()],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                ))
            },
        )
        .optional()
        .doing("looking up the token")?;
    let Some((user, hash, expires, idle, last_used, revoked, role, disabled, failed, locked_until)) =
        row
    else {
        return Ok(Err(AuthFailure::Invalid { user: None }));
    };
    let user_name = UserName(user.clone());
    if locked_until > now {
        return Ok(Err(AuthFailure::Locked { user: user_name }));
    }
    if !ct_eq(&hash_secret(secret), &hash) {
        let attempts = failed + 1;
        let lock = if attempts >= i64::from(policy.lockout_attempts) {
            now.saturating_add(secs_to_micros(policy.lockout_secs))
        } else {
            0
        };
        conn.execute(
            "UPDATE users SET failed_attempts = ?2, locked_until = ?3 WHERE name = ?1",
            params![user, if lock > 0 { 0 } else { attempts }, lock],
        )
        .doing("counting a failed attempt")?;
        return Ok(Err(if lock > 0 {
            AuthFailure::Locked { user: user_name }
        } else {
            AuthFailure::Invalid {
                user: Some(user_name),
            }
        }));
    }
    if disabled {
        return Ok(Err(AuthFailure::Disabled { user: user_name }));
    }
    if revoked.is_some() {
        return Ok(Err(AuthFailure::Revoked { user: user_name }));
    }
    if now >= expires || now.saturating_sub(last_used) > secs_to_micros(idle as u64) {
        return Ok(Err(AuthFailure::Expired { user: user_name }));
    }
    let role = match Role::parse(&role) {
        Ok(r) => r,
        Err(_) => return Ok(Err(AuthFailure::Disabled { user: user_name })),
    };
    if now - last_used > secs_to_micros(60).min(secs_to_micros(idle as u64) / 4) {
        conn.execute(
            "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1",
            params![id.as_str(), now],
        )
        .doing("recording token use")?;
    }
    if failed > 0 {
        conn.execute(
            "UPDATE users SET failed_attempts = 0 WHERE name = ?1",
            [&user],
        )
        .doing("resetting failed attempts")?;
    }
    Ok(Ok(Account {
        name: user_name,
        role,
        token: id,
    }))
}

fn secs_to_micros(s: u64) -> i64 {
    i64::try_from(s.saturating_mul(1_000_000)).unwrap_or(i64::MAX)
}

/// Whether any account exists (first start creates the administrator).
pub fn any_user(conn: &Connection) -> Result<bool, DbError> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))
        .doing("counting accounts")
}

/// Look up an account's role and state.
pub fn find_user(conn: &Connection, name: &UserName) -> Result<Option<(Role, bool)>, DbError> {
    let row: Option<(String, bool)> = conn
        .query_row(
            "SELECT role, disabled FROM users WHERE name = ?1",
            [name.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .doing("looking up the account")?;
    Ok(row.and_then(|(r, d)| Role::parse(&r).ok().map(|r| (r, d))))
}

/// All accounts, by name.
pub fn list_users(conn: &Connection, now: i64) -> Result<Vec<UserRow>, DbError> {
    let mut st = conn
        .prepare("SELECT name, role, disabled, locked_until, created_at FROM users ORDER BY name")
        .doing("listing accounts")?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .doing("listing accounts")?;
    let mut out = Vec::new();
    for row in rows {
        let (name, role, disabled, locked_until, created) = row.doing("listing accounts")?;
        let Ok(role) = Role::parse(&role) else {
            continue;
        };
        out.push(UserRow {
            name,
            role,
            disabled,
            locked: locked_until > now,
            created_at: crate::db::rfc3339(created),
        });
    }
    Ok(out)
}

fn account_event(actor: &Actor, action: Action, reason: &str, details: Value) -> EventDraft {
    EventDraft {
        actor: actor.clone(),
        action,
        case: None,
        item: None,
        reason: Some(reason.to_string()),
        details,
    }
}

/// Create an account (inside the log transaction, with its `account-create` event).
pub fn add_user(
    tx: &mut LogTx<'_>,
    by: &Actor,
    name: &UserName,
    role: Role,
) -> Result<u64, AccountError> {
    let exists: bool = tx
        .tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)",
            [name.as_str()],
            |r| r.get(0),
        )
        .doing("looking up the account")?;
    if exists {
        return Err(AccountError::UserExists { user: name.clone() });
    }
    let ev = tx.append(account_event(
        by,
        Action::AccountCreate,
        "account created",
        Value::object(vec![
            ("user", Value::String(name.to_string())),
            ("role", Value::String(role.to_string())),
        ]),
    ))?;
    tx.tx
        .execute(
            "INSERT INTO users (name, role, created_at) VALUES (?1, ?2, ?3)",
            params![name.as_str(), role.as_str(), crate::db::now_micros()],
        )
        .doing("creating the account")?;
    Ok(ev.seq)
}

/// Disable an account: its tokens stop working at once.
pub fn disable_user(tx: &mut LogTx<'_>, by: &Actor, name: &UserName) -> Result<u64, AccountError> {
    if find_user(tx.tx, name)?.is_none() {
        return Err(AccountError::NoSuchUser { user: name.clone() });
    }
    let ev = tx.append(account_event(
        by,
        Action::AccountDisable,
        "account disabled",
        Value::object(vec![("user", Value::String(name.to_string()))]),
    ))?;
    tx.tx
        .execute(
            "UPDATE users SET disabled = 1 WHERE name = ?1",
            [name.as_str()],
        )
        .doing("disabling the account")?;
    Ok(ev.seq)
}

/// Lift a lockout.
pub fn unlock_user(tx: &mut LogTx<'_>, by: &Actor, name: &UserName) -> Result<u64, AccountError> {
    if find_user(tx.tx, name)?.is_none() {
        return Err(AccountError::NoSuchUser { user: name.clone() });
    }
    let ev = tx.append(account_event(
        by,
        Action::AccountUnlock,
        "account unlocked",
        Value::object(vec![("user", Value::String(name.to_string()))]),
    ))?;
    tx.tx
        .execute(
            "UPDATE users SET failed_attempts = 0, locked_until = 0 WHERE name = ?1",
            [name.as_str()],
        )
        .doing("unlocking the account")?;
    Ok(ev.seq)
}

/// Issue a token for `name`, valid `ttl_secs` (idle expiry `idle_secs`).
pub fn issue_token(
    tx: &mut LogTx<'_>,
    by: &Actor,
    name: &UserName,
    label: Option<&str>,
    ttl_secs: u64,
    idle_secs: u64,
) -> Result<IssuedToken, AccountError> {
    match find_user(tx.tx, name)? {
        None => return Err(AccountError::NoSuchUser { user: name.clone() }),
        Some((_, true)) => return Err(AccountError::UserDisabled { user: name.clone() }),
        Some(_) => {}
    }
    let id = TokenId(random_b32(TOKEN_ID_LEN));
    let secret = Zeroizing::new(random_b32(TOKEN_SECRET_LEN));
    let now = crate::db::now_micros();
    let expires_at = now.saturating_add(secs_to_micros(ttl_secs));
    let mut details = vec![
        ("user", Value::String(name.to_string())),
        ("token", Value::String(id.to_string())),
        ("expires", Value::String(crate::db::rfc3339(expires_at))),
    ];
    if let Some(l) = label {
        details.push(("label", Value::String(l.to_string())));
    }
    tx.append(account_event(
        by,
        Action::TokenIssue,
        "token issued",
        Value::object(details),
    ))?;
    tx.tx
        .execute(
            "INSERT INTO tokens (id, user_name, secret_hash, label, created_at, expires_at, idle_secs, last_used_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?5)",
            params![
                id.as_str(),
                name.as_str(),
                &hash_secret(&secret)[..],
                label,
                now,
                expires_at,
                i64::try_from(idle_secs).unwrap_or(i64::MAX),
            ],
        )
        .doing("storing the token")?;
    let text = Zeroizing::new(format!("{TOKEN_PREFIX}{id}_{}", secret.as_str()));
    Ok(IssuedToken {
        id,
        secret: text,
        expires_at,
    })
}

/// Revoke a token. Returns its account.
pub fn revoke_token(
    tx: &mut LogTx<'_>,
    by: &Actor,
    id: &TokenId,
) -> Result<UserName, AccountError> {
    let user: Option<String> = tx
        .tx
        .query_row(
            "SELECT user_name FROM tokens WHERE id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .optional()
        .doing("looking up the token")?;
    let user = user.ok_or_else(|| AccountError::NoSuchToken { token: id.clone() })?;
    tx.append(account_event(
        by,
        Action::TokenRevoke,
        "token revoked",
        Value::object(vec![
            ("user", Value::String(user.clone())),
            ("token", Value::String(id.to_string())),
        ]),
    ))?;
    tx.tx
        .execute(
            "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
            params![id.as_str(), crate::db::now_micros()],
        )
        .doing("revoking the token")?;
    Ok(UserName(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_roles() {
        assert!(UserName::parse("alice.smith-2").is_ok());
        for bad in ["", "Alice", "-x", "a b", "a/b", &"a".repeat(65), "é"] {
            assert!(UserName::parse(bad).is_err(), "{bad:?}");
        }
        for r in ROLES {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(matches!(
            Role::parse("root"),
            Err(AccountError::BadRole { .. })
        ));
    }

    #[test]
    fn token_text_shape() {
        let id = random_b32(TOKEN_ID_LEN);
        let secret = random_b32(TOKEN_SECRET_LEN);
        let text = format!("cst_{id}_{secret}");
        let (tid, s) = split_token(&text).unwrap();
        assert_eq!(tid.as_str(), id);
        assert_eq!(s, secret);
        for bad in [
            "",
            "cst_",
            &format!("cst_{id}"),
            &format!("cst_{id}_{}", &secret[1..]),
            &format!("cst_{id}_{secret}x"),
            &format!("CST_{id}_{secret}"),
            &format!("cst_{}_{secret}", id.to_uppercase()),
        ] {
            assert!(split_token(bad).is_none(), "{bad}");
        }
    }
}

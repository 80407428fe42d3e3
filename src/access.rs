//! Who may do what: the access rules of the service, as data (docs/ACCESS.md is their
//! human-readable form, and tests/access_matrix.rs checks the server against that document).
//!
//! Two layers. An account's vault role gates vault-wide acts (accounts, creating cases, reading
//! the whole log). Inside a case, what a member may do follows the role they hold *in that case*.
//! Someone who is not a member of a case cannot learn that it exists: every case or item route
//! answers them exactly as it answers for a case or item that does not exist.

use crate::accounts::Role;

/// An act inside a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See the case, its members, its items' metadata, custody chains, proofs and reports.
    ViewCase,
    /// Upload evidence into the case.
    Upload,
    /// Read evidence content (download, byte ranges), with a stated purpose.
    ReadContent,
    /// Add and remove members.
    ManageMembers,
    /// Hand custody of an item to another member (also allowed to the item's custodian).
    Transfer,
    /// Ask for items to be disclosed to a named recipient.
    RequestDisclosure,
    /// Approve or refuse a disclosure request.
    DecideDisclosure,
}

/// Every case permission, in documentation order.
pub const PERMISSIONS: [Permission; 7] = [
    Permission::ViewCase,
    Permission::Upload,
    Permission::ReadContent,
    Permission::ManageMembers,
    Permission::Transfer,
    Permission::RequestDisclosure,
    Permission::DecideDisclosure,
];

impl Permission {
    /// Name used in docs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ViewCase => "view-case",
            Permission::Upload => "upload",
            Permission::ReadContent => "read-content",
            Permission::ManageMembers => "manage-members",
            Permission::Transfer => "transfer",
            Permission::RequestDisclosure => "request-disclosure",
            Permission::DecideDisclosure => "decide-disclosure",
        }
    }
}

/// Whether a member holding `role` in a case has `p` there. Least privilege: auditors and
/// courts see custody and metadata but never content; defence counsel work only through
/// disclosures addressed to them.
pub fn case_role_allows(role: Role, p: Permission) -> bool {
    use Permission::*;
    match role {
        Role::Examiner => matches!(p, ViewCase | Upload | ReadContent | Transfer),
        Role::Supervisor => !matches!(p, RequestDisclosure),
        Role::Prosecutor => matches!(p, ViewCase | ReadContent | RequestDisclosure),
        Role::Court | Role::Auditor => matches!(p, ViewCase),
        Role::Defence | Role::Administrator => false,
    }
}

/// Roles a case membership may carry (an administrator's powers are vault-wide, not per case).
pub fn is_case_role(role: Role) -> bool {
    role != Role::Administrator
}

/// May open new cases (and becomes their first member, except an administrator).
pub fn may_create_case(role: Role) -> bool {
    matches!(
        role,
        Role::Administrator | Role::Supervisor | Role::Examiner
    )
}

/// May manage accounts and tokens, and the membership of any case.
pub fn may_administer(role: Role) -> bool {
    role == Role::Administrator
}

/// May read every event of the log (metadata only).
pub fn may_read_whole_log(role: Role) -> bool {
    role == Role::Auditor
}

/// May be named as the recipient of a disclosure.
pub fn may_receive_disclosure(role: Role) -> bool {
    matches!(role, Role::Defence | Role::Court | Role::Prosecutor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::ROLES;

    #[test]
    fn nobody_but_readers_reads_content() {
        let readers: Vec<Role> = ROLES
            .into_iter()
            .filter(|r| case_role_allows(*r, Permission::ReadContent))
            .collect();
        assert_eq!(
            readers,
            [Role::Examiner, Role::Supervisor, Role::Prosecutor]
        );
    }

    #[test]
    fn requester_and_approver_are_different_roles() {
        for r in ROLES {
            assert!(
                !(case_role_allows(r, Permission::RequestDisclosure)
                    && case_role_allows(r, Permission::DecideDisclosure)),
                "{r} could approve its own requests"
            );
        }
    }
}

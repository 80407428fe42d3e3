//! Identifier newtypes: item ids, case names, actor names. Parsing validates; Display is the
//! one text form used everywhere (CLI, events, database).

use std::fmt;

/// Errors parsing an identifier given by a user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not an item id.
    #[error(
        "'{given}' is not an item id (expected itm_ followed by 26 letters/digits, as printed by ingest)"
    )]
    ItemId {
        /// What was given.
        given: String,
    },
    /// A case name that is empty, too long or has control characters or '/'.
    #[error("invalid case name '{given}': use 1 to 128 printable characters without '/'")]
    CaseName {
        /// What was given.
        given: String,
    },
    /// An actor name that is empty, too long or has control characters.
    #[error("invalid actor name '{given}': use 1 to 128 printable characters")]
    ActorName {
        /// What was given.
        given: String,
    },
}

const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// An evidence item's id: `itm_` + 26 base32 characters of 128 random bits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(String);

impl ItemId {
    /// A fresh random id.
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).expect("the operating system's random source failed");
        let mut bits: u128 = u128::from_be_bytes(b);
        let mut s = String::with_capacity(30);
        s.push_str("itm_");
        let mut chars = [0u8; 26];
        for c in chars.iter_mut().rev() {
            *c = B32[(bits & 31) as usize];
            bits >>= 5;
        }
        s.push_str(std::str::from_utf8(&chars).expect("ascii"));
        ItemId(s)
    }

    /// Parse a user-given id.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let ok = s.len() == 30 && s.starts_with("itm_") && s[4..].bytes().all(|c| B32.contains(&c));
        if ok {
            Ok(ItemId(s.to_string()))
        } else {
            Err(IdError::ItemId { given: truncate(s) })
        }
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ItemId({})", self.0)
    }
}

/// A case's name, as examiners write it (e.g. `2026-CE-0142`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseName(String);

impl CaseName {
    /// Validate a case name.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if crate::config::valid_name(s) && !s.contains('/') && s.trim() == s {
            Ok(CaseName(s.to_string()))
        } else {
            Err(IdError::CaseName { given: truncate(s) })
        }
    }
    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The person (or service account) an event is attributed to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActorName(String);

impl ActorName {
    /// Validate an actor name.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if crate::config::valid_name(s) && s.trim() == s {
            Ok(ActorName(s.to_string()))
        } else {
            Err(IdError::ActorName { given: truncate(s) })
        }
    }
    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ActorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shorten user input echoed in an error, and strip control characters from it.
fn truncate(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(80)
        .collect();
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_ids_round_trip_and_reject_garbage() {
        let id = ItemId::random();
        assert_eq!(ItemId::parse(id.as_str()).unwrap(), id);
        assert!(ItemId::parse("itm_").is_err());
        assert!(ItemId::parse("itm_AAAAAAAAAAAAAAAAAAAAAAAAAA").is_err());
        assert!(ItemId::parse(&format!("{id}x")).is_err());
    }

    #[test]
    fn case_names() {
        assert!(CaseName::parse("2026-CE-0142").is_ok());
        for bad in ["", "a/b", " x", "a\nb", &"x".repeat(129)] {
            assert!(CaseName::parse(bad).is_err(), "{bad:?}");
        }
    }
}

//! Typed ids of the custody workflows: transfers (`trf_…`) and disclosures (`dsc_…`), in the
//! same form as item ids (a prefix and 26 base32 characters of 128 random bits).

use std::fmt;

/// Lower-case RFC 4648 base32 alphabet, as in item ids.
const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// Characters after the prefix: 26 × 5 bits ≥ 128 bits.
const BODY_LEN: usize = 26;

/// The operating system's random source failed: no id could be drawn.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the operating system's random source failed: {message}")]
pub struct RandomUnavailable {
    /// The error reported.
    pub message: String,
}

/// `prefix` followed by 26 base32 characters of 128 random bits.
fn random_id(prefix: &str) -> Result<String, RandomUnavailable> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| RandomUnavailable {
        message: e.to_string(),
    })?;
    let mut bits = u128::from_be_bytes(b);
    let mut chars = [0u8; BODY_LEN];
    for c in chars.iter_mut().rev() {
        *c = B32[(bits & 31) as usize];
        bits >>= 5;
    }
    let mut s = String::with_capacity(prefix.len() + BODY_LEN);
    s.push_str(prefix);
    s.extend(chars.iter().map(|&c| char::from(c)));
    Ok(s)
}

/// Whether `s` is `prefix` followed by exactly 26 base32 characters.
fn well_formed(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|body| body.len() == BODY_LEN && body.bytes().all(|c| B32.contains(&c)))
}

macro_rules! workflow_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The text prefix.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh random id.
            pub fn random() -> Result<Self, RandomUnavailable> {
                random_id(Self::PREFIX).map($name)
            }

            /// Parse a client-given id; `None` when it is not of this form (callers answer
            /// 404, exactly as for a well-formed id that does not exist).
            pub fn parse(s: &str) -> Option<Self> {
                well_formed(s, Self::PREFIX).then(|| $name(s.to_string()))
            }

            /// The text form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

workflow_id!(
    /// A custody transfer's id: `trf_` + 26 base32 characters.
    TransferId,
    "trf_"
);
workflow_id!(
    /// A disclosure's id: `dsc_` + 26 base32 characters.
    DisclosureId,
    "dsc_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_other_forms() {
        let t = TransferId::random().unwrap();
        assert_eq!(t.as_str().len(), 30);
        assert_eq!(TransferId::parse(t.as_str()), Some(t.clone()));
        let d = DisclosureId::random().unwrap();
        assert_eq!(DisclosureId::parse(d.as_str()), Some(d.clone()));
        // One kind of id is never accepted as the other.
        assert_eq!(DisclosureId::parse(t.as_str()), None);
        assert_eq!(TransferId::parse(d.as_str()), None);
        let body = &t.as_str()[4..];
        for bad in [
            String::new(),
            "trf_".into(),
            format!("trf_{}", &body[1..]),
            format!("{t}a"),
            format!("TRF_{body}"),
            format!("trf_{}", body.to_uppercase()),
            format!("trf_{}1", &body[1..]),
            format!("trf_{}é", &body[2..]),
        ] {
            assert_eq!(TransferId::parse(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn random_ids_differ() {
        let a = DisclosureId::random().unwrap();
        let b = DisclosureId::random().unwrap();
        assert_ne!(a, b);
    }
}

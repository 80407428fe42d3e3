//! C2SP checkpoints (<https://c2sp.org/tlog-checkpoint@v1.0.0>): the signed head of the custody
//! log, carried as the text of a signed note.
//!
//! The note text is the origin line, the tree size in decimal without leading zeros, the
//! standard base64 of the 32-byte RFC 6962 root hash, then optional non-empty extension lines,
//! each line ending in a newline (tlog-checkpoint "Note text").

use crate::hash::Sha256Hash;
use crate::note::{self, Note, NoteError, NoteSigner, NoteVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// A tree head: which log, how many leaves, and the Merkle root at that size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log identity (line 1), e.g. `custos.example.org/agency-x`. Non-empty.
    pub origin: String,
    /// Number of leaves (line 2).
    pub size: u64,
    /// RFC 6962 root hash at `size` (line 3).
    pub root: Sha256Hash,
    /// Optional extension lines (line 4 on), each non-empty and without newline.
    pub extensions: Vec<String>,
}

/// A checkpoint body or checkpoint note that cannot be accepted; line numbers are 1-based
/// lines of the note text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The note (or the text as a note text) is malformed or its signature fails.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    /// Line 1, the origin, is empty.
    #[error("checkpoint origin (line 1) is empty")]
    EmptyOrigin,
    /// The text ends before line 2.
    #[error("checkpoint has no tree size line (line 2)")]
    MissingSize,
    /// The text ends before line 3.
    #[error("checkpoint has no root hash line (line 3)")]
    MissingRootHash,
    /// Line 2 is empty.
    #[error("checkpoint tree size (line 2) is empty")]
    EmptySize,
    /// Line 2 has characters other than ASCII digits (signs and spaces included).
    #[error("checkpoint tree size (line 2) {got:?} is not a decimal number (ASCII digits only)")]
    SizeNotDecimal {
        /// The start of the line.
        got: String,
    },
    /// Line 2 has a leading zero (only the empty tree is written `0`).
    #[error("checkpoint tree size (line 2) {got:?} has a leading zero")]
    SizeLeadingZero {
        /// The start of the line.
        got: String,
    },
    /// Line 2 is larger than 2^64 - 1.
    #[error("checkpoint tree size (line 2) {got:?} does not fit in 64 bits")]
    SizeOverflow {
        /// The start of the line.
        got: String,
    },
    /// Line 3 is not canonical standard base64 with padding.
    #[error("checkpoint root hash (line 3) is not canonical standard base64 (RFC 4648 §4)")]
    RootHashBase64,
    /// Line 3 does not decode to 32 bytes.
    #[error("checkpoint root hash (line 3) decodes to {got} bytes; a SHA-256 hash has 32")]
    RootHashLength {
        /// Bytes decoded.
        got: usize,
    },
    /// An extension line is empty.
    #[error("checkpoint extension line (line {line}) is empty")]
    EmptyExtensionLine {
        /// 1-based line number.
        line: usize,
    },
    /// A field to be signed contains a newline and would change the line structure.
    #[error("checkpoint {field} contains a newline")]
    FieldContainsNewline {
        /// `"origin"` or `"extension line N"`.
        field: String,
    },
}

impl Checkpoint {
    /// The note text: `origin\nsize\nbase64(root)\n` then each extension line and `\n`.
    pub fn to_note_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for ext in &self.extensions {
            text.push_str(ext);
            text.push('\n');
        }
        text
    }

    /// Parse a checkpoint note text (tlog-checkpoint "Note text").
    pub fn parse_text(text: &str) -> Result<Self, CheckpointError> {
        note::validate_text(text)?;
        let body = text
            .strip_suffix('\n')
            .ok_or(NoteError::TextMissingFinalNewline)?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = parse_size(lines.next().ok_or(CheckpointError::MissingSize)?)?;
        let root = parse_root(lines.next().ok_or(CheckpointError::MissingRootHash)?)?;
        let mut extensions = Vec::new();
        for (i, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtensionLine { line: i + 4 });
            }
            extensions.push(line.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Sign the checkpoint with the log's key. The origin should equal the key name
    /// (tlog-checkpoint "Signatures"); that is the caller's configuration to keep.
    pub fn sign(&self, signer: &NoteSigner) -> Result<Note, CheckpointError> {
        let text = self.checked_text()?;
        Ok(signer.sign(&text)?)
    }

    /// The note text, after checking that no field contains a newline and that the text parses
    /// as a checkpoint (non-empty origin, non-empty extension lines, no control characters).
    pub fn checked_text(&self) -> Result<String, CheckpointError> {
        if self.origin.contains('\n') {
            return Err(CheckpointError::FieldContainsNewline {
                field: "origin".to_owned(),
            });
        }
        if let Some(i) = self.extensions.iter().position(|e| e.contains('\n')) {
            return Err(CheckpointError::FieldContainsNewline {
                field: format!("extension line {}", i + 4),
            });
        }
        let text = self.to_note_text();
        Self::parse_text(&text)?;
        Ok(text)
    }
}

/// Tree size: ASCII decimal, no sign, no leading zero unless the size is 0.
fn parse_size(line: &str) -> Result<u64, CheckpointError> {
    if line.is_empty() {
        return Err(CheckpointError::EmptySize);
    }
    if !line.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CheckpointError::SizeNotDecimal {
            got: note::excerpt(line),
        });
    }
    if line.len() > 1 && line.starts_with('0') {
        return Err(CheckpointError::SizeLeadingZero {
            got: note::excerpt(line),
        });
    }
    line.parse::<u64>()
        .map_err(|_| CheckpointError::SizeOverflow {
            got: note::excerpt(line),
        })
}

/// Root hash: canonical standard base64 of exactly 32 bytes.
fn parse_root(line: &str) -> Result<Sha256Hash, CheckpointError> {
    let raw = B64
        .decode(line)
        .map_err(|_| CheckpointError::RootHashBase64)?;
    let got = raw.len();
    let bytes: [u8; 32] = raw
        .try_into()
        .map_err(|_| CheckpointError::RootHashLength { got })?;
    Ok(Sha256Hash(bytes))
}

/// Parse a checkpoint note, verify the log's signature with `verifier`, then parse the body.
/// The text is not looked at before its signature verifies (signed-note: the text MUST be
/// ignored unless signed by a trusted key). Other signature lines (witnesses) are ignored.
pub fn open_checkpoint(
    note: &str,
    verifier: &NoteVerifier,
) -> Result<(Checkpoint, Note), CheckpointError> {
    let note = Note::parse(note)?;
    note.verify(&[verifier])?;
    let checkpoint = Checkpoint::parse_text(&note.text)?;
    Ok((checkpoint, note))
}

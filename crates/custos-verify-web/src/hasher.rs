//! Streaming evidence digests: the page feeds a file in slices (`File.slice`), so a file of
//! many gigabytes is hashed in constant memory. SHA-256 always; MD5 and SHA-1 only when the
//! bundle records them, as `custos-verify --evidence` does (docs/FORMATS.md §7.5).

use custos_core::Sha256Hash;
use custos_core::bundle::EvidenceDigest;
use sha2::Digest as _;
use wasm_bindgen::prelude::wasm_bindgen;

/// Incremental digests of one evidence file.
#[wasm_bindgen]
pub struct EvidenceHasher {
    name: String,
    size: u64,
    sha256: sha2::Sha256,
    md5: Option<md5::Md5>,
    sha1: Option<sha1::Sha1>,
}

#[wasm_bindgen]
impl EvidenceHasher {
    /// A hasher for the file to be named `name` in the report; `md5` and `sha1` say whether
    /// to compute those digests too (see [`crate::Wanted`]).
    #[wasm_bindgen(constructor)]
    pub fn new(name: String, md5: bool, sha1: bool) -> EvidenceHasher {
        EvidenceHasher {
            name,
            size: 0,
            sha256: sha2::Sha256::new(),
            md5: md5.then(md5::Md5::new),
            sha1: sha1.then(sha1::Sha1::new),
        }
    }

    /// Hash the next slice of the file.
    pub fn update(&mut self, chunk: &[u8]) {
        self.size = self.size.saturating_add(chunk.len() as u64);
        self.sha256.update(chunk);
        if let Some(h) = &mut self.md5 {
            h.update(chunk);
        }
        if let Some(h) = &mut self.sha1 {
            h.update(chunk);
        }
    }

    /// Bytes hashed so far (a JavaScript number: exact up to 8 PiB).
    #[wasm_bindgen(getter)]
    pub fn bytes(&self) -> f64 {
        self.size as f64
    }

    /// The digests of everything given to [`EvidenceHasher::update`].
    pub fn finish(self) -> Evidence {
        Evidence(EvidenceDigest {
            name: self.name,
            size: self.size,
            sha256: Sha256Hash(self.sha256.finalize().into()),
            md5: self.md5.map(|h| h.finalize().into()),
            sha1: self.sha1.map(|h| h.finalize().into()),
        })
    }
}

/// The digests of one evidence file, ready for [`crate::verify_bundle`].
#[wasm_bindgen]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence(pub(crate) EvidenceDigest);

#[wasm_bindgen]
impl Evidence {
    /// The name the file has in the report.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.0.name.clone()
    }

    /// Its SHA-256, 64 lowercase hex digits.
    #[wasm_bindgen(getter)]
    pub fn sha256(&self) -> String {
        self.0.sha256.to_hex()
    }

    /// Its MD5 in hex, when computed.
    #[wasm_bindgen(getter)]
    pub fn md5(&self) -> Option<String> {
        self.0.md5.map(hex)
    }

    /// Its SHA-1 in hex, when computed.
    #[wasm_bindgen(getter)]
    pub fn sha1(&self) -> Option<String> {
        self.0.sha1.map(hex)
    }

    /// Its size in bytes.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> f64 {
        self.0.size as f64
    }
}

#[wasm_bindgen]
impl Evidence {
    /// Another handle on the same digests: [`crate::verify_bundle`] consumes the handles it
    /// is given, so the page keeps one per file and passes copies, and a file is hashed once
    /// however often the user verifies.
    pub fn copy(&self) -> Evidence {
        self.clone()
    }
}

impl Evidence {
    /// The digests as custos-core takes them.
    pub fn digest(&self) -> &EvidenceDigest {
        &self.0
    }
}

fn hex<const N: usize>(bytes: [u8; N]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digests(data: &[u8], chunk: usize) -> Evidence {
        let mut h = EvidenceHasher::new("f".to_owned(), true, true);
        for c in data.chunks(chunk.max(1)) {
            h.update(c);
        }
        h.finish()
    }

    #[test]
    fn known_answers_for_abc() {
        let e = digests(b"abc", 1);
        assert_eq!(e.size(), 3.0);
        assert_eq!(
            e.sha256(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(e.md5().as_deref(), Some("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(
            e.sha1().as_deref(),
            Some("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
    }

    #[test]
    fn empty_file_and_unwanted_digests() {
        let e = EvidenceHasher::new("empty".to_owned(), false, false).finish();
        assert_eq!(e.size(), 0.0);
        assert_eq!(
            e.sha256(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!((e.md5(), e.sha1()), (None, None));
    }

    #[test]
    fn slicing_does_not_change_the_digests() {
        let data: Vec<u8> = (0..100_003u32).map(|i| (i * 31 % 251) as u8).collect();
        let whole = digests(&data, data.len());
        for chunk in [1, 7, 64, 4096, 65_537] {
            assert_eq!(digests(&data, chunk), whole, "chunk {chunk}");
        }
    }
}

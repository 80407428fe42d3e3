//! RFC 6962 / RFC 9162 Merkle tree math: hashing, proofs built from stored nodes, proof
//! verification, and the append frontier.
//!
//! The tree is the one of RFC 6962 §2.1, restated in RFC 9162 §2.1: a leaf hashes to
//! `SHA-256(0x00 || entry)`, an inner node to `SHA-256(0x01 || left || right)`, a list of `n > 1`
//! leaves splits at the largest power of two below `n`, and the empty tree hashes to
//! `SHA-256("")`. The byte-level description is in `docs/FORMATS.md §4`.
//!
//! Storage is reached through [`NodeSource`], which hands out the hashes of *perfect* subtrees by
//! their coordinates (level, index). Every hash a proof needs is the hash of a range that splits
//! into at most 64 such subtrees, so proofs cost O(log n) point lookups whatever the tree size.
//! [`Frontier`] keeps the right edge of the tree while appending, and reports each perfect
//! subtree an append completes so that a store can persist exactly those.
//!
//! Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, including the final checks
//! that the proof was consumed exactly; the errors say which check failed.

use crate::hash::Sha256Hash;
use sha2::{Digest as _, Sha256};

/// Prefix of a leaf hash input (RFC 9162 §2.1.1); it keeps a leaf from posing as an inner node.
const LEAF_PREFIX: u8 = 0x00;
/// Prefix of an inner node hash input (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// The hash of one log entry: `SHA-256(0x00 || entry)` (RFC 9162 §2.1.1).
pub fn leaf_hash(entry: &[u8]) -> Sha256Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(entry);
    Sha256Hash(h.finalize().into())
}

/// The hash of an inner node: `SHA-256(0x01 || left || right)` (RFC 9162 §2.1.1).
pub fn node_hash(left: &Sha256Hash, right: &Sha256Hash) -> Sha256Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    Sha256Hash(h.finalize().into())
}

/// The Merkle Tree Hash `MTH(D[n])` of a list of leaf hashes (RFC 9162 §2.1.1).
///
/// The empty list hashes to `SHA-256("")`. Runs in one pass with no allocation per leaf, for
/// audits that rebuild the root of a whole log.
pub fn root_from_leaf_hashes(leaves: &[Sha256Hash]) -> Sha256Hash {
    let mut frontier = Frontier::new();
    for leaf in leaves {
        // A slice cannot hold u64::MAX elements, so the tree never fills up here.
        if frontier.append(*leaf).is_err() {
            break;
        }
    }
    frontier.root()
}

/// Read access to stored perfect-subtree hashes.
///
/// Node `(level L, index N)` is `MTH(D[N·2^L : (N+1)·2^L])`, the root of the perfect subtree over
/// those `2^L` leaves; level 0 holds the leaf hashes. A node exists once all its leaves have been
/// appended, and never changes afterwards. These are exactly the nodes [`Frontier::push`]
/// reports.
pub trait NodeSource {
    /// Why a lookup failed (missing node, I/O error, ...).
    type Error;

    /// The hash of node `(level, index)`.
    fn node(&self, level: u8, index: u64) -> Result<Sha256Hash, Self::Error>;
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    type Error = S::Error;

    fn node(&self, level: u8, index: u64) -> Result<Sha256Hash, Self::Error> {
        (**self).node(level, index)
    }
}

/// A proof or hash could not be computed from stored nodes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    /// The node store failed to return a node.
    #[error("reading a stored Merkle tree node failed")]
    Source(#[source] E),
    /// An inclusion proof was asked for a leaf the tree does not hold.
    #[error("leaf index {index} is not in a tree of {size} leaves")]
    IndexOutOfRange {
        /// The leaf asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof was asked from a tree larger than the one it should be a prefix of.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    OldSizeExceedsNewSize {
        /// The earlier tree size.
        old_size: u64,
        /// The later tree size.
        new_size: u64,
    },
    /// A range whose start lies after its end.
    #[error("leaf range [{start}, {end}) ends before it starts")]
    InvalidRange {
        /// First leaf of the range.
        start: u64,
        /// One past the last leaf.
        end: u64,
    },
    /// A range that is not made of stored nodes: its start is not a multiple of the largest
    /// power of two not above its length, so its hash would need every leaf.
    #[error("leaf range [{start}, {end}) is not aligned to stored Merkle tree nodes")]
    UnalignedRange {
        /// First leaf of the range.
        start: u64,
        /// One past the last leaf.
        end: u64,
    },
}

/// A proof did not verify. Each variant names the RFC 9162 check that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The leaf index is not below the tree size (RFC 9162 §2.1.3.2 step 1).
    #[error("leaf index {index} is not in a tree of {size} leaves")]
    IndexOutOfRange {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The old tree is larger than the new one, so it cannot be a prefix of it.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    OldSizeExceedsNewSize {
        /// The claimed earlier size.
        old_size: u64,
        /// The claimed later size.
        new_size: u64,
    },
    /// Hashes were left over when the walk reached the root (the `sn == 0` check of
    /// RFC 9162 §2.1.3.2 step 4a / §2.1.4.2 step 6a).
    #[error("proof has {len} hashes; these tree sizes need exactly {needed}")]
    ProofTooLong {
        /// Hashes in the proof.
        len: usize,
        /// Hashes the sizes call for.
        needed: usize,
    },
    /// The proof ran out before the walk reached the root (the final `sn == 0` check of
    /// RFC 9162 §2.1.3.2 step 5 / §2.1.4.2 step 7, or the empty path of §2.1.4.2 step 1).
    #[error("proof has {len} hashes; these tree sizes need exactly {needed}")]
    ProofTooShort {
        /// Hashes in the proof.
        len: usize,
        /// Hashes the sizes call for.
        needed: usize,
    },
    /// An inclusion proof led to a different root (RFC 9162 §2.1.3.2 step 5).
    #[error("inclusion proof leads to root {computed}, expected {expected}")]
    RootMismatch {
        /// Root the leaf and proof lead to.
        computed: Sha256Hash,
        /// Root the proof was checked against.
        expected: Sha256Hash,
    },
    /// A consistency proof leads to a different old root (RFC 9162 §2.1.4.2 step 7, `fr`).
    /// For an old size of 0 the computed root is the empty-tree hash.
    #[error("consistency proof leads to old root {computed}, expected {expected}")]
    OldRootMismatch {
        /// Old root the proof leads to.
        computed: Sha256Hash,
        /// Old root the proof was checked against.
        expected: Sha256Hash,
    },
    /// A consistency proof leads to a different new root (RFC 9162 §2.1.4.2 step 7, `sr`).
    /// For equal sizes the computed root is the old root.
    #[error("consistency proof leads to new root {computed}, expected {expected}")]
    NewRootMismatch {
        /// New root the proof leads to.
        computed: Sha256Hash,
        /// New root the proof was checked against.
        expected: Sha256Hash,
    },
    /// A consistency proof between equal sizes, or from the empty tree, must be empty: there is
    /// nothing to prove (RFC 9162 §2.1.4.1 defines proofs only for `0 < old < new`).
    #[error(
        "consistency proof from size {old_size} to {new_size} must be empty; it has {len} hashes"
    )]
    ProofNotEmpty {
        /// The claimed earlier size.
        old_size: u64,
        /// The claimed later size.
        new_size: u64,
        /// Hashes in the proof.
        len: usize,
    },
}

/// The tree already counts `u64::MAX` leaves, the most its size can express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the Merkle tree already holds u64::MAX leaves; no leaf can be appended")]
pub struct TreeFull;

/// Largest power of two strictly below `n` (the split point `k` of RFC 9162 §2.1.1); `n >= 2`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Checks that `D[start:end]` is made of stored nodes, i.e. that `start` is a multiple of the
/// largest power of two not above `end - start`. Then the standalone `MTH(D[start:end])` splits
/// exactly along the binary digits of the length, largest subtree first.
fn check_range<E>(start: u64, end: u64) -> Result<(), ProofError<E>> {
    let Some(len) = end.checked_sub(start) else {
        return Err(ProofError::InvalidRange { start, end });
    };
    if len == 0 {
        return Ok(());
    }
    let top = 1u64 << (63 - len.leading_zeros());
    if start & (top - 1) != 0 {
        return Err(ProofError::UnalignedRange { start, end });
    }
    Ok(())
}

/// `MTH(D[start:end])` from the stored nodes covering the range, one lookup per set bit of its
/// length (so at most 64).
///
/// The range must be aligned: `start` a multiple of the largest power of two not above
/// `end - start`. Every subtree an RFC 9162 proof refers to is, and so is `[0, n)` for any `n`
/// (the root of the tree of size `n`). An empty range hashes to `SHA-256("")`, the hash of the
/// empty list.
pub fn subtree_hash<S: NodeSource>(
    src: &S,
    start: u64,
    end: u64,
) -> Result<Sha256Hash, ProofError<S::Error>> {
    check_range(start, end)?;
    // MTH(D[s:e]) = HASH(0x01 || MTH(largest perfect part) || MTH(rest)); folding from the right
    // needs no buffer. The rightmost part is the lowest set bit of the length.
    let len = end - start;
    let mut right_end = end;
    let mut acc: Option<Sha256Hash> = None;
    for level in 0..64u8 {
        if len >> level & 1 == 0 {
            continue;
        }
        // The parts to the right of this one sum to less than `end - start`: no underflow.
        let part_start = right_end - (1u64 << level);
        let part = src
            .node(level, part_start >> level)
            .map_err(ProofError::Source)?;
        acc = Some(match acc {
            None => part,
            Some(right) => node_hash(&part, &right),
        });
        right_end = part_start;
    }
    Ok(acc.unwrap_or_else(Sha256Hash::empty))
}

/// The inclusion proof (audit path) of leaf `index` in the tree of `size` leaves,
/// `PATH(index, D[size])` of RFC 9162 §2.1.3.1: sibling subtree hashes from the leaf upwards.
///
/// Costs O(log size) lookups: every sibling but at most one is a single stored node.
pub fn inclusion_proof<S: NodeSource>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Sha256Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // Walk the recursion top-down over D[lo:hi]; the RFC lists the hashes bottom-up.
    let mut proof = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index < mid {
            proof.push(subtree_hash(src, mid, hi)?);
            hi = mid;
        } else {
            proof.push(subtree_hash(src, lo, mid)?);
            lo = mid;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The consistency proof from the tree of `old_size` leaves to the tree of `new_size` leaves,
/// `PROOF(old_size, D[new_size])` of RFC 9162 §2.1.4.1, bottom-up.
///
/// It is empty when `old_size` is 0 or equal to `new_size`: there is nothing to prove.
/// Costs O(log new_size) lookups.
pub fn consistency_proof<S: NodeSource>(
    src: &S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Sha256Hash>, ProofError<S::Error>> {
    if old_size > new_size {
        return Err(ProofError::OldSizeExceedsNewSize { old_size, new_size });
    }
    let mut proof = Vec::with_capacity(64);
    if old_size == 0 || old_size == new_size {
        return Ok(proof);
    }
    // SUBPROOF(m, D[lo:hi], complete) walked top-down; invariant lo < old_size <= hi, and
    // `complete` is the RFC's `b` (the subtree is still the old tree's own left edge).
    let (mut lo, mut hi) = (0u64, new_size);
    let mut complete = true;
    loop {
        if old_size == hi {
            if !complete {
                proof.push(subtree_hash(src, lo, hi)?);
            }
            break;
        }
        // Here hi - lo >= 2, since lo < old_size < hi.
        let mid = lo + split_point(hi - lo);
        if old_size <= mid {
            proof.push(subtree_hash(src, mid, hi)?);
            hi = mid;
        } else {
            proof.push(subtree_hash(src, lo, mid)?);
            lo = mid;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// One step of the RFC 9162 bit walk (§2.1.3.2 step 4b-c, §2.1.4.2 step 6b-c) on the indices
/// `fn`, `sn`. Returns the new indices and whether this step's proof hash is a left sibling.
fn walk_step(mut fn_: u64, mut sn: u64) -> (u64, u64, bool) {
    let left = fn_ & 1 == 1 || fn_ == sn;
    if left {
        // "If LSB(fn) is not set, right-shift fn and sn until LSB(fn) is set or fn is 0":
        // this skips the levels where the right edge has no sibling.
        while fn_ & 1 == 0 && fn_ != 0 {
            fn_ >>= 1;
            sn >>= 1;
        }
    }
    (fn_ >> 1, sn >> 1, left)
}

/// How many more steps the walk takes from `(fn, sn)` until `sn` reaches 0.
fn remaining_steps(mut fn_: u64, mut sn: u64) -> usize {
    let mut steps = 0;
    while sn != 0 {
        (fn_, sn, _) = walk_step(fn_, sn);
        steps += 1;
    }
    steps
}

/// Checks that `leaf` is the leaf hash at `index` in the tree of `size` leaves whose root is
/// `root`, exactly as RFC 9162 §2.1.3.2 writes it.
pub fn verify_inclusion(
    leaf: &Sha256Hash,
    index: u64,
    size: u64,
    proof: &[Sha256Hash],
    root: &Sha256Hash,
) -> Result<(), VerifyError> {
    // Step 1.
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    // Steps 2 and 3.
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    // Step 4.
    for (used, p) in proof.iter().enumerate() {
        if sn == 0 {
            return Err(VerifyError::ProofTooLong {
                len: proof.len(),
                needed: used,
            });
        }
        let left;
        (fn_, sn, left) = walk_step(fn_, sn);
        r = if left {
            node_hash(p, &r)
        } else {
            node_hash(&r, p)
        };
    }
    // Step 5: the proof must be used up exactly, then the root must match.
    if sn != 0 {
        return Err(VerifyError::ProofTooShort {
            len: proof.len(),
            needed: proof.len() + remaining_steps(fn_, sn),
        });
    }
    if r != *root {
        return Err(VerifyError::RootMismatch {
            computed: r,
            expected: *root,
        });
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root`, exactly as RFC 9162 §2.1.4.2 writes it.
///
/// The RFC defines proofs for `0 < old_size < new_size`. Outside that range there is nothing to
/// prove and the proof must be empty: equal sizes need equal roots, and the empty tree (size 0)
/// must have the root `SHA-256("")`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Sha256Hash,
    new_root: &Sha256Hash,
    proof: &[Sha256Hash],
) -> Result<(), VerifyError> {
    if old_size > new_size {
        return Err(VerifyError::OldSizeExceedsNewSize { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        return verify_trivial_consistency(old_size, new_size, old_root, new_root, proof);
    }
    // Step 2 prepends old_root when old_size is a power of two; keeping it as the seed instead
    // spares a copy of the proof.
    let old_is_pow2 = old_size.is_power_of_two();
    // Steps 3 and 4.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // The proof hashes that are not the seed are walked; `seeded` counts the one taken as seed.
    let seeded = usize::from(!old_is_pow2);
    // Step 1: an empty path fails. Step 5: fr and sr start at the path's first value.
    let (seed, rest) = match (old_is_pow2, proof.split_first()) {
        (_, None) => {
            return Err(VerifyError::ProofTooShort {
                len: 0,
                needed: seeded + remaining_steps(fn_, sn),
            });
        }
        (true, Some(_)) => (*old_root, proof),
        (false, Some((first, rest))) => (*first, rest),
    };
    let (mut fr, mut sr) = (seed, seed);
    // Step 6.
    for (used, c) in rest.iter().enumerate() {
        if sn == 0 {
            return Err(VerifyError::ProofTooLong {
                len: proof.len(),
                needed: seeded + used,
            });
        }
        let left;
        (fn_, sn, left) = walk_step(fn_, sn);
        if left {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
        } else {
            sr = node_hash(&sr, c);
        }
    }
    // Step 7: the path must be used up exactly, then both roots must match.
    if sn != 0 {
        return Err(VerifyError::ProofTooShort {
            len: proof.len(),
            needed: proof.len() + remaining_steps(fn_, sn),
        });
    }
    if fr != *old_root {
        return Err(VerifyError::OldRootMismatch {
            computed: fr,
            expected: *old_root,
        });
    }
    if sr != *new_root {
        return Err(VerifyError::NewRootMismatch {
            computed: sr,
            expected: *new_root,
        });
    }
    Ok(())
}

/// Consistency when `old_size` is 0 or equal to `new_size`: no proof hashes, and the roots
/// must be what the sizes imply.
fn verify_trivial_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Sha256Hash,
    new_root: &Sha256Hash,
    proof: &[Sha256Hash],
) -> Result<(), VerifyError> {
    if !proof.is_empty() {
        return Err(VerifyError::ProofNotEmpty {
            old_size,
            new_size,
            len: proof.len(),
        });
    }
    let empty = Sha256Hash::empty();
    if old_size == 0 && *old_root != empty {
        return Err(VerifyError::OldRootMismatch {
            computed: empty,
            expected: *old_root,
        });
    }
    if old_size == new_size && old_root != new_root {
        return Err(VerifyError::NewRootMismatch {
            computed: *old_root,
            expected: *new_root,
        });
    }
    Ok(())
}

/// The right frontier ("compact range") of a tree: the roots of its perfect subtrees, largest
/// first, one per set bit of the size. Enough to append leaves and compute the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Sha256Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The roots of the perfect subtrees, largest (leftmost) first.
    pub fn hashes(&self) -> &[Sha256Hash] {
        &self.hashes
    }

    /// `MTH` of the whole tree (RFC 9162 §2.1.1); `SHA-256("")` when empty.
    pub fn root(&self) -> Sha256Hash {
        // Same right-to-left fold as `subtree_hash`.
        let mut parts = self.hashes.iter().rev();
        let Some(last) = parts.next() else {
            return Sha256Hash::empty();
        };
        parts.fold(*last, |right, left| node_hash(left, &right))
    }

    /// Appends one leaf hash and returns every perfect-subtree node it completes, as
    /// `(level, index, hash)`: the leaf itself `(0, size, leaf)` first, then its ancestors up to
    /// the largest subtree it closes. A store that persists these can serve [`NodeSource`].
    ///
    /// On a tree that already holds `u64::MAX` leaves (2^64 appends, out of reach in practice)
    /// nothing is appended and the list is empty; [`Frontier::try_push`] reports that as an error.
    pub fn push(&mut self, leaf: Sha256Hash) -> Vec<(u8, u64, Sha256Hash)> {
        self.try_push(leaf).unwrap_or_default()
    }

    /// [`Frontier::push`] that fails with [`TreeFull`] instead of returning an empty list.
    pub fn try_push(&mut self, leaf: Sha256Hash) -> Result<Vec<(u8, u64, Sha256Hash)>, TreeFull> {
        // One node per trailing one bit of the old size, plus the leaf.
        let mut completed = Vec::with_capacity(1 + self.size.trailing_ones() as usize);
        self.push_with(leaf, |level, index, hash| {
            completed.push((level, index, hash))
        })?;
        Ok(completed)
    }

    /// Appends one leaf hash without reporting the completed nodes: no allocation, for audits
    /// that only need roots.
    pub fn append(&mut self, leaf: Sha256Hash) -> Result<(), TreeFull> {
        self.push_with(leaf, |_, _, _| {})
    }

    /// Rebuilds the frontier of the tree of `size` leaves from stored nodes: one lookup per set
    /// bit of `size`.
    pub fn load<S: NodeSource>(src: &S, size: u64) -> Result<Self, ProofError<S::Error>> {
        let mut hashes = Vec::with_capacity(size.count_ones() as usize);
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            if size >> level & 1 == 1 {
                hashes.push(
                    src.node(level, start >> level)
                        .map_err(ProofError::Source)?,
                );
                // The parts so far sum to at most `size`: no overflow.
                start += 1u64 << level;
            }
        }
        Ok(Self { size, hashes })
    }

    /// The append itself: the new leaf merges with one stored root per trailing one bit of the
    /// old size (each such bit is a perfect subtree of the same height to its left).
    fn push_with(
        &mut self,
        leaf: Sha256Hash,
        mut completed: impl FnMut(u8, u64, Sha256Hash),
    ) -> Result<(), TreeFull> {
        let new_size = self.size.checked_add(1).ok_or(TreeFull)?;
        let mut hash = leaf;
        let mut index = self.size;
        let mut level = 0u8;
        completed(level, index, hash);
        for _ in 0..self.size.trailing_ones() {
            // The frontier holds one root per set bit of the size, so this pop always succeeds.
            let Some(left) = self.hashes.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            completed(level, index, hash);
        }
        self.hashes.push(hash);
        self.size = new_size;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::collections::HashMap;

    fn h(s: &str) -> Sha256Hash {
        Sha256Hash::from_hex(s).expect("test vector is valid hex")
    }

    /// A store that answers every lookup with a hash of the coordinates and counts lookups.
    struct Counting(Cell<usize>);

    impl NodeSource for Counting {
        type Error = std::convert::Infallible;
        fn node(&self, level: u8, index: u64) -> Result<Sha256Hash, Self::Error> {
            self.0.set(self.0.get() + 1);
            let mut b = [0u8; 9];
            b[0] = level;
            b[1..].copy_from_slice(&index.to_be_bytes());
            Ok(Sha256Hash::digest(&b))
        }
    }

    #[derive(Debug, PartialEq, Eq)]
    struct Missing {
        level: u8,
        index: u64,
    }

    struct Map(HashMap<(u8, u64), Sha256Hash>);

    impl NodeSource for Map {
        type Error = Missing;
        fn node(&self, level: u8, index: u64) -> Result<Sha256Hash, Missing> {
            self.0
                .get(&(level, index))
                .copied()
                .ok_or(Missing { level, index })
        }
    }

    #[test]
    fn prefixes_separate_leaves_from_nodes() {
        assert_eq!(leaf_hash(b""), Sha256Hash::digest(&[0x00]));
        let (a, b) = (Sha256Hash([1; 32]), Sha256Hash([2; 32]));
        let mut raw = vec![0x01];
        raw.extend_from_slice(&a.0);
        raw.extend_from_slice(&b.0);
        assert_eq!(node_hash(&a, &b), Sha256Hash::digest(&raw));
        raw[0] = 0x00;
        assert_ne!(node_hash(&a, &b), leaf_hash(&raw[1..]));
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        let cases = [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (u64::MAX, 1 << 63),
        ];
        for (n, k) in cases {
            assert_eq!(split_point(n), k, "n = {n}");
        }
        assert_eq!(split_point(1 << 63), 1 << 62);
    }

    #[test]
    fn proofs_need_logarithmic_lookups_even_at_huge_sizes() {
        for size in [1_000_000u64, (1 << 40) + 12345, u64::MAX] {
            let depth = 64 - (size - 1).leading_zeros() as usize;
            for index in [0, size / 3, size - 1] {
                let src = Counting(Cell::new(0));
                let proof = inclusion_proof(&src, index, size).expect("infallible store");
                assert!(proof.len() <= depth);
                assert!(
                    src.0.get() <= 2 * depth,
                    "size {size} index {index}: {} lookups",
                    src.0.get()
                );
            }
            for old in [1, size / 2 + 1, size - 1] {
                let src = Counting(Cell::new(0));
                let proof = consistency_proof(&src, old, size).expect("infallible store");
                assert!(proof.len() <= depth + 1);
                assert!(
                    src.0.get() <= 2 * depth + 1,
                    "{old}->{size}: {} lookups",
                    src.0.get()
                );
            }
        }
    }

    #[test]
    fn store_errors_propagate() {
        let empty = Map(HashMap::new());
        assert_eq!(
            inclusion_proof(&empty, 3, 8),
            Err(ProofError::Source(Missing { level: 2, index: 1 }))
        );
        assert!(matches!(
            consistency_proof(&empty, 3, 8),
            Err(ProofError::Source(Missing { .. }))
        ));
        assert_eq!(
            subtree_hash(&empty, 0, 6),
            Err(ProofError::Source(Missing { level: 1, index: 2 }))
        );
        assert_eq!(
            Frontier::load(&empty, 5),
            Err(ProofError::Source(Missing { level: 2, index: 0 }))
        );
        // A partial store: proofs that reach past it fail, proofs within it succeed.
        let mut f = Frontier::new();
        let mut nodes = HashMap::new();
        for i in 0..4u8 {
            nodes.extend(
                f.push(leaf_hash(&[i]))
                    .into_iter()
                    .map(|(l, n, h)| ((l, n), h)),
            );
        }
        let src = Map(nodes);
        assert!(inclusion_proof(&src, 1, 4).is_ok());
        assert_eq!(
            inclusion_proof(&src, 1, 5),
            Err(ProofError::Source(Missing { level: 0, index: 4 }))
        );
    }

    #[test]
    fn bad_arguments_are_named() {
        let src = Counting(Cell::new(0));
        assert_eq!(
            inclusion_proof(&src, 5, 5),
            Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            inclusion_proof(&src, 0, 0),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            consistency_proof(&src, 6, 5),
            Err(ProofError::OldSizeExceedsNewSize {
                old_size: 6,
                new_size: 5
            })
        );
        assert_eq!(consistency_proof(&src, 0, 5), Ok(vec![]));
        assert_eq!(consistency_proof(&src, 5, 5), Ok(vec![]));
        assert_eq!(
            subtree_hash(&src, 4, 3),
            Err(ProofError::InvalidRange { start: 4, end: 3 })
        );
        assert_eq!(
            subtree_hash(&src, 1, 3),
            Err(ProofError::UnalignedRange { start: 1, end: 3 })
        );
        assert_eq!(
            subtree_hash(&src, 2, 6),
            Err(ProofError::UnalignedRange { start: 2, end: 6 })
        );
        assert!(
            subtree_hash(&src, 2, 5).is_ok(),
            "[2,5) = node (1,1) + leaf 4"
        );
        assert_eq!(subtree_hash(&src, 7, 7), Ok(Sha256Hash::empty()));
        assert!(subtree_hash(&src, 0, u64::MAX).is_ok());
        assert_eq!(
            src.0.get(),
            2 + 64,
            "lookups: [2,5) takes 2, [0,MAX) takes 64"
        );
    }

    #[test]
    fn frontier_full_is_an_error_not_a_panic() {
        let mut f = Frontier {
            size: u64::MAX - 1,
            hashes: vec![Sha256Hash([7; 32]); 63],
        };
        let done = f.push(Sha256Hash([9; 32]));
        assert_eq!(
            done.len(),
            1,
            "u64::MAX - 1 is even: the leaf completes nothing else"
        );
        assert_eq!(f.size(), u64::MAX);
        assert_eq!(f.hashes().len(), 64);
        let before = f.clone();
        assert_eq!(f.try_push(Sha256Hash([1; 32])), Err(TreeFull));
        assert_eq!(f.append(Sha256Hash([1; 32])), Err(TreeFull));
        assert!(f.push(Sha256Hash([1; 32])).is_empty());
        assert_eq!(f, before);
    }

    #[test]
    fn walk_step_counts_match_proof_lengths() {
        // remaining_steps from the start of the walk is the inclusion proof length.
        let src = Counting(Cell::new(0));
        for size in 1..70u64 {
            for index in 0..size {
                let proof = inclusion_proof(&src, index, size).expect("infallible");
                assert_eq!(
                    remaining_steps(index, size - 1),
                    proof.len(),
                    "{index}/{size}"
                );
            }
        }
    }

    #[test]
    fn one_leaf_tree() {
        let leaf = leaf_hash(b"only");
        assert_eq!(verify_inclusion(&leaf, 0, 1, &[], &leaf), Ok(()));
        assert_eq!(
            verify_inclusion(&leaf, 0, 1, &[leaf], &leaf),
            Err(VerifyError::ProofTooLong { len: 1, needed: 0 })
        );
        let other = h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(
            verify_inclusion(&leaf, 0, 1, &[], &other),
            Err(VerifyError::RootMismatch {
                computed: leaf,
                expected: other
            })
        );
    }
}

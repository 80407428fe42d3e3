//! Merkle tree tests: the RFC 6962 reference vectors, an exhaustive comparison with the RFC's
//! recursive definitions on small trees, and property tests in which every altered proof must
//! fail with the error that names what was altered.

use custos_core::Sha256Hash;
use custos_core::merkle::{
    Frontier, NodeSource, ProofError, VerifyError, consistency_proof, inclusion_proof, leaf_hash,
    node_hash, root_from_leaf_hashes, subtree_hash, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;
use std::collections::HashMap;

// ---------------------------------------------------------------------------------------------
// A store and the RFC's recursive definitions, written independently of the module under test.

/// In-memory node store filled from `Frontier::push` output.
#[derive(Default)]
struct MemStore {
    nodes: HashMap<(u8, u64), Sha256Hash>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct NotStored(u8, u64);

impl NodeSource for MemStore {
    type Error = NotStored;
    fn node(&self, level: u8, index: u64) -> Result<Sha256Hash, NotStored> {
        self.nodes
            .get(&(level, index))
            .copied()
            .ok_or(NotStored(level, index))
    }
}

/// A tree built by appending `leaves`, with every node `push` reported stored.
fn build(leaves: &[Sha256Hash]) -> (Frontier, MemStore) {
    let mut frontier = Frontier::new();
    let mut store = MemStore::default();
    for leaf in leaves {
        for (level, index, hash) in frontier.push(*leaf) {
            assert!(
                store.nodes.insert((level, index), hash).is_none(),
                "node reported twice"
            );
        }
    }
    (frontier, store)
}

fn test_leaves(n: u64) -> Vec<Sha256Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// Largest power of two strictly below `n` (RFC 9162 §2.1.1 `k`).
fn k_of(n: u64) -> u64 {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH by the recursive definition (RFC 9162 §2.1.1).
fn ref_mth(d: &[Sha256Hash]) -> Sha256Hash {
    match d.len() {
        0 => Sha256Hash::digest(b""),
        1 => d[0],
        n => {
            let k = k_of(n as u64) as usize;
            node_hash(&ref_mth(&d[..k]), &ref_mth(&d[k..]))
        }
    }
}

/// PATH(m, D[n]) by the recursive definition (RFC 9162 §2.1.3.1).
fn ref_path(m: usize, d: &[Sha256Hash]) -> Vec<Sha256Hash> {
    if d.len() <= 1 {
        return vec![];
    }
    let k = k_of(d.len() as u64) as usize;
    if m < k {
        let mut p = ref_path(m, &d[..k]);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_path(m - k, &d[k..]);
        p.push(ref_mth(&d[..k]));
        p
    }
}

/// SUBPROOF(m, D[n], b) by the recursive definition (RFC 9162 §2.1.4.1).
fn ref_subproof(m: usize, d: &[Sha256Hash], b: bool) -> Vec<Sha256Hash> {
    if m == d.len() {
        return if b { vec![] } else { vec![ref_mth(d)] };
    }
    let k = k_of(d.len() as u64) as usize;
    if m <= k {
        let mut p = ref_subproof(m, &d[..k], b);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_subproof(m - k, &d[k..], false);
        p.push(ref_mth(&d[..k]));
        p
    }
}

/// For each inclusion proof hash, bottom-up: is it a left sibling? Two (index, size) pairs with
/// the same sides make the verifier compute the same thing.
fn path_sides(m: u64, n: u64) -> Vec<bool> {
    if n <= 1 {
        return vec![];
    }
    let k = k_of(n);
    let mut v = if m < k {
        path_sides(m, k)
    } else {
        path_sides(m - k, n - k)
    };
    v.push(m >= k);
    v
}

/// The role of each consistency proof hash, bottom-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The old tree's last subtree (absent when the old size is a power of two).
    Seed,
    /// A left sibling: part of both the old and the new tree.
    Left,
    /// A right sibling: part of the new tree only.
    Right,
}

fn subproof_shape(m: u64, n: u64, b: bool) -> Vec<Part> {
    if m == n {
        return if b { vec![] } else { vec![Part::Seed] };
    }
    let k = k_of(n);
    let mut v = if m <= k {
        subproof_shape(m, k, b)
    } else {
        subproof_shape(m - k, n - k, false)
    };
    v.push(if m <= k { Part::Right } else { Part::Left });
    v
}

fn flip(h: &Sha256Hash) -> Sha256Hash {
    let mut b = h.0;
    b[0] ^= 0x08;
    Sha256Hash(b)
}

// ---------------------------------------------------------------------------------------------
// Known answers: the RFC 6962 test vectors of the reference implementations
// (certificate-transparency, transparency-dev/merkle testonly/constants.go and proof tests).

const VECTOR_ENTRIES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Root of the tree of the first `i` entries.
const VECTOR_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Every perfect-subtree node of the 8-entry tree, by level then index.
const VECTOR_NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// (leaf index, tree size, proof).
const VECTOR_INCLUSION: [(u64, u64, &[&str]); 4] = [
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, proof).
const VECTOR_CONSISTENCY: [(u64, u64, &[&str]); 4] = [
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(s: &str) -> Sha256Hash {
    Sha256Hash::from_hex(s).expect("vector is 64 hex digits")
}

fn hs(v: &[&str]) -> Vec<Sha256Hash> {
    v.iter().map(|s| h(s)).collect()
}

fn vector_leaves() -> Vec<Sha256Hash> {
    VECTOR_ENTRIES
        .iter()
        .map(|e| leaf_hash(&hex::decode(e).expect("vector is hex")))
        .collect()
}

#[test]
fn vector_empty_tree() {
    let empty = h(VECTOR_ROOTS[0]);
    assert_eq!(root_from_leaf_hashes(&[]), empty);
    assert_eq!(Frontier::new().root(), empty);
    assert_eq!(subtree_hash(&MemStore::default(), 0, 0), Ok(empty));
    assert_eq!(
        empty.to_base64(),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
}

#[test]
fn vector_roots_for_every_prefix() {
    let leaves = vector_leaves();
    let (_, store) = build(&leaves);
    let mut frontier = Frontier::new();
    for (size, want) in VECTOR_ROOTS.iter().enumerate() {
        let want = h(want);
        assert_eq!(
            root_from_leaf_hashes(&leaves[..size]),
            want,
            "slice root, size {size}"
        );
        assert_eq!(frontier.root(), want, "frontier root, size {size}");
        assert_eq!(
            subtree_hash(&store, 0, size as u64),
            Ok(want),
            "stored root, size {size}"
        );
        let loaded = Frontier::load(&store, size as u64).expect("all nodes stored");
        assert_eq!(loaded, frontier, "loaded frontier, size {size}");
        if let Some(leaf) = leaves.get(size) {
            frontier.push(*leaf);
        }
    }
}

#[test]
fn vector_nodes_are_what_push_reports() {
    let (_, store) = build(&vector_leaves());
    let mut want = HashMap::new();
    for (level, row) in VECTOR_NODES.iter().enumerate() {
        for (index, hash) in row.iter().enumerate() {
            want.insert((level as u8, index as u64), h(hash));
        }
    }
    assert_eq!(store.nodes, want);
}

#[test]
fn vector_inclusion_proofs() {
    let leaves = vector_leaves();
    let (_, store) = build(&leaves);
    for (index, size, proof) in VECTOR_INCLUSION {
        let proof = hs(proof);
        assert_eq!(
            inclusion_proof(&store, index, size),
            Ok(proof.clone()),
            "{index}/{size}"
        );
        let root = h(VECTOR_ROOTS[size as usize]);
        assert_eq!(
            verify_inclusion(&leaves[index as usize], index, size, &proof, &root),
            Ok(())
        );
    }
}

#[test]
fn vector_consistency_proofs() {
    let (_, store) = build(&vector_leaves());
    for (old, new, proof) in VECTOR_CONSISTENCY {
        let proof = hs(proof);
        assert_eq!(
            consistency_proof(&store, old, new),
            Ok(proof.clone()),
            "{old}->{new}"
        );
        let (r1, r2) = (h(VECTOR_ROOTS[old as usize]), h(VECTOR_ROOTS[new as usize]));
        assert_eq!(
            verify_consistency(old, new, &r1, &r2, &proof),
            Ok(()),
            "{old}->{new}"
        );
    }
}

/// The trivial consistency cases, as in the reference implementations' verifier tables.
#[test]
fn trivial_consistency_cases() {
    let empty = Sha256Hash::digest(b"");
    let (a, b) = (Sha256Hash([0xaa; 32]), Sha256Hash([0xbb; 32]));
    // Always consistent: the empty tree with anything, a tree with itself.
    assert_eq!(verify_consistency(0, 0, &empty, &empty, &[]), Ok(()));
    assert_eq!(verify_consistency(0, 5, &empty, &b, &[]), Ok(()));
    assert_eq!(verify_consistency(5, 5, &a, &a, &[]), Ok(()));
    // Equal sizes with different roots.
    assert_eq!(
        verify_consistency(5, 5, &a, &b, &[]),
        Err(VerifyError::NewRootMismatch {
            computed: a,
            expected: b
        })
    );
    // The empty tree has one root.
    assert_eq!(
        verify_consistency(0, 5, &a, &b, &[]),
        Err(VerifyError::OldRootMismatch {
            computed: empty,
            expected: a
        })
    );
    assert_eq!(
        verify_consistency(0, 0, &empty, &b, &[]),
        Err(VerifyError::NewRootMismatch {
            computed: empty,
            expected: b
        })
    );
    // Nothing to prove, yet a proof.
    for (old, new) in [(0, 0), (0, 1), (1, 1), (7, 7)] {
        assert_eq!(
            verify_consistency(old, new, &empty, &empty, &[empty]),
            Err(VerifyError::ProofNotEmpty {
                old_size: old,
                new_size: new,
                len: 1
            })
        );
    }
    // Time travel.
    for (old, new) in [(1, 0), (2, 1)] {
        assert_eq!(
            verify_consistency(old, new, &a, &b, &[]),
            Err(VerifyError::OldSizeExceedsNewSize {
                old_size: old,
                new_size: new
            })
        );
    }
    // 0 < old < new with an empty proof (RFC 9162 §2.1.4.2 step 1).
    assert_eq!(
        verify_consistency(1, 2, &a, &b, &[]),
        Err(VerifyError::ProofTooShort { len: 0, needed: 1 })
    );
    assert_eq!(
        verify_consistency(3, 8, &a, &b, &[]),
        Err(VerifyError::ProofTooShort { len: 0, needed: 4 })
    );
}

#[test]
fn inclusion_argument_errors() {
    let x = Sha256Hash([1; 32]);
    for (index, size) in [(0, 0), (1, 0), (1, 1), (2, 1), (u64::MAX, u64::MAX)] {
        assert_eq!(
            verify_inclusion(&x, index, size, &[], &x),
            Err(VerifyError::IndexOutOfRange { index, size })
        );
    }
}

/// A padded proof must not verify, however long: the walk stops at the root.
#[test]
fn padded_proofs_are_rejected() {
    let leaves = vector_leaves();
    let (_, store) = build(&leaves);
    let root = h(VECTOR_ROOTS[8]);
    let mut proof = inclusion_proof(&store, 5, 8).expect("stored");
    proof.extend(std::iter::repeat_n(root, 10_000));
    assert_eq!(
        verify_inclusion(&leaves[5], 5, 8, &proof, &root),
        Err(VerifyError::ProofTooLong {
            len: 10_003,
            needed: 3
        })
    );
}

/// Every (index, size) and (old, new) up to 64 leaves: proofs equal the RFC's recursive
/// definitions, verify, and the stored nodes are the RFC's subtree hashes.
#[test]
fn exhaustive_small_trees_match_the_recursive_definitions() {
    let leaves = test_leaves(64);
    let (_, store) = build(&leaves);
    for ((level, index), hash) in &store.nodes {
        let (lo, hi) = ((*index as usize) << level, (*index as usize + 1) << level);
        assert_eq!(*hash, ref_mth(&leaves[lo..hi]), "node ({level}, {index})");
    }
    for size in 1..=64usize {
        let d = &leaves[..size];
        let root = ref_mth(d);
        for index in 0..size {
            let proof = inclusion_proof(&store, index as u64, size as u64).expect("stored");
            assert_eq!(proof, ref_path(index, d), "PATH({index}, D[{size}])");
            assert_eq!(
                verify_inclusion(&d[index], index as u64, size as u64, &proof, &root),
                Ok(())
            );
        }
        for old in 1..size {
            let proof = consistency_proof(&store, old as u64, size as u64).expect("stored");
            assert_eq!(proof, ref_subproof(old, d, true), "PROOF({old}, D[{size}])");
            let old_root = ref_mth(&d[..old]);
            assert_eq!(
                verify_consistency(old as u64, size as u64, &old_root, &root, &proof),
                Ok(())
            );
        }
    }
}

#[test]
fn source_errors_propagate() {
    let leaves = test_leaves(10);
    let (_, mut store) = build(&leaves);
    // Drop the node every proof for leaf 9 in a tree of 10 needs: the left half (3, 0).
    store.nodes.remove(&(3, 0));
    assert_eq!(
        inclusion_proof(&store, 9, 10),
        Err(ProofError::Source(NotStored(3, 0)))
    );
    assert_eq!(
        consistency_proof(&store, 9, 10),
        Err(ProofError::Source(NotStored(3, 0)))
    );
    assert_eq!(
        subtree_hash(&store, 0, 10),
        Err(ProofError::Source(NotStored(3, 0)))
    );
    assert_eq!(
        Frontier::load(&store, 10),
        Err(ProofError::Source(NotStored(3, 0)))
    );
    // Nodes beyond the stored tree are missing too.
    let (_, full) = build(&leaves);
    assert_eq!(
        inclusion_proof(&full, 9, 11),
        Err(ProofError::Source(NotStored(0, 10)))
    );
    assert_eq!(
        consistency_proof(&full, 10, 12),
        Err(ProofError::Source(NotStored(1, 5)))
    );
    assert_eq!(
        Frontier::load(&full, 11),
        Err(ProofError::Source(NotStored(0, 10)))
    );
}

// ---------------------------------------------------------------------------------------------
// Property tests.

/// What a verifier must answer when the true proof is checked under other parameters.
#[derive(Debug)]
enum Expect {
    /// The verifier's computation is unchanged, so the proof verifies (proofs do not bind sizes).
    Verifies,
    /// Exactly this error.
    Error(VerifyError),
    /// The walk takes the proof's length but combines differently: some root differs from the
    /// one given.
    RootMismatch,
}

/// Expectation for `verify_inclusion(leaf, index, size, true_proof, true_root)`.
fn expected_inclusion(index: u64, size: u64, true_sides: &[bool], len: usize) -> Expect {
    if index >= size {
        return Expect::Error(VerifyError::IndexOutOfRange { index, size });
    }
    let sides = path_sides(index, size);
    let needed = sides.len();
    if len > needed {
        Expect::Error(VerifyError::ProofTooLong { len, needed })
    } else if len < needed {
        Expect::Error(VerifyError::ProofTooShort { len, needed })
    } else if sides == true_sides {
        Expect::Verifies
    } else {
        Expect::RootMismatch
    }
}

/// Expectation for `verify_consistency(old, new, true_old_root, true_new_root, true_proof)`.
fn expected_consistency(old: u64, new: u64, true_shape: &[Part], len: usize) -> Expect {
    if old > new {
        return Expect::Error(VerifyError::OldSizeExceedsNewSize {
            old_size: old,
            new_size: new,
        });
    }
    if old == 0 || old == new {
        return Expect::Error(VerifyError::ProofNotEmpty {
            old_size: old,
            new_size: new,
            len,
        });
    }
    let shape = subproof_shape(old, new, true);
    let needed = shape.len();
    if len > needed {
        Expect::Error(VerifyError::ProofTooLong { len, needed })
    } else if len < needed {
        Expect::Error(VerifyError::ProofTooShort { len, needed })
    } else if shape == true_shape {
        Expect::Verifies
    } else {
        Expect::RootMismatch
    }
}

fn check_inclusion_alteration(
    leaf: &Sha256Hash,
    (index, size): (u64, u64),
    proof: &[Sha256Hash],
    root: &Sha256Hash,
    true_sides: &[bool],
) -> Result<(), TestCaseError> {
    let got = verify_inclusion(leaf, index, size, proof, root);
    match expected_inclusion(index, size, true_sides, proof.len()) {
        Expect::Verifies => prop_assert_eq!(got, Ok(()), "{}/{}", index, size),
        Expect::Error(want) => prop_assert_eq!(got, Err(want), "{}/{}", index, size),
        Expect::RootMismatch => prop_assert!(
            matches!(got, Err(VerifyError::RootMismatch { expected, computed }) if expected == *root && computed != *root),
            "{}/{}: {:?}",
            index,
            size,
            got
        ),
    }
    Ok(())
}

fn check_consistency_alteration(
    (old, new): (u64, u64),
    roots: (&Sha256Hash, &Sha256Hash),
    proof: &[Sha256Hash],
    true_shape: &[Part],
) -> Result<(), TestCaseError> {
    let got = verify_consistency(old, new, roots.0, roots.1, proof);
    match expected_consistency(old, new, true_shape, proof.len()) {
        Expect::Verifies => prop_assert_eq!(got, Ok(()), "{}->{}", old, new),
        Expect::Error(want) => prop_assert_eq!(got, Err(want), "{}->{}", old, new),
        Expect::RootMismatch => prop_assert!(
            matches!(got, Err(VerifyError::OldRootMismatch { expected, computed }) if expected == *roots.0 && computed != expected)
                || matches!(got, Err(VerifyError::NewRootMismatch { expected, computed }) if expected == *roots.1 && computed != expected),
            "{}->{}: {:?}",
            old,
            new,
            got
        ),
    }
    Ok(())
}

fn size_and_two_points() -> impl Strategy<Value = (u64, u64, u64)> {
    (1u64..2000).prop_flat_map(|size| (Just(size), 0..size, 0..=size))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Inclusion proofs verify; every altered proof or parameter fails with the precise error.
    #[test]
    fn inclusion_round_trip_and_alterations(
        (size, index, _) in size_and_two_points(),
        pick in any::<prop::sample::Index>(),
        junk in any::<[u8; 32]>(),
    ) {
        let leaves = test_leaves(size);
        let (frontier, store) = build(&leaves);
        let root = frontier.root();
        let leaf = leaves[index as usize];
        let proof = inclusion_proof(&store, index, size).expect("all nodes stored");
        prop_assert_eq!(&proof, &ref_path(index as usize, &leaves));
        prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
        let len = proof.len();

        // Each single hash changed.
        for i in 0..len {
            let mut bad = proof.clone();
            bad[i] = flip(&bad[i]);
            let got = verify_inclusion(&leaf, index, size, &bad, &root);
            let ok = matches!(got, Err(VerifyError::RootMismatch { expected, computed }) if expected == root && computed != root);
            prop_assert!(ok, "proof[{}] changed: {:?}", i, got);
        }
        // A hash appended, or inserted anywhere.
        let junk = Sha256Hash(junk);
        for at in [len, pick.index(len + 1)] {
            let mut bad = proof.clone();
            bad.insert(at, junk);
            prop_assert_eq!(
                verify_inclusion(&leaf, index, size, &bad, &root),
                Err(VerifyError::ProofTooLong { len: len + 1, needed: len })
            );
        }
        // A hash removed, last or anywhere.
        if len > 0 {
            for at in [len - 1, pick.index(len)] {
                let mut bad = proof.clone();
                bad.remove(at);
                prop_assert_eq!(
                    verify_inclusion(&leaf, index, size, &bad, &root),
                    Err(VerifyError::ProofTooShort { len: len - 1, needed: len })
                );
            }
        }
        // Wrong leaf, wrong root.
        let got = verify_inclusion(&flip(&leaf), index, size, &proof, &root);
        let ok = matches!(got, Err(VerifyError::RootMismatch { expected, computed }) if expected == root && computed != root);
        prop_assert!(ok, "wrong leaf: {:?}", got);
        prop_assert_eq!(
            verify_inclusion(&leaf, index, size, &proof, &flip(&root)),
            Err(VerifyError::RootMismatch { computed: root, expected: flip(&root) })
        );
        // Wrong index or size: the error the RFC walk must give, or success exactly when the
        // verifier's computation is unchanged (a proof does not bind the size).
        let true_sides = path_sides(index, size);
        let mut others = vec![(index ^ 1, size), (index ^ 2, size), (index, size + 1)];
        if index > 0 { others.push((index - 1, size)); }
        if index + 1 < size { others.push((index + 1, size)); }
        if size > 1 { others.push((index, size - 1)); }
        for (i2, s2) in others {
            check_inclusion_alteration(&leaf, (i2, s2), &proof, &root, &true_sides)?;
            if i2 != index {
                prop_assert!(verify_inclusion(&leaf, i2, s2, &proof, &root).is_err(), "leaf {} verified at {}", index, i2);
            }
        }
    }

    /// Consistency proofs verify; every altered proof or parameter fails with the precise error.
    #[test]
    fn consistency_round_trip_and_alterations(
        (size, _, old) in size_and_two_points(),
        pick in any::<prop::sample::Index>(),
        junk in any::<[u8; 32]>(),
    ) {
        let leaves = test_leaves(size);
        let (frontier, store) = build(&leaves);
        let new_root = frontier.root();
        let old_root = root_from_leaf_hashes(&leaves[..old as usize]);
        let proof = consistency_proof(&store, old, size).expect("all nodes stored");
        if old == 0 || old == size {
            prop_assert!(proof.is_empty());
        } else {
            prop_assert_eq!(&proof, &ref_subproof(old as usize, &leaves, true));
        }
        prop_assert_eq!(verify_consistency(old, size, &old_root, &new_root, &proof), Ok(()));
        if old == 0 || old == size {
            return Ok(()); // the trivial cases have their own test
        }
        let len = proof.len();
        let shape = subproof_shape(old, size, true);
        prop_assert_eq!(shape.len(), len);

        // Each single hash changed: a hash of the old tree breaks the old root, a hash only of
        // the new tree breaks the new root.
        for i in 0..len {
            let mut bad = proof.clone();
            bad[i] = flip(&bad[i]);
            let got = verify_consistency(old, size, &old_root, &new_root, &bad);
            let ok = match shape[i] {
                Part::Seed | Part::Left => matches!(got,
                    Err(VerifyError::OldRootMismatch { expected, computed }) if expected == old_root && computed != old_root),
                Part::Right => matches!(got,
                    Err(VerifyError::NewRootMismatch { expected, computed }) if expected == new_root && computed != new_root),
            };
            prop_assert!(ok, "proof[{}] ({:?}) changed: {:?}", i, shape[i], got);
        }
        // A hash appended or inserted; a hash removed.
        let junk = Sha256Hash(junk);
        for at in [len, pick.index(len + 1)] {
            let mut bad = proof.clone();
            bad.insert(at, junk);
            prop_assert_eq!(
                verify_consistency(old, size, &old_root, &new_root, &bad),
                Err(VerifyError::ProofTooLong { len: len + 1, needed: len })
            );
        }
        for at in [len - 1, pick.index(len)] {
            let mut bad = proof.clone();
            bad.remove(at);
            prop_assert_eq!(
                verify_consistency(old, size, &old_root, &new_root, &bad),
                Err(VerifyError::ProofTooShort { len: len - 1, needed: len })
            );
        }
        // Wrong roots. With a power-of-two old size the old root is the walk's seed, so a wrong
        // one shows in the new root (RFC 9162 §2.1.4.2 step 2).
        let got = verify_consistency(old, size, &flip(&old_root), &new_root, &proof);
        if old.is_power_of_two() {
            let ok = matches!(got, Err(VerifyError::NewRootMismatch { expected, computed }) if expected == new_root && computed != new_root);
            prop_assert!(ok, "wrong power-of-two old root: {:?}", got);
        } else {
            prop_assert_eq!(got, Err(VerifyError::OldRootMismatch { computed: old_root, expected: flip(&old_root) }));
        }
        prop_assert_eq!(
            verify_consistency(old, size, &old_root, &flip(&new_root), &proof),
            Err(VerifyError::NewRootMismatch { computed: new_root, expected: flip(&new_root) })
        );
        prop_assert!(verify_consistency(old, size, &new_root, &old_root, &proof).is_err());
        // Wrong sizes, both ways.
        for (o2, n2) in [(old - 1, size), (old + 1, size), (old, size - 1), (old, size + 1)] {
            check_consistency_alteration((o2, n2), (&old_root, &new_root), &proof, &shape)?;
        }
    }

    /// The frontier rebuilt from stored nodes equals the one built by appending, and stored
    /// subtree hashes equal the hashes of the leaf slices.
    #[test]
    fn load_and_subtree_hash_agree_with_appending(
        (size, a, b) in size_and_two_points(),
        level in 0u32..12,
    ) {
        let leaves = test_leaves(size);
        let (_, store) = build(&leaves);
        let mut appended = Frontier::new();
        for leaf in &leaves[..b as usize] {
            appended.push(*leaf);
        }
        prop_assert_eq!(Frontier::load(&store, b), Ok(appended.clone()));
        prop_assert_eq!(appended.root(), root_from_leaf_hashes(&leaves[..b as usize]));
        prop_assert_eq!(appended.hashes().len(), b.count_ones() as usize);

        // An arbitrary range: aligned ranges hash like their slice, others are refused.
        let (start, end) = (a.min(b), a.max(b));
        let len = end - start;
        let aligned = len == 0 || start % (1u64 << (63 - len.leading_zeros())) == 0;
        let got = subtree_hash(&store, start, end);
        if aligned {
            prop_assert_eq!(got, Ok(root_from_leaf_hashes(&leaves[start as usize..end as usize])));
        } else {
            prop_assert_eq!(got, Err(ProofError::UnalignedRange { start, end }));
        }
        // A range built to be aligned: a multiple of 2^level, at most 2^(level+1) - 1 long.
        let unit = 1u64 << level;
        let start = (a / unit) * unit;
        let end = (start + unit + (b % unit)).min(size);
        prop_assert_eq!(
            subtree_hash(&store, start, end),
            Ok(root_from_leaf_hashes(&leaves[start as usize..end as usize]))
        );
        if start < end {
            prop_assert_eq!(subtree_hash(&store, end, start), Err(ProofError::InvalidRange { start: end, end: start }));
        }
    }
}

//! The audit ledger's Merkle tree: the tree of Certificate Transparency (RFC 9162
//! docs/lifecycle.md), over the digests of sealed audit events.
//!
//! A tree of `n` leaves has the root `MTH(D[0:n])` where a leaf hashes as
//! `SHA-256(0x00 || data)`, an inner node as `SHA-256(0x01 || left || right)`, and the
//! split of `D[a:b]` falls at the largest power of two below `b - a`. The tree only
//! grows, so every *perfect* subtree (`2^level` leaves starting at a multiple of
//! `2^level`, a [`Node`]) is final once its last leaf is in, and the store keeps
//! exactly those. Everything else follows from them:
//!
//! - the root of a tree of any size folds its [`frontier`] (the perfect subtrees its
//!   size decomposes into, largest first);
//! - [`Frontier`] adds leaves and says which perfect nodes each addition completes;
//! - [`inclusion_path`] names the subtrees whose hashes prove a leaf is in a tree of a
//!   given size, [`range_nodes`] the stored nodes each of them is made of, and
//!   [`verify_inclusion`] checks such a proof against a root (RFC 9162 §2.1.3.2).

use sha2::{Digest as _, Sha256};

/// A SHA-256 hash: of a leaf, a node or a whole tree.
pub type Hash = [u8; 32];

/// The hash of a leaf whose data is `data` (for the ledger: an event's 32-byte digest).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an inner node over its two children.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// A perfect subtree: the `2^level` leaves from `index * 2^level`. Level 0 is a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node {
    /// The height of the subtree (0 for a leaf).
    pub level: u8,
    /// Its position among the subtrees of its level.
    pub index: u64,
}

impl Node {
    /// The first leaf the subtree covers.
    pub fn start(self) -> u64 {
        self.index << self.level
    }

    /// How many leaves it covers.
    pub fn width(self) -> u64 {
        1 << self.level
    }
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The perfect subtrees that make up `[start, end)`, largest (leftmost) first. `start`
/// must be aligned as the tree's own splits align it: at a multiple of a power of two
/// at least `end - start` (true of every subtree a tree or an inclusion path names).
pub fn range_nodes(start: u64, end: u64) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut at = start;
    while at < end {
        // The largest power of two that fits, starting at `at`.
        let level = 63 - (end - at).leading_zeros();
        let node = Node {
            level: level as u8,
            index: at >> level,
        };
        debug_assert_eq!(node.start(), at, "range [{start}, {end}) is not aligned");
        nodes.push(node);
        at += node.width();
    }
    nodes
}

/// The perfect subtrees a tree of `size` leaves decomposes into, largest first.
pub fn frontier(size: u64) -> Vec<Node> {
    range_nodes(0, size)
}

/// The hash of `[start, end)` from the hashes of its [`range_nodes`], in that order:
/// `MTH` folds them from the right.
pub fn fold(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(
        rest.iter()
            .rev()
            .fold(*last, |right, left| node_hash(left, &right)),
    )
}

/// The subtrees whose hashes, in this order, prove leaf `index` is in a tree of
/// `size` leaves: `PATH(index, D[0:size])` of RFC 9162 §2.1.3.1, from the leaf up.
/// Each is a range `[start, end)`; its hash is the [`fold`] of its [`range_nodes`].
pub fn inclusion_path(index: u64, size: u64) -> Vec<(u64, u64)> {
    assert!(index < size, "leaf {index} is not in a tree of {size}");
    let mut path = Vec::new();
    // Walk down from the root, collecting each level's sibling; then reverse.
    let (mut start, mut n, mut m) = (0u64, size, index);
    while n > 1 {
        let k = split(n);
        if m < k {
            path.push((start + k, start + n));
            n = k;
        } else {
            path.push((start, start + k));
            start += k;
            m -= k;
            n -= k;
        }
    }
    path.reverse();
    path
}

/// Whether `proof` shows a leaf hashing to `leaf` at `index` in the tree of `size`
/// leaves whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && &r == root
}

/// The right edge of a growing tree: its size and the hashes of its [`frontier`].
/// [`Frontier::push`] adds a leaf and returns the perfect nodes it completes, which is
/// what the store appends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// The frontier's nodes and hashes, largest first.
    nodes: Vec<(Node, Hash)>,
}

impl Frontier {
    /// The frontier of a tree of `size` leaves, from the hashes of [`frontier`]`(size)`
    /// in that order. `None` if there are not exactly as many hashes as nodes.
    pub fn resume(size: u64, hashes: &[Hash]) -> Option<Frontier> {
        let nodes = frontier(size);
        (nodes.len() == hashes.len()).then(|| Frontier {
            size,
            nodes: nodes.into_iter().zip(hashes.iter().copied()).collect(),
        })
    }

    /// How many leaves the tree has.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree's root; `None` while it is empty.
    pub fn root(&self) -> Option<Hash> {
        fold(&self.nodes.iter().map(|(_, h)| *h).collect::<Vec<_>>())
    }

    /// Adds a leaf hashing to `leaf` and returns the nodes it completes, from the leaf
    /// itself (level 0) up.
    pub fn push(&mut self, leaf: Hash) -> Vec<(Node, Hash)> {
        let mut node = Node {
            level: 0,
            index: self.size,
        };
        let mut hash = leaf;
        let mut completed = vec![(node, hash)];
        // Merge with the frontier's smallest subtree while it has the same height.
        while let Some(&(left, left_hash)) = self.nodes.last() {
            if left.level != node.level {
                break;
            }
            self.nodes.pop();
            node = Node {
                level: node.level + 1,
                index: left.index / 2,
            };
            hash = node_hash(&left_hash, &hash);
            completed.push((node, hash));
        }
        self.nodes.push((node, hash));
        self.size += 1;
        completed
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// `MTH(D[a:b])` by the definition.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// Builds a tree of `n` leaves and keeps every completed node, as the store does.
    fn build(n: u64) -> (Frontier, HashMap<Node, Hash>) {
        let mut tree = Frontier::default();
        let mut stored = HashMap::new();
        for leaf in leaves(n) {
            for (node, hash) in tree.push(leaf) {
                assert!(
                    stored.insert(node, hash).is_none(),
                    "{node:?} completed twice"
                );
            }
        }
        (tree, stored)
    }

    fn proof(stored: &HashMap<Node, Hash>, index: u64, size: u64) -> Vec<Hash> {
        inclusion_path(index, size)
            .into_iter()
            .map(|(a, b)| {
                let hashes: Vec<Hash> = range_nodes(a, b).iter().map(|n| stored[n]).collect();
                fold(&hashes).unwrap()
            })
            .collect()
    }

    #[test]
    fn the_growing_root_is_the_definitions_root_at_every_size() {
        let all = leaves(70);
        let mut tree = Frontier::default();
        for (n, leaf) in all.iter().enumerate() {
            tree.push(*leaf);
            assert_eq!(tree.root(), Some(mth(&all[..=n])), "size {}", n + 1);
            let resumed = Frontier::resume(
                tree.size(),
                &tree.nodes.iter().map(|(_, h)| *h).collect::<Vec<_>>(),
            )
            .unwrap();
            assert_eq!(resumed, tree);
        }
    }

    #[test]
    fn every_leaf_of_every_size_has_a_proof_from_stored_nodes() {
        let (_, stored) = build(70);
        let all = leaves(70);
        for size in 1..=70u64 {
            let root = mth(&all[..size as usize]);
            for index in 0..size {
                let p = proof(&stored, index, size);
                let leaf = all[index as usize];
                assert!(
                    verify_inclusion(index, size, &leaf, &p, &root),
                    "{index}/{size}"
                );
                // Another leaf, another position, a changed step or a missing one fail.
                assert!(!verify_inclusion(index, size, &leaf_hash(b"x"), &p, &root));
                if size > 1 {
                    let other = (index + 1) % size;
                    assert!(!verify_inclusion(other, size, &leaf, &p, &root));
                    let mut changed = p.clone();
                    changed[0][0] ^= 1;
                    assert!(!verify_inclusion(index, size, &leaf, &changed, &root));
                    assert!(!verify_inclusion(index, size, &leaf, &p[1..], &root));
                }
                assert!(
                    !verify_inclusion(index, index, &leaf, &p, &root),
                    "outside the tree"
                );
            }
        }
    }

    #[test]
    fn the_frontier_is_the_binary_decomposition_of_the_size() {
        assert_eq!(frontier(0), vec![]);
        assert_eq!(frontier(1), vec![Node { level: 0, index: 0 }]);
        assert_eq!(
            frontier(13),
            vec![
                Node { level: 3, index: 0 },
                Node { level: 2, index: 2 },
                Node {
                    level: 0,
                    index: 12
                },
            ]
        );
        assert_eq!(Frontier::resume(13, &[[0; 32]; 2]), None);
    }
}

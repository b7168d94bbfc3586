//! Leaf authentication: which stored leaves a holder of the ledger's key appended.
//!
//! A signed checkpoint vouches for the leaves it covers, but leaves appended since the last
//! checkpoint are vouched for by nothing, and whoever can write the database could add one that
//! the next checkpoint would then sign. So every leaf is stored with a MAC:
//!
//! ```text
//! mac = HMAC-SHA-256(leaf key, "warden/ledger/leaf-mac/v1" || u64be(index) || leaf hash)
//! leaf key = HMAC-SHA-256(signing key seed, "warden/ledger/leaf-key/v1")
//! ```
//!
//! Design choice: a MAC over (index, leaf hash) rather than a chain over the previous MAC. The
//! Merkle tree already chains the leaves (their order, and that none is missing, is what the
//! tree and its checkpoints check); the MAC only has to answer "did a key holder write these
//! bytes at this index", and binding the index stops a genuine leaf from being copied to the
//! tail. Every legitimate writer (the gateway, `warden audit redact`, `warden tools pin`) holds
//! the signing key, so one key derived from it covers them all, and a MAC costs a microsecond
//! where a signature per leaf would cost fifty. The price: only a key holder can check MACs; an
//! auditor with the public key alone trusts what the checkpoints cover.

use crate::hash::Hash;
use crate::note::NoteSigner;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// The label the leaf key is derived under.
const KEY_LABEL: &str = "warden/ledger/leaf-key/v1";
/// The domain separator in front of every MAC input.
const MAC_LABEL: &[u8] = b"warden/ledger/leaf-mac/v1";

/// HMAC-SHA-256 keyed by a 32-byte secret. HMAC pads a key shorter than its block with zeros;
/// padding it here reaches the same MAC through the constructor that cannot fail.
pub(crate) fn hmac_sha256(secret: &[u8; 32]) -> Hmac<Sha256> {
    let mut block = [0u8; 64];
    for (b, s) in block.iter_mut().zip(secret) {
        *b = *s;
    }
    <Hmac<Sha256> as KeyInit>::new(&block.into())
}

/// A leaf's MAC as stored beside it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LeafMac(pub [u8; 32]);

impl LeafMac {
    /// A MAC read back from storage; `None` when it is not 32 bytes.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// The stored bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for LeafMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeafMac({})", hex::encode(self.0))
    }
}

/// The secret that makes and checks leaf MACs. `Debug` never shows it.
#[derive(Clone)]
pub struct LeafKey(Hmac<Sha256>);

impl fmt::Debug for LeafKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LeafKey(<redacted>)")
    }
}

impl LeafKey {
    /// The leaf key of the ledger signed by `signer`.
    #[must_use]
    pub fn derive(signer: &NoteSigner) -> Self {
        let secret = signer.derive_secret(KEY_LABEL);
        Self(hmac_sha256(&secret))
    }

    fn keyed(&self, index: u64, leaf_hash: &Hash) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(MAC_LABEL);
        mac.update(&index.to_be_bytes());
        mac.update(leaf_hash.as_bytes());
        mac
    }

    /// The MAC of the leaf with hash `leaf_hash` stored at `index`.
    #[must_use]
    pub fn mac(&self, index: u64, leaf_hash: &Hash) -> LeafMac {
        LeafMac(self.keyed(index, leaf_hash).finalize().into_bytes().into())
    }

    /// Whether `mac` is the MAC of that leaf at that index (compared in constant time).
    #[must_use]
    pub fn verify(&self, index: u64, leaf_hash: &Hash, mac: &LeafMac) -> bool {
        self.keyed(index, leaf_hash).verify_slice(&mac.0).is_ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn a_mac_binds_key_index_and_leaf() {
        let signer = NoteSigner::generate("warden.test/ledger", &mut rand::rngs::OsRng).unwrap();
        let other = NoteSigner::generate("warden.test/ledger", &mut rand::rngs::OsRng).unwrap();
        let key = LeafKey::derive(&signer);
        let hash = leaf_hash(b"leaf");
        let mac = key.mac(7, &hash);
        assert!(key.verify(7, &hash, &mac));
        assert!(
            LeafKey::derive(&signer).verify(7, &hash, &mac),
            "derived again"
        );
        assert!(!key.verify(8, &hash, &mac), "another index");
        assert!(!key.verify(7, &leaf_hash(b"leaf2"), &mac), "another leaf");
        assert!(
            !LeafKey::derive(&other).verify(7, &hash, &mac),
            "another key"
        );
        let mut flipped = mac;
        flipped.0[0] ^= 1;
        assert!(!key.verify(7, &hash, &flipped));
        assert_eq!(format!("{key:?}"), "LeafKey(<redacted>)");
    }
}

//! The hash index in the data bucket that finds a photo reused under another listing.
//!
//! Exact copies: `hashes/sha256/{sha256}/{listing_id}/{name}`. Near copies (recompressed, resized):
//! the 64-bit perceptual hash is split into four 16-bit chunks and the photo is entered under each,
//! `hashes/dhash/{i}/{chunk}/{hash}/{listing_id}/{name}`. Two hashes within Hamming distance 3
//! share at least one chunk (pigeonhole), so four prefix listings find every candidate, and the
//! distance is checked on the full hash read back from the key. No body is read.

use std::collections::BTreeSet;

use platform::store::{ObjectStore, PutOptions, StoreError};

use crate::records::DuplicateHit;

/// Chunks the perceptual hash is split into; a distance of `CHUNKS - 1` is always found.
pub const CHUNKS: u32 = 4;
/// The largest Hamming distance the index can guarantee to find.
pub const MAX_FINDABLE_DISTANCE: u32 = CHUNKS - 1;

fn chunk(hash: u64, i: u32) -> u16 {
    (hash >> (16 * i)) as u16
}

fn sha_prefix(sha256: &str) -> String {
    format!("hashes/sha256/{sha256}/")
}

fn dhash_prefix(hash: u64, i: u32) -> String {
    format!("hashes/dhash/{i}/{:04x}/", chunk(hash, i))
}

/// Reads `{hash}/{listing_id}/{name}` (what follows a dhash prefix).
fn parse_dhash_entry(rest: &str) -> Option<(u64, &str, &str)> {
    let mut parts = rest.splitn(3, '/');
    let hash = u64::from_str_radix(parts.next()?, 16).ok()?;
    let listing = parts.next().filter(|s| !s.is_empty())?;
    let name = parts.next().filter(|s| !s.is_empty())?;
    Some((hash, listing, name))
}

/// The index, in one bucket.
pub struct HashIndex<'a> {
    pub store: &'a dyn ObjectStore,
    pub bucket: &'a str,
    /// At most [`MAX_FINDABLE_DISTANCE`].
    pub max_distance: u32,
}

impl HashIndex<'_> {
    /// Photos of other listings with the same bytes or a perceptual hash within `max_distance`.
    pub async fn find(
        &self,
        listing_id: &str,
        sha256: &str,
        dhash: u64,
    ) -> Result<Vec<DuplicateHit>, StoreError> {
        let mut hits = BTreeSet::new();
        let prefix = sha_prefix(sha256);
        for entry in self.store.list(self.bucket, &prefix).await? {
            let rest = entry.key.strip_prefix(&prefix).unwrap_or_default();
            if let Some((listing, name)) = rest.split_once('/')
                && listing != listing_id
            {
                hits.insert(DuplicateHit {
                    listing_id: listing.into(),
                    name: name.into(),
                    distance: 0,
                    exact: true,
                });
            }
        }
        for i in 0..CHUNKS {
            let prefix = dhash_prefix(dhash, i);
            for entry in self.store.list(self.bucket, &prefix).await? {
                let rest = entry.key.strip_prefix(&prefix).unwrap_or_default();
                let Some((other, listing, name)) = parse_dhash_entry(rest) else {
                    continue;
                };
                let distance = (other ^ dhash).count_ones();
                let known = hits
                    .iter()
                    .any(|h| h.listing_id == listing && h.name == name);
                if listing != listing_id && distance <= self.max_distance && !known {
                    hits.insert(DuplicateHit {
                        listing_id: listing.into(),
                        name: name.into(),
                        distance,
                        exact: false,
                    });
                }
            }
        }
        Ok(hits.into_iter().collect())
    }

    /// Enters a photo in the index (idempotent: the same entries are written again on a retry).
    pub async fn record(
        &self,
        listing_id: &str,
        name: &str,
        sha256: &str,
        dhash: u64,
    ) -> Result<(), StoreError> {
        let mut keys = vec![format!("{}{listing_id}/{name}", sha_prefix(sha256))];
        keys.extend(
            (0..CHUNKS)
                .map(|i| format!("{}{dhash:016x}/{listing_id}/{name}", dhash_prefix(dhash, i))),
        );
        for key in keys {
            self.store
                .put(self.bucket, &key, Vec::new(), PutOptions::default())
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::store::LocalStore;

    #[test]
    fn entries_parse_back() {
        assert_eq!(
            parse_dhash_entry("00ff00ff00ff00ff/L-1/a b.jpg"),
            Some((0x00ff00ff00ff00ff, "L-1", "a b.jpg"))
        );
        assert_eq!(parse_dhash_entry("zz/L/a"), None);
        assert_eq!(parse_dhash_entry("01/L"), None);
    }

    #[tokio::test]
    async fn finds_exact_and_near_copies_under_other_listings_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        let index = HashIndex {
            store: &store,
            bucket: "data",
            max_distance: 3,
        };
        let hash = 0x1234_5678_9abc_def0_u64;
        index.record("L-1", "front.jpg", "aa", hash).await.unwrap();
        // Same listing: never a duplicate of itself.
        assert!(index.find("L-1", "aa", hash).await.unwrap().is_empty());
        // Exact bytes under another listing.
        let exact = index.find("L-2", "aa", hash).await.unwrap();
        assert_eq!(exact.len(), 1);
        assert!(exact[0].exact);
        // Three bits flipped, one in each of three chunks: still found by the fourth chunk.
        let near = hash ^ (1 | 1 << 17 | 1 << 34);
        let found = index.find("L-2", "bb", near).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].distance, found[0].exact), (3, false));
        // Four bits flipped: beyond the threshold.
        let far = near ^ (1 << 51);
        assert!(index.find("L-2", "bb", far).await.unwrap().is_empty());
    }
}

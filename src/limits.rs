//! The limits every door into a store shares: capacity bounds, key and value sizes. Each
//! value has its home here; the engine's builder, the tiered cache and the CLI read it from
//! here, and each check is written once.

use crate::error::{Error, Result};

/// Capacity of a new store when none is given: 10 GiB.
pub const DEFAULT_CAPACITY: u64 = 10 << 30;

/// Smallest capacity a store accepts: 1 MiB.
pub const MIN_CAPACITY: u64 = 1 << 20;

/// Longest key accepted by default, in bytes: 4 KiB.
pub const DEFAULT_MAX_KEY_LEN: usize = 4096;

/// Longest key any store can be configured to accept, in bytes (a record stores the key
/// length in 16 bits).
pub const MAX_KEY_LEN_LIMIT: usize = u16::MAX as usize;

/// Largest value accepted by default, in bytes: 64 MiB.
pub const DEFAULT_MAX_VALUE_SIZE: usize = 64 << 20;

/// Most tags one value may carry.
pub const MAX_TAGS: usize = 64;
/// Longest tag name in bytes.
pub const MAX_TAG_LEN: usize = 256;

/// Refuses more tags than one value may carry, and a tag that is empty or too long.
pub fn check_tags<S: AsRef<str>>(tags: &[S]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(Error::InvalidInput(format!(
            "{} tags on one value; the limit is {MAX_TAGS}",
            tags.len()
        )));
    }
    for tag in tags {
        let tag = tag.as_ref();
        if tag.is_empty() || tag.len() > MAX_TAG_LEN {
            return Err(Error::InvalidInput(format!(
                "tag {tag:?} must be 1 to {MAX_TAG_LEN} bytes long"
            )));
        }
    }
    Ok(())
}

/// Refuses an empty key or one longer than `max_len` bytes.
pub fn check_key(key: &[u8], max_len: usize) -> Result<()> {
    if key.is_empty() {
        return Err(Error::EmptyKey);
    }
    if key.len() > max_len {
        return Err(Error::KeyTooLong {
            len: key.len(),
            max: max_len,
        });
    }
    Ok(())
}

/// Refuses a value longer than `max_size` bytes.
pub(crate) fn check_value(value: &[u8], max_size: usize) -> Result<()> {
    if value.len() > max_size {
        return Err(Error::ValueTooLarge {
            len: value.len(),
            max: max_size,
        });
    }
    Ok(())
}

/// Most bytes of metadata one record may keep beside its value (the cache's TTL and up to 64
/// tags of 256 bytes need about 17 KiB).
pub const MAX_META_LEN: usize = 64 << 10;

/// Refuses metadata over [`MAX_META_LEN`].
pub(crate) fn check_meta(meta: &[u8]) -> Result<()> {
    if meta.len() > MAX_META_LEN {
        return Err(Error::InvalidInput(format!(
            "{} bytes of metadata beside a value is over the limit of {MAX_META_LEN}",
            meta.len()
        )));
    }
    Ok(())
}

/// Refuses a capacity below [`MIN_CAPACITY`].
pub(crate) fn check_capacity(bytes: u64) -> Result<()> {
    if bytes < MIN_CAPACITY {
        return Err(Error::Config(format!(
            "capacity_bytes {bytes} is below the minimum of {MIN_CAPACITY}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_values_and_capacities_are_checked_against_their_limits() {
        assert!(matches!(check_key(b"", 4), Err(Error::EmptyKey)));
        assert!(matches!(
            check_key(b"12345", 4),
            Err(Error::KeyTooLong { len: 5, max: 4 })
        ));
        assert!(check_key(b"1234", 4).is_ok());
        assert!(check_value(&[0; 8], 8).is_ok());
        assert!(matches!(
            check_value(&[0; 9], 8),
            Err(Error::ValueTooLarge { len: 9, max: 8 })
        ));
        assert!(check_capacity(MIN_CAPACITY).is_ok());
        assert!(matches!(
            check_capacity(MIN_CAPACITY - 1),
            Err(Error::Config(_))
        ));
    }
}

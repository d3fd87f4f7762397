//! Identifiers shaped like HighLevel's: 20 base62 characters for most records (Firestore
//! style), 24 lowercase hex for businesses (Mongo ObjectId), `pit-` + UUID for private tokens.

use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;

pub const ID_LEN: usize = 20;

pub fn new_id() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), ID_LEN)
}

/// Whether `s` has the shape of a 20-character id.
pub fn is_id(s: &str) -> bool {
    s.len() == ID_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A Mongo ObjectId-like id: 4 bytes of seconds since the epoch, then 8 random bytes.
pub fn new_object_id() -> String {
    let secs = u32::try_from(crate::time::now_ms() / 1000).unwrap_or(u32::MAX);
    let random: [u8; 8] = rand::thread_rng().gen();
    format!("{secs:08x}{}", hex::encode(random))
}

pub fn new_private_integration_token() -> String {
    format!("pit-{}", uuid::Uuid::new_v4())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = new_id();
        assert!(is_id(&id), "{id}");
        assert_ne!(new_id(), new_id());
        assert!(!is_id("lookup"));
        let oid = new_object_id();
        assert_eq!(oid.len(), 24);
        assert!(oid
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        let pit = new_private_integration_token();
        assert!(pit.starts_with("pit-") && pit.len() == 40, "{pit}");
    }
}

//! The request id: the `X-Request-Id` header, and the id of the request being served, which
//! error responses quote. Its own module so that both the HTTP layer and the error type can use it.

use std::future::Future;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderName, HeaderValue};

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-sent id we keep; a longer one is replaced.
pub const MAX_LEN: usize = 128;

/// Whether a client-sent id is short and printable enough to echo, log and quote: 1 to
/// `MAX_LEN` ASCII letters, digits, `-`, `_`, `.` or `:` (UUIDs, ULIDs, trace ids). Any other
/// is replaced by a generated id rather than cleaned, so one id never stands for two requests.
pub fn is_acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_LEN).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

/// A new request id, for a request that brings none (or an unacceptable one): UUID-shaped
/// (version 4 bits) from [`unique_random`], without a system call per request.
pub fn generate() -> HeaderValue {
    let uuid = uuid::Builder::from_random_bytes(unique_random().to_be_bytes()).into_uuid();
    let mut buffer = uuid::Uuid::encode_buffer();
    let text = uuid.hyphenated().encode_lower(&mut buffer);
    HeaderValue::from_str(text).expect("a UUID is a valid header value")
}

/// 128 bits that look random and never repeat within the process: a counter mixed with a
/// per-process random seed (splitmix64, a bijection, so distinct counts give distinct values).
/// For request ids and trace ids, which need uniqueness, not secrecy.
pub fn unique_random() -> u128 {
    static SEED: LazyLock<u64> = LazyLock::new(|| {
        let random = uuid::Uuid::now_v7().as_u128();
        (random as u64) ^ ((random >> 64) as u64)
    });
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let x = SEED.wrapping_add(COUNT.fetch_add(1, Ordering::Relaxed));
    (u128::from(splitmix64(x)) << 64) | u128::from(splitmix64(x ^ 0xD1B5_4A32_D192_ED03))
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `request` with `request_id` as the current request id.
pub fn scope<F: Future>(request_id: String, request: F) -> impl Future<Output = F::Output> {
    REQUEST_ID.scope(request_id, request)
}

/// The id of the request being served (empty outside a request).
pub fn current() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_printable_ids_are_acceptable() {
        let acceptable = |bytes: &[u8]| is_acceptable(&HeaderValue::from_bytes(bytes).unwrap());
        assert!(acceptable(b"0190a6c4-0000-7000-8000-000000000000"));
        assert!(acceptable(b"client-42.retry:1_a"));
        assert!(acceptable(&[b'a'; MAX_LEN]));
        assert!(!acceptable(&[b'a'; MAX_LEN + 1]));
        assert!(!acceptable(b""));
        assert!(!acceptable(b"with space"));
        assert!(!acceptable(b"tab\there"));
        assert!(!acceptable(b"\xff\xfe"));
    }

    #[test]
    fn generated_ids_are_acceptable_uuids_and_differ() {
        let ids: std::collections::HashSet<_> = (0..1000)
            .map(|_| generate())
            .inspect(|id| {
                assert!(is_acceptable(id));
                let uuid: uuid::Uuid = id.to_str().unwrap().parse().unwrap();
                assert_eq!(uuid.get_version_num(), 4);
            })
            .collect();
        assert_eq!(ids.len(), 1000);
    }
}

//! Read-your-writes tokens: MariaDB GTID positions such as `0-1-42` (domain-server-sequence),
//! one per replication domain, comma-separated.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use axum::http::HeaderName;

/// Carries the token: on write-api's answers, and on the reads that want to see that write.
pub static X_CONSISTENCY_TOKEN: HeaderName = HeaderName::from_static("x-consistency-token");

/// A GTID position: the highest sequence number applied per replication domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GtidPosition {
    /// domain id -> (server id, sequence number)
    domains: BTreeMap<u32, (u32, u64)>,
}

/// Tokens longer than this are refused before parsing.
const MAX_TOKEN_LEN: usize = 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a GTID position (expected e.g. `0-1-42`, comma-separated per domain)")]
pub struct InvalidGtid;

impl FromStr for GtidPosition {
    type Err = InvalidGtid;

    fn from_str(text: &str) -> Result<Self, InvalidGtid> {
        if text.len() > MAX_TOKEN_LEN {
            return Err(InvalidGtid);
        }
        let mut domains = BTreeMap::new();
        for gtid in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let mut parts = gtid.split('-');
            let (Some(domain), Some(server), Some(sequence), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(InvalidGtid);
            };
            let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if !(all_digits(domain) && all_digits(server) && all_digits(sequence)) {
                return Err(InvalidGtid);
            }
            let domain: u32 = domain.parse().map_err(|_| InvalidGtid)?;
            let server: u32 = server.parse().map_err(|_| InvalidGtid)?;
            let sequence: u64 = sequence.parse().map_err(|_| InvalidGtid)?;
            if domains.insert(domain, (server, sequence)).is_some() {
                return Err(InvalidGtid);
            }
        }
        Ok(GtidPosition { domains })
    }
}

impl fmt::Display for GtidPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (domain, (server, sequence)) in &self.domains {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{domain}-{server}-{sequence}")?;
        }
        Ok(())
    }
}

impl GtidPosition {
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// True when every domain of `target` has been applied up to its sequence number here.
    /// (Within a domain, GTID strict mode makes sequence numbers grow monotonically.)
    pub fn covers(&self, target: &GtidPosition) -> bool {
        target.domains.iter().all(|(domain, (_, wanted))| {
            self.domains
                .get(domain)
                .is_some_and(|(_, applied)| applied >= wanted)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(s: &str) -> GtidPosition {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints() {
        assert_eq!(pos("0-1-42").to_string(), "0-1-42");
        assert_eq!(pos("1-2-5, 0-1-42").to_string(), "0-1-42,1-2-5");
        assert!(pos("").is_empty());
    }

    #[test]
    fn rejects_malformed_tokens() {
        for bad in [
            "x",
            "0-1",
            "0-1-2-3",
            "0-1-a",
            "-1-2",
            "0-1-+2",
            "0-1-2,0-1-3",
            "4294967296-1-1",
            "0-1-99999999999999999999",
        ] {
            assert_eq!(bad.parse::<GtidPosition>(), Err(InvalidGtid), "{bad}");
        }
        assert!("0-1-1,".repeat(300).parse::<GtidPosition>().is_err());
    }

    #[test]
    fn coverage_is_per_domain() {
        assert!(pos("0-1-50").covers(&pos("0-1-42")));
        assert!(pos("0-2-42").covers(&pos("0-1-42")));
        assert!(!pos("0-1-41").covers(&pos("0-1-42")));
        assert!(!pos("0-1-50").covers(&pos("1-1-1")));
        assert!(pos("0-1-50,1-1-3").covers(&pos("0-1-42,1-1-3")));
    }
}

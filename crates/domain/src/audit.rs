//! The audit trail (审计日志) as a hash chain. Each event's hash covers its own content and the
//! previous event's hash, so editing, deleting, inserting or reordering any event breaks every
//! hash after it. The chain head (最新哈希) can be printed on official documents as a checkpoint;
//! truncating the tail is detected by checking such a checkpoint (`verify --checkpoint`).

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Hash that precedes the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event of the audit trail, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// Position in the chain, 1, 2, 3, … without gaps.
    pub seq: i64,
    /// Unix time in milliseconds.
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    /// Unit the changed record belongs to; the event is visible in that unit's data scope.
    pub unit_id: Option<i64>,
    /// e.g. `unit.create`, `user.password_change`.
    pub action: String,
    /// e.g. `unit`, `user`.
    pub entity: String,
    pub entity_id: String,
    /// JSON of the record before the change (absent for a creation).
    pub before: Option<String>,
    /// JSON of the record after the change (absent for a deletion).
    pub after: Option<String>,
    pub ip: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

fn put(h: &mut Sha256, bytes: Option<&[u8]>) {
    match bytes {
        None => h.update(u64::MAX.to_le_bytes()),
        Some(b) => {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        }
    }
}

impl AuditEvent {
    /// The hash this event must carry given its content and `prev_hash` field:
    /// SHA-256 over length-prefixed fields, so no two different events encode alike.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"taizhang-audit-v1");
        put(&mut h, Some(self.prev_hash.as_bytes()));
        put(&mut h, Some(&self.seq.to_le_bytes()));
        put(&mut h, Some(&self.at.to_le_bytes()));
        put(
            &mut h,
            self.actor_id
                .map(|v| v.to_le_bytes())
                .as_ref()
                .map(|b| &b[..]),
        );
        put(&mut h, Some(self.actor_name.as_bytes()));
        put(
            &mut h,
            self.unit_id
                .map(|v| v.to_le_bytes())
                .as_ref()
                .map(|b| &b[..]),
        );
        put(&mut h, Some(self.action.as_bytes()));
        put(&mut h, Some(self.entity.as_bytes()));
        put(&mut h, Some(self.entity_id.as_bytes()));
        put(&mut h, self.before.as_deref().map(str::as_bytes));
        put(&mut h, self.after.as_deref().map(str::as_bytes));
        put(&mut h, self.ip.as_deref().map(str::as_bytes));
        hex::encode(h.finalize())
    }

    /// Fills `prev_hash`, `seq` and `hash` to append this event after `head`.
    pub fn seal(&mut self, head_seq: i64, head_hash: &str) {
        self.seq = head_seq + 1;
        self.prev_hash = head_hash.to_string();
        self.hash = self.compute_hash();
    }
}

/// Why the chain is broken at an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// Sequence number of the first event that does not fit.
    pub seq: i64,
    pub reason: String,
}

/// Walks a chain in `seq` order, one event at a time, keeping O(1) state.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
    count: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS.to_string(),
            count: 0,
        }
    }
}

impl ChainVerifier {
    pub fn push(&mut self, e: &AuditEvent) -> Result<(), Broken> {
        if e.seq != self.expected_seq {
            return Err(Broken {
                seq: e.seq,
                reason: format!(
                    "sequence gap or reordering: expected event #{}, found #{} (an event was deleted, inserted or moved)",
                    self.expected_seq, e.seq
                ),
            });
        }
        if e.prev_hash != self.prev_hash {
            return Err(Broken {
                seq: e.seq,
                reason: format!(
                    "prev_hash does not match the hash of event #{} (an event before it was deleted, inserted or reordered)",
                    e.seq - 1
                ),
            });
        }
        let h = e.compute_hash();
        if h != e.hash {
            return Err(Broken {
                seq: e.seq,
                reason: "content does not match its hash (the event was edited)".to_string(),
            });
        }
        self.prev_hash = h;
        self.expected_seq += 1;
        self.count += 1;
        Ok(())
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn head(&self) -> &str {
        &self.prev_hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut out: Vec<AuditEvent> = Vec::new();
        let (mut seq, mut head) = (0, GENESIS.to_string());
        for i in 0..n {
            let mut e = AuditEvent {
                seq: 0,
                at: 1_700_000_000_000 + i,
                actor_id: Some(1),
                actor_name: "admin".into(),
                unit_id: Some(1),
                action: "unit.create".into(),
                entity: "unit".into(),
                entity_id: i.to_string(),
                before: None,
                after: Some(format!("{{\"name\":\"单位{i}\"}}")),
                ip: None,
                prev_hash: String::new(),
                hash: String::new(),
            };
            e.seal(seq, &head);
            seq = e.seq;
            head = e.hash.clone();
            out.push(e);
        }
        out
    }

    fn verify(events: &[AuditEvent]) -> Result<u64, Broken> {
        let mut v = ChainVerifier::default();
        for e in events {
            v.push(e)?;
        }
        Ok(v.count())
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(10)), Ok(10));
    }

    #[test]
    fn edit_is_detected() {
        let mut c = chain(10);
        c[4].after = Some("{\"name\":\"改过\"}".into());
        assert_eq!(verify(&c).unwrap_err().seq, 5);
    }

    #[test]
    fn delete_is_detected() {
        let mut c = chain(10);
        c.remove(3);
        assert_eq!(verify(&c).unwrap_err().seq, 5);
    }

    #[test]
    fn renumbered_delete_is_detected() {
        let mut c = chain(10);
        c.remove(3);
        for (i, e) in c.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        // seq 4 now carries the old #5 whose prev_hash names the deleted #4.
        assert_eq!(verify(&c).unwrap_err().seq, 4);
    }

    #[test]
    fn insert_is_detected() {
        let mut c = chain(10);
        let mut extra = c[2].clone();
        extra.entity_id = "forged".into();
        extra.hash = extra.compute_hash();
        c.insert(3, extra);
        assert!(verify(&c).is_err());
    }

    #[test]
    fn reorder_is_detected() {
        let mut c = chain(10);
        c.swap(2, 6);
        assert_eq!(verify(&c).unwrap_err().seq, 7);
    }

    #[test]
    fn null_and_empty_fields_hash_differently() {
        let c = chain(1);
        let mut a = c[0].clone();
        a.ip = None;
        let mut b = c[0].clone();
        b.ip = Some(String::new());
        assert_ne!(a.compute_hash(), b.compute_hash());
    }
}

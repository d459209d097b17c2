//! What a log backend is: it stores entries durably in one order and has the host fold them.

use crate::entry::{Entry, Outcome};
use crate::StoreError;

/// A logged and applied entry: its sequence number and what applying it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub seq: u64,
    pub outcome: Outcome,
}

/// Called once with the fate of a proposal: the host's outcome of applying its entry, or why it was not
/// logged.
pub type Answer = Box<dyn FnOnce(Result<Committed, StoreError>) + Send>;

/// An entry on its way into the log.
pub struct Proposal {
    pub entry: Entry,
    pub answer: Answer,
}

/// A durable, ordered log of entries, folded into an [`EngineHost`](crate::EngineHost).
///
/// The contract every backend keeps (the conformance suite checks it through [`Store`](crate::Store)):
/// - a proposal is answered only once its entry is durable (on disk; in cluster mode, stored by a quorum)
///   **and** applied to this node's host, so a write is visible to reads on the node that took it as soon
///   as it is answered; its answer is the outcome of that application;
/// - every entry is applied exactly once per host, in log order, whichever node wrote it; a replay after
///   a restart starts after the host's checkpoint;
/// - a proposal that cannot be logged is answered with the error and changes nothing;
/// - concurrent proposals may share one durable commit (group commit).
pub trait LogBackend: Send + Sync + 'static {
    /// Hands entries to the log. Never blocks on durability: the answers report it.
    fn propose(&self, proposals: Vec<Proposal>);

    /// Asks the fold to write a checkpoint now; the answer carries the sequence number it covers.
    fn checkpoint(&self, answer: Box<dyn FnOnce(Result<u64, StoreError>) + Send>);

    /// The last sequence number the log holds as far as this node knows (≥ what the host applied; the
    /// difference is the replication lag).
    fn last_seq(&self) -> u64;

    /// How far this node's fold is behind the log, in log messages (0 for a local log).
    fn lag(&self) -> u64 {
        0
    }

    /// Whether the log is reachable and its fold going on (a local log always is).
    fn healthy(&self) -> bool {
        true
    }

    /// Answers once everything the log held when called is applied here (a linearizable read waits
    /// for it). A local log is always there.
    fn barrier(&self, answer: Box<dyn FnOnce(Result<u64, StoreError>) + Send>) {
        answer(Ok(self.last_seq()));
    }

    /// The directory the fold writes its checkpoints into (`None`: the backend keeps none).
    fn state_dir(&self) -> Option<&std::path::Path> {
        None
    }

    /// Stops taking proposals, applies what is in flight, writes a final checkpoint. Idempotent.
    fn close(&self);
}

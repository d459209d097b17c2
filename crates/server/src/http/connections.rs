//! Connection slots: each listener holds at most `max_connections` connections. When a new one arrives
//! at the cap, the connection that has waited longest for a request (idle keep-alive, or a head that is
//! still arriving) is closed to make room; only when every connection is busy with a request is the
//! newcomer refused (plain HTTP: `503 ServiceUnavailable` in the envelope; HTTPS: closed before the
//! handshake). So silent or slow clients can never lock out real ones, and the process never runs out of
//! descriptors: the default cap comes from the open-file limit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

/// Descriptors kept free of connections: the store's files, logs, the other listener's sockets,
/// outbound connections, and a margin.
pub const RESERVED_DESCRIPTORS: u64 = 128;

const EVICTED: u32 = 1 << 31;

/// What a connection shares with the listener and with its own request handling.
pub struct ConnShared {
    /// `EVICTED` bit, and the number of requests being handled.
    state: AtomicU32,
    /// Milliseconds since the table's epoch when the connection last became idle.
    idle_since_ms: AtomicU64,
    epoch: Instant,
    closed: Notify,
}

impl ConnShared {
    fn new(epoch: Instant) -> ConnShared {
        ConnShared {
            state: AtomicU32::new(0),
            idle_since_ms: AtomicU64::new(epoch.elapsed().as_millis() as u64),
            epoch,
            closed: Notify::new(),
        }
    }

    /// A request starts; `false` when the connection is being closed to make room (the request is then
    /// answered `503` and nothing of it runs).
    pub fn begin(&self) -> bool {
        self.state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s & EVICTED == 0).then_some(s + 1)
            })
            .is_ok()
    }

    /// A request's answer is ready.
    pub fn end(&self) {
        self.idle_since_ms
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Release);
        self.state.fetch_sub(1, Ordering::AcqRel);
    }

    /// Whether no request is being handled.
    pub fn is_idle(&self) -> bool {
        self.state.load(Ordering::Acquire) & !EVICTED == 0
    }

    /// When the connection last became idle (the moment it was accepted, before any request).
    pub fn idle_since(&self) -> Instant {
        self.epoch + std::time::Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire))
    }

    /// Marks an idle connection for closing; `false` if a request is in progress.
    fn try_evict(&self) -> bool {
        self.state
            .compare_exchange(0, EVICTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Resolves once the connection was chosen to make room.
    pub async fn evicted(&self) {
        loop {
            let notified = self.closed.notified();
            if self.state.load(Ordering::Acquire) & EVICTED != 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The slots of one listener.
pub struct Connections {
    cap: usize,
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<ConnShared>>>,
}

/// A connection's slot; dropping it frees the slot.
pub struct Slot {
    id: u64,
    pub shared: Arc<ConnShared>,
    table: Arc<Connections>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.table
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

/// What [`Connections::admit`] decided.
pub enum Admit {
    Admitted(Slot),
    /// Every connection is busy with a request.
    Full,
}

impl Connections {
    pub fn new(cap: usize) -> Arc<Connections> {
        Arc::new(Connections {
            cap: cap.max(1),
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// The cap.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Open connections (including ones being closed to make room).
    pub fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes a slot for a new connection, closing the longest-idle one if the listener is at its cap.
    pub fn admit(self: &Arc<Self>) -> Admit {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let live = open
            .values()
            .filter(|c| c.state.load(Ordering::Acquire) & EVICTED == 0)
            .count();
        if live >= self.cap {
            let victim = open
                .values()
                // Idle and not already chosen.
                .filter(|c| c.state.load(Ordering::Acquire) == 0)
                .min_by_key(|c| c.idle_since_ms.load(Ordering::Acquire))
                .cloned();
            match victim {
                Some(v) if v.try_evict() => {
                    v.closed.notify_waiters();
                    crate::http::telemetry::connection_closed("evicted");
                }
                _ => return Admit::Full,
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(ConnShared::new(self.epoch));
        open.insert(id, shared.clone());
        Admit::Admitted(Slot {
            id,
            shared,
            table: self.clone(),
        })
    }
}

/// The default cap for each of `listeners` listeners: the open-file limit (raised to its hard limit
/// first), less [`RESERVED_DESCRIPTORS`], shared out. At least 16.
pub fn default_cap(listeners: usize) -> usize {
    let limit = raise_open_file_limit();
    let usable = limit.saturating_sub(RESERVED_DESCRIPTORS);
    ((usable / listeners.max(1) as u64) as usize).max(16)
}

/// Raises the soft open-file limit to the hard one; returns the soft limit in force.
#[cfg(unix)]
fn raise_open_file_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    // "Unlimited" is not a count of descriptors; keep a number the kernel will honour.
    let cap = |v: Option<u64>| v.unwrap_or(1 << 20).min(1 << 20);
    let (current, maximum) = (cap(lim.current), cap(lim.maximum));
    if current < maximum
        && setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(maximum),
                maximum: lim.maximum,
            },
        )
        .is_ok()
    {
        return maximum;
    }
    current
}

#[cfg(not(unix))]
fn raise_open_file_limit() -> u64 {
    1024
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(a: Admit) -> Slot {
        match a {
            Admit::Admitted(s) => s,
            Admit::Full => panic!("refused"),
        }
    }

    #[test]
    fn at_the_cap_the_longest_idle_connection_makes_room() {
        let table = Connections::new(2);
        let first = admitted(table.admit());
        std::thread::sleep(std::time::Duration::from_millis(5));
        let second = admitted(table.admit());
        assert!(second.shared.begin(), "the second is busy");
        let third = admitted(table.admit());
        assert!(
            !first.shared.begin(),
            "the idle first was chosen and refuses requests"
        );
        assert!(third.shared.begin());
        // Both live connections are busy now: no room.
        assert!(matches!(table.admit(), Admit::Full));
        third.shared.end();
        assert!(matches!(table.admit(), Admit::Admitted(_)));
        drop((first, second));
    }

    #[test]
    fn slots_free_themselves() {
        let table = Connections::new(1);
        let a = admitted(table.admit());
        assert_eq!(table.len(), 1);
        drop(a);
        assert!(table.is_empty());
    }

    #[test]
    fn a_busy_connection_is_never_evicted() {
        let table = Connections::new(1);
        let a = admitted(table.admit());
        assert!(a.shared.begin());
        assert!(matches!(table.admit(), Admit::Full));
        assert!(a.shared.begin(), "still serving");
        a.shared.end();
        a.shared.end();
        assert!(a.shared.is_idle());
    }

    #[test]
    fn the_default_cap_leaves_room() {
        let cap = default_cap(2);
        assert!(cap >= 16);
    }
}

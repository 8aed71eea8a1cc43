//! The platform sandbox's journal: every recorded delivery appended as one JSON line, and the
//! record reloaded from it when a sandbox starts (see [`PlatformSandbox::new`](super::PlatformSandbox::new)).

use std::io::Write as _;
use std::path::Path;

use super::{Delivery, State};

/// The record kept in an existing journal (unreadable lines are skipped with a warning).
pub(super) fn load_journal(path: &Path) -> State {
    let mut state = State::default();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "platform sandbox: cannot read the journal");
            }
            return state;
        }
    };
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Delivery>(line) {
            Ok(delivery) => {
                if let Some(n) = delivery.reference.strip_prefix("XMKJ-").and_then(|n| n.parse::<u64>().ok()) {
                    state.next_reference = state.next_reference.max(n);
                }
                state.references.entry(delivery.key.clone()).or_insert_with(|| delivery.reference.clone());
                state.deliveries.push(delivery);
            }
            Err(e) => tracing::warn!(
                path = %path.display(), line = number + 1, error = %e,
                "platform sandbox: skipping an unreadable journal line"
            ),
        }
    }
    // A line cut short by a crash must not swallow the next append.
    if !text.is_empty() && !text.ends_with('\n') {
        let ended = std::fs::OpenOptions::new().append(true).open(path).and_then(|mut file| file.write_all(b"\n"));
        if let Err(e) = ended {
            tracing::warn!(path = %path.display(), error = %e, "platform sandbox: cannot append to the journal");
        }
    }
    if !state.deliveries.is_empty() {
        tracing::info!(path = %path.display(), deliveries = state.deliveries.len(), "platform sandbox: journal loaded");
    }
    state
}

pub(super) fn append_journal(path: &Path, delivery: &Delivery) {
    let result = serde_json::to_string(delivery).map_err(std::io::Error::other).and_then(|mut line| {
        line.push('\n');
        std::fs::OpenOptions::new().create(true).append(true).open(path)?.write_all(line.as_bytes())
    });
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "platform sandbox: cannot append to the journal");
    }
}

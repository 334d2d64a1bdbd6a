//! The status workflow, as one pure function.
//!
//! `open -> in-progress -> resolved -> closed`, with `on-hold` (from and back to
//! `in-progress`) and reopen (`resolved -> in-progress`). Any other move, including a move to
//! the current status, is rejected with the allowed moves named.

use crate::error::Error;
use crate::ticket::Status;

/// The statuses a ticket in `from` may move to.
pub fn allowed_targets(from: Status) -> &'static [Status] {
    match from {
        Status::Open => &[Status::InProgress],
        Status::InProgress => &[Status::OnHold, Status::Resolved],
        Status::OnHold => &[Status::InProgress],
        Status::Resolved => &[Status::Closed, Status::InProgress],
        Status::Closed => &[],
    }
}

/// Checks one move.
pub fn transition(from: Status, to: Status) -> Result<Status, Error> {
    let allowed = allowed_targets(from);
    if allowed.contains(&to) {
        Ok(to)
    } else {
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        Err(Error::InvalidTransition {
            from,
            to,
            allowed: if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    /// The whole 5 x 5 table: `true` where the move is allowed.
    const TABLE: [(Status, [bool; 5]); 5] = [
        //             open   in-prog on-hold resolved closed
        (Open, [false, true, false, false, false]),
        (InProgress, [false, false, true, true, false]),
        (OnHold, [false, true, false, false, false]),
        (Resolved, [false, true, false, false, true]),
        (Closed, [false, false, false, false, false]),
    ];

    #[test]
    fn transition_table() {
        for (from, row) in TABLE {
            for (to, allowed) in Status::ALL.into_iter().zip(row) {
                let got = transition(from, to);
                assert_eq!(got.is_ok(), allowed, "{from} -> {to}");
                if let Err(e) = got {
                    assert_eq!(e.code(), "invalid_transition");
                    let msg = e.to_string();
                    for target in allowed_targets(from) {
                        assert!(msg.contains(target.as_str()), "{msg}");
                    }
                }
            }
        }
    }

    #[test]
    fn closed_names_no_way_out() {
        let e = transition(Closed, Open).err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("cannot move a ticket from closed to open; allowed from closed: none")
        );
    }
}

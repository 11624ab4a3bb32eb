//! keepalived-style health checkers. Not built yet; see the daemon issue.

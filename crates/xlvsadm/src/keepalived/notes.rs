//! What a conversion could not carry over, and what the user should look
//! at. Both go to the top of the output and to stderr.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    /// `virtual_server 192.0.2.10 80: delay_before_retry 3 (why)`.
    pub not_carried: Vec<String>,
    /// Carried over, but xlvs will behave differently or refuse it.
    pub warnings: Vec<String>,
}

impl Notes {
    /// `what` (a setting as written) of `context` is dropped because `why`.
    pub fn drop(&mut self, context: &str, what: &str, why: &str) {
        self.not_carried.push(format!("{context}: {what} ({why})"));
    }

    pub fn warn(&mut self, context: &str, message: &str) {
        self.warnings.push(format!("{context}: {message}"));
    }
}

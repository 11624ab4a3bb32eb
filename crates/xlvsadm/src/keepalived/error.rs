//! Why a keepalived.conf could not be converted at all: it does not read,
//! or it names what neither keepalived nor xlvs could run. Settings that
//! are read but cannot be carried over are not errors: they are listed in
//! the output (see `notes`).

/// Why a file could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// keepalived hands the name to the kernel, which refuses a scheduler
    /// it has no module for; a config with one never ran, so there is no
    /// choice to carry over.
    #[error(
        "line {line}: {setting}: unknown scheduler (the schedulers are {})",
        xlvs_api::Scheduler::names()
    )]
    UnknownScheduler { line: usize, setting: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    #[error("line {line}: unterminated quoted string")]
    UnterminatedQuote { line: usize },
    #[error("line {line}: `}}` without a block to close")]
    UnexpectedClose { line: usize },
    #[error("line {line}: `{{` without a keyword before it")]
    StrayOpen { line: usize },
    #[error("line {line}: the block of `{keyword}` is not closed")]
    Unclosed { line: usize, keyword: String },
    #[error("line {line}: include {pattern}: included files are not read; concatenate them into one file and convert that (`cat FILES | xlvsadm import-keepalived -`)")]
    Include { line: usize, pattern: String },
}

//! Why a keepalived.conf could not be read at all. Settings that are read
//! but cannot be carried over are not errors: they are listed in the output
//! (see `notes`).

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

//! `-R`: ipvsadm lines from stdin, as `-S` writes them, each parsed with the
//! same parser as the command line. The whole input is parsed before
//! anything is sent, so a typo on line 40 does not leave 39 lines applied.

use super::command::IpvsCommand;
use super::error::UsageError;
use super::parse::{parse, Globals};
use xlvs_api::ipvs::IpvsOp;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("line {line}: {source}")]
    Usage { line: usize, source: UsageError },
    #[error("line {line}: `{text}`: only changes can be restored (-A -E -D -a -e -d -C -Z --set)")]
    NotAChange { line: usize, text: String },
    #[error("line {line}: --node, --socket and --json belong on xlvsadm's own command line")]
    Global { line: usize },
}

/// The ops of `text` with their 1-based line numbers. Blank lines and
/// lines starting with `#` are skipped; a leading `ipvsadm` or `xlvsadm`
/// word (as in a pasted script) is dropped.
pub fn parse_lines(text: &str) -> Result<Vec<(usize, IpvsOp)>, RestoreError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let mut words: Vec<&str> = raw.split_whitespace().collect();
        if words.first().is_none_or(|w| w.starts_with('#')) {
            continue;
        }
        let program = words[0].rsplit('/').next().unwrap_or_default();
        if program == "ipvsadm" || program == "xlvsadm" {
            words.remove(0);
        }
        let parsed = parse(&words).map_err(|source| RestoreError::Usage { line, source })?;
        if parsed.globals != Globals::default() {
            return Err(RestoreError::Global { line });
        }
        match parsed.command {
            IpvsCommand::Op(op) => out.push((line, op)),
            _ => {
                return Err(RestoreError::NotAChange {
                    line,
                    text: raw.trim().to_string(),
                })
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blank_lines_and_program_names() {
        let text = "\
# saved by xlvsadm -S
-A -t 192.0.2.10:80 -s mh

    -a -t 192.0.2.10:80 -r 10.0.1.21:80 -g -w 1
/sbin/ipvsadm -a -t 192.0.2.10:80 -r 10.0.1.22:80 -g -w 1
ipvsadm --set 900 120 300
";
        let ops = parse_lines(text).unwrap();
        let lines: Vec<usize> = ops.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 4, 5, 6]);
        assert_eq!(
            ops[2].1.to_string(),
            "-a -t 192.0.2.10:80 -r 10.0.1.22:80 -g -w 1"
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = |t: &str| parse_lines(t).unwrap_err().to_string();
        assert_eq!(
            err("-A -t 192.0.2.10:80\n-a -t 192.0.2.10:80 -r 10.0.1.300\n"),
            "line 2: -r 10.0.1.300: `10.0.1.300` is not an IPv4 address"
        );
        assert_eq!(
            err("-L -n\n"),
            "line 1: `-L -n`: only changes can be restored (-A -E -D -a -e -d -C -Z --set)"
        );
        assert_eq!(
            err("-R\n"),
            "line 1: `-R`: only changes can be restored (-A -E -D -a -e -d -C -Z --set)"
        );
        assert_eq!(
            err("-C --node lb1\n"),
            "line 1: --node, --socket and --json belong on xlvsadm's own command line"
        );
        assert_eq!(
            err("-C\n  ipvsadm  \n"),
            "line 2: `ipvsadm`: only changes can be restored (-A -E -D -a -e -d -C -Z --set)"
        );
    }
}

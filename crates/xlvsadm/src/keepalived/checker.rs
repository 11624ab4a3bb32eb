//! keepalived's checkers (HTTP_GET, SSL_GET, TCP_CHECK, MISC_CHECK), read
//! into one comparable shape. keepalived checks per real server; the node
//! config has one check per service, so `convert` compares them.

use super::notes::Notes;
use super::tree::Stmt;
use super::values::{count, port, seconds, single};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Tcp,
    Http {
        tls: bool,
        path: String,
        /// `None`: the url block gave no status_code.
        status: Option<u16>,
    },
    Script(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checker {
    pub keyword: String,
    pub kind: Kind,
    /// connect_port.
    pub port: Option<u16>,
    /// connect_timeout, or misc_timeout.
    pub timeout: Option<Duration>,
    /// retry / nb_get_retry.
    pub retry: Option<u32>,
}

/// The checkers xlvs has a counterpart for.
pub fn is_supported(keyword: &str) -> bool {
    matches!(keyword, "HTTP_GET" | "SSL_GET" | "TCP_CHECK" | "MISC_CHECK")
}

/// Every keepalived checker keyword, supported or not.
pub fn is_checker(keyword: &str) -> bool {
    is_supported(keyword)
        || matches!(
            keyword,
            "SMTP_CHECK" | "DNS_CHECK" | "UDP_CHECK" | "PING_CHECK" | "FILE_CHECK" | "BFD_CHECK"
        )
}

const NO_COUNTERPART: &str = "no counterpart in the node config";

/// Reads a supported checker block; `context` names the real server.
pub fn read(stmt: &Stmt, context: &str, notes: &mut Notes) -> Checker {
    let ctx = format!("{context}: {}", stmt.keyword);
    let mut c = Checker {
        keyword: stmt.keyword.clone(),
        kind: match stmt.keyword.as_str() {
            "TCP_CHECK" => Kind::Tcp,
            "MISC_CHECK" => Kind::Script(Vec::new()),
            tls => Kind::Http {
                tls: tls == "SSL_GET",
                path: "/".into(),
                status: None,
            },
        },
        port: None,
        timeout: None,
        retry: None,
    };
    let mut urls = 0;
    for s in stmt.children() {
        let is_http = matches!(c.kind, Kind::Http { .. });
        let is_script = matches!(c.kind, Kind::Script(_));
        match s.keyword.as_str() {
            "connect_port" if !is_script => c.port = port(s, &ctx, notes),
            "connect_timeout" if !is_script => c.timeout = seconds(s, &ctx, notes),
            "misc_timeout" if is_script => c.timeout = seconds(s, &ctx, notes),
            "retry" | "nb_get_retry" => c.retry = count(s, &ctx, notes),
            "misc_path" if is_script => c.kind = Kind::Script(script(s, &ctx, notes)),
            "url" if is_http => {
                urls += 1;
                if urls > 1 {
                    notes.drop(
                        &ctx,
                        &format!("url (line {})", s.line),
                        "only the first url is checked",
                    );
                } else {
                    read_url(s, &mut c.kind, &ctx, notes);
                }
            }
            "delay_before_retry" => notes.drop(
                &ctx,
                &s.text(),
                "fall counts consecutive failures, one per interval",
            ),
            "virtualhost" => notes.drop(
                &ctx,
                &s.text(),
                "the node config sets no Host header for HTTP checks",
            ),
            "misc_dynamic" => notes.drop(
                &ctx,
                &s.text(),
                "a script's exit code does not set weights in xlvs",
            ),
            "connect_ip" | "bindto" | "bind_port" | "bind_if" | "fwmark" => notes.drop(
                &ctx,
                &s.text(),
                "checks connect from the node to the real's own address",
            ),
            _ => notes.drop(&ctx, &s.text(), NO_COUNTERPART),
        }
    }
    if let Kind::Script(args) = &c.kind {
        if args.is_empty() {
            notes.drop(&ctx, "MISC_CHECK without misc_path", "nothing to run");
        }
    }
    c
}

fn read_url(url: &Stmt, kind: &mut Kind, ctx: &str, notes: &mut Notes) {
    let Kind::Http { path, status, .. } = kind else {
        return;
    };
    for s in url.children() {
        match s.keyword.as_str() {
            "path" => {
                if let Some(p) = single(s, ctx, notes) {
                    if p.starts_with('/') {
                        *path = p.to_string();
                    } else {
                        notes.drop(ctx, &s.text(), "a path must start with /");
                    }
                }
            }
            "status_code" => match single(s, ctx, notes).map(str::parse::<u16>) {
                Some(Ok(code)) if (100..=599).contains(&code) => *status = Some(code),
                Some(_) => notes.drop(ctx, &s.text(), "expect_status is one code in 100..=599"),
                None => {}
            },
            "digest" => notes.drop(
                ctx,
                &s.text(),
                "xlvs compares no body digest; expect_body can require a text",
            ),
            _ => notes.drop(ctx, &s.text(), NO_COUNTERPART),
        }
    }
}

/// misc_path as a program and arguments. The node config runs it without a
/// shell and wants an absolute path; anything else goes through /bin/sh.
fn script(s: &Stmt, ctx: &str, notes: &mut Notes) -> Vec<String> {
    let line = s.values.join(" ");
    let words: Vec<String> = line.split_whitespace().map(String::from).collect();
    let shell_free = !line.contains(|c: char| "|&;<>()$`\\\"'*?[]#~%{}".contains(c));
    if words.first().is_some_and(|w| w.starts_with('/')) && shell_free {
        return words;
    }
    if words.is_empty() {
        return words;
    }
    notes.warn(
        ctx,
        &format!("misc_path \"{line}\" runs through /bin/sh -c (the node config wants an absolute program without shell syntax)"),
    );
    vec!["/bin/sh".into(), "-c".into(), line]
}

//! keepalived.conf as a tree of statements: a keyword, its values, and
//! maybe a block of further statements.

use super::error::SyntaxError;
use super::lexer::{tokens, Tok, Token};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    pub keyword: String,
    pub values: Vec<String>,
    pub block: Option<Vec<Stmt>>,
    pub line: usize,
}

impl Stmt {
    /// The keyword and its values, as written: `persistence_timeout 50`.
    pub fn text(&self) -> String {
        std::iter::once(self.keyword.as_str())
            .chain(self.values.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn children(&self) -> &[Stmt] {
        self.block.as_deref().unwrap_or(&[])
    }
}

pub fn parse(text: &str) -> Result<Vec<Stmt>, SyntaxError> {
    let toks = tokens(text)?;
    let mut at = 0;
    let stmts = block(&toks, &mut at, None)?;
    Ok(stmts)
}

/// Statements up to the `}` closing `opener` (or the end, at top level).
fn block(toks: &[Token], at: &mut usize, opener: Option<&Stmt>) -> Result<Vec<Stmt>, SyntaxError> {
    let mut out: Vec<Stmt> = Vec::new();
    while let Some(t) = toks.get(*at) {
        *at += 1;
        match &t.tok {
            Tok::Newline => {}
            Tok::Close => {
                return match opener {
                    Some(_) => Ok(out),
                    None => Err(SyntaxError::UnexpectedClose { line: t.line }),
                }
            }
            // A brace on a line of its own opens the block of the
            // statement before it.
            Tok::Open => match out.last_mut() {
                Some(prev) if prev.block.is_none() => {
                    let inner = block(toks, at, Some(prev))?;
                    prev.block = Some(inner);
                }
                _ => return Err(SyntaxError::StrayOpen { line: t.line }),
            },
            Tok::Word(keyword) => {
                let mut stmt = Stmt {
                    keyword: keyword.clone(),
                    values: Vec::new(),
                    block: None,
                    line: t.line,
                };
                while let Some(Token {
                    tok: Tok::Word(w), ..
                }) = toks.get(*at)
                {
                    stmt.values.push(w.clone());
                    *at += 1;
                }
                if stmt.keyword == "include" {
                    return Err(SyntaxError::Include {
                        line: stmt.line,
                        pattern: stmt.values.join(" "),
                    });
                }
                if let Some(Token { tok: Tok::Open, .. }) = toks.get(*at) {
                    *at += 1;
                    stmt.block = Some(block(toks, at, Some(&stmt))?);
                }
                out.push(stmt);
            }
        }
    }
    match opener {
        None => Ok(out),
        Some(s) => Err(SyntaxError::Unclosed {
            line: s.line,
            keyword: s.text(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_blocks() {
        let t = parse(
            "virtual_server 192.0.2.10 80 {\n  real_server 10.0.0.1 80\n  {\n    HTTP_GET { url { path / } }\n  }\n}\n",
        )
        .unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].text(), "virtual_server 192.0.2.10 80");
        let rs = &t[0].children()[0];
        assert_eq!(rs.text(), "real_server 10.0.0.1 80");
        let url = &rs.children()[0].children()[0];
        assert_eq!(url.keyword, "url");
        assert_eq!(url.children()[0].text(), "path /");
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse("a {\n b\n").unwrap_err(),
            SyntaxError::Unclosed {
                line: 1,
                keyword: "a".into()
            }
        );
        assert_eq!(
            parse("a\n}\n").unwrap_err(),
            SyntaxError::UnexpectedClose { line: 2 }
        );
        assert_eq!(
            parse("{\n}\n").unwrap_err(),
            SyntaxError::StrayOpen { line: 1 }
        );
        assert_eq!(
            parse("global_defs {\n}\ninclude /etc/keepalived/conf.d/*.conf\n").unwrap_err(),
            SyntaxError::Include {
                line: 3,
                pattern: "/etc/keepalived/conf.d/*.conf".into()
            }
        );
    }
}

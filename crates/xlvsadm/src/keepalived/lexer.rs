//! Words of keepalived.conf.
//!
//! keepalived's syntax is line based: a line holds a keyword and its
//! values, `{` and `}` open and close blocks (they are tokens of their own
//! even when written against a word), `#` or `!` at the start of a word
//! comments out the rest of the line, and `"..."` makes one value of
//! several words (e.g. `misc_path "/usr/bin/check -p 80"`).

use super::error::SyntaxError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Word(String),
    Open,
    Close,
    /// End of a line: ends a statement.
    Newline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    /// 1-based.
    pub line: usize,
}

pub fn tokens(text: &str) -> Result<Vec<Token>, SyntaxError> {
    let mut out = Vec::new();
    for (i, line_text) in text.lines().enumerate() {
        let line = i + 1;
        let mut chars = line_text.char_indices().peekable();
        while let Some(&(at, c)) = chars.peek() {
            match c {
                c if c.is_whitespace() => {
                    chars.next();
                }
                '#' | '!' => break,
                '{' | '}' => {
                    chars.next();
                    let tok = if c == '{' { Tok::Open } else { Tok::Close };
                    out.push(Token { tok, line });
                }
                '"' => {
                    chars.next();
                    let rest = &line_text[at + 1..];
                    let end = rest
                        .find('"')
                        .ok_or(SyntaxError::UnterminatedQuote { line })?;
                    out.push(Token {
                        tok: Tok::Word(rest[..end].to_string()),
                        line,
                    });
                    // Skip the quoted text and the closing quote.
                    while chars.next_if(|&(j, _)| j <= at + 1 + end).is_some() {}
                }
                _ => {
                    let mut word = String::new();
                    while let Some(&(_, c)) = chars.peek() {
                        if c.is_whitespace() || c == '{' || c == '}' {
                            break;
                        }
                        word.push(c);
                        chars.next();
                    }
                    out.push(Token {
                        tok: Tok::Word(word),
                        line,
                    });
                }
            }
        }
        out.push(Token {
            tok: Tok::Newline,
            line,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokens(text)
            .unwrap()
            .into_iter()
            .map(|t| match t.tok {
                Tok::Word(w) => w,
                Tok::Open => "{".into(),
                Tok::Close => "}".into(),
                Tok::Newline => "\\n".into(),
            })
            .collect()
    }

    #[test]
    fn words_braces_comments_quotes() {
        assert_eq!(
            words("real_server 10.0.0.1 80 { # web1\n weight 3 ! three\n}"),
            [
                "real_server",
                "10.0.0.1",
                "80",
                "{",
                "\\n",
                "weight",
                "3",
                "\\n",
                "}",
                "\\n"
            ]
        );
        assert_eq!(words("url{path /}"), ["url", "{", "path", "/", "}", "\\n"]);
        assert_eq!(
            words("misc_path \"/bin/check -p 53\" x"),
            ["misc_path", "/bin/check -p 53", "x", "\\n"]
        );
        assert_eq!(words("path /a#b"), ["path", "/a#b", "\\n"]);
        assert_eq!(
            tokens("\n\nmisc_path \"/bin/x").unwrap_err(),
            SyntaxError::UnterminatedQuote { line: 3 }
        );
    }
}

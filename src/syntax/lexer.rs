//! The HCL lexer for code positions (bodies and expressions), as one logos enum.
//!
//! Template text (the inside of quoted strings and heredocs) and block comments are not
//! tokenised here: the scanner reads them with `memchr` and moves the lexer past them with
//! [`logos::Lexer::bump`], because they are most of a mod's bytes and need no tokens.
//! Tokens are plain `Copy` values; their text is taken from the source by span.

use logos::Logos;

/// A token in code position. Whitespace other than newlines is skipped.
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
#[logos(utf8 = false)]
#[logos(skip r"[ \t\x0C\r]+")]
pub enum Tok {
    /// A line end (`\n`; a `\r` before it is skipped as whitespace, so CRLF works).
    #[token(b"\n")]
    Newline,
    /// `# ...` or `// ...` up to (not including) the line end.
    #[regex(br"#[^\n]*", allow_greedy = true)]
    #[regex(br"//[^\n]*", allow_greedy = true)]
    LineComment,
    /// `/*`: the scanner finds the matching `*/` itself.
    #[token(b"/*")]
    BlockCommentStart,
    /// An identifier; HCL allows `-` after the first character. Bytes >= 0x80 are taken as
    /// identifier characters so non-ASCII identifiers stay one token.
    #[regex(br"[A-Za-z_\x80-\xFF][A-Za-z0-9_\-\x80-\xFF]*")]
    Ident,
    /// A number literal.
    #[regex(br"[0-9]+(\.[0-9]+)?([eE][+\-]?[0-9]+)?")]
    Number,
    /// `"`: the scanner reads the string's template text itself.
    #[token(b"\"")]
    Quote,
    /// `<<MARKER` or `<<-MARKER`: the scanner reads the heredoc itself.
    #[regex(br"<<-?[A-Za-z_][A-Za-z0-9_\-]*")]
    Heredoc,
    /// `{`
    #[token(b"{")]
    LBrace,
    /// `}`
    #[token(b"}")]
    RBrace,
    /// `[`
    #[token(b"[")]
    LBracket,
    /// `]`
    #[token(b"]")]
    RBracket,
    /// `(`
    #[token(b"(")]
    LParen,
    /// `)`
    #[token(b")")]
    RParen,
    /// `=`
    #[token(b"=")]
    Eq,
    /// `:`
    #[token(b":")]
    Colon,
    /// `,`
    #[token(b",")]
    Comma,
    /// `.`
    #[token(b".")]
    Dot,
    /// `...` (expansion in calls)
    #[token(b"...")]
    Ellipsis,
    /// `~` (strip marker in `${~` and `~}`)
    #[token(b"~")]
    Tilde,
    /// `=>` (in `for` expressions)
    #[token(b"=>")]
    Arrow,
    /// `[*]` splat is `[`, `*`, `]`; `*` lands here with the other operators.
    #[regex(br"==|!=|<=|>=|&&|\|\||[-+*/%<>!?]")]
    Op,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Result<Tok, ()>> {
        Tok::lexer(src.as_bytes()).collect()
    }

    #[test]
    fn header_and_attribute() {
        use Tok::*;
        assert_eq!(
            kinds("control \"x\" {\n  title = var.t\n}"),
            vec![
                Ok(Ident),
                Ok(Quote),
                Ok(Ident),
                Ok(Quote),
                Ok(LBrace),
                Ok(Newline),
                Ok(Ident),
                Ok(Eq),
                Ok(Ident),
                Ok(Dot),
                Ok(Ident),
                Ok(Newline),
                Ok(RBrace)
            ]
        );
    }

    #[test]
    fn comments_heredocs_and_dashes() {
        use Tok::*;
        assert_eq!(
            kinds("# c {\n// d\n/* x */ a-b = <<-EOQ"),
            vec![
                Ok(LineComment),
                Ok(Newline),
                Ok(LineComment),
                Ok(Newline),
                Ok(BlockCommentStart),
                Ok(Ident),
                Ok(Op),
                Ok(Op),
                Ok(Ident),
                Ok(Eq),
                Ok(Heredoc)
            ]
        );
    }

    #[test]
    fn crlf_is_one_newline() {
        assert_eq!(
            kinds("a\r\nb"),
            vec![Ok(Tok::Ident), Ok(Tok::Newline), Ok(Tok::Ident)]
        );
    }

    #[test]
    fn stray_bytes_are_errors_not_panics() {
        let toks = kinds("$ @ ` \\ \0");
        assert!(toks.iter().all(|t| t.is_err()));
    }
}

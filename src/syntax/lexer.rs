//! The HCL lexer for code positions (bodies and expressions), as one logos enum.
//!
//! Template text (the inside of quoted strings and heredocs) and block comments are not
//! tokenised here: the scanner reads them with `memchr` and moves the lexer past them with
//! [`logos::Lexer::bump`], because they are most of a mod's bytes and need no tokens.
//! Tokens are plain `Copy` values; their text is taken from the source by span.

use logos::Logos;

/// A token in code position. Whitespace is skipped, line ends included: a third of a mod's
/// tokens would be line ends, and the scanner only needs to know whether one came before a
/// token, which the lexer's `extras` flag records (see [`line_end`]).
#[derive(Logos, Clone, Copy, Debug, PartialEq, Eq)]
#[logos(utf8 = false, extras = bool)]
#[logos(skip r"[ \t\x0C\r]+")]
pub enum Tok {
    /// Never produced: line ends (with the blanks around them) are skipped, setting the
    /// lexer's `extras` to `true` (the scanner reads and clears it).
    #[regex(br"\n[ \t\x0C\r\n]*", line_end)]
    LineEnd,
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

/// Skips a run of line ends and notes that one was seen.
fn line_end(lex: &mut logos::Lexer<'_, Tok>) -> logos::Skip {
    lex.extras = true;
    logos::Skip
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
                Ok(Ident),
                Ok(Eq),
                Ok(Ident),
                Ok(Dot),
                Ok(Ident),
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
                Ok(LineComment),
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
    fn line_ends_are_skipped_and_noted() {
        assert_eq!(kinds("a\r\nb\n"), vec![Ok(Tok::Ident), Ok(Tok::Ident)]);
        let mut lex = Tok::lexer(b"a b\n  c".as_slice());
        assert_eq!(lex.next(), Some(Ok(Tok::Ident)));
        assert_eq!(lex.next(), Some(Ok(Tok::Ident)));
        assert!(!lex.extras);
        assert_eq!(lex.next(), Some(Ok(Tok::Ident)));
        assert!(lex.extras);
    }

    #[test]
    fn stray_bytes_are_errors_not_panics() {
        let toks = kinds("$ @ ` \\ \0");
        assert!(toks.iter().all(|t| t.is_err()));
    }
}

//! The formatter's syntax check: a validating parser over the [`super::lexer`]'s tokens that
//! decides as hclsyntax's parser (`parser.go`, `parser_template.go`, hcl v2) decides, and
//! answers only "the first error, at this byte" or "fine".
//!
//! It follows hclsyntax's recursive descent step by step (the peeker that hides comments,
//! and newlines where they do not matter; bodies, one-line blocks, attributes; the
//! expression grammar with traversals, splats, legacy `a.0` indexes, calls, tuples,
//! objects, `for` expressions, conditionals; templates with their escapes,
//! interpolations and balanced `%{ if }`/`%{ for }` directives; number literals the way
//! `big.ParseFloat` reads them; an attribute set twice in one body) but builds no tree: it
//! stops at the first error. hclsyntax reports a template's unbalanced directives after
//! every other error inside that template; that order is kept so the position is the one
//! hclsyntax reports first. Nesting is bounded only by memory, as in hclsyntax: past
//! [`SHALLOW_DEPTH`] levels the check runs again on a thread whose stack fits the input.

use std::collections::HashSet;

use super::lexer::{Kind, LexError, Token};

/// Nesting levels checked on the caller's stack (a few hundred bytes each).
const SHALLOW_DEPTH: u32 = 400;
/// Stack bytes reserved per token (an upper bound of the nesting) on the deep-nesting thread.
const STACK_PER_TOKEN: usize = 4096;
/// The largest stack asked for the deep-nesting thread (Go's own stack limit is 1 GB).
const MAX_STACK: usize = 1 << 30;

/// Why the parse stopped.
enum Stop {
    /// The first syntax error.
    Error(LexError),
    /// Deeper than this parser's depth limit.
    TooDeep,
}

type Step = Result<(), Stop>;

fn fail(offset: usize, message: &'static str) -> Stop {
    Stop::Error(LexError { offset, message })
}

/// hclsyntax's first syntax error in `tokens` (a complete token list of `src`, ending with
/// `Eof`, free of lexical errors), or `None` when it parses.
pub(crate) fn check(src: &[u8], tokens: &[Token]) -> Option<LexError> {
    match run(src, tokens, SHALLOW_DEPTH) {
        Ok(()) => None,
        Err(Stop::Error(e)) => Some(e),
        Err(Stop::TooDeep) => deep(src, tokens),
    }
}

/// [`check`] on a thread with a stack as large as the nesting may need.
fn deep(src: &[u8], tokens: &[Token]) -> Option<LexError> {
    let stack = tokens
        .len()
        .saturating_mul(STACK_PER_TOKEN)
        .saturating_add(1 << 20)
        .min(MAX_STACK);
    let depth = u32::try_from(stack / STACK_PER_TOKEN).unwrap_or(u32::MAX);
    let too_deep = LexError {
        offset: 0,
        message: "nesting too deep to check",
    };
    let outcome = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("modlens-fmt-deep".into())
            .stack_size(stack)
            .spawn_scoped(scope, || run(src, tokens, depth))
            .ok()
            .and_then(|h| h.join().ok())
    });
    match outcome {
        Some(Ok(())) => None,
        Some(Err(Stop::Error(e))) => Some(e),
        Some(Err(Stop::TooDeep)) | None => Some(too_deep),
    }
}

fn run(src: &[u8], tokens: &[Token], max_depth: u32) -> Step {
    let mut p = Parser {
        src,
        tokens,
        pos: 0,
        newlines: Vec::with_capacity(32),
        depth: 0,
        max_depth,
        bodies: 0,
        names: HashSet::default(),
        directives: Vec::new(),
    };
    p.newlines.push(true);
    p.body(Kind::Eof, 0)
}

/// A template directive still open: an `if` (and whether its `else` was seen) or a `for`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Directive {
    If { has_else: bool },
    For,
}

/// The parser's state: the tokens, the peeker's position and newline mode.
struct Parser<'a> {
    src: &'a [u8],
    tokens: &'a [Token],
    /// Index of the next raw token.
    pos: usize,
    /// hclsyntax's `IncludeNewlinesStack`: whether newlines are tokens here.
    newlines: Vec<bool>,
    depth: u32,
    max_depth: u32,
    /// Bodies opened so far (an id for each, for [`Parser::names`]).
    bodies: u32,
    /// Attribute names seen, per body id.
    names: HashSet<(u32, &'a [u8]), foldhash::fast::FixedState>,
    /// Open template directives of every template being read, innermost last.
    directives: Vec<Directive>,
}

/// A token as the peeker shows it: its kind (a comment ending a line may show as a
/// newline) and where it starts.
#[derive(Clone, Copy)]
struct Peeked {
    kind: Kind,
    start: usize,
    end: usize,
    /// The raw index after it.
    next: usize,
}

impl<'a> Parser<'a> {
    fn include_newlines(&self) -> bool {
        self.newlines.last().copied().unwrap_or(true)
    }

    /// hclsyntax's `peeker.nextToken`.
    fn peek(&self) -> Peeked {
        let nl = self.include_newlines();
        let mut i = self.pos;
        while let Some(t) = self.tokens.get(i) {
            match t.kind {
                Kind::Comment => {
                    if nl && t.end > t.start && self.src.get(t.end - 1) == Some(&b'\n') {
                        return Peeked {
                            kind: Kind::Newline,
                            start: t.start,
                            end: t.end,
                            next: i + 1,
                        };
                    }
                }
                Kind::Newline if !nl => {}
                kind => {
                    return Peeked {
                        kind,
                        start: t.start,
                        end: t.end,
                        next: i + 1,
                    };
                }
            }
            i += 1;
        }
        let end = self.src.len();
        Peeked {
            kind: Kind::Eof,
            start: end,
            end,
            next: self.tokens.len(),
        }
    }

    fn read(&mut self) -> Peeked {
        let t = self.peek();
        self.pos = t.next;
        t
    }

    fn text(&self, t: &Peeked) -> &'a [u8] {
        self.src.get(t.start..t.end).unwrap_or(b"")
    }

    fn is_keyword(&self, t: &Peeked, word: &[u8]) -> bool {
        t.kind == Kind::Ident && self.text(t) == word
    }

    fn enter(&mut self) -> Step {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(Stop::TooDeep);
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// `ParseBody(end)`; `open` is where the body's `{` is (for an unclosed body).
    fn body(&mut self, end: Kind, open: usize) -> Step {
        self.enter()?;
        self.bodies += 1;
        let id = self.bodies;
        loop {
            let next = self.peek();
            if next.kind == end {
                self.read();
                break;
            }
            match next.kind {
                Kind::Newline => {
                    self.read();
                }
                Kind::Ident => self.body_item(id)?,
                Kind::OQuote => return Err(fail(next.start, "argument names must not be quoted")),
                Kind::Eof => return Err(fail(open, "this block has no closing brace")),
                _ => {
                    return Err(fail(
                        next.start,
                        "an argument or block definition is required here",
                    ));
                }
            }
        }
        self.leave();
        Ok(())
    }

    /// `ParseBodyItem`: an attribute or a block, in body `id`.
    fn body_item(&mut self, id: u32) -> Step {
        let ident = self.read();
        let next = self.peek();
        match next.kind {
            Kind::Equal => {
                self.read();
                self.expression()?;
                let end = self.peek();
                match end.kind {
                    Kind::Newline | Kind::Eof => {
                        self.read();
                    }
                    Kind::Comma => {
                        return Err(fail(
                            end.start,
                            "arguments are separated by newlines, not commas",
                        ));
                    }
                    _ => return Err(fail(end.start, "an argument must end with a newline")),
                }
                if !self.names.insert((id, self.text(&ident))) {
                    return Err(fail(
                        ident.start,
                        "this argument was already set in this block",
                    ));
                }
                Ok(())
            }
            Kind::OQuote | Kind::OBrace | Kind::Ident => self.block(),
            _ => Err(fail(
                ident.start,
                "an argument or block definition is required here (use `=` to set an argument)",
            )),
        }
    }

    /// `finishParsingBodyBlock`: labels, then a body (multi-line or one-attribute).
    fn block(&mut self) -> Step {
        let open = loop {
            let tok = self.peek();
            match tok.kind {
                Kind::OBrace => break self.read(),
                Kind::OQuote => self.quoted_label()?,
                Kind::Ident => {
                    self.read();
                }
                Kind::Equal => {
                    return Err(fail(tok.start, "a block definition cannot use `=`"));
                }
                Kind::Newline => {
                    return Err(fail(
                        tok.start,
                        "a block's `{` must be on the same line as its header",
                    ));
                }
                _ => {
                    return Err(fail(
                        tok.start,
                        "a quoted block label or `{` is expected here",
                    ));
                }
            }
        };
        match self.peek().kind {
            Kind::Newline | Kind::Eof | Kind::CBrace => self.body(Kind::CBrace, open.start)?,
            _ => {
                self.single_attr_body()?;
                let next = self.peek();
                match next.kind {
                    Kind::CBrace => {
                        self.read();
                    }
                    Kind::Eof => return Err(fail(open.start, "this block has no closing brace")),
                    _ => {
                        return Err(fail(
                            next.start,
                            "a single-line block holds one argument and closes on its line",
                        ));
                    }
                }
            }
        }
        let eol = self.peek();
        match eol.kind {
            Kind::Newline | Kind::Eof => {
                self.read();
                Ok(())
            }
            _ => Err(fail(
                eol.start,
                "a block definition must end with a newline",
            )),
        }
    }

    /// `parseSingleAttrBody`: `name = expr` on the line of the block's `{`.
    fn single_attr_body(&mut self) -> Step {
        let ident = self.read();
        let item_error = if ident.kind != Kind::Ident {
            fail(
                ident.start,
                "an argument or block definition is required here",
            )
        } else {
            match self.peek().kind {
                Kind::Equal => {
                    self.read();
                    return self.expression();
                }
                Kind::OQuote | Kind::OBrace | Kind::Ident => fail(
                    ident.start,
                    "a single-line block can hold only one argument",
                ),
                _ => fail(
                    ident.start,
                    "an argument or block definition is required here (use `=` to set an argument)",
                ),
            }
        };
        // hclsyntax skips to the end of the line and, finding a newline or a comma there
        // instead of the block's `}`, reports that first.
        self.recover_after_body_item();
        let next = self.peek();
        if matches!(next.kind, Kind::Newline | Kind::Comma) {
            return Err(fail(
                next.start,
                "a single-line block holds one argument and closes on its line",
            ));
        }
        Err(item_error)
    }

    /// hclsyntax's `recoverAfterBodyItem`: past the next newline outside brackets.
    fn recover_after_body_item(&mut self) {
        let mut open: Vec<Kind> = Vec::new();
        loop {
            let t = self.read();
            let opener = match t.kind {
                Kind::Newline if open.is_empty() => return,
                Kind::Eof => return,
                Kind::OBrace
                | Kind::OBrack
                | Kind::OParen
                | Kind::OQuote
                | Kind::OHeredoc
                | Kind::TemplateInterp
                | Kind::TemplateControl => {
                    open.push(t.kind);
                    continue;
                }
                Kind::CBrace => Kind::OBrace,
                Kind::CBrack => Kind::OBrack,
                Kind::CParen => Kind::OParen,
                Kind::CQuote => Kind::OQuote,
                Kind::CHeredoc => Kind::OHeredoc,
                Kind::TemplateSeqEnd => Kind::TemplateInterp,
                _ => continue,
            };
            let matches = |k: Kind| {
                k == opener || (opener == Kind::TemplateInterp && k == Kind::TemplateControl)
            };
            while open.last().is_some_and(|&k| !matches(k)) {
                open.pop();
            }
            open.pop();
        }
    }

    /// `parseQuotedStringLiteral`: a block label, a string without template sequences.
    fn quoted_label(&mut self) -> Step {
        self.read();
        loop {
            let tok = self.read();
            match tok.kind {
                Kind::CQuote => return Ok(()),
                Kind::QuotedLit => self.check_escapes(&tok)?,
                Kind::TemplateInterp | Kind::TemplateControl => {
                    return Err(fail(
                        tok.start,
                        "template sequences are not allowed in a block label",
                    ));
                }
                Kind::Eof => return Err(fail(tok.start, "unterminated string")),
                _ => return Err(fail(tok.start, "not valid in a string literal")),
            }
        }
    }

    /// `ParseExpression`: binary operations, then an optional `? :` conditional.
    fn expression(&mut self) -> Step {
        loop {
            self.operand()?;
            while is_binary(self.peek().kind) {
                self.read();
                self.operand()?;
            }
            let question = self.peek();
            if question.kind != Kind::Question {
                return Ok(());
            }
            self.read();
            self.enter()?;
            self.expression()?;
            self.leave();
            let colon = self.peek();
            if colon.kind != Kind::Colon {
                return Err(fail(
                    colon.start,
                    "a conditional needs a false expression after `:`",
                ));
            }
            self.read();
            // The false expression is an expression again: loop instead of recursing.
        }
    }

    /// `parseExpressionWithTraversals`: a term and its traversals.
    fn operand(&mut self) -> Step {
        self.term()?;
        self.traversals()
    }

    /// `parseExpressionTraversals`: `.name`, `.0`, `.*`, `[*]`, `[expr]`.
    fn traversals(&mut self) -> Step {
        loop {
            let next = self.peek();
            match next.kind {
                Kind::Dot => {
                    self.read();
                    let attr = self.peek();
                    match attr.kind {
                        Kind::Ident => {
                            self.read();
                        }
                        Kind::NumberLit => {
                            self.read();
                            self.legacy_index(&attr)?;
                        }
                        Kind::Star => {
                            self.read();
                            while self.peek().kind == Kind::Dot {
                                self.read();
                                let step = self.peek();
                                match step.kind {
                                    Kind::NumberLit => {
                                        self.read();
                                        // hclsyntax points a chained index at the `*`.
                                        if self.text(&step).contains(&b'.') {
                                            return Err(fail(
                                                attr.start,
                                                "legacy index syntax cannot chain two indexes \
                                                 (write [a][b])",
                                            ));
                                        }
                                        self.number(&step)?;
                                    }
                                    Kind::Ident => {
                                        self.read();
                                    }
                                    Kind::Star => {
                                        return Err(fail(
                                            step.start,
                                            "a splat cannot be nested in an attribute-only splat",
                                        ));
                                    }
                                    // hclsyntax points at the `*`.
                                    _ => {
                                        return Err(fail(
                                            attr.start,
                                            "an attribute name is required after a dot",
                                        ));
                                    }
                                }
                            }
                        }
                        _ => {
                            return Err(fail(
                                attr.start,
                                "an attribute name is required after a dot",
                            ));
                        }
                    }
                }
                Kind::OBrack => {
                    self.read();
                    if self.peek().kind == Kind::Star {
                        self.read();
                        let close = self.read();
                        if close.kind != Kind::CBrack {
                            // hclsyntax's diagnostic ends up pointing where its recovery stops.
                            let at = self.recover_to_cbrack();
                            return Err(fail(at, "a splat's `*` must be followed by `]`"));
                        }
                    } else {
                        self.newlines.push(false);
                        self.expression()?;
                        let close = self.read();
                        if close.kind != Kind::CBrack {
                            let at = self.recover_to_cbrack();
                            return Err(fail(at, "an index must end with `]`"));
                        }
                        self.newlines.pop();
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// hclsyntax's `recover(TokenCBrack)`: where the `]` closing the current bracket is (or
    /// the end of the text).
    fn recover_to_cbrack(&mut self) -> usize {
        let mut nest = 0usize;
        loop {
            let t = self.read();
            match t.kind {
                Kind::OBrack => nest += 1,
                Kind::CBrack if nest == 0 => return t.start,
                Kind::CBrack => nest -= 1,
                Kind::Eof => return t.start,
                _ => {}
            }
        }
    }

    /// A number after a dot (`a.0`): one index, not `0.1`, and a valid number.
    fn legacy_index(&self, num: &Peeked) -> Step {
        if self.text(num).contains(&b'.') {
            return Err(fail(
                num.start,
                "legacy index syntax cannot chain two indexes (write [a][b])",
            ));
        }
        self.number(num)
    }

    /// `numberLitValue`: what `big.ParseFloat` accepts.
    fn number(&self, num: &Peeked) -> Step {
        if number_is_valid(self.text(num)) {
            Ok(())
        } else {
            Err(fail(num.start, "invalid number literal"))
        }
    }

    /// `parseExpressionTerm`.
    fn term(&mut self) -> Step {
        self.enter()?;
        let start = self.peek();
        match start.kind {
            Kind::OParen => {
                self.read();
                self.newlines.push(false);
                self.expression()?;
                let close = self.peek();
                if close.kind != Kind::CParen {
                    return Err(fail(close.start, "expected `)` to close the expression"));
                }
                self.read();
                self.newlines.pop();
            }
            Kind::NumberLit => {
                self.read();
                self.number(&start)?;
            }
            Kind::Ident => {
                self.read();
                if self.peek().kind == Kind::OParen {
                    self.call(&start)?;
                }
            }
            Kind::OQuote => {
                self.read();
                self.template(Kind::CQuote)?;
            }
            Kind::OHeredoc => {
                self.read();
                self.template(Kind::CHeredoc)?;
            }
            Kind::Minus | Kind::Bang => {
                self.read();
                self.operand()?;
            }
            Kind::OBrack => self.tuple()?,
            Kind::OBrace => self.object()?,
            Kind::Eof => return Err(fail(start.start, "expected an expression, found the end")),
            _ => return Err(fail(start.start, "expected the start of an expression")),
        }
        self.leave();
        Ok(())
    }

    /// `finishParsingFunctionCall`, after the name.
    fn call(&mut self, name: &Peeked) -> Step {
        self.read();
        self.newlines.push(false);
        loop {
            if self.peek().kind == Kind::CParen {
                self.read();
                break;
            }
            self.expression()?;
            let sep = self.read();
            match sep.kind {
                Kind::CParen => break,
                Kind::Ellipsis => {
                    if self.peek().kind != Kind::CParen {
                        return Err(fail(
                            sep.start,
                            "an expanded argument (`...`) must be followed by `)`",
                        ));
                    }
                    self.read();
                    break;
                }
                Kind::Comma => {
                    if self.peek().kind == Kind::CParen {
                        self.read();
                        break;
                    }
                }
                Kind::Eof => {
                    return Err(fail(name.start, "this function call has no closing `)`"));
                }
                _ => return Err(fail(sep.start, "expected `,` between function arguments")),
            }
        }
        self.newlines.pop();
        Ok(())
    }

    /// `parseTupleCons`.
    fn tuple(&mut self) -> Step {
        let open = self.read();
        self.newlines.push(false);
        if self.is_keyword(&self.peek(), b"for") {
            self.for_expr(Kind::CBrack)?;
        } else {
            loop {
                if self.peek().kind == Kind::CBrack {
                    self.read();
                    break;
                }
                self.expression()?;
                let next = self.peek();
                match next.kind {
                    Kind::CBrack => {
                        self.read();
                        break;
                    }
                    Kind::Comma => {
                        self.read();
                    }
                    Kind::Eof => return Err(fail(open.start, "this tuple has no closing `]`")),
                    _ => return Err(fail(next.start, "expected `,` between tuple items")),
                }
            }
        }
        self.newlines.pop();
        Ok(())
    }

    /// `parseObjectCons`.
    fn object(&mut self) -> Step {
        let open = self.read();
        self.newlines.push(false);
        let is_for = self.is_keyword(&self.peek(), b"for");
        self.newlines.pop();
        if is_for {
            return self.for_expr(Kind::CBrace);
        }
        self.newlines.push(true);
        loop {
            let next = self.peek();
            if next.kind == Kind::Newline {
                self.read();
                continue;
            }
            if next.kind == Kind::CBrace {
                self.read();
                break;
            }
            self.expression()?;
            let next = self.peek();
            match next.kind {
                Kind::Equal | Kind::Colon => {
                    self.read();
                }
                Kind::Eof => return Err(fail(open.start, "this object has no closing `}`")),
                _ => {
                    return Err(fail(
                        next.start,
                        "expected `=` between an object key and its value",
                    ));
                }
            }
            self.expression()?;
            let next = self.peek();
            match next.kind {
                Kind::CBrace => {
                    self.read();
                    break;
                }
                Kind::Comma | Kind::Newline => {
                    self.read();
                }
                Kind::Eof => return Err(fail(open.start, "this object has no closing `}`")),
                _ => {
                    return Err(fail(
                        next.start,
                        "expected a newline or `,` between object attributes",
                    ));
                }
            }
        }
        self.newlines.pop();
        Ok(())
    }

    /// `finishParsingForExpr`, at `for`; `close` is `]` (a tuple) or `}` (an object).
    fn for_expr(&mut self, close: Kind) -> Step {
        self.newlines.push(false);
        self.read();
        let name = self.peek();
        if name.kind != Kind::Ident {
            return Err(fail(name.start, "`for` needs a variable name"));
        }
        self.read();
        if self.peek().kind == Kind::Comma {
            self.read();
            let value = self.peek();
            if value.kind != Kind::Ident {
                return Err(fail(value.start, "`for` needs a value variable after `,`"));
            }
            self.read();
        }
        let in_kw = self.peek();
        if !self.is_keyword(&in_kw, b"in") {
            return Err(fail(in_kw.start, "`for` needs `in` after its variables"));
        }
        self.read();
        self.expression()?;
        let colon = self.peek();
        if colon.kind != Kind::Colon {
            return Err(fail(colon.start, "`for` needs `:` after its collection"));
        }
        self.read();
        let first = self.peek();
        self.expression()?;
        let mut key = None;
        if self.peek().kind == Kind::FatArrow {
            self.read();
            key = Some(first.start);
            self.expression()?;
        }
        let mut ellipsis = None;
        if self.peek().kind == Kind::Ellipsis {
            ellipsis = Some(self.read().start);
        }
        if self.is_keyword(&self.peek(), b"if") {
            self.read();
            self.expression()?;
        }
        let end = self.peek();
        if end.kind != close {
            return Err(fail(
                end.start,
                "extra characters after the `for` expression",
            ));
        }
        self.read();
        if close == Kind::CBrack {
            if let Some(at) = key {
                return Err(fail(
                    at,
                    "a tuple `for` cannot have a key expression (`=>`)",
                ));
            }
            if let Some(at) = ellipsis {
                return Err(fail(at, "a tuple `for` cannot group with `...`"));
            }
        } else if key.is_none() {
            return Err(fail(
                first.start,
                "an object `for` needs a key expression (`key => value`)",
            ));
        }
        self.newlines.pop();
        Ok(())
    }

    /// `parseTemplateParts` then the directive balance of `parseRoot`, after the opener,
    /// up to and including `end` (`"` or the heredoc's closing marker).
    fn template(&mut self, end: Kind) -> Step {
        let first = self.peek().start;
        let base = self.directives.len();
        // The first unbalanced directive: hclsyntax reports it after the parts' errors.
        let mut unbalanced: Option<LexError> = None;
        let note = |at: usize, message: &'static str, u: &mut Option<LexError>| {
            if u.is_none() {
                *u = Some(LexError {
                    offset: at,
                    message,
                });
            }
        };
        loop {
            let next = self.read();
            if next.kind == end {
                if unbalanced.is_none() && self.directives.len() > base {
                    note(
                        next.start,
                        "a template directive is never closed",
                        &mut unbalanced,
                    );
                }
                break;
            }
            match next.kind {
                Kind::QuotedLit => self.check_escapes(&next)?,
                Kind::StringLit => {}
                Kind::TemplateInterp => {
                    self.newlines.push(false);
                    self.expression()?;
                    let close = self.peek();
                    if close.kind != Kind::TemplateSeqEnd {
                        let at = match close.kind {
                            Kind::Eof => first,
                            Kind::CQuote | Kind::OQuote if end == Kind::CQuote => first,
                            _ => close.start,
                        };
                        return Err(fail(at, "expected `}` to end the interpolation"));
                    }
                    self.read();
                    self.newlines.pop();
                }
                Kind::TemplateControl => {
                    self.newlines.push(false);
                    let kw = self.peek();
                    if kw.kind != Kind::Ident {
                        return Err(fail(
                            kw.start,
                            "a directive keyword (`if`, `for`, ...) is expected",
                        ));
                    }
                    self.read();
                    match self.text(&kw) {
                        b"if" => {
                            self.expression()?;
                            self.directives.push(Directive::If { has_else: false });
                        }
                        b"else" => {
                            let top = if self.directives.len() > base {
                                self.directives.last().copied()
                            } else {
                                None
                            };
                            match top {
                                Some(Directive::If { has_else: false }) => {
                                    if let Some(d) = self.directives.last_mut() {
                                        *d = Directive::If { has_else: true };
                                    }
                                }
                                Some(Directive::If { has_else: true }) => {
                                    note(next.start, "a second `else` in one `if`", &mut unbalanced)
                                }
                                _ => note(next.start, "an `else` outside an `if`", &mut unbalanced),
                            }
                        }
                        b"endif" => {
                            match self.directives.last() {
                                Some(Directive::If { .. }) if self.directives.len() > base => {}
                                _ => {
                                    note(next.start, "an `endif` without its `if`", &mut unbalanced)
                                }
                            }
                            if self.directives.len() > base {
                                self.directives.pop();
                            }
                        }
                        b"for" => {
                            let name = self.peek();
                            if name.kind != Kind::Ident {
                                return Err(fail(name.start, "`for` needs a variable name"));
                            }
                            self.read();
                            if self.peek().kind == Kind::Comma {
                                self.read();
                                let value = self.peek();
                                if value.kind != Kind::Ident {
                                    return Err(fail(
                                        value.start,
                                        "`for` needs a value variable after `,`",
                                    ));
                                }
                                self.read();
                            }
                            let in_kw = self.peek();
                            if !self.is_keyword(&in_kw, b"in") {
                                return Err(fail(
                                    in_kw.start,
                                    "`for` needs `in` after its variables",
                                ));
                            }
                            self.read();
                            self.expression()?;
                            self.directives.push(Directive::For);
                        }
                        b"endfor" => {
                            match self.directives.last() {
                                Some(Directive::For) if self.directives.len() > base => {}
                                _ => note(
                                    next.start,
                                    "an `endfor` without its `for`",
                                    &mut unbalanced,
                                ),
                            }
                            if self.directives.len() > base {
                                self.directives.pop();
                            }
                        }
                        _ => return Err(fail(kw.start, "not a template directive keyword")),
                    }
                    let close = self.peek();
                    if close.kind != Kind::TemplateSeqEnd {
                        return Err(fail(close.start, "expected `}` to end the directive"));
                    }
                    self.read();
                    self.newlines.pop();
                }
                _ => return Err(fail(next.start, "unterminated template")),
            }
        }
        self.directives.truncate(base);
        match unbalanced {
            Some(e) => Err(Stop::Error(e)),
            None => Ok(()),
        }
    }

    /// `ParseStringLiteralToken` on a quoted literal: its escapes must be valid.
    fn check_escapes(&self, tok: &Peeked) -> Step {
        let text = self.text(tok);
        let mut i = 0;
        while let Some(off) = memchr::memchr(b'\\', &text[i..]) {
            let at = i + off;
            let valid;
            (valid, i) = escape(text, at);
            if !valid {
                return Err(fail(tok.start + at, "invalid escape sequence"));
            }
        }
        Ok(())
    }
}

/// The escape at `text[at]` (a backslash) as `scanStringLit` slices it: whether it is
/// valid and where it ends.
fn escape(text: &[u8], at: usize) -> (bool, usize) {
    let hex_run = |from: usize, max: usize| {
        text[from.min(text.len())..]
            .iter()
            .take(max)
            .take_while(|b| b.is_ascii_hexdigit())
            .count()
    };
    match text.get(at + 1) {
        None => (false, at + 1),
        Some(&c @ (b'u' | b'U')) => {
            let want = if c == b'u' { 4 } else { 8 };
            let n = hex_run(at + 2, want);
            let end = at + 2 + n;
            let valid = n == want
                && std::str::from_utf8(&text[at + 2..end])
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                    .is_some();
            (valid, end)
        }
        Some(&c) => {
            let len = match c {
                b if b < 0x80 => 1,
                b if b >= 0xF0 => 4,
                b if b >= 0xE0 => 3,
                _ => 2,
            };
            (
                matches!(c, b'n' | b'r' | b't' | b'"' | b'\\'),
                (at + 1 + len).min(text.len()),
            )
        }
    }
}

/// The binary operators of all precedence levels.
fn is_binary(kind: Kind) -> bool {
    use Kind::*;
    matches!(
        kind,
        Or | And
            | EqualOp
            | NotEqual
            | GreaterThan
            | GreaterThanEq
            | LessThan
            | LessThanEq
            | Plus
            | Minus
            | Star
            | Slash
            | Percent
    )
}

/// Whether `big.ParseFloat(s, 10, 512, ToNearestEven)` (cty's `ParseNumberVal`) accepts a
/// number token: `digits [. digits] [e [+-] digits]`, an exponent that fits an `int64`, and
/// a binary exponent within `big.Float`'s `int32` range unless the mantissa is zero.
fn number_is_valid(s: &[u8]) -> bool {
    let digits = |from: usize| {
        s[from.min(s.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let int = digits(0);
    if int == 0 {
        return false;
    }
    let mut i = int;
    let mut frac = 0;
    if s.get(i) == Some(&b'.') {
        frac = digits(i + 1);
        if frac == 0 {
            return false;
        }
        i += 1 + frac;
    }
    let mut exp: i64 = 0;
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let sign_len = usize::from(matches!(s.get(i + 1), Some(b'+' | b'-')));
        let n = digits(i + 1 + sign_len);
        if n == 0 {
            return false;
        }
        let Ok(text) = std::str::from_utf8(&s[i + 1..i + 1 + sign_len + n]) else {
            return false;
        };
        let Ok(e) = text.parse::<i64>() else {
            return false;
        };
        exp = e;
        i += 1 + sign_len + n;
    }
    if i != s.len() {
        return false;
    }
    // The mantissa: every digit, without leading zeros.
    let frac_digits: &[u8] = if frac > 0 {
        &s[int + 1..int + 1 + frac]
    } else {
        &[]
    };
    let all = || s[..int].iter().chain(frac_digits).copied();
    let Some(lead) = all().position(|b| b != b'0') else {
        return true;
    };
    let significant = int + frac - lead;
    let head = all()
        .skip(lead)
        .take(17)
        .fold(0.0_f64, |acc, d| acc * 10.0 + f64::from(d - b'0'));
    // bitlen(m) from its leading digits; exact enough away from the ±2^31 edge.
    let log2 = head.log2() + significant.saturating_sub(17) as f64 * std::f64::consts::LOG2_10;
    let bitlen = log2.floor() as i128 + 1;
    let exp2 = bitlen - frac as i128 + i128::from(exp);
    (i128::from(i32::MIN)..=i128::from(i32::MAX)).contains(&exp2)
}

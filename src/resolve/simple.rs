//! The value of the commonest title and tags expressions without hcl-rs: a variable or a
//! local alone (`local.common_tags`), and `merge` of variables, locals and literal objects
//! of literal strings (`merge(local.common_tags, { type = "Benchmark" })`, what nearly every
//! control of a compliance mod writes). Parsing such a text with hcl-edit, converting the
//! values it uses to `hcl::Value` and back costs most of evaluating the field; this reads
//! the text once and builds the [`Val`] directly.
//!
//! It is an exact shortcut, never an approximation: [`value`] answers only when the text is
//! one of these shapes, written in a strict subset of HCL's syntax, and every value involved
//! is one whose conversion to `hcl::Value` and back is the identity (null, a string, an
//! object of strings). Anything else (a comment, an escape or a template in a string, a
//! number, a trailing comma in the call, a key that is a keyword or `for`, a key given twice,
//! a result over the size limits, ...) is `None`, and the general evaluation decides. The
//! tests hold it to that evaluation on every shape, and on generated texts.

use super::value::{Interner, MAX_NODES, MAX_TEXT_BYTES, Text, Val};

/// The value of `text` when it is `ROOT.NAME` or `merge(ARG, ...)` with each `ARG` a
/// `ROOT.NAME` or a literal object of literal strings, `ROOT` being `var` or `local`; `lookup`
/// gives a variable's or a local's value. `None` when the text is any other expression, or a
/// value it uses is not null, a string or an object of strings (the general evaluation then
/// gives the value, or the error).
pub fn value(
    text: &str,
    lookup: &dyn Fn(&str, &str) -> Option<Val>,
    interner: &Interner,
) -> Option<Val> {
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
    };
    // No blank around the expression: a field's text never has one, and the general
    // parser refuses one.
    let v = if p.eat(b"merge(") {
        let v = p.merge(lookup, interner)?;
        // Over the limits every value is held to, the general evaluation refuses it (each
        // argument is within them, not always what `merge` makes of them).
        let size = v.size();
        if size.nodes > MAX_NODES || size.bytes > MAX_TEXT_BYTES {
            return None;
        }
        v
    } else {
        let (root, name) = p.reference()?;
        match lookup(root, name)? {
            v @ (Val::Null | Val::Str(_)) => v,
            v @ Val::Object(_) if strings_only(&v) => v,
            _ => return None,
        }
    };
    (p.at == p.s.len()).then_some(v)
}

/// True for an object whose values are all strings.
fn strings_only(v: &Val) -> bool {
    v.as_object()
        .is_some_and(|o| o.iter().all(|(_, x)| matches!(x, Val::Str(_))))
}

struct Parser<'s> {
    s: &'s [u8],
    at: usize,
}

impl<'s> Parser<'s> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    /// Consumes `word` if the text goes on with it.
    fn eat(&mut self, word: &[u8]) -> bool {
        let found = self.s.get(self.at..).is_some_and(|r| r.starts_with(word));
        if found {
            self.at += word.len();
        }
        found
    }

    /// Spaces, tabs and line ends (inside brackets a line end is a blank).
    fn blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.at += 1;
        }
    }

    /// Spaces and tabs only (a line end can end an object's item).
    fn spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    /// Spaces and tabs; true if a line end follows them (which it consumes, with the blanks
    /// after it).
    fn line_end(&mut self) -> bool {
        self.spaces();
        if self.eat(b"\r\n") || self.eat(b"\n") {
            self.blanks();
            true
        } else {
            false
        }
    }

    /// An identifier in ASCII (`[A-Za-z_][A-Za-z0-9_-]*`).
    fn ident(&mut self) -> Option<&'s str> {
        let start = self.at;
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.at += 1,
            _ => return None,
        }
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        {
            self.at += 1;
        }
        std::str::from_utf8(&self.s[start..self.at]).ok()
    }

    /// `var.NAME` or `local.NAME`, with nothing after the name that would make it longer
    /// (an attribute, an index, a splat).
    fn reference(&mut self) -> Option<(&'static str, &'s str)> {
        let root = if self.eat(b"var.") {
            "var"
        } else if self.eat(b"local.") {
            "local"
        } else {
            return None;
        };
        let name = self.ident()?;
        (!matches!(self.peek(), Some(b'.' | b'[' | b'('))).then_some((root, name))
    }

    /// A quoted string of printable ASCII with no escape or template in it (what HCL reads
    /// as exactly its bytes: no escape to decode, nothing to normalize).
    fn string(&mut self) -> Option<&'s str> {
        if !self.eat(b"\"") {
            return None;
        }
        let start = self.at;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' | b'$' | b'%' => return None,
                c if !(b' '..=b'~').contains(&c) => return None,
                _ => self.at += 1,
            }
        }
        let s = std::str::from_utf8(&self.s[start..self.at]).ok()?;
        self.at += 1;
        Some(s)
    }

    /// The arguments of `merge(` up to its `)`: each a reference or a literal object,
    /// separated by commas (no trailing one).
    fn merge(
        &mut self,
        lookup: &dyn Fn(&str, &str) -> Option<Val>,
        interner: &Interner,
    ) -> Option<Val> {
        let mut entries: Vec<(Text, Val)> = Vec::new();
        loop {
            self.blanks();
            if self.peek() == Some(b'{') {
                self.object(&mut entries, interner)?;
            } else {
                let (root, name) = self.reference()?;
                match lookup(root, name)? {
                    // `merge` leaves a null argument out.
                    Val::Null => {}
                    v @ Val::Object(_) if strings_only(&v) => {
                        entries.extend(v.as_object()?.iter().cloned());
                    }
                    _ => return None,
                }
            }
            self.blanks();
            match self.peek()? {
                b',' => self.at += 1,
                b')' => {
                    self.at += 1;
                    break;
                }
                _ => return None,
            }
        }
        // Later arguments win; keys sorted, as `merge` and `Val::object` both give them.
        Some(Val::object(entries))
    }

    /// A literal object of literal strings: keys an identifier (not a keyword) or a string,
    /// `=` or `:`, each item ended by a comma or a line end; a key given twice is left to
    /// the general evaluation.
    fn object(&mut self, entries: &mut Vec<(Text, Val)>, interner: &Interner) -> Option<()> {
        self.at += 1; // `{`
        self.blanks();
        let first = entries.len();
        while self.peek() != Some(b'}') {
            let key = match self.peek()? {
                b'"' => self.string()?,
                _ => match self.ident()? {
                    // `for` too: `{ for ` starts a `for` expression for hcl-edit.
                    "null" | "true" | "false" | "for" => return None,
                    k => k,
                },
            };
            self.spaces();
            if !(self.eat(b"=") || self.eat(b":")) {
                return None;
            }
            self.spaces();
            let value = self.string()?;
            if entries[first..].iter().any(|(k, _)| &**k == key) {
                return None;
            }
            entries.push((interner.intern(key), Val::Str(interner.intern(value))));
            // The item ends with a comma or a line end, or the object does.
            self.spaces();
            let comma = self.eat(b",");
            let line = self.line_end();
            if !comma && !line && self.peek() != Some(b'}') {
                return None;
            }
        }
        self.at += 1; // `}`
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::eval;

    /// The general evaluation's value of `text` with `vars` in scope (`None`: an error, or
    /// the text does not parse).
    fn general(text: &str, vars: &[(&str, &str, Val)], i: &Interner) -> Option<Val> {
        let expr = hcl::Expression::from(eval::parse_expr_text(text).ok()?);
        let mut scope = eval::Scope::new();
        for (root, name, v) in vars {
            scope.insert(&[root, name], v.to_hcl());
        }
        eval::evaluate_text(&expr, text, scope, i).ok()
    }

    fn lookup<'a>(vars: &'a [(&str, &str, Val)]) -> impl Fn(&str, &str) -> Option<Val> + 'a {
        move |root, name| {
            vars.iter()
                .find(|(r, n, _)| *r == root && *n == name)
                .map(|(_, _, v)| v.clone())
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> Val {
        Val::object(pairs.iter().map(|(k, v)| (Text::from(*k), Val::str(v))))
    }

    fn vars() -> Vec<(&'static str, &'static str, Val)> {
        vec![
            (
                "local",
                "common",
                tags(&[("service", "AWS/S3"), ("type", "x")]),
            ),
            ("local", "empty", tags(&[])),
            ("local", "nothing", Val::Null),
            ("local", "word", Val::str("hello")),
            ("local", "number", Val::Number(1.into())),
            (
                "local",
                "nested",
                Val::object([(Text::from("a"), tags(&[("b", "c")]))]),
            ),
            (
                "var",
                "extra",
                tags(&[("team", "security"), ("service", "other")]),
            ),
        ]
    }

    #[test]
    fn the_common_shapes_are_answered_and_equal_the_general_evaluation() {
        let i = Interner::default();
        let vars = vars();
        let answered = [
            "merge(local.common, { type = \"Benchmark\" })",
            "merge(local.common, {\n    type = \"Benchmark\"\n  })",
            "merge(local.common, {\n  type    = \"Benchmark\"\n  \"a b\" : \"#//\",\n})",
            "merge(local.common, var.extra)",
            "merge(var.extra, local.common, { service = \"last\" })",
            "merge(local.nothing, { a = \"1\" })",
            "merge(local.empty, {})",
            "merge(\n  local.common,\n  { x-y = \"1\", z = \"2\" }\n)",
            "local.common",
            "var.extra",
            "local.word",
            "local.nothing",
        ];
        for text in answered {
            let fast = value(text, &lookup(&vars), &i);
            assert!(fast.is_some(), "not answered: {text}");
            assert_eq!(fast, general(text, &vars, &i), "{text}");
        }
    }

    #[test]
    fn a_first_key_named_for_is_left_to_the_general_evaluation() {
        // hcl-edit reads `{ for ` as the start of a `for` expression, and fails on it.
        let i = Interner::default();
        let vars = vars();
        for text in [
            "merge(local.common, { for = \"x\" })",
            "merge(local.common, {for\t= \"x\"})",
            "merge(local.common, {\nfor : \"x\"})",
            "merge({ for = \"x\" })",
        ] {
            assert_eq!(general(text, &vars, &i), None, "{text}");
            assert_eq!(value(text, &lookup(&vars), &i), None, "answered: {text}");
        }
    }

    #[test]
    fn a_merge_over_the_size_limits_is_left_to_the_general_evaluation() {
        // A local may hold exactly the most text a value may; what `merge` adds to it
        // makes a value the general evaluation refuses.
        let i = Interner::default();
        let full = Val::object([(Text::from("k"), Val::str(&"x".repeat(MAX_TEXT_BYTES - 1)))]);
        assert_eq!(full.size().bytes, MAX_TEXT_BYTES);
        let vars = vec![("local", "full", full)];
        let text = "merge(local.full, { z = \"1\" })";
        assert_eq!(general(text, &vars, &i), None);
        assert_eq!(value(text, &lookup(&vars), &i), None);
        // At the limit it is answered.
        let text = "merge(local.full, {})";
        let fast = value(text, &lookup(&vars), &i);
        assert!(fast.is_some());
        assert_eq!(fast, general(text, &vars, &i));
    }

    #[test]
    fn anything_else_is_left_to_the_general_evaluation() {
        let i = Interner::default();
        let vars = vars();
        let declined = [
            // Values whose conversion is not the identity, or that merge refuses.
            "merge(local.common, local.number)",
            "merge(local.nested, {})",
            "merge(local.word, {})",
            "local.number",
            "local.nested",
            // Syntax outside the subset (or not HCL at all).
            "merge(local.common, { a = \"x\" b = \"y\" })",
            "merge(local.common, { a = \"x\\\"y\" })",
            "merge(local.common, { a = \"${var.extra}\" })",
            "merge(local.common, { a = \"%{ if true }x%{ endif }\" })",
            "merge(local.common, { a = \"u\u{308}\" })",
            "merge(local.common, { a = 1 })",
            "merge(local.common, { null = \"x\" })",
            "merge(local.common, { a = \"1\", a = \"2\" })",
            "merge(local.common, {a = \"1\"},)",
            "merge(local.common, # a comment\n {})",
            "merge (local.common)",
            "merge()",
            "local.common.service",
            "local.common[\"service\"]",
            "local.missing",
            "upper(local.word)",
            "local . common",
            "merge(local.common, { a = \"1\" }) ",
            "  local.common",
        ];
        for text in declined {
            assert_eq!(value(text, &lookup(&vars), &i), None, "answered: {text}");
        }
    }

    proptest::proptest! {
        /// Generated `merge` calls and objects (keys and values with quotes, escapes,
        /// templates, keywords and non-ASCII; every separator, valid or not): whatever the
        /// shortcut answers is the general evaluation's value.
        #[test]
        fn whatever_it_answers_is_the_general_evaluations_value(
            args in proptest::collection::vec(arg(), 0..4),
            seps in proptest::collection::vec(
                proptest::sample::select(vec![",", ", ", ",\n", " ,", "\n,", "", " "]),
                4,
            ),
        ) {
            let i = Interner::default();
            let vars = vars();
            let mut text = String::from("merge(");
            for (n, a) in args.iter().enumerate() {
                if n > 0 {
                    text.push_str(seps[n % seps.len()]);
                }
                text.push_str(a);
            }
            text.push(')');
            if let Some(v) = value(&text, &lookup(&vars), &i) {
                proptest::prop_assert_eq!(Some(v), general(&text, &vars, &i), "{}", text);
            }
        }

        /// Well-formed ones are answered (the property above is not vacuous).
        #[test]
        fn well_formed_merges_are_answered(
            items in proptest::collection::vec(("[a-z_][a-z0-9_-]{0,6}", "[a-zA-Z0-9 ./#:-]{0,8}"), 0..5),
            newline in proptest::bool::ANY,
        ) {
            let i = Interner::default();
            let vars = vars();
            let mut keys = std::collections::HashSet::new();
            let body: Vec<String> = items
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "null" | "true" | "false" | "for") && keys.insert(k.clone()))
                .map(|(k, v)| format!("{k} = \"{v}\""))
                .collect();
            let sep = if newline { "\n" } else { ", " };
            let text = format!("merge(local.common, {{{}}})", body.join(sep));
            let fast = value(&text, &lookup(&vars), &i);
            proptest::prop_assert!(fast.is_some(), "{}", text);
            proptest::prop_assert_eq!(fast, general(&text, &vars, &i), "{}", text);
        }
    }

    /// One argument of a generated `merge`: a reference or an object literal whose items
    /// may be anything.
    fn arg() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let reference = proptest::sample::select(vec![
            "local.common",
            "local.empty",
            "local.nothing",
            "local.number",
            "local.nested",
            "var.extra",
            "local.missing",
        ])
        .prop_map(String::from);
        let key = proptest::sample::select(vec![
            "a", "type", "x-y", "_k", "null", "true", "for", "\"q k\"", "\"ü\"", "\"a\"", "1a",
        ]);
        let val = proptest::sample::select(vec![
            "\"v\"",
            "\"\"",
            "\"a b\"",
            "\"${local.word}\"",
            "\"x\\\"y\"",
            "\"%{ if true }y%{ endif }\"",
            "\"ü#//\"",
            "1",
            "true",
            "null",
            "local.word",
        ]);
        let item_sep = proptest::sample::select(vec![",", "\n", ", ", " ", ",\n", ""]);
        let items = proptest::collection::vec((key, val, item_sep), 0..4).prop_map(|items| {
            let mut s = String::from("{");
            for (k, v, sep) in items {
                s.push_str(&format!(" {k} = {v}{sep}"));
            }
            s.push_str(" }");
            s
        });
        prop_oneof![reference, items]
    }
}

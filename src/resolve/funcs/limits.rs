//! The limits every function call is held to, so that no expression in a mod can exhaust
//! memory or time: a call whose result would be larger fails with a message naming the
//! limit, which the evaluator shows as a diagnostic at the call.
//!
//! - A result holds at most [`MAX_VALUES`] values (the result itself, every element and
//!   every entry, nested ones included) and [`MAX_TEXT`] bytes of text (every string and
//!   object key together). One million values and 16 MiB are far more than any title, tag
//!   or query of a real mod needs, and small enough that the largest result costs some
//!   hundred megabytes at worst (an `hcl::Value` is 72 bytes).
//! - A decoded JSON or YAML document nests at most [`MAX_DEPTH`] levels deep (serde_json's
//!   own default), so that nothing walking a value recursively can overflow the stack.
//! - One evaluation runs at most [`MAX_ITERATIONS`] iterations of `for` expressions and
//!   `%{ for }` directives, nested ones included (three nested loops over `range(1024)`
//!   would be a billion).
//! - A regular expression costs at most about [`REGEX_COST`] steps: the `regex` crate
//!   matches in time linear in the text but proportional to the compiled pattern's size, so
//!   the longer the text the smaller the pattern may be ([`regex_size_limit`]).
//!
//! Every function that can build something larger than its arguments (a width, a count, a
//! repetition, an alias, a product) computes the size of its result before it allocates it
//! ([`Budget`]); functions whose result is at most a constant times their arguments (an
//! escaped or encoded string) check the result ([`text`]), so that chaining them cannot
//! grow a value exponentially either. `range` keeps go-cty's own limit of 1,024 numbers.

use hcl::Value;

/// At most this many values in one function's result, nested ones included.
pub const MAX_VALUES: usize = 1_000_000;

/// At most this many bytes of text (strings and keys together) in one function's result.
pub const MAX_TEXT: usize = 16 << 20;

/// At most this many levels of nesting in a decoded JSON or YAML document.
pub const MAX_DEPTH: usize = 128;

/// At most this many iterations of `for` expressions and directives in one evaluation.
pub const MAX_ITERATIONS: usize = 1_000_000;

/// The message of an evaluation that iterates too much.
pub fn too_many_iterations() -> String {
    format!(
        "the expression iterates more than {MAX_ITERATIONS} times in its `for` loops (modlens's limit)"
    )
}

/// The cost allowed to one regular expression search: the compiled pattern's size in bytes
/// times the length of the text (about half a second at worst on a laptop).
pub const REGEX_COST: usize = 1 << 40;

/// The message of a result with too many values.
pub fn too_many_values() -> String {
    format!(
        "the result would have more than {MAX_VALUES} values (modlens's limit for one function call)"
    )
}

/// The message of a result with too much text.
pub fn too_much_text() -> String {
    format!(
        "the result would be longer than {} MiB (modlens's limit for one function call)",
        MAX_TEXT >> 20
    )
}

/// The message of a document nested too deeply.
pub fn too_deep() -> String {
    format!("the document nests more than {MAX_DEPTH} levels deep (modlens's limit)")
}

/// A string result, if it is within [`MAX_TEXT`].
pub fn text(s: String) -> Result<Value, String> {
    fits_text(s.len())?;
    Ok(Value::String(s))
}

/// Fails when a string of `len` bytes would exceed [`MAX_TEXT`].
pub fn fits_text(len: usize) -> Result<(), String> {
    if len > MAX_TEXT {
        Err(too_much_text())
    } else {
        Ok(())
    }
}

/// How large a value is: the values it holds (itself included) and its bytes of text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Size {
    /// Values, the value itself included.
    pub values: usize,
    /// Bytes of strings and object keys.
    pub text: usize,
}

impl Size {
    /// The size of `v`, counted only until it exceeds the limits (a larger value's size is
    /// some size past them), so that measuring costs at most the limits.
    pub fn of(v: &Value) -> Size {
        let mut size = Size::default();
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            size.values += 1;
            match v {
                Value::String(s) => size.text += s.len(),
                Value::Array(l) => stack.extend(l.iter()),
                Value::Object(o) => {
                    for (k, x) in o {
                        size.text += k.len();
                        stack.push(x);
                    }
                }
                _ => {}
            }
            if size.exceeds() {
                break;
            }
        }
        size
    }

    /// The sum of two sizes.
    pub fn plus(self, other: Size) -> Size {
        Size {
            values: self.values.saturating_add(other.values),
            text: self.text.saturating_add(other.text),
        }
    }

    /// `n` copies of this size.
    pub fn times(self, n: usize) -> Size {
        Size {
            values: self.values.saturating_mul(n),
            text: self.text.saturating_mul(n),
        }
    }

    /// True when past either limit.
    pub fn exceeds(&self) -> bool {
        self.values > MAX_VALUES || self.text > MAX_TEXT
    }

    /// Fails when past either limit.
    pub fn check(&self) -> Result<(), String> {
        if self.values > MAX_VALUES {
            Err(too_many_values())
        } else if self.text > MAX_TEXT {
            Err(too_much_text())
        } else {
            Ok(())
        }
    }
}

/// What a function has built so far, failing as soon as it would pass the limits.
#[derive(Debug, Default)]
pub struct Budget {
    used: Size,
}

impl Budget {
    /// An empty budget.
    pub fn new() -> Budget {
        Budget::default()
    }

    /// Counts `values` more values and `text` more bytes, failing past the limits.
    pub fn take(&mut self, values: usize, text: usize) -> Result<(), String> {
        self.take_size(Size { values, text })
    }

    /// Counts a size, failing past the limits.
    pub fn take_size(&mut self, size: Size) -> Result<(), String> {
        let used = self.used.plus(size);
        used.check()?;
        self.used = used;
        Ok(())
    }

    /// Counts a copy of `v`, failing past the limits.
    pub fn take_value(&mut self, v: &Value) -> Result<(), String> {
        self.take_size(Size::of(v))
    }

    /// What has been counted.
    pub fn used(&self) -> Size {
        self.used
    }
}

/// The largest compiled pattern allowed for a search of a text of `len` bytes
/// ([`REGEX_COST`]), between 64 KiB (enough for `\w+` and much more) and the `regex`
/// crate's default of 10 MiB.
pub fn regex_size_limit(len: usize) -> usize {
    (REGEX_COST / len.max(1)).clamp(64 << 10, 10 << 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_count_values_and_text() {
        let v: Value = hcl::from_str::<Value>("a = [\"xy\", { k = 1 }]\n").unwrap_or_default();
        // The object, the list, "xy", the inner object, 1; text "a", "xy", "k".
        assert_eq!(Size::of(&v), Size { values: 5, text: 4 });
        let mut b = Budget::new();
        assert!(b.take(MAX_VALUES, 0).is_ok());
        assert!(b.take(1, 0).is_err());
        assert_eq!(b.used().values, MAX_VALUES);
        assert!(Budget::new().take(0, MAX_TEXT + 1).is_err());
        assert!(Size { values: 1, text: 0 }.times(usize::MAX).exceeds());
    }

    #[test]
    fn measuring_stops_past_the_limits() {
        let big = Value::Array(vec![Value::Null; MAX_VALUES * 2]);
        let s = Size::of(&big);
        assert!(s.exceeds() && s.values == MAX_VALUES + 1, "{s:?}");
    }

    #[test]
    fn regex_size_shrinks_with_the_text() {
        assert_eq!(regex_size_limit(0), 10 << 20);
        assert_eq!(regex_size_limit(1 << 20), 1 << 20);
        assert_eq!(regex_size_limit(MAX_TEXT), 64 << 10);
    }
}

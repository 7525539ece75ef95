//! Evaluated values, compact and cheap to share: [`Val`] holds strings as interned
//! `Arc<str>`s and collections as `Arc` slices, so a value copied into another resource's
//! evaluation context costs a reference count, not a deep copy.
//!
//! The [`Interner`] shares the short strings that recur across resources (tag keys and
//! values, names, kinds) and is bounded: past its limit it forgets what it knew (the strings
//! stay alive in whatever holds them), so interning never grows with the mod.

use std::sync::Arc;

/// Shared text.
pub type Text = Arc<str>;

/// An evaluated HCL value.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number (integer or float, as HCL keeps it).
    Number(hcl::Number),
    /// A string.
    Str(Text),
    /// A list, set or tuple, in order.
    List(Arc<[Val]>),
    /// An object or map, sorted by key (as Powerpipe's cty values are).
    Object(Arc<[(Text, Val)]>),
    /// Known only when a query runs (`self.input.x.value`, `param.x`, `with.x.rows`): the
    /// expression as written.
    Unknown(Text),
}

impl Val {
    /// A string value.
    pub fn str(s: &str) -> Val {
        Val::Str(Arc::from(s))
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this is an object.
    pub fn as_object(&self) -> Option<&[(Text, Val)]> {
        match self {
            Val::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The elements, if this is a list.
    pub fn as_list(&self) -> Option<&[Val]> {
        match self {
            Val::List(l) => Some(l),
            _ => None,
        }
    }

    /// An object's entry by key.
    pub fn get(&self, key: &str) -> Option<&Val> {
        let o = self.as_object()?;
        o.binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &o[i].1)
    }

    /// An object from entries in any order (a later duplicate key wins).
    pub fn object(entries: impl IntoIterator<Item = (Text, Val)>) -> Val {
        let mut v: Vec<(Text, Val)> = entries.into_iter().collect();
        // Stable sort, then keep the last of equal keys.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Text, Val)> = Vec::with_capacity(v.len());
        for (k, val) in v {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = val,
                _ => out.push((k, val)),
            }
        }
        Val::Object(out.into())
    }

    /// The name of this value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "bool",
            Val::Number(_) => "number",
            Val::Str(_) => "string",
            Val::List(_) => "list",
            Val::Object(_) => "object",
            Val::Unknown(_) => "unknown",
        }
    }

    /// True if this value or anything inside it is [`Val::Unknown`].
    pub fn has_unknown(&self) -> bool {
        match self {
            Val::Unknown(_) => true,
            Val::List(l) => l.iter().any(Val::has_unknown),
            Val::Object(o) => o.iter().any(|(_, v)| v.has_unknown()),
            _ => false,
        }
    }

    /// The size of the value (what copying it into an evaluation costs), counted up to
    /// just past the limits (a value over them is never built, see
    /// [`Interner::try_from_hcl`], so this stays bounded).
    pub fn size(&self) -> Size {
        fn walk(v: &Val, size: &mut Size) -> Result<(), TooBig> {
            match v {
                Val::Str(s) | Val::Unknown(s) => size.add(Size {
                    nodes: 1,
                    bytes: s.len(),
                }),
                Val::List(l) => {
                    size.add(Size { nodes: 1, bytes: 0 })?;
                    l.iter().try_for_each(|x| walk(x, size))
                }
                Val::Object(o) => {
                    size.add(Size { nodes: 1, bytes: 0 })?;
                    o.iter().try_for_each(|(k, x)| {
                        size.add(Size {
                            nodes: 0,
                            bytes: k.len(),
                        })?;
                        walk(x, size)
                    })
                }
                _ => size.add(Size { nodes: 1, bytes: 0 }),
            }
        }
        let mut size = Size::default();
        let _ = walk(self, &mut size);
        size
    }

    /// Approximate heap bytes held (shared strings counted in full: an upper bound).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        match self {
            Val::Str(s) | Val::Unknown(s) => s.len() + 16,
            Val::List(l) => {
                16 + l.len() * size_of::<Val>() + l.iter().map(Val::heap_bytes).sum::<usize>()
            }
            Val::Object(o) => {
                16 + o.len() * size_of::<(Text, Val)>()
                    + o.iter()
                        .map(|(k, v)| k.len() + 16 + v.heap_bytes())
                        .sum::<usize>()
            }
            _ => 0,
        }
    }

    /// Converts to hcl-rs's value, for an evaluation context. Unknown values become the
    /// string of their expression (they are only ever read by runtime-only attributes).
    pub fn to_hcl(&self) -> hcl::Value {
        match self {
            Val::Null => hcl::Value::Null,
            Val::Bool(b) => hcl::Value::Bool(*b),
            Val::Number(n) => hcl::Value::Number(*n),
            Val::Str(s) | Val::Unknown(s) => hcl::Value::String(s.to_string()),
            Val::List(l) => hcl::Value::Array(l.iter().map(Val::to_hcl).collect()),
            Val::Object(o) => {
                hcl::Value::Object(o.iter().map(|(k, v)| (k.to_string(), v.to_hcl())).collect())
            }
        }
    }

    /// Renders the value as HCL text (`"a"`, `["a", 1]`, `{ k = "v" }`) for humans.
    pub fn to_hcl_text(&self) -> String {
        let mut out = String::new();
        self.write_hcl(&mut out);
        out
    }

    fn write_hcl(&self, out: &mut String) {
        match self {
            Val::Null => out.push_str("null"),
            Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Val::Number(n) => out.push_str(&n.to_string()),
            Val::Str(s) => {
                out.push_str(&serde_json::to_string(&**s).unwrap_or_default());
            }
            Val::Unknown(s) => {
                out.push_str("(known at run time: ");
                out.push_str(s);
                out.push(')');
            }
            Val::List(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_hcl(out);
                }
                out.push(']');
            }
            Val::Object(o) => {
                if o.is_empty() {
                    out.push_str("{}");
                    return;
                }
                out.push_str("{ ");
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    if is_identifier(k) {
                        out.push_str(k);
                    } else {
                        out.push_str(&serde_json::to_string(&**k).unwrap_or_default());
                    }
                    out.push_str(" = ");
                    v.write_hcl(out);
                }
                out.push_str(" }");
            }
        }
    }

    /// The value as a string the way Powerpipe shows a primitive (numbers and bools
    /// converted), `None` for collections, null and unknown values.
    pub fn to_display_string(&self) -> Option<String> {
        match self {
            Val::Str(s) => Some(s.to_string()),
            Val::Number(n) => Some(n.to_string()),
            Val::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

impl serde::Serialize for Val {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Val::Null => s.serialize_unit(),
            Val::Bool(b) => s.serialize_bool(*b),
            Val::Number(n) => n.serialize(s),
            Val::Str(t) => s.serialize_str(t),
            Val::Unknown(t) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("unknown", &**t)?;
                m.end()
            }
            Val::List(l) => {
                let mut seq = s.serialize_seq(Some(l.len()))?;
                for v in l.iter() {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Val::Object(o) => {
                let mut m = s.serialize_map(Some(o.len()))?;
                for (k, v) in o.iter() {
                    m.serialize_entry(&**k, v)?;
                }
                m.end()
            }
        }
    }
}

/// True if `s` can be written as a bare HCL identifier.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// Strings at most this long are interned; longer ones (SQL, documentation) are unique to
/// their resource and would only fill the table.
const INTERN_MAX_LEN: usize = 96;

/// A bounded, thread-safe interner of short strings (sharded: resolving on several threads
/// interns all the time).
pub struct Interner {
    set: dashmap::DashMap<Text, (), foldhash::fast::RandomState>,
    /// About how many strings `set` holds (`DashMap::len` locks every shard).
    count: std::sync::atomic::AtomicUsize,
    limit: usize,
}

impl Default for Interner {
    fn default() -> Self {
        Interner::new(65_536)
    }
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("len", &self.len())
            .field("limit", &self.limit)
            .finish()
    }
}

impl Interner {
    /// An interner that remembers at most about `limit` strings.
    pub fn new(limit: usize) -> Self {
        Interner {
            set: dashmap::DashMap::default(),
            count: std::sync::atomic::AtomicUsize::new(0),
            limit: limit.max(1),
        }
    }

    /// The shared copy of `s`.
    pub fn intern(&self, s: &str) -> Text {
        if s.len() > INTERN_MAX_LEN {
            return Arc::from(s);
        }
        if let Some(e) = self.set.get(s) {
            return e.key().clone();
        }
        use std::sync::atomic::Ordering::Relaxed;
        if self.count.load(Relaxed) >= self.limit {
            // Forget everything: holders keep their strings, new ones are shared afresh.
            self.count.store(0, Relaxed);
            self.set.clear();
        }
        let t: Text = Arc::from(s);
        match self.set.entry(t.clone()) {
            // Another thread inserted the same text first: share that one.
            dashmap::Entry::Occupied(e) => e.key().clone(),
            dashmap::Entry::Vacant(e) => {
                self.count.fetch_add(1, Relaxed);
                e.insert(());
                t
            }
        }
    }

    /// How many strings are remembered.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Converts an hcl-rs value, interning its short strings; a value over the limits
    /// ([`Interner::try_from_hcl`]) becomes `null`.
    pub fn from_hcl(&self, v: &hcl::Value) -> Val {
        self.try_from_hcl(v).unwrap_or(Val::Null)
    }

    /// Converts an hcl-rs value, interning its short strings, or says which limit it is over
    /// ([`MAX_DEPTH`], [`MAX_NODES`], [`MAX_TEXT_BYTES`]): every [`Val`] is built here, so
    /// everything recursive over values recurses at most [`MAX_DEPTH`] deep.
    pub fn try_from_hcl(&self, v: &hcl::Value) -> Result<Val, TooBig> {
        let mut size = Size::default();
        self.convert(v, 0, &mut size)
    }

    fn convert(&self, v: &hcl::Value, depth: usize, size: &mut Size) -> Result<Val, TooBig> {
        size.add(Size {
            nodes: 1,
            bytes: match v {
                hcl::Value::String(s) => s.len(),
                _ => 0,
            },
        })?;
        Ok(match v {
            hcl::Value::Null => Val::Null,
            hcl::Value::Bool(b) => Val::Bool(*b),
            hcl::Value::Number(n) => Val::Number(*n),
            hcl::Value::String(s) => Val::Str(self.intern(s)),
            hcl::Value::Array(a) => {
                if depth >= MAX_DEPTH {
                    return Err(TooBig::Deep);
                }
                Val::List(
                    a.iter()
                        .map(|x| self.convert(x, depth + 1, size))
                        .collect::<Result<_, _>>()?,
                )
            }
            hcl::Value::Object(o) => {
                if depth >= MAX_DEPTH {
                    return Err(TooBig::Deep);
                }
                let mut out = Vec::with_capacity(o.len());
                for (k, x) in o {
                    size.add(Size {
                        nodes: 0,
                        bytes: k.len(),
                    })?;
                    out.push((self.intern(k), self.convert(x, depth + 1, size)?));
                }
                Val::object(out)
            }
        })
    }
}

/// The deepest a value nests (lists and objects inside each other): no real mod comes near;
/// a chain of locals each wrapping the one before stops here with a diagnostic.
pub const MAX_DEPTH: usize = 128;

/// The most elements (every scalar, list and object counts one) a value may hold.
pub const MAX_NODES: usize = 1_000_000;

/// The most bytes of text (strings and object keys) a value may hold.
pub const MAX_TEXT_BYTES: usize = 64 << 20;

/// Why a value was refused: over one of the limits every value is held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TooBig {
    /// Over [`MAX_DEPTH`].
    #[error("value too deeply nested (more than {MAX_DEPTH} levels of lists and objects)")]
    Deep,
    /// Over [`MAX_NODES`] or [`MAX_TEXT_BYTES`].
    #[error("value too large (more than 1,000,000 elements or 64 MiB of text)")]
    Large,
}

/// The size of a value (or of several, added up), checked against the limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Size {
    /// Elements (scalars, lists and objects).
    pub nodes: usize,
    /// Bytes of text.
    pub bytes: usize,
}

impl Size {
    /// Adds `other`; an error once the total is over [`MAX_NODES`] or [`MAX_TEXT_BYTES`].
    pub fn add(&mut self, other: Size) -> Result<(), TooBig> {
        self.nodes = self.nodes.saturating_add(other.nodes);
        self.bytes = self.bytes.saturating_add(other.bytes);
        if self.nodes > MAX_NODES || self.bytes > MAX_TEXT_BYTES {
            return Err(TooBig::Large);
        }
        Ok(())
    }

    /// Adds `other` `times` times (a value referred to that many times).
    pub fn add_times(&mut self, other: Size, times: usize) -> Result<(), TooBig> {
        self.add(Size {
            nodes: other.nodes.saturating_mul(times),
            bytes: other.bytes.saturating_mul(times),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_sorted_and_the_last_duplicate_wins() {
        let v = Val::object([
            (Text::from("b"), Val::str("1")),
            (Text::from("a"), Val::str("2")),
            (Text::from("b"), Val::str("3")),
        ]);
        assert_eq!(v.get("a"), Some(&Val::str("2")));
        assert_eq!(v.get("b"), Some(&Val::str("3")));
        assert_eq!(v.as_object().map(|o| o.len()), Some(2));
        assert_eq!(v.to_hcl_text(), r#"{ a = "2", b = "3" }"#);
    }

    #[test]
    fn the_interner_shares_and_stays_bounded() {
        let i = Interner::new(2);
        let a = i.intern("x");
        let b = i.intern("x");
        assert!(Arc::ptr_eq(&a, &b));
        i.intern("y");
        i.intern("z");
        assert!(i.len() <= 2);
        assert_eq!(&*a, "x");
        let long = "s".repeat(200);
        let l1 = i.intern(&long);
        let l2 = i.intern(&long);
        assert!(!Arc::ptr_eq(&l1, &l2));
    }

    #[test]
    fn values_over_the_limits_are_refused_where_they_are_built() {
        let i = Interner::default();
        let nested = |depth: usize| {
            let mut v = hcl::Value::from(1);
            for _ in 0..depth {
                v = hcl::Value::Array(vec![v]);
            }
            v
        };
        let deepest = i.try_from_hcl(&nested(MAX_DEPTH));
        assert!(deepest.is_ok());
        assert_eq!(deepest.map(|v| v.size().nodes), Ok(MAX_DEPTH + 1));
        assert_eq!(i.try_from_hcl(&nested(MAX_DEPTH + 1)), Err(TooBig::Deep));
        assert_eq!(i.from_hcl(&nested(MAX_DEPTH + 1)), Val::Null);
        let many = hcl::Value::Array(vec![hcl::Value::Null; MAX_NODES]);
        assert_eq!(i.try_from_hcl(&many), Err(TooBig::Large));
        let text = hcl::Value::from("x".repeat(MAX_TEXT_BYTES + 1));
        assert_eq!(i.try_from_hcl(&text), Err(TooBig::Large));
        assert_eq!(
            TooBig::Deep.to_string(),
            "value too deeply nested (more than 128 levels of lists and objects)"
        );
    }

    #[test]
    fn round_trips_through_hcl_values() {
        let i = Interner::default();
        let h: hcl::Value =
            hcl::from_str::<hcl::Value>("a = [1, \"x\", true, null]\nb = { c = 2.5 }")
                .unwrap_or(hcl::Value::Null);
        let v = i.from_hcl(&h);
        assert_eq!(i.from_hcl(&v.to_hcl()), v);
        assert_eq!(
            v.get("b").and_then(|b| b.get("c")),
            Some(&Val::Number(
                hcl::Number::from_f64(2.5).unwrap_or(hcl::Number::from(0))
            ))
        );
    }
}

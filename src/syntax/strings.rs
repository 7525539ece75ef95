//! Per-file string interning: a reusable builder that deduplicates while a file is scanned,
//! and the frozen, exact-size table a [`super::FileIndex`] keeps.
//!
//! Why not `string-interner` here: a scanned file's strings never grow again, so the index
//! keeps only the text and one end offset per string (no hash table), and the builder is
//! reused from file to file so a load allocates about what it keeps. The index's own
//! cross-file lookups hash names instead of interning them a second time.

use std::hash::BuildHasher;
use std::num::NonZeroU32;

use hashbrown::HashTable;

/// A string of one file's [`StrTable`]. `Option<Sym>` is as small as `Sym`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(NonZeroU32);

impl Sym {
    /// The position of the string in its table.
    pub fn index(self) -> usize {
        self.0.get() as usize - 1
    }

    /// A symbol for filling empty slots; it may name any string, so it must never be read
    /// without a key that says the slot is used.
    pub(crate) fn placeholder() -> Sym {
        Sym(NonZeroU32::MIN)
    }

    /// The symbol as a non-zero `u32`, for packed storage.
    pub(crate) fn to_raw(self) -> u32 {
        self.0.get()
    }

    /// The symbol of [`Sym::to_raw`]'s value (`None` for 0).
    pub(crate) fn from_raw(raw: u32) -> Option<Sym> {
        NonZeroU32::new(raw).map(Sym)
    }
}

/// A frozen table of strings: one text buffer and one end offset per string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StrTable {
    text: Box<str>,
    ends: Box<[u32]>,
}

impl StrTable {
    /// The string of a symbol (empty if the symbol is not from this table).
    pub fn get(&self, sym: Sym) -> &str {
        let i = sym.index();
        let Some(&end) = self.ends.get(i) else {
            return "";
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start as usize..end as usize).unwrap_or("")
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there is no string.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Every string with its symbol.
    pub fn iter(&self) -> impl Iterator<Item = (Sym, &str)> {
        (0..self.ends.len()).filter_map(move |i| {
            let sym = Sym(NonZeroU32::new(i as u32 + 1)?);
            Some((sym, self.get(sym)))
        })
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.text.len() + self.ends.len() * std::mem::size_of::<u32>()
    }
}

/// Builds a [`StrTable`], deduplicating; reusable across files (its buffers keep their
/// capacity).
#[derive(Default)]
pub struct StrBuilder {
    text: String,
    ends: Vec<u32>,
    table: HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl StrBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn slice<'t>(text: &'t str, ends: &[u32], i: u32) -> &'t str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { ends[i - 1] as usize };
        &text[start..ends[i] as usize]
    }

    /// The symbol of `s`, adding it if new.
    pub fn intern(&mut self, s: &str) -> Sym {
        let hash = self.hasher.hash_one(s);
        let StrBuilder {
            text, ends, table, ..
        } = self;
        if let Some(&i) = table.find(hash, |&i| Self::slice(text, ends, i) == s) {
            return Sym(NonZeroU32::MIN.saturating_add(i));
        }
        // Tables are per file and files are under 4 GiB, so the count and offsets fit in u32;
        // saturating keeps this total if that ever stops holding.
        let i = u32::try_from(ends.len()).unwrap_or(u32::MAX - 1);
        text.push_str(s);
        ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        let hasher = &self.hasher;
        let (text_ref, ends_ref) = (&*text, &*ends);
        table.insert_unique(hash, i, |&j| {
            hasher.hash_one(Self::slice(text_ref, ends_ref, j))
        });
        Sym(NonZeroU32::MIN.saturating_add(i))
    }

    /// The string of a symbol added since the last [`StrBuilder::finish`].
    pub fn get(&self, sym: Sym) -> &str {
        let i = sym.index();
        if i >= self.ends.len() {
            return "";
        }
        Self::slice(&self.text, &self.ends, i as u32)
    }

    /// Freezes what was added into an exact-size table and empties the builder for the next
    /// file (keeping its capacity).
    pub fn finish(&mut self) -> StrTable {
        let table = StrTable {
            text: Box::from(self.text.as_str()),
            ends: Box::from(self.ends.as_slice()),
        };
        self.text.clear();
        self.ends.clear();
        self.table.clear();
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_dedups_and_freezes() {
        let mut b = StrBuilder::new();
        let a = b.intern("alpha");
        let e = b.intern("");
        let a2 = b.intern("alpha");
        let c = b.intern("日本");
        assert_eq!(a, a2);
        assert_ne!(a, c);
        assert_eq!(b.get(c), "日本");
        let t = b.finish();
        assert_eq!((t.get(a), t.get(e), t.get(c)), ("alpha", "", "日本"));
        assert_eq!(t.len(), 3);
        // The builder is empty again and reusable.
        let x = b.intern("x");
        assert_eq!(x.index(), 0);
        assert_eq!(b.finish().get(x), "x");
        assert_eq!(t.get(Sym(NonZeroU32::MIN.saturating_add(99))), "");
    }
}

//! List, set and map functions. Lists, sets and tuples are all HCL arrays here; a set
//! function's result holds each element once, strings sorted and numbers in order (as cty
//! orders the sets it prints), anything else in first-seen order.
//!
//! Set functions hash their elements ([`Key`]), so that they take linear time; what a
//! function builds is counted against [`limits`] before it is built.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use hcl::Value;
use hcl::eval::{FuncArgs, FuncDef, ParamType};
use unicode_segmentation::UnicodeSegmentation;

use super::limits::{Budget, Size};
use super::{R, fixed, int, kind, list, map, num, num_param, number, str_param, text, variadic};

/// A value as a hash key, equal when the values are equal (`==`: numbers by value, objects
/// whatever the order of their keys).
#[derive(Clone, Copy)]
struct Key<'a>(&'a Value);

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Key<'_> {}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(hash_of(self.0));
    }
}

/// A hash of a value consistent with `==` (numbers hashed as their `f64`, an object's
/// entries combined in any order).
fn hash_of(v: &Value) -> u64 {
    use std::hash::BuildHasher;
    let state = foldhash::fast::FixedState::with_seed(0x6d6f_646c);
    let mut h = state.build_hasher();
    match v {
        Value::Null => 0u8.hash(&mut h),
        Value::Bool(b) => (1u8, b).hash(&mut h),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            // +0 and -0 are equal.
            (2u8, if f == 0.0 { 0 } else { f.to_bits() }).hash(&mut h);
        }
        Value::String(s) => (3u8, s).hash(&mut h),
        Value::Array(l) => {
            (4u8, l.len()).hash(&mut h);
            for x in l {
                h.write_u64(hash_of(x));
            }
        }
        Value::Object(o) => {
            let entries = o.iter().fold(0u64, |acc, (k, x)| {
                acc.wrapping_add(state.hash_one((k, hash_of(x))))
            });
            (5u8, o.len(), entries).hash(&mut h);
        }
    }
    h.finish()
}

/// The elements of `l`, each once, in first-seen order.
pub(crate) fn distinct_of(l: &[Value]) -> Vec<Value> {
    let mut seen: HashSet<Key<'_>> = HashSet::with_capacity(l.len());
    l.iter().filter(|v| seen.insert(Key(v))).cloned().collect()
}

/// The elements of `l` as a set of keys.
fn key_set(l: &[Value]) -> HashSet<Key<'_>> {
    l.iter().map(Key).collect()
}

/// The definition of a function of this family.
pub(super) fn def(name: &str) -> Option<FuncDef> {
    use ParamType::Any;
    Some(match name {
        "alltrue" => fixed(&[Any], alltrue),
        "anytrue" => fixed(&[Any], anytrue),
        "chunklist" => fixed(&[Any, num_param()], chunklist),
        "coalesce" => variadic(&[], Any, coalesce),
        "coalescelist" => variadic(&[], Any, coalescelist),
        "compact" => fixed(&[Any], compact),
        "concat" => variadic(&[], Any, concat),
        "contains" => fixed(&[Any, Any], contains),
        "distinct" => fixed(&[Any], distinct),
        "element" => fixed(&[Any, num_param()], element),
        "flatten" => fixed(&[Any], flatten),
        "index" => fixed(&[Any, Any], index),
        "keys" => fixed(&[Any], keys),
        "length" => fixed(&[Any], length),
        "list" => variadic(&[], Any, list_removed),
        "lookup" => variadic(&[Any, str_param()], Any, lookup),
        "map" => variadic(&[], Any, map_removed),
        "matchkeys" => fixed(&[Any, Any, Any], matchkeys),
        "merge" => variadic(&[], Any, merge),
        "one" => fixed(&[Any], one),
        "range" => variadic(&[], num_param(), range),
        "reverse" => fixed(&[Any], reverse),
        "setintersection" => variadic(&[Any], Any, setintersection),
        "setproduct" => variadic(&[], Any, setproduct),
        "setsubtract" => fixed(&[Any, Any], setsubtract),
        "setunion" => variadic(&[Any], Any, setunion),
        "slice" => fixed(&[Any, num_param(), num_param()], slice),
        "sort" => fixed(&[Any], sort),
        "sum" => fixed(&[Any], sum),
        "transpose" => fixed(&[Any], transpose),
        "values" => fixed(&[Any], values),
        "zipmap" => fixed(&[Any, Any], zipmap),
        _ => return None,
    })
}

/// An element as a bool: `true`, `false` or their strings (null is false).
fn truth(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        other => Err(format!(
            "a list of bools is required, found {}",
            kind(other)
        )),
    }
}

fn alltrue(a: FuncArgs) -> R {
    for v in list(&a[0], "the argument")? {
        if !truth(v)? {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

fn anytrue(a: FuncArgs) -> R {
    for v in list(&a[0], "the argument")? {
        if truth(v)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn chunklist(a: FuncArgs) -> R {
    let l = list(&a[0], "the first argument")?;
    let size = int(&a[1])?;
    if size < 0 {
        return Err("the size argument must be positive".to_string());
    }
    // The list's values, and one list per chunk.
    let chunks = match usize::try_from(size) {
        Ok(0) | Err(_) => 1,
        Ok(n) => l.len().div_ceil(n),
    };
    Budget::new().take_size(Size::of(&a[0]).plus(Size {
        values: chunks,
        text: 0,
    }))?;
    if size == 0 {
        return Ok(Value::Array(vec![Value::Array(l.clone())]));
    }
    Ok(Value::Array(
        l.chunks(size as usize)
            .map(|c| Value::Array(c.to_vec()))
            .collect(),
    ))
}

fn coalesce(a: FuncArgs) -> R {
    a.iter()
        .find(|v| !v.is_null() && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "no non-null, non-empty-string arguments".to_string())
}

fn coalescelist(a: FuncArgs) -> R {
    for (i, v) in a.iter().enumerate() {
        if v.is_null() {
            continue;
        }
        if !list(v, &format!("argument {}", i + 1))?.is_empty() {
            return Ok(v.clone());
        }
    }
    Err("no non-null arguments".to_string())
}

fn compact(a: FuncArgs) -> R {
    let l = list(&a[0], "the argument")?;
    let mut out = Vec::new();
    for v in l {
        if v.is_null() || v.as_str() == Some("") {
            continue;
        }
        out.push(Value::String(text(v)?));
    }
    Ok(Value::Array(out))
}

fn concat(a: FuncArgs) -> R {
    if a.is_empty() {
        return Err("at least one argument is required".to_string());
    }
    let mut budget = Budget::new();
    budget.take(1, 0)?;
    for (i, v) in a.iter().enumerate() {
        list(v, &format!("argument {}", i + 1))?;
        // The argument's elements, without the argument itself.
        let mut size = Size::of(v);
        size.values -= 1;
        budget.take_size(size)?;
    }
    let mut out = Vec::new();
    for v in a.iter() {
        out.extend(v.as_array().into_iter().flatten().cloned());
    }
    Ok(Value::Array(out))
}

fn contains(a: FuncArgs) -> R {
    Ok(Value::Bool(
        list(&a[0], "the first argument")?.contains(&a[1]),
    ))
}

fn distinct(a: FuncArgs) -> R {
    Ok(Value::Array(distinct_of(list(&a[0], "the argument")?)))
}

fn element(a: FuncArgs) -> R {
    let l = list(&a[0], "the first argument")?;
    if l.is_empty() {
        return Err("cannot use element function with an empty list".to_string());
    }
    let i = int(&a[1])?;
    if i < 0 {
        return Err("cannot use element function with a negative index".to_string());
    }
    Ok(l[(i as usize) % l.len()].clone())
}

fn flatten(a: FuncArgs) -> R {
    fn walk(v: &[Value], out: &mut Vec<Value>) {
        for x in v {
            match x {
                Value::Array(inner) => walk(inner, out),
                other => out.push(other.clone()),
            }
        }
    }
    let mut out = Vec::new();
    walk(list(&a[0], "the argument")?, &mut out);
    Ok(Value::Array(out))
}

fn index(a: FuncArgs) -> R {
    list(&a[0], "the first argument")?
        .iter()
        .position(|v| v == &a[1])
        .map(|i| number(i as f64))
        .ok_or_else(|| "item not found".to_string())
}

fn keys(a: FuncArgs) -> R {
    let mut k: Vec<&String> = map(&a[0], "the argument")?.keys().collect();
    k.sort();
    Ok(Value::Array(
        k.into_iter().map(|k| Value::String(k.clone())).collect(),
    ))
}

fn values(a: FuncArgs) -> R {
    let mut entries: Vec<(&String, &Value)> = map(&a[0], "the argument")?.iter().collect();
    entries.sort_by(|x, y| x.0.cmp(y.0));
    Ok(Value::Array(
        entries.into_iter().map(|(_, v)| v.clone()).collect(),
    ))
}

/// `length`: elements of a collection, grapheme clusters of a string.
fn length(a: FuncArgs) -> R {
    let n = match &a[0] {
        Value::String(t) => t.graphemes(true).count(),
        Value::Array(l) => l.len(),
        Value::Object(o) => o.len(),
        other => {
            return Err(format!(
                "argument must be a string, a collection type, or a structural type, not {}",
                kind(other)
            ));
        }
    };
    Ok(number(n as f64))
}

/// `list(...)`: removed in Terraform 0.12, still registered so that it says so.
fn list_removed(_: FuncArgs) -> R {
    Err("the \"list\" function was deprecated in Terraform v0.12 and is no longer available; use tolist([ ... ]) syntax to write a literal list".to_string())
}

/// `map(...)`: removed in Terraform 0.12, still registered so that it says so.
fn map_removed(_: FuncArgs) -> R {
    Err("the \"map\" function was deprecated in Terraform v0.12 and is no longer available; use tomap({ ... }) syntax to write a literal map".to_string())
}

fn lookup(a: FuncArgs) -> R {
    let o = map(&a[0], "the first argument")?;
    let key = text(&a[1])?;
    if a.len() > 3 {
        return Err("lookup takes a map, a key and at most one default".to_string());
    }
    match o.get(&key) {
        Some(v) => Ok(v.clone()),
        None => a
            .get(2)
            .cloned()
            .ok_or_else(|| format!("lookup failed to find key {key:?}")),
    }
}

fn matchkeys(a: FuncArgs) -> R {
    let vals = list(&a[0], "the values")?;
    let keys = list(&a[1], "the keys")?;
    let search = key_set(list(&a[2], "the search set")?);
    if vals.len() != keys.len() {
        return Err("length of keys and values should be equal".to_string());
    }
    Ok(Value::Array(
        vals.iter()
            .zip(keys)
            .filter(|(_, k)| search.contains(&Key(k)))
            .map(|(v, _)| v.clone())
            .collect(),
    ))
}

fn merge(a: FuncArgs) -> R {
    let mut out = hcl::Map::new();
    for (i, v) in a.iter().enumerate() {
        match v {
            Value::Null => {}
            Value::Object(o) => {
                for (k, x) in o {
                    out.insert(k.clone(), x.clone());
                }
            }
            other => {
                return Err(format!(
                    "argument {} must be a map or object, not {}",
                    i + 1,
                    kind(other)
                ));
            }
        }
    }
    out.sort_keys();
    Ok(Value::Object(out))
}

fn one(a: FuncArgs) -> R {
    if a[0].is_null() {
        return Err("argument must not be null".to_string());
    }
    let l = list(&a[0], "the argument")?;
    match l.as_slice() {
        [] => Ok(Value::Null),
        [x] => Ok(x.clone()),
        _ => {
            Err("must be a list, set, or tuple value with either zero or one elements".to_string())
        }
    }
}

/// `range(end)`, `range(start, end)`, `range(start, end, step)`: at most 1,024 numbers.
fn range(a: FuncArgs) -> R {
    let n: Vec<f64> = a.iter().map(num).collect::<Result<_, _>>()?;
    let (start, end, step) = match n.as_slice() {
        [e] => (0.0, *e, 1.0),
        [s, e] => (*s, *e, if e >= s { 1.0 } else { -1.0 }),
        [s, e, st] => (*s, *e, *st),
        _ => return Err("must have one, two, or three arguments".to_string()),
    };
    if step == 0.0 {
        return Err("step must not be zero".to_string());
    }
    if start < end && step < 0.0 {
        return Err("step must be positive if start is less than end".to_string());
    }
    if start > end && step > 0.0 {
        return Err("step must be negative if start is greater than end".to_string());
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x < end) || (step < 0.0 && x > end) {
        if out.len() >= 1024 {
            return Err("more than 1024 values were generated; either decrease the difference between start and end or use a smaller step".to_string());
        }
        out.push(number(x));
        x += step;
    }
    Ok(Value::Array(out))
}

fn reverse(a: FuncArgs) -> R {
    let mut l = list(&a[0], "the argument")?.clone();
    l.reverse();
    Ok(Value::Array(l))
}

/// A set's elements in cty's order: strings sorted, numbers in order, others as given.
fn set(mut v: Vec<Value>) -> Value {
    v = distinct_of(&v);
    if v.iter().all(Value::is_string) {
        v.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
    } else if v.iter().all(Value::is_number) {
        v.sort_by(|x, y| {
            let f = |v: &Value| v.as_number().and_then(|n| n.as_f64()).unwrap_or(0.0);
            f(x).total_cmp(&f(y))
        });
    }
    Value::Array(v)
}

fn sets(a: &FuncArgs) -> Result<Vec<&Vec<Value>>, String> {
    a.iter()
        .enumerate()
        .map(|(i, v)| list(v, &format!("argument {}", i + 1)))
        .collect()
}

fn setintersection(a: FuncArgs) -> R {
    let s = sets(&a)?;
    let first = s.first().map(|l| l.as_slice()).unwrap_or(&[]);
    let others: Vec<HashSet<Key<'_>>> = s.iter().skip(1).map(|l| key_set(l)).collect();
    Ok(set(first
        .iter()
        .filter(|v| others.iter().all(|o| o.contains(&Key(v))))
        .cloned()
        .collect()))
}

fn setsubtract(a: FuncArgs) -> R {
    let x = list(&a[0], "the first argument")?;
    let y = key_set(list(&a[1], "the second argument")?);
    Ok(set(x
        .iter()
        .filter(|v| !y.contains(&Key(v)))
        .cloned()
        .collect()))
}

fn setunion(a: FuncArgs) -> R {
    Ok(set(sets(&a)?.into_iter().flatten().cloned().collect()))
}

/// Every combination of one element of each set; its size is known before it is built.
fn setproduct(a: FuncArgs) -> R {
    if a.len() < 2 {
        return Err("at least two arguments are required".to_string());
    }
    let s: Vec<Vec<Value>> = sets(&a)?.into_iter().map(|l| distinct_of(l)).collect();
    let mut product = Size::default();
    if s.iter().all(|l| !l.is_empty()) {
        // Every element of a set is in (product / its set's length) combinations.
        let count = s
            .iter()
            .try_fold(1usize, |n, l| n.checked_mul(l.len()))
            .unwrap_or(usize::MAX);
        product.values = count.saturating_add(1);
        for l in &s {
            let each = l.iter().fold(Size::default(), |n, v| n.plus(Size::of(v)));
            product = product.plus(each.times(count / l.len()));
            product.check()?;
        }
    }
    product.check()?;
    let mut out: Vec<Vec<Value>> = vec![Vec::new()];
    for l in s {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                l.iter().map(move |x| {
                    let mut p = prefix.clone();
                    p.push(x.clone());
                    p
                })
            })
            .collect();
    }
    Ok(Value::Array(out.into_iter().map(Value::Array).collect()))
}

fn slice(a: FuncArgs) -> R {
    let l = list(&a[0], "the first argument")?;
    let (from, to) = (int(&a[1])?, int(&a[2])?);
    if from < 0 {
        return Err("start index must not be less than zero".to_string());
    }
    if to as usize > l.len() || to < 0 {
        return Err("end index must not be greater than the length of the list".to_string());
    }
    if from > to {
        return Err("start index must not be greater than end index".to_string());
    }
    Ok(Value::Array(l[from as usize..to as usize].to_vec()))
}

/// `sort`: strings in lexical order (numbers converted to strings).
fn sort(a: FuncArgs) -> R {
    let mut l: Vec<String> = Vec::new();
    for v in list(&a[0], "the argument")? {
        if v.is_null() {
            return Err("given list element is null; a null value cannot be sorted".to_string());
        }
        l.push(text(v)?);
    }
    l.sort();
    Ok(Value::Array(l.into_iter().map(Value::String).collect()))
}

fn sum(a: FuncArgs) -> R {
    let l = list(&a[0], "the argument")?;
    if l.is_empty() {
        return Err("cannot sum an empty list".to_string());
    }
    let mut total = 0.0;
    for v in l {
        if v.is_null() {
            return Err("argument must be list, set, or tuple of number values".to_string());
        }
        total += num(v)?;
    }
    if !total.is_finite() {
        return Err(format!("the sum ({total}) is not a finite number"));
    }
    Ok(number(total))
}

/// `transpose`: a map of lists of strings, keys and values swapped.
fn transpose(a: FuncArgs) -> R {
    let mut entries: Vec<(&String, &Value)> = map(&a[0], "the argument")?.iter().collect();
    entries.sort_by(|x, y| x.0.cmp(y.0));
    let mut out: hcl::Map<String, Value> = hcl::Map::new();
    // Every key is copied once for each of its values.
    let mut budget = Budget::new();
    budget.take(1, 0)?;
    for (k, v) in entries {
        for x in list(v, "each value")? {
            let key = text(x)?;
            let new = usize::from(!out.contains_key(&key));
            budget.take(1 + new, k.len() + new * key.len())?;
            if let Value::Array(l) = out.entry(key).or_insert_with(|| Value::Array(Vec::new())) {
                l.push(Value::String(k.clone()));
            }
        }
    }
    out.sort_keys();
    Ok(Value::Object(out))
}

fn zipmap(a: FuncArgs) -> R {
    let k = list(&a[0], "the keys")?;
    let v = list(&a[1], "the values")?;
    if k.len() != v.len() {
        return Err(format!(
            "number of keys ({}) does not match number of values ({})",
            k.len(),
            v.len()
        ));
    }
    let mut m = hcl::Map::new();
    for (key, val) in k.iter().zip(v) {
        m.insert(text(key)?, val.clone());
    }
    m.sort_keys();
    Ok(Value::Object(m))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    /// Examples from Terraform's documentation of each function.
    #[test]
    fn lists() {
        same("alltrue([true, true])", "true");
        same(r#"alltrue(["true", false])"#, "false");
        same("alltrue([])", "true");
        same("anytrue([false, true])", "true");
        same("anytrue([])", "false");
        same(
            r#"chunklist(["a", "b", "c", "d", "e"], 2)"#,
            r#"[["a", "b"], ["c", "d"], ["e"]]"#,
        );
        same(r#"chunklist(["a", "b"], 0)"#, r#"[["a", "b"]]"#);
        fails(r#"chunklist(["a"], -1)"#, "must be positive");
        same(r#"coalesce("a", "b")"#, r#""a""#);
        same(r#"coalesce("", "b")"#, r#""b""#);
        same("coalesce(null, 1, 2)", "1");
        fails("coalesce(null)", "no non-null");
        same(r#"coalescelist(["a", "b"], ["c", "d"])"#, r#"["a", "b"]"#);
        same(r#"coalescelist([], ["c", "d"])"#, r#"["c", "d"]"#);
        same(
            r#"compact(["a", "", "b", null, "c"])"#,
            r#"["a", "b", "c"]"#,
        );
        same(r#"concat(["a", ""], ["b", "c"])"#, r#"["a", "", "b", "c"]"#);
        same(r#"contains(["a", "b", "c"], "a")"#, "true");
        same(r#"contains(["a", "b", "c"], "d")"#, "false");
        same(
            r#"distinct(["a", "b", "a", "c", "d", "b"])"#,
            r#"["a", "b", "c", "d"]"#,
        );
        same(r#"element(["a", "b", "c"], 1)"#, r#""b""#);
        same(r#"element(["a", "b", "c"], 3)"#, r#""a""#);
        fails(r#"element([], 0)"#, "empty list");
        same(r#"flatten([["a", "b"], [], ["c"]])"#, r#"["a", "b", "c"]"#);
        same(
            r#"flatten([[["a", "b"], []], ["c"]])"#,
            r#"["a", "b", "c"]"#,
        );
        same(r#"index(["a", "b", "c"], "b")"#, "1");
        fails(r#"index(["a"], "z")"#, "item not found");
        same(r#"length([])"#, "0");
        same(r#"length(["a", "b"])"#, "2");
        same(r#"length({ a = "b" })"#, "1");
        same(r#"length("hello")"#, "5");
        same(r#"length("👾🕹️")"#, "2");
        fails(r#"list("a")"#, "use tolist");
        fails(r#"map("a", "b")"#, "use tomap");
        same(
            r#"matchkeys(["i-123", "i-abc", "i-def"], ["us-west", "us-east", "us-east"], ["us-east"])"#,
            r#"["i-abc", "i-def"]"#,
        );
        same("one([])", "null");
        same(r#"one(["hello"])"#, r#""hello""#);
        fails(r#"one(["a", "b"])"#, "zero or one elements");
        same("range(3)", "[0, 1, 2]");
        same("range(1, 4)", "[1, 2, 3]");
        same("range(1, 8, 2)", "[1, 3, 5, 7]");
        same("range(4, 1)", "[4, 3, 2]");
        same("range(1, 2, 0.5)", "[1, 1.5]");
        fails("range(0, 2000)", "more than 1024");
        fails("range(1, 4, -1)", "step must be positive");
        same("reverse([1, 2, 3])", "[3, 2, 1]");
        same(r#"slice(["a", "b", "c", "d"], 1, 3)"#, r#"["b", "c"]"#);
        fails(r#"slice(["a"], 0, 2)"#, "greater than the length");
        same(r#"sort(["e", "d", "a", "x"])"#, r#"["a", "d", "e", "x"]"#);
        same("sort([10, 9])", r#"["10", "9"]"#);
        same("sum([10, 13, 6, 4.5])", "33.5");
        fails("sum([])", "empty list");
    }

    #[test]
    fn sets_and_maps() {
        same(
            r#"setintersection(["a", "b"], ["b", "c"], ["b", "d"])"#,
            r#"["b"]"#,
        );
        same(
            r#"setproduct(["development", "staging"], ["app1", "app2"])"#,
            r#"[["development", "app1"], ["development", "app2"], ["staging", "app1"], ["staging", "app2"]]"#,
        );
        same(r#"setproduct(["a"], [])"#, "[]");
        same(r#"setsubtract(["a", "b", "c"], ["a", "c"])"#, r#"["b"]"#);
        same(
            r#"setunion(["a", "b"], ["b", "c"], ["d"])"#,
            r#"["a", "b", "c", "d"]"#,
        );
        same(r#"keys({ a = 1, c = 2, d = 3 })"#, r#"["a", "c", "d"]"#);
        same(r#"values({ a = 3, c = 2, d = 1 })"#, "[3, 2, 1]");
        same(
            r#"lookup({ a = "ay", b = "bee" }, "a", "what?")"#,
            r#""ay""#,
        );
        same(
            r#"lookup({ a = "ay", b = "bee" }, "c", "what?")"#,
            r#""what?""#,
        );
        fails(r#"lookup({ a = 1 }, "b")"#, "failed to find key");
        same(
            r#"merge({ a = "b", c = "d" }, { e = "f", c = "z" })"#,
            r#"{ a = "b", c = "z", e = "f" }"#,
        );
        same(r#"merge({ a = "b" }, null)"#, r#"{ a = "b" }"#);
        fails("merge({ a = 1 }, [1])", "argument 2 must be a map");
        same(
            r#"transpose({ a = ["1", "2"], b = ["2", "3"] })"#,
            r#"{ "1" = ["a"], "2" = ["a", "b"], "3" = ["b"] }"#,
        );
        same(r#"zipmap(["a", "b"], [1, 2])"#, "{ a = 1, b = 2 }");
        fails(r#"zipmap(["a"], [1, 2])"#, "does not match");
    }

    /// Products, concatenations and sums are held to the limits, computed before building.
    #[test]
    fn results_stay_within_the_limits() {
        // Every combination copies the strings: 20,480 × 1,000 bytes.
        fails(
            r#"setproduct([format("%01000d", 0)], range(1024), range(20))"#,
            "MiB",
        );
        fails(
            "setproduct(range(100), range(100), range(100), range(100))",
            "values",
        );
        // 250,000 pairs: 750,001 values, within the limit.
        same("length(setproduct(range(500), range(500)))", "250000");
        let big = "setproduct(range(500), range(500))";
        fails(&format!("concat({big}, {big})"), "values");
        fails(&format!("chunklist(concat({big}, [1]), 1)"), "values");
        fails("sum([1e308, 1e308])", "not a finite number");
        // Each of 1,024 values gets a copy of its 100,000-byte key.
        fails(
            r#"transpose({ format("%0100000d", 0) = [for i in range(1024) : tostring(i)] })"#,
            "MiB",
        );
    }

    /// Set functions hash their elements: quadratic searches would take hours on 200,000.
    #[test]
    fn set_functions_take_linear_time() {
        let x = "flatten([for i in range(1000) : [for j in range(200) : i * 200 + j]])";
        same(&format!("length(distinct({x}))"), "200000");
        same(&format!("length(setunion({x}, {x}))"), "200000");
        same(&format!("length(setintersection({x}, {x}))"), "200000");
        same(&format!("length(setsubtract({x}, {x}))"), "0");
        same(&format!("length(toset({x}))"), "200000");
        same(&format!("length(matchkeys({x}, {x}, {x}))"), "200000");
        same(&format!("length(setproduct({x}, [1]))"), "200000");
        // Equal values are one element, whatever their representation or key order.
        same(
            r#"distinct([1, 1.0, { a = 1, b = 2 }, { b = 2, a = 1 }, [1], [1.0], "1"])"#,
            r#"[1, { a = 1, b = 2 }, [1], "1"]"#,
        );
        same(r#"setsubtract([1, 2.5, "x"], [2.5])"#, r#"[1, "x"]"#);
    }
}

//! What a resolved resource depends on, shared rather than copied.
//!
//! A resource depends on the variables, locals and unknown names it refers to, and on the
//! resources whose values it used — and, through them, on everything *they* depend on.
//! Copying each dependency's transitive list into its dependents costs O(n²) over a chain
//! of n resources (50,000 links: over a billion names). Instead each resolved resource holds
//! one small node: its own direct names and an `Arc` to the node of every resource it used.
//! A chain of n resources is then n nodes, and a dependency evicted from the cache stays
//! reachable from its dependents' nodes, so invalidation still sees everything an entry
//! transitively depends on.
//!
//! Every walk over the nodes is iterative (a chain of any length costs heap, never call
//! stack), and so is dropping them.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::value::Text;

/// One resolved resource's dependencies: its direct names and its dependencies' sets.
struct Node {
    /// The resource's qualified name (a dependent that reaches this node depends on it).
    name: Text,
    /// True when the resource is a member of a reference cycle.
    cyclic: bool,
    /// The names it refers to directly that are not resources it took values from:
    /// `mod.var.x`, `mod.local.x`, names that do not exist yet, the other members of its
    /// cycle.
    names: Box<[Text]>,
    /// The resources whose values it used.
    via: Box<[Arc<Node>]>,
    /// One bit per name it depends on, transitively (its own included), of 128: a node
    /// whose bits miss every bit of what changed cannot depend on it, and is passed over
    /// without looking at a name.
    sig: Sig,
}

/// A 128-bit signature of a set of names (see [`Node::sig`]).
type Sig = [u64; 2];

/// The bit of one name.
fn bit(name: &str) -> Sig {
    use std::hash::BuildHasher;
    let h = foldhash::fast::FixedState::with_seed(0x6465_7073).hash_one(name);
    let b = (h % 128) as usize;
    let mut s = [0u64; 2];
    s[b / 64] = 1 << (b % 64);
    s
}

fn union(a: Sig, b: Sig) -> Sig {
    [a[0] | b[0], a[1] | b[1]]
}

fn overlaps(a: Sig, b: Sig) -> bool {
    (a[0] & b[0]) | (a[1] & b[1]) != 0
}

impl Drop for Node {
    /// Iterative: dropping the head of a long chain must not recurse once per link.
    fn drop(&mut self) {
        let mut stack: Vec<Arc<Node>> = std::mem::take(&mut self.via).into_vec();
        while let Some(n) = stack.pop() {
            if let Some(mut inner) = Arc::into_inner(n) {
                stack.extend(std::mem::take(&mut inner.via).into_vec());
            }
        }
    }
}

/// What a resolved resource depends on, transitively, sharing its dependencies' sets.
#[derive(Clone)]
pub struct Depends(Arc<Node>);

impl Depends {
    /// The dependencies of the resource `name`: its direct `names` and the sets of the
    /// resources it used (`via`); `cyclic` when it is a member of a reference cycle.
    pub fn new(
        name: Text,
        cyclic: bool,
        names: impl IntoIterator<Item = Text>,
        via: impl IntoIterator<Item = Depends>,
    ) -> Depends {
        let names: BTreeSet<Text> = names.into_iter().filter(|n| *n != name).collect();
        let mut seen: foldhash::HashSet<*const Node> = foldhash::HashSet::default();
        let via: Vec<Arc<Node>> = via
            .into_iter()
            .map(|d| d.0)
            .filter(|n| seen.insert(Arc::as_ptr(n)))
            .collect();
        let sig = names
            .iter()
            .map(|n| bit(n))
            .chain(via.iter().map(|v| v.sig))
            .fold(bit(&name), union);
        Depends(Arc::new(Node {
            name,
            cyclic,
            names: names.into_iter().collect(),
            via: via.into_boxed_slice(),
            sig,
        }))
    }

    /// Nothing (a resource that could not be read).
    pub fn none(name: Text) -> Depends {
        Depends::new(name, false, [], [])
    }

    /// True when the resource is a member of a reference cycle.
    pub fn in_cycle(&self) -> bool {
        self.0.cyclic
    }

    /// The names it refers to directly (not through a resource it used), sorted.
    pub fn direct(&self) -> &[Text] {
        &self.0.names
    }

    /// How many resources it used directly.
    pub fn used(&self) -> usize {
        self.0.via.len()
    }

    /// Everything it depends on, transitively (resources, `mod.var.x`, `mod.local.x`),
    /// sorted, without its own name.
    pub fn names(&self) -> Vec<Text> {
        let mut out: BTreeSet<Text> = BTreeSet::new();
        let mut seen: foldhash::HashSet<*const Node> = foldhash::HashSet::default();
        seen.insert(Arc::as_ptr(&self.0));
        out.extend(self.0.names.iter().cloned());
        let mut stack: Vec<&Arc<Node>> = self.0.via.iter().collect();
        while let Some(n) = stack.pop() {
            if !seen.insert(Arc::as_ptr(n)) {
                continue;
            }
            out.insert(n.name.clone());
            out.extend(n.names.iter().cloned());
            stack.extend(n.via.iter());
        }
        out.remove(&self.0.name);
        out.into_iter().collect()
    }

    /// Approximate heap bytes of its own node (the nodes it shares are its dependencies').
    pub fn weight(&self) -> usize {
        std::mem::size_of::<Node>()
            + self.0.names.iter().map(|n| n.len() + 32).sum::<usize>()
            + self.0.via.len() * std::mem::size_of::<Arc<Node>>()
    }

    /// True when its name or anything it depends on, transitively, is in `names` (what
    /// an edit changed: usually a handful). `memo` remembers the nodes already decided, so
    /// that asking for every entry of a cache visits each shared node once (linear in the
    /// nodes, however the sets overlap).
    pub fn reaches(&self, names: &Names<'_>, memo: &mut Reached) -> bool {
        if !overlaps(self.0.sig, names.sig) {
            return false;
        }
        let hit = |n: &Node| {
            names.set.contains(&*n.name) || n.names.iter().any(|x| names.set.contains(&**x))
        };
        let key = |n: &Node| n as *const Node as usize;
        // Decided by its own names first; what it used is remembered (shared with other
        // entries), itself is not (each entry is asked once).
        if hit(&self.0) {
            return true;
        }
        // Depth first; a hit marks every node on the path to it (they all reach it).
        let mut stack: Vec<(&Node, usize)> = vec![(&self.0, 0)];
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let Some(child) = node.via.get(*next).map(|c| &**c) else {
                if stack.len() > 1 {
                    memo.0.insert(key(node), false);
                }
                stack.pop();
                continue;
            };
            *next += 1;
            if !overlaps(child.sig, names.sig) {
                continue;
            }
            if child.via.is_empty() {
                if hit(child) {
                    for (n, _) in stack.iter().skip(1) {
                        memo.0.insert(key(n), true);
                    }
                    return true;
                }
                continue;
            }
            let found = match memo.0.get(&key(child)) {
                Some(&r) => r,
                None if hit(child) => true,
                None => {
                    stack.push((child, 0));
                    continue;
                }
            };
            if found {
                memo.0.insert(key(child), true);
                for (n, _) in stack.iter().skip(1) {
                    memo.0.insert(key(n), true);
                }
                return true;
            }
        }
        false
    }
}

/// The names [`Depends::reaches`] looks for.
pub struct Names<'a> {
    set: foldhash::HashSet<&'a str>,
    sig: Sig,
}

impl<'a> FromIterator<&'a str> for Names<'a> {
    fn from_iter<I: IntoIterator<Item = &'a str>>(names: I) -> Names<'a> {
        let set: foldhash::HashSet<&str> = names.into_iter().collect();
        let sig = set.iter().map(|n| bit(n)).fold([0, 0], union);
        Names { set, sig }
    }
}

/// What [`Depends::reaches`] has decided so far, by node (valid while the nodes it saw
/// are alive: use one for one pass over a cache).
#[derive(Default)]
pub struct Reached(foldhash::HashMap<usize, bool>);

impl PartialEq for Depends {
    /// The same names, transitively, and the same cycle membership.
    fn eq(&self, other: &Depends) -> bool {
        self.in_cycle() == other.in_cycle() && self.names() == other.names()
    }
}

impl std::fmt::Debug for Depends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Depends")
            .field("cyclic", &self.in_cycle())
            .field("names", &self.names())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Text {
        Text::from(s)
    }

    fn names<const N: usize>(n: [&str; N]) -> Names<'_> {
        n.into_iter().collect()
    }

    #[test]
    fn sets_are_transitive_and_shared() {
        let c = Depends::new(t("m.query.c"), false, [t("m.var.v")], []);
        let b = Depends::new(t("m.query.b"), false, [], [c.clone()]);
        let a = Depends::new(t("m.query.a"), false, [t("m.local.l")], [b.clone(), c]);
        assert_eq!(
            a.names(),
            vec![t("m.local.l"), t("m.query.b"), t("m.query.c"), t("m.var.v")]
        );
        let mut memo = Reached::default();
        assert!(a.reaches(&names(["m.var.v"]), &mut memo));
        assert!(b.reaches(&names(["m.var.v"]), &mut memo));
        let mut memo = Reached::default();
        assert!(!a.reaches(&names(["m.var.w"]), &mut memo));
        assert!(a.reaches(&names(["m.query.a"]), &mut Reached::default()));
    }

    #[test]
    fn a_long_chain_is_walked_and_dropped_without_recursion() {
        // Far past what a recursive walk or drop survives on a test thread's stack.
        let n = 200_000;
        let mut d = Depends::new(t("q0"), false, [t("m.var.end")], []);
        for k in 1..n {
            d = Depends::new(Text::from(format!("q{k}")), false, [], [d]);
        }
        assert_eq!(d.names().len(), n);
        assert!(d.reaches(&names(["m.var.end"]), &mut Reached::default()));
        drop(d);
    }
}

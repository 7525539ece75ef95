//! A benchmark's or dashboard's hierarchy (`modlens tree`, the language server's
//! `modlens/tree`), from the index alone: each node's qualified name and title, children
//! in order; a child named but not found, and a child that repeats an ancestor (a cycle),
//! are shown in place with a note.

use serde::Serialize;

use super::dump::{FieldReader, FieldText};
use super::{Index, ResourceId};
use crate::syntax::AttrKey;

/// One node of a hierarchy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TreeNode {
    /// `mod.type.name`.
    pub qualified_name: String,
    /// Its title (evaluated, or the expression in parentheses when unknown).
    pub title: Option<String>,
    /// Its children, in order.
    pub children: Vec<TreeNode>,
    /// Set when this node repeats an ancestor (a cycle) or was not found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The title as lists show it: evaluated, or the expression in parentheses.
pub fn title(fields: FieldReader<'_>, index: &Index, id: ResourceId) -> Option<String> {
    match fields(id, AttrKey::Title) {
        Some(FieldText::Text(t)) => Some(t),
        Some(FieldText::Unknown(e)) => Some(format!("({e})")),
        Some(_) => None,
        None => {
            // The literal, when the reader leaves it to the index.
            let f = index.file(id.file)?;
            let b = f.index.block(id.block)?;
            match f.index.attr(b, AttrKey::Title)?.value() {
                crate::syntax::AttrValue::Str(s) => Some(f.index.str(s).to_string()),
                _ => None,
            }
        }
    }
}

/// The deepest level a hierarchy shows (the root is level 0): no real benchmark tree comes
/// close, and a chain of references (`children = [benchmark.next]`, thousands long) must not
/// make a walk, its output or its serialisation as deep as the chain.
pub const MAX_TREE_DEPTH: usize = 32;

/// The most child entries a hierarchy looks at: a tree reaching the same benchmarks by many
/// paths (each level listing every benchmark of the next) grows exponentially with its depth.
/// Real mods' largest trees have a few thousand nodes.
pub const MAX_TREE_NODES: usize = 100_000;

/// The hierarchy under `root`: at most [`MAX_TREE_DEPTH`] levels and [`MAX_TREE_NODES`]
/// children looked at; where it stops, a node says why.
pub fn tree(index: &Index, fields: FieldReader<'_>, root: ResourceId) -> TreeNode {
    let mut walk = Walk {
        index,
        fields,
        path: Vec::new(),
        budget: MAX_TREE_NODES,
    };
    walk.node(root)
}

struct Walk<'a, 'f> {
    index: &'a Index,
    fields: FieldReader<'f>,
    /// The ancestors of the node being built (cycles are cut against it).
    path: Vec<ResourceId>,
    /// Child entries that may still be looked at.
    budget: usize,
}

impl Walk<'_, '_> {
    /// The node for `id` and, below it, at most what the depth and the budget allow. The
    /// recursion is as deep as the path, which [`MAX_TREE_DEPTH`] bounds.
    fn node(&mut self, id: ResourceId) -> TreeNode {
        let index = self.index;
        let qualified_name = index.qualified_name(id).unwrap_or_default();
        let title = title(self.fields, index, id);
        let leaf = |note: String| TreeNode {
            qualified_name: qualified_name.clone(),
            title: title.clone(),
            children: Vec::new(),
            note: Some(note),
        };
        if self.path.contains(&id) {
            return leaf("cycle: already shown above".to_string());
        }
        let entries = index.child_entries(id).unwrap_or_default();
        if !entries.is_empty() && self.path.len() >= MAX_TREE_DEPTH {
            return leaf(format!(
                "{} children not shown: deeper than {MAX_TREE_DEPTH} levels",
                entries.len()
            ));
        }
        if entries.len() > self.budget {
            self.budget = 0;
            return leaf(format!(
                "{} children not shown: the tree is over {MAX_TREE_NODES} nodes",
                entries.len()
            ));
        }
        self.budget -= entries.len();
        self.path.push(id);
        // Children named but not found are shown too, in place: a typo in `children` should
        // be visible where it is.
        let children = entries
            .into_iter()
            .map(|c| match c.resource {
                Some(child) => self.node(child),
                None => TreeNode {
                    qualified_name: c.name,
                    title: None,
                    children: Vec::new(),
                    note: Some("not found".to_string()),
                },
            })
            .collect();
        self.path.pop();
        TreeNode {
            qualified_name,
            title,
            children,
            note: None,
        }
    }
}

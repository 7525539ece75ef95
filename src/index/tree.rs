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

/// The hierarchy under `root`.
pub fn tree(index: &Index, fields: FieldReader<'_>, root: ResourceId) -> TreeNode {
    let mut path = Vec::new();
    node(index, fields, root, &mut path)
}

fn node(
    index: &Index,
    fields: FieldReader<'_>,
    id: ResourceId,
    path: &mut Vec<ResourceId>,
) -> TreeNode {
    let qualified_name = index.qualified_name(id).unwrap_or_default();
    let title = title(fields, index, id);
    if path.contains(&id) {
        return TreeNode {
            qualified_name,
            title,
            children: Vec::new(),
            note: Some("cycle: already shown above".to_string()),
        };
    }
    path.push(id);
    // Children named but not found are shown too, in place: a typo in `children` should be
    // visible where it is.
    let children = index
        .child_entries(id)
        .unwrap_or_default()
        .into_iter()
        .map(|c| match c.resource {
            Some(child) => node(index, fields, child, path),
            None => TreeNode {
                qualified_name: c.name,
                title: None,
                children: Vec::new(),
                note: Some("not found".to_string()),
            },
        })
        .collect();
    path.pop();
    TreeNode {
        qualified_name,
        title,
        children,
        note: None,
    }
}

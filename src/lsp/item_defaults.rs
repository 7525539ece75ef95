//! Completion lists with LSP 3.17 `itemDefaults`: what every item of a list shares (its edit
//! range, its insert text format, its insert mode, commit characters, data) is sent once on
//! the list instead of on each of hundreds of items, for clients that announce
//! `textDocument.completion.completionList.itemDefaults`.
//!
//! `lsp-types`' `CompletionList` has no `itemDefaults`, so this is a layer around the
//! service: it reads the client's capability from `initialize` as it passes and rewrites
//! the JSON of `textDocument/completion` answers. A client that does not announce the
//! capability gets the answers unchanged. Nothing here knows what the items mean.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use serde_json::{Map, Value};
use tower_lsp_server::jsonrpc::{Request, Response};
use tower_service::Service;

/// The item defaults a client takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Supported {
    /// `editRange` (items then carry `textEditText`).
    pub edit_range: bool,
    /// `insertTextFormat`.
    pub insert_text_format: bool,
    /// `insertTextMode`.
    pub insert_text_mode: bool,
    /// `commitCharacters`.
    pub commit_characters: bool,
    /// `data`.
    pub data: bool,
}

impl Supported {
    /// What the `initialize` parameters announce.
    pub fn from_initialize(params: Option<&Value>) -> Supported {
        let list = params
            .and_then(|p| {
                p.pointer("/capabilities/textDocument/completion/completionList/itemDefaults")
            })
            .and_then(Value::as_array);
        let has = |name: &str| list.is_some_and(|l| l.iter().any(|v| v == name));
        Supported {
            edit_range: has("editRange"),
            insert_text_format: has("insertTextFormat"),
            insert_text_mode: has("insertTextMode"),
            commit_characters: has("commitCharacters"),
            data: has("data"),
        }
    }

    /// True when the client takes any.
    pub fn any(self) -> bool {
        self != Supported::default()
    }
}

/// Moves what every item of a completion answer (`CompletionList` JSON) shares into its
/// `itemDefaults`, for the defaults `supported`. Anything else (`null`, an array) is left.
pub fn compact(answer: &mut Value, supported: Supported) {
    let Some(list) = answer.as_object_mut() else {
        return;
    };
    let Some(items) = list.get_mut("items").and_then(Value::as_array_mut) else {
        return;
    };
    if items.len() < 2 {
        return;
    }
    let mut defaults = Map::new();
    if supported.edit_range
        && let Some(range) = shared_edit_range(items)
    {
        for item in items.iter_mut() {
            let Some(obj) = item.as_object_mut() else {
                continue;
            };
            let new_text = obj
                .remove("textEdit")
                .and_then(|mut e| e.get_mut("newText").map(Value::take));
            // Without `textEditText`, the label is inserted.
            if let Some(t) = new_text
                && obj.get("label") != Some(&t)
            {
                obj.insert("textEditText".into(), t);
            }
        }
        defaults.insert("editRange".into(), range);
    }
    if supported.insert_text_format {
        // Absent means plain text (1); a snippet default pays when most items are snippets.
        let format = |item: &Value| {
            item.get("insertTextFormat")
                .and_then(Value::as_u64)
                .unwrap_or(1)
        };
        let snippets = items.iter().filter(|i| format(i) == 2).count();
        if snippets * 2 > items.len() {
            for item in items.iter_mut() {
                let Some(obj) = item.as_object_mut() else {
                    continue;
                };
                if obj.get("insertTextFormat").and_then(Value::as_u64) == Some(2) {
                    obj.remove("insertTextFormat");
                } else {
                    obj.insert("insertTextFormat".into(), Value::from(1));
                }
            }
            defaults.insert("insertTextFormat".into(), Value::from(2));
        }
    }
    for (wanted, key) in [
        (supported.insert_text_mode, "insertTextMode"),
        (supported.commit_characters, "commitCharacters"),
        (supported.data, "data"),
    ] {
        if wanted && let Some(v) = shared(items, key) {
            for item in items.iter_mut() {
                if let Some(obj) = item.as_object_mut() {
                    obj.remove(key);
                }
            }
            defaults.insert(key.into(), v);
        }
    }
    if !defaults.is_empty() {
        list.insert("itemDefaults".into(), Value::Object(defaults));
    }
}

/// The range of every item's `textEdit`, when all have a plain one (`range` and `newText`,
/// not an insert/replace edit) over the same range.
fn shared_edit_range(items: &[Value]) -> Option<Value> {
    let range_of = |item: &Value| {
        let edit = item.get("textEdit")?.as_object()?;
        (edit.len() == 2 && edit.get("newText")?.is_string())
            .then(|| edit.get("range").cloned())
            .flatten()
    };
    let first = range_of(items.first()?)?;
    items
        .iter()
        .all(|i| range_of(i).as_ref() == Some(&first))
        .then_some(first)
}

/// The value of `key` when every item has the same one.
fn shared(items: &[Value], key: &str) -> Option<Value> {
    let first = items.first()?.get(key)?;
    items
        .iter()
        .all(|i| i.get(key) == Some(first))
        .then(|| first.clone())
}

/// The language service with completion answers compacted for clients that take item
/// defaults.
#[derive(Clone)]
pub struct WithItemDefaults<S> {
    inner: S,
    supported: Arc<Mutex<Supported>>,
}

impl<S> WithItemDefaults<S> {
    /// Wraps a service.
    pub fn new(inner: S) -> WithItemDefaults<S> {
        WithItemDefaults {
            inner,
            supported: Arc::default(),
        }
    }
}

type Answer<E> = Pin<Box<dyn Future<Output = Result<Option<Response>, E>> + Send>>;

impl<S> Service<Request> for WithItemDefaults<S>
where
    S: Service<Request, Response = Option<Response>>,
    S::Future: Send + 'static,
{
    type Response = Option<Response>;
    type Error = S::Error;
    type Future = Answer<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let mut supported = self.supported.lock().unwrap_or_else(|p| p.into_inner());
        if req.method() == "initialize" {
            *supported = Supported::from_initialize(req.params());
        }
        let wanted = *supported;
        drop(supported);
        let completion = req.method() == "textDocument/completion" && wanted.any();
        let answer = self.inner.call(req);
        Box::pin(async move {
            let response = answer.await?;
            Ok(match response {
                Some(r) if completion => {
                    let (id, body) = r.into_parts();
                    Some(Response::from_parts(
                        id,
                        body.map(|mut v| {
                            compact(&mut v, wanted);
                            v
                        }),
                    ))
                }
                other => other,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all() -> Supported {
        Supported {
            edit_range: true,
            insert_text_format: true,
            insert_text_mode: true,
            commit_characters: true,
            data: true,
        }
    }

    #[test]
    fn shared_fields_move_to_the_list() {
        let range =
            json!({"start": {"line": 1, "character": 2}, "end": {"line": 1, "character": 4}});
        let mut list = json!({"isIncomplete": false, "items": [
            {"label": "a", "textEdit": {"range": range, "newText": "a"}, "insertTextFormat": 2, "data": {"u": 1}},
            {"label": "b", "textEdit": {"range": range, "newText": "b = $1"}, "insertTextFormat": 2, "data": {"u": 1}},
            {"label": "c", "textEdit": {"range": range, "newText": "c"}, "data": {"u": 1}},
        ]});
        compact(&mut list, all());
        assert_eq!(
            list,
            json!({"isIncomplete": false,
            "itemDefaults": {"editRange": range, "insertTextFormat": 2, "data": {"u": 1}},
            "items": [
                {"label": "a"},
                {"label": "b", "textEditText": "b = $1"},
                {"label": "c", "insertTextFormat": 1},
            ]})
        );
    }

    #[test]
    fn what_differs_stays_on_the_items() {
        let r1 = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}});
        let r2 = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 2}});
        let mut list = json!({"isIncomplete": true, "items": [
            {"label": "a", "textEdit": {"range": r1, "newText": "a"}, "data": {"n": "a"}},
            {"label": "b", "textEdit": {"range": r2, "newText": "b"}, "data": {"n": "b"}},
        ]});
        let before = list.clone();
        compact(&mut list, all());
        assert_eq!(list, before);
    }

    #[test]
    fn only_announced_defaults_are_used() {
        let params = json!({"capabilities": {"textDocument": {"completion": {
            "completionList": {"itemDefaults": ["editRange", "data"]}}}}});
        let s = Supported::from_initialize(Some(&params));
        assert!(s.edit_range && s.data && !s.insert_text_format && !s.commit_characters);
        assert!(!Supported::from_initialize(Some(&json!({"capabilities": {}}))).any());
    }
}

//! A static schema of the Powerpipe mod format (`*.pp`, and Steampipe's older `*.sp`, which
//! uses the same blocks), for completion and hover documentation.
//!
//! It says which block types exist, which are valid at the top level of a mod file, which
//! nested blocks and which attributes each block type accepts, and documents each in a
//! sentence or two. The lists follow Powerpipe's HCL reference
//! (<https://powerpipe.io/docs/powerpipe-hcl>), checked against Powerpipe's decoder where the
//! reference is silent (`base` on embeddable resources, `width` on dashboard children); the
//! documentation strings paraphrase the reference. Attributes that the decoder tolerates but
//! the reference does not describe are left out.
//!
//! A few block types mean different things by context: `mod` at the top level is the mod's
//! own definition, while `mod` inside `require` is a dependency entry. [`block`] gives the
//! top-level meaning and [`nested`] the meaning in a given parent.
//!
//! [`functions`] documents the HCL functions modlens evaluates (the set in
//! `resolve::funcs::NAMES`), with Terraform-style signatures.

/// One attribute a block accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttrSchema {
    /// The attribute's name, as written before `=`.
    pub name: &'static str,
    /// One or two sentences for completion documentation / hover.
    pub doc: &'static str,
    /// How its value is usually written, for a completion snippet in LSP snippet syntax,
    /// e.g. "title = \"$1\"", "tags = {\n  $1\n}", "sql = <<-EOQ\n  $1\nEOQ",
    /// "children = [\n  $1\n]", "width = ${1:6}".
    pub snippet: &'static str,
}

/// One block type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockSchema {
    /// The block type, as written before its labels.
    pub kind: &'static str,
    /// One or two sentences for completion documentation / hover.
    pub doc: &'static str,
    /// Number of labels it takes at top level: 1 for `control "name"`, 0 for `locals` (for a
    /// block that only appears nested, the number it takes there).
    pub labels: u8,
    /// Valid as a top-level block of a mod file.
    pub top_level: bool,
    /// The attributes it accepts, sorted by name.
    pub attributes: &'static [AttrSchema],
    /// Block types it accepts nested inside it (e.g. dashboard: container, card, chart, ...,
    /// input, with, benchmark), sorted.
    pub blocks: &'static [&'static str],
    /// Whether a nested occurrence may be anonymous (no label): card/chart/table/container
    /// inside a dashboard may.
    pub nested_label_optional: bool,
}

/// Documentation of one HCL function, for completion and hover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionDoc {
    /// The function's name.
    pub name: &'static str,
    /// Its parameters and result, e.g. `merge(maps...) -> map`.
    pub signature: &'static str,
    /// One or two sentences on what it does.
    pub doc: &'static str,
}

/// Every block type, sorted by kind (the top-level meaning of a kind used in several
/// contexts).
pub fn blocks() -> &'static [BlockSchema] {
    BLOCKS
}

/// A block type's schema: the top-level meaning when the kind is ambiguous (`mod`).
pub fn block(kind: &str) -> Option<&'static BlockSchema> {
    BLOCKS
        .binary_search_by(|b| b.kind.cmp(kind))
        .ok()
        .and_then(|i| BLOCKS.get(i))
}

/// The meaning of `kind` nested in a `parent` block (e.g. `nested("require", "mod")` is the
/// dependency entry with `version` and `args`, `nested("dashboard", "benchmark")` is an
/// embedded benchmark); `None` if `parent` does not accept `kind`.
pub fn nested(parent: &str, kind: &str) -> Option<&'static BlockSchema> {
    let p = block(parent)?;
    if !p.blocks.contains(&kind) {
        return None;
    }
    CONTEXTUAL
        .iter()
        .find(|(pp, b)| *pp == parent && b.kind == kind)
        .map(|(_, b)| b)
        .or_else(|| block(kind))
}

/// Block types valid at top level, sorted.
pub fn top_level() -> Vec<&'static str> {
    BLOCKS
        .iter()
        .filter(|b| b.top_level)
        .map(|b| b.kind)
        .collect()
}

/// A top-level block snippet for completion (LSP snippet syntax), e.g. for `locals`:
/// `"locals {\n  $0\n}"`.
pub fn block_snippet(kind: &str) -> String {
    let s = match kind {
        "benchmark" => {
            "benchmark \"${1:name}\" {\n  title = \"$2\"\n  children = [\n    $0\n  ]\n}"
        }
        "card" => "card \"${1:name}\" {\n  sql = <<-EOQ\n    $0\n  EOQ\n  width = ${2:3}\n}",
        "category" => "category \"${1:name}\" {\n  title = \"$2\"\n  color = \"$3\"\n  $0\n}",
        "chart" => {
            "chart \"${1:name}\" {\n  type  = \"${2|bar,column,donut,line,pie,heatmap|}\"\n  \
             title = \"$3\"\n  sql = <<-EOQ\n    $0\n  EOQ\n}"
        }
        "control" => "control \"${1:name}\" {\n  title = \"$2\"\n  sql = <<-EOQ\n    $0\n  EOQ\n}",
        "dashboard" => "dashboard \"${1:name}\" {\n  title = \"$2\"\n\n  $0\n}",
        "detection" => {
            "detection \"${1:name}\" {\n  title = \"$2\"\n  \
             severity = \"${3|none,low,medium,high,critical|}\"\n  \
             sql = <<-EOQ\n    $0\n  EOQ\n}"
        }
        "detection_benchmark" => {
            "detection_benchmark \"${1:name}\" {\n  title = \"$2\"\n  type = \"detection\"\n  \
             children = [\n    $0\n  ]\n}"
        }
        "edge" | "input" | "node" | "query" | "table" => {
            return format!("{kind} \"${{1:name}}\" {{\n  sql = <<-EOQ\n    $0\n  EOQ\n}}");
        }
        "flow" | "graph" | "hierarchy" => {
            return format!("{kind} \"${{1:name}}\" {{\n  title = \"$2\"\n\n  $0\n}}");
        }
        "image" => "image \"${1:name}\" {\n  src = \"$2\"\n  alt = \"$0\"\n}",
        "locals" => "locals {\n  $0\n}",
        "mod" => "mod \"${1:name}\" {\n  title = \"$2\"\n  $0\n}",
        "text" => "text \"${1:name}\" {\n  value = \"$0\"\n}",
        "variable" => {
            "variable \"${1:name}\" {\n  type        = ${2:string}\n  description = \"$3\"\n  \
             default     = $0\n}"
        }
        _ => return generic_snippet(kind, block(kind).is_some_and(|b| b.labels > 0), "name"),
    };
    s.to_string()
}

/// A nested block snippet (label optional or required per the schema), e.g. for
/// `("dashboard", "card")`: `"card {\n  $0\n}"`, and for `("require", "mod")`:
/// `"mod \"${1:github.com/org/repo}\" {\n  version = \"$2\"\n}"`.
pub fn nested_snippet(parent: &str, kind: &str) -> String {
    match (parent, kind) {
        ("require", "mod") => {
            return "mod \"${1:github.com/org/repo}\" {\n  version = \"$2\"\n}".to_string();
        }
        ("require", "plugin") => {
            return "plugin \"${1:aws}\" {\n  min_version = \"$2\"\n}".to_string();
        }
        ("require", "powerpipe" | "steampipe") => {
            return format!("{kind} {{\n  min_version = \"$1\"\n}}");
        }
        (_, "param") => {
            return "param \"${1:name}\" {\n  description = \"$2\"\n  default     = $0\n}"
                .to_string();
        }
        (_, "with") => {
            return "with \"${1:name}\" {\n  sql = <<-EOQ\n    $0\n  EOQ\n}".to_string();
        }
        _ => {}
    }
    let schema = nested(parent, kind).or_else(|| block(kind));
    let labelled = schema.is_some_and(|b| b.labels > 0 && !b.nested_label_optional);
    let placeholder = match kind {
        "option" => "value",
        "column" | "series" => "column_name",
        _ => "name",
    };
    generic_snippet(kind, labelled, placeholder)
}

/// The HCL functions modlens evaluates, sorted by name.
pub fn functions() -> &'static [FunctionDoc] {
    FUNCTIONS
}

/// `kind "${1:placeholder}" {\n  $0\n}`, or `kind {\n  $0\n}` without a label.
fn generic_snippet(kind: &str, labelled: bool, placeholder: &str) -> String {
    if labelled {
        format!("{kind} \"${{1:{placeholder}}}\" {{\n  $0\n}}")
    } else {
        format!("{kind} {{\n  $0\n}}")
    }
}

const fn a(name: &'static str, doc: &'static str, snippet: &'static str) -> AttrSchema {
    AttrSchema { name, doc, snippet }
}

// ---------------------------------------------------------------------------------------
// Attributes shared by many block types.

const ARGS: AttrSchema = a(
    "args",
    "The arguments to pass to the query's parameters: a map by parameter name, or a list by \
     position.",
    "args = {\n  $1\n}",
);
const BASE: AttrSchema = a(
    "base",
    "A reference to a named resource of the same type whose definition this block reuses; \
     attributes set here override the inherited ones.",
    "base = $1",
);
const DATABASE: AttrSchema = a(
    "database",
    "The database to query: a connection reference, a connection string or a Pipes \
     workspace. The default database is used when it is not set.",
    "database = $1",
);
const DESCRIPTION: AttrSchema = a(
    "description",
    "A short description.",
    "description = \"$1\"",
);
const DOCUMENTATION: AttrSchema = a(
    "documentation",
    "Long-form documentation in Markdown, often read with `file()`; shown on the Powerpipe \
     Hub.",
    "documentation = file(\"$1\")",
);
const QUERY: AttrSchema = a(
    "query",
    "A reference to a named `query` to run. Set either `query` or `sql`, not both.",
    "query = query.$1",
);
const SEARCH_PATH: AttrSchema = a(
    "search_path",
    "Connections to use as a custom search path for the query (Postgres databases).",
    "search_path = [\"$1\"]",
);
const SEARCH_PATH_PREFIX: AttrSchema = a(
    "search_path_prefix",
    "Connections to put in front of the current search path for the query (Postgres \
     databases).",
    "search_path_prefix = [\"$1\"]",
);
const SQL: AttrSchema = a(
    "sql",
    "The SQL statement to run. Set either `sql` or `query`, not both.",
    "sql = <<-EOQ\n  $1\nEOQ",
);
const TAGS: AttrSchema = a(
    "tags",
    "Key/value metadata used to categorize, search and filter; its structure is up to the \
     mod author.",
    "tags = {\n  $1\n}",
);
const TITLE: AttrSchema = a("title", "A display title.", "title = \"$1\"");
const TITLE_PANEL: AttrSchema = a(
    "title",
    "A plain text title displayed above this component.",
    "title = \"$1\"",
);
const WIDTH: AttrSchema = a(
    "width",
    "How many of its parent's 12 grid columns this component occupies (the full width by \
     default; narrow screens widen it).",
    "width = ${1:6}",
);
const COLOR: AttrSchema = a(
    "color",
    "A color: a standard HTML color name, a control status (`alert`, `info`, `ok`), a \
     hexadecimal RGB value, or an `rgb(...)`/`rgba(...)` value.",
    "color = \"$1\"",
);
const ICON: AttrSchema = a(
    "icon",
    "An icon: a Material Symbols name, a `heroicons-outline:` or `heroicons-solid:` name, \
     an image URL, or `text:` followed by text to show.",
    "icon = \"$1\"",
);
const SEVERITY: AttrSchema = a(
    "severity",
    "The potential impact: `none`, `low`, `medium`, `high` or `critical` (names from CVSS \
     v3.1).",
    "severity = \"${1|none,low,medium,high,critical|}\"",
);

// ---------------------------------------------------------------------------------------
// Attribute lists, sorted by name.

const QUERY_ATTRS: &[AttrSchema] = &[DATABASE, DESCRIPTION, DOCUMENTATION, SQL, TAGS, TITLE];

const CONTROL_ATTRS: &[AttrSchema] = &[
    ARGS,
    BASE,
    DATABASE,
    DESCRIPTION,
    DOCUMENTATION,
    QUERY,
    SEARCH_PATH,
    SEARCH_PATH_PREFIX,
    SEVERITY,
    a(
        "sql",
        "SQL returning the control columns `status` (ok, alarm, skip, info or error), \
         `reason` and `resource` for each row. Set either `sql` or `query`, not both.",
        "sql = <<-EOQ\n  $1\nEOQ",
    ),
    TAGS,
    TITLE,
    WIDTH,
];

const BENCHMARK_ATTRS: &[AttrSchema] = &[
    BASE,
    a(
        "children",
        "The ordered list of `control` and `benchmark` references that are the benchmark's \
         direct members.",
        "children = [\n  $1\n]",
    ),
    DESCRIPTION,
    DOCUMENTATION,
    TAGS,
    TITLE,
    a(
        "type",
        "How the benchmark is shown in a dashboard: `benchmark` (the default) or `table`.",
        "type = \"${1|benchmark,table|}\"",
    ),
    WIDTH,
];

const DETECTION_ATTRS: &[AttrSchema] = &[
    ARGS,
    DATABASE,
    DESCRIPTION,
    a(
        "display_columns",
        "The columns of the detection's results to show by default.",
        "display_columns = [\"$1\"]",
    ),
    DOCUMENTATION,
    QUERY,
    SEVERITY,
    a(
        "sql",
        "SQL returning the log rows the detection finds. Set either `sql` or `query`, not \
         both.",
        "sql = <<-EOQ\n  $1\nEOQ",
    ),
    TAGS,
    TITLE,
];

const DETECTION_BENCHMARK_ATTRS: &[AttrSchema] = &[
    a(
        "children",
        "The ordered list of `detection` and `detection_benchmark` references that are its \
         direct members.",
        "children = [\n  $1\n]",
    ),
    DESCRIPTION,
    DOCUMENTATION,
    TAGS,
    TITLE,
    a(
        "type",
        "The kind of benchmark; detection benchmarks set `detection`.",
        "type = \"${1:detection}\"",
    ),
];

const DASHBOARD_ATTRS: &[AttrSchema] = &[
    BASE,
    DESCRIPTION,
    DOCUMENTATION,
    TAGS,
    a(
        "title",
        "A plain text title, shown in dashboard lists and as the dashboard's heading.",
        "title = \"$1\"",
    ),
];

const CONTAINER_ATTRS: &[AttrSchema] = &[
    a(
        "base",
        "A reference to a named `dashboard` or `container` to take this container's \
         definition from; `title` and `width` may still be set.",
        "base = $1",
    ),
    a(
        "title",
        "A plain text title displayed above the container's contents.",
        "title = \"$1\"",
    ),
    WIDTH,
];

const CARD_ATTRS: &[AttrSchema] = &[
    ARGS,
    BASE,
    DATABASE,
    a(
        "href",
        "A URL the card links to. It may be a jq template in `{{ }}` over the first row's \
         columns.",
        "href = \"$1\"",
    ),
    ICON,
    a(
        "label",
        "The card's label; by default the first column's name (or the `label` column of the \
         formal data format).",
        "label = \"$1\"",
    ),
    QUERY,
    SEARCH_PATH,
    SEARCH_PATH_PREFIX,
    a(
        "sql",
        "SQL providing the card's data. Set either `sql` or `query`, not both.",
        "sql = <<-EOQ\n  $1\nEOQ",
    ),
    TITLE_PANEL,
    a(
        "type",
        "The card's style: `plain` (the default), `alert`, `info` or `ok`; `table` shows the \
         raw data.",
        "type = \"${1|plain,alert,info,ok,table|}\"",
    ),
    a(
        "value",
        "The value to show; by default the first column's value.",
        "value = \"$1\"",
    ),
    WIDTH,
];

const CHART_ATTRS: &[AttrSchema] = &[
    ARGS,
    BASE,
    DATABASE,
    a(
        "grouping",
        "How multi-series data is laid out: `stack` (the default) or `compare`.",
        "grouping = \"${1|stack,compare|}\"",
    ),
    QUERY,
    SEARCH_PATH,
    SEARCH_PATH_PREFIX,
    a(
        "sql",
        "SQL providing the chart's data. Set either `sql` or `query`, not both.",
        "sql = <<-EOQ\n  $1\nEOQ",
    ),
    TITLE_PANEL,
    a(
        "transform",
        "The data transform: `auto` (the default) crosstabs 3-column row-series data, \
         `crosstab` always does, `none` never does.",
        "transform = \"${1|auto,crosstab,none|}\"",
    ),
    a(
        "type",
        "The chart type: `bar`, `column`, `donut`, `line`, `pie` or `heatmap`; `table` shows \
         the raw data.",
        "type = \"${1|bar,column,donut,line,pie,heatmap,table|}\"",
    ),
    WIDTH,
];

const FLOW_ATTRS: &[AttrSchema] = &[
    ARGS,
    BASE,
    DATABASE,
    QUERY,
    a(
        "sql",
        "SQL returning a row per node and edge, when no `node` and `edge` blocks are used. \
         Set either `sql` or `query`, not both.",
        "sql = <<-EOQ\n  $1\nEOQ",
    ),
    TITLE_PANEL,
    a(
        "type",
        "The flow type: `sankey` or `table`.",
        "type = \"${1|sankey,table|}\"",
    ),
    WIDTH,
];

const GRAPH_ATTRS: &[AttrSchema] = &[
    ARGS,
    BASE,
    DATABASE,
    a(
        "direction",
        "The layout direction: `top_down` (the default) or `left_right`.",
        "direction = \"${1|top_down,left_right|}\"",
    ),
    QUERY,
    SEARCH_PATH,
    SEARCH_PATH_PREFIX,
    a(
        "sql",
        "SQL returning a row per node and edge, when no `node` and `edge` blocks are used. \
         Set either `sql` or `query`, not both.",
        "sql = <<-EOQ\n  $1\nEOQ",
    ),
    TITLE_PANEL,
    a(
        "type",
        "The graph type; only `graph` (the default) is supported.",
        "type = \"graph\"",
    ),
    WIDTH,
];

const HIERARCHY_ATTRS: &[AttrSchema] = &[
    ARGS,
    BASE,
    DATABASE,
    QUERY,
    SEARCH_PATH,
    SEARCH_PATH_PREFIX,
    a(
        "sql",
        "SQL returning a row per node and edge, when no `node` and `edge` blocks are used. \
         Set either `sql` or `query`, not both.",
        "sql = <<-EOQ\n  $1\nEOQ",
    ),
    TITLE_PANEL,
    a(
        "type",
        "The hierarchy type: `tree` or `table`.",
        "type = \"${1|tree,table|}\"",
    ),
    WIDTH,
];

const IMAGE_ATTRS: &[AttrSchema] = &[
    a("alt", "Alternative text for the image.", "alt = \"$1\""),
    ARGS,
    BASE,
    DATABASE,
    QUERY,
    SEARCH_PATH,
    SEARCH_PATH_PREFIX,
    a(
        "sql",
        "SQL returning the image: the first column's value is its `src` and its name the \
         `alt`, or `src` and `alt` columns. Set either `sql` or `query`, not both.",
        "sql = <<-EOQ\n  $1\nEOQ",
    ),
    a(
        "src",
        "A publicly accessible URL of the image.",
        "src = \"$1\"",
    ),
    TITLE_PANEL,
    WIDTH,
];

const INPUT_ATTRS: &[AttrSchema] = &[
    ARGS,
    BASE,
    DATABASE,
    a(
        "placeholder",
        "Placeholder text. When set on a list input, components that depend on the input wait \
         until a selection is made; otherwise the first item is selected.",
        "placeholder = \"$1\"",
    ),
    QUERY,
    SEARCH_PATH,
    SEARCH_PATH_PREFIX,
    a(
        "sql",
        "SQL returning the options as `label`, `value` and optional `tags` columns. Set \
         either `sql` or `query`, not both.",
        "sql = <<-EOQ\n  $1\nEOQ",
    ),
    TITLE_PANEL,
    a(
        "type",
        "The input type: `text`, `select`, `multiselect`, `combo`, `multicombo` or \
         `date_range`.",
        "type = \"${1|select,multiselect,combo,multicombo,text,date_range|}\"",
    ),
    WIDTH,
];

const TABLE_ATTRS: &[AttrSchema] = &[
    ARGS,
    BASE,
    DATABASE,
    QUERY,
    SEARCH_PATH,
    SEARCH_PATH_PREFIX,
    a(
        "sql",
        "SQL providing the table's rows. Set either `sql` or `query`, not both.",
        "sql = <<-EOQ\n  $1\nEOQ",
    ),
    TITLE_PANEL,
    a(
        "type",
        "`table` (the default), or `line` to show each row as a list of column name/value \
         pairs.",
        "type = \"${1|table,line|}\"",
    ),
    WIDTH,
];

const TEXT_ATTRS: &[AttrSchema] = &[
    BASE,
    TITLE_PANEL,
    a(
        "type",
        "`markdown` (the default, GitHub-flavored) or `raw` to show the text as it is.",
        "type = \"${1|markdown,raw|}\"",
    ),
    a(
        "value",
        "The Markdown or raw text to show; it may be read from a file with `file()`.",
        "value = \"$1\"",
    ),
    WIDTH,
];

const WITH_ATTRS: &[AttrSchema] = &[
    ARGS,
    DATABASE,
    QUERY,
    a(
        "sql",
        "The SQL to run first; its rows are available as `with.NAME.rows`. Set either `sql` \
         or `query`, not both.",
        "sql = <<-EOQ\n  $1\nEOQ",
    ),
];

const NODE_ATTRS: &[AttrSchema] = &[
    ARGS,
    BASE,
    a(
        "category",
        "A reference to a named `category` that sets how these nodes are displayed; a \
         `category` column in the results takes precedence.",
        "category = category.$1",
    ),
    DATABASE,
    a(
        "depth",
        "An integer that forces the nodes' position in a flow, overriding the inferred \
         layout.",
        "depth = ${1:0}",
    ),
    QUERY,
    SEARCH_PATH,
    SEARCH_PATH_PREFIX,
    a(
        "sql",
        "SQL returning a row per node, with an `id` and optionally `title`, `category`, \
         `depth`, `from_id` and `properties`. Set either `sql` or `query`, not both.",
        "sql = <<-EOQ\n  $1\nEOQ",
    ),
    a(
        "title",
        "A title for the nodes; a `title` column in the results takes precedence.",
        "title = \"$1\"",
    ),
];

const EDGE_ATTRS: &[AttrSchema] = &[
    ARGS,
    BASE,
    a(
        "category",
        "A reference to a named `category` that sets how these edges are displayed; a \
         `category` column in the results takes precedence.",
        "category = category.$1",
    ),
    DATABASE,
    QUERY,
    SEARCH_PATH,
    SEARCH_PATH_PREFIX,
    a(
        "sql",
        "SQL returning a row per edge, with `from_id`, `to_id` and optionally `title`, \
         `category` and `properties`. Set either `sql` or `query`, not both.",
        "sql = <<-EOQ\n  $1\nEOQ",
    ),
    a(
        "title",
        "A title for the edges; a `title` column in the results takes precedence.",
        "title = \"$1\"",
    ),
];

const CATEGORY_ATTRS: &[AttrSchema] = &[
    a(
        "base",
        "A reference to a named `category` whose properties this one inherits.",
        "base = category.$1",
    ),
    a(
        "color",
        "The color of the items in this category: an HTML color name, a control status, or an \
         RGB/RGBA value.",
        "color = \"$1\"",
    ),
    a(
        "depth",
        "The depth (rank) of the items in a hierarchy or graph: items of a lower depth are \
         laid out before those of a higher one.",
        "depth = ${1:1}",
    ),
    a(
        "href",
        "A URL the items link to; it may be a jq template in `{{ }}` over the item's data.",
        "href = \"$1\"",
    ),
    a(
        "icon",
        "An icon for the items: a Material Symbols or heroicons name, an image URL, or \
         `text:` followed by text.",
        "icon = \"$1\"",
    ),
    a(
        "property_order",
        "The order of the `property` blocks' fields in the item's details (a list of \
         names).",
        "property_order = [$1]",
    ),
    a(
        "title",
        "A plain text title for the category.",
        "title = \"$1\"",
    ),
];

const FOLD_ATTRS: &[AttrSchema] = &[
    a(
        "icon",
        "The icon of the folded node; the category's icon by default.",
        "icon = \"$1\"",
    ),
    a(
        "threshold",
        "How many nodes with this category and the same edges there must be before they are \
         folded (3 by default).",
        "threshold = ${1:3}",
    ),
    a(
        "title",
        "The title of the folded node; the category's title by default.",
        "title = \"$1\"",
    ),
];

const COLUMN_ATTRS: &[AttrSchema] = &[
    a(
        "display",
        "`all` (the default) shows the column at every screen size, `none` hides it.",
        "display = \"${1|all,none|}\"",
    ),
    a(
        "href",
        "A URL each cell links to; it may be a jq template in `{{ }}` over the row's columns.",
        "href = \"$1\"",
    ),
    a(
        "wrap",
        "`all` wraps the column's contents, `none` (the default) does not.",
        "wrap = \"${1|all,none|}\"",
    ),
];

const OPTION_ATTRS: &[AttrSchema] = &[a(
    "label",
    "The label to display for this option; the option's value (its block label) by default.",
    "label = \"$1\"",
)];

const SERIES_ATTRS: &[AttrSchema] = &[
    COLOR,
    a(
        "title",
        "The series' display name (at most 50 characters); its column name by default.",
        "title = \"$1\"",
    ),
];

const POINT_ATTRS: &[AttrSchema] = &[COLOR];

const LEGEND_ATTRS: &[AttrSchema] = &[
    a(
        "display",
        "`auto` (the default) shows a legend when there are several series, `all` always, \
         `none` never.",
        "display = \"${1|auto,all,none|}\"",
    ),
    a(
        "position",
        "Where the legend goes: `top` (the default), `right`, `bottom` or `left`.",
        "position = \"${1|top,right,bottom,left|}\"",
    ),
];

const Y_ATTRS: &[AttrSchema] = &[
    a(
        "max",
        "The axis maximum; by default derived from the range of the values.",
        "max = ${1:100}",
    ),
    a(
        "min",
        "The axis minimum; by default derived from the range of the values (0 for positive \
         ranges).",
        "min = ${1:0}",
    ),
];

const AXIS_TITLE_ATTRS: &[AttrSchema] = &[
    a(
        "align",
        "Where the axis title goes: `start`, `center` (the default) or `end`.",
        "align = \"${1|start,center,end|}\"",
    ),
    a(
        "display",
        "`always` shows the axis title, `none` (the default) hides it.",
        "display = \"${1|always,none|}\"",
    ),
    a(
        "value",
        "The axis title text (at most 50 characters).",
        "value = \"$1\"",
    ),
];

const LABELS_ATTRS: &[AttrSchema] = &[a(
    "display",
    "`auto` (the default) shows as many labels as fit, `always` shows them all (truncated as \
     needed), `none` hides them.",
    "display = \"${1|auto,always,none|}\"",
)];

const PARAM_ATTRS: &[AttrSchema] = &[
    a(
        "default",
        "The value used when no argument is passed for this parameter.",
        "default = $1",
    ),
    a(
        "description",
        "A description of the parameter.",
        "description = \"$1\"",
    ),
];

const VARIABLE_ATTRS: &[AttrSchema] = &[
    a(
        "default",
        "A default value; when a variable has one, the user is not prompted for a value.",
        "default = $1",
    ),
    a(
        "description",
        "A description of the variable, shown when the user is prompted for its value.",
        "description = \"$1\"",
    ),
    a(
        "type",
        "The value's type: `string`, `number`, `bool`, a collection such as `list(string)`, \
         `map(...)`, `object({...})`, or `any`.",
        "type = ${1:string}",
    ),
];

const MOD_ATTRS: &[AttrSchema] = &[
    a(
        "categories",
        "Labels that categorize the mod, such as on the Powerpipe Hub.",
        "categories = [\"$1\"]",
    ),
    a(
        "color",
        "A hexadecimal RGB color for the mod on the Powerpipe Hub.",
        "color = \"$1\"",
    ),
    a(
        "database",
        "The default database for the mod's resources: a connection reference (often a \
         variable) or a connection string.",
        "database = $1",
    ),
    DESCRIPTION,
    DOCUMENTATION,
    a(
        "icon",
        "The URL of an icon for the mod on the Powerpipe Hub.",
        "icon = \"$1\"",
    ),
    TAGS,
    a("title", "The mod's display title.", "title = \"$1\""),
];

const OPENGRAPH_ATTRS: &[AttrSchema] = &[
    a(
        "description",
        "The Open Graph description (`og:description`) of the mod.",
        "description = \"$1\"",
    ),
    a(
        "title",
        "The Open Graph title (`og:title`) of the mod.",
        "title = \"$1\"",
    ),
];

const REQUIRE_MOD_ATTRS: &[AttrSchema] = &[
    a(
        "args",
        "Values for the dependency's variables, keyed by variable name.",
        "args = {\n  $1\n}",
    ),
    a(
        "database",
        "Overrides the default database for the dependency's resources.",
        "database = $1",
    ),
    a(
        "search_path",
        "Overrides the search path for the dependency's queries (Postgres databases).",
        "search_path = [\"$1\"]",
    ),
    a(
        "search_path_prefix",
        "Connections to put in front of the search path for the dependency's queries.",
        "search_path_prefix = [\"$1\"]",
    ),
    a(
        "version",
        "The version to use: an exact version or a semver constraint such as `^0.10` or `*`.",
        "version = \"$1\"",
    ),
];

const PLUGIN_ATTRS: &[AttrSchema] = &[a(
    "min_version",
    "The minimum plugin version the mod needs; checked when the mod loads (not a semver \
     range).",
    "min_version = \"$1\"",
)];

const POWERPIPE_ATTRS: &[AttrSchema] = &[a(
    "min_version",
    "The minimum Powerpipe version the mod needs; checked when the mod loads (not a semver \
     range).",
    "min_version = \"$1\"",
)];

const STEAMPIPE_ATTRS: &[AttrSchema] = &[a(
    "min_version",
    "The minimum Steampipe version the mod needs; checked when the mod loads (not a semver \
     range).",
    "min_version = \"$1\"",
)];

// ---------------------------------------------------------------------------------------
// Nested block lists, sorted.

const DASHBOARD_BLOCKS: &[&str] = &[
    "benchmark",
    "card",
    "chart",
    "container",
    "control",
    "dashboard",
    "flow",
    "graph",
    "hierarchy",
    "image",
    "input",
    "table",
    "text",
    "with",
];
const CONTAINER_BLOCKS: &[&str] = &[
    "benchmark",
    "card",
    "chart",
    "container",
    "control",
    "dashboard",
    "flow",
    "graph",
    "hierarchy",
    "image",
    "input",
    "table",
    "text",
];
const NODE_EDGE_BLOCKS: &[&str] = &["category", "edge", "node", "param", "with"];
const PARAM_ONLY: &[&str] = &["param"];
const NONE: &[&str] = &[];

/// A nested occurrence may be anonymous (dashboard components, nodes and edges).
const ANON: bool = true;
/// A nested occurrence needs its label (or the block takes none).
const NAMED: bool = false;

const fn b(
    kind: &'static str,
    doc: &'static str,
    labels: u8,
    top_level: bool,
    attributes: &'static [AttrSchema],
    blocks: &'static [&'static str],
    nested_label_optional: bool,
) -> BlockSchema {
    BlockSchema {
        kind,
        doc,
        labels,
        top_level,
        attributes,
        blocks,
        nested_label_optional,
    }
}

/// Every block type, sorted by kind.
static BLOCKS: &[BlockSchema] = &[
    b(
        "axes",
        "Axis settings of a `bar`, `column`, `line` or `scatter` chart, in `x` and `y` blocks.",
        0,
        false,
        &[],
        &["x", "y"],
        NAMED,
    ),
    b(
        "benchmark",
        "Groups controls and other benchmarks into a hierarchy of any depth that can be run \
         together or viewed as a dashboard; in a dashboard it embeds a benchmark with `base`.",
        1,
        true,
        BENCHMARK_ATTRS,
        NONE,
        ANON,
    ),
    b(
        "card",
        "Shows a single value, or a change in value, styled as `plain`, `alert`, `info` or \
         `ok`; the value may be static or come from a query.",
        1,
        true,
        CARD_ATTRS,
        PARAM_ONLY,
        ANON,
    ),
    b(
        "category",
        "Display options (title, color, icon, link, folding) for the nodes and edges of a \
         graph, flow or hierarchy that share this category.",
        1,
        true,
        CATEGORY_ATTRS,
        &["fold"],
        NAMED,
    ),
    b(
        "chart",
        "Visualizes query results as a `bar`, `column`, `donut`, `line`, `pie` or `heatmap` \
         chart; the types share the same data shape, so changing the type just works.",
        1,
        true,
        CHART_ATTRS,
        &["axes", "legend", "param", "series"],
        ANON,
    ),
    b(
        "column",
        "Display options for the table column with this name.",
        1,
        false,
        COLUMN_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "container",
        "Groups and lays out related components within a dashboard; containers are \
         anonymous blocks inside a `dashboard` or another `container`.",
        0,
        false,
        CONTAINER_ATTRS,
        CONTAINER_BLOCKS,
        ANON,
    ),
    b(
        "control",
        "A query-based check that draws a conclusion about each row: a `status` (ok, alarm, \
         skip, info or error), a `reason` and the `resource` evaluated.",
        1,
        true,
        CONTROL_ATTRS,
        PARAM_ONLY,
        ANON,
    ),
    b(
        "dashboard",
        "Composes components to answer a question; each top-level dashboard is offered as a \
         runnable item by `powerpipe server`. Nested, it reuses a named dashboard with `base`.",
        1,
        true,
        DASHBOARD_ATTRS,
        DASHBOARD_BLOCKS,
        NAMED,
    ),
    b(
        "detection",
        "A query over logs collected by Tailpipe that looks for patterns and anomalies.",
        1,
        true,
        DETECTION_ATTRS,
        PARAM_ONLY,
        NAMED,
    ),
    b(
        "detection_benchmark",
        "Groups detections and other detection benchmarks into a hierarchy that can be run \
         together.",
        1,
        true,
        DETECTION_BENCHMARK_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "edge",
        "A connection between two nodes of a graph, flow or hierarchy, queried as rows with \
         `from_id` and `to_id`; named edges are reused with `base`.",
        1,
        true,
        EDGE_ATTRS,
        PARAM_ONLY,
        ANON,
    ),
    b(
        "flow",
        "Visualizes node/edge data as a flow, such as a `sankey` diagram.",
        1,
        true,
        FLOW_ATTRS,
        NODE_EDGE_BLOCKS,
        ANON,
    ),
    b(
        "fold",
        "Folding for a category's graph nodes: nodes with the same category and edges are \
         collapsed into one once there are enough of them.",
        0,
        false,
        FOLD_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "graph",
        "Visualizes how resources relate and connect, from `node` and `edge` data.",
        1,
        true,
        GRAPH_ATTRS,
        NODE_EDGE_BLOCKS,
        ANON,
    ),
    b(
        "hierarchy",
        "Visualizes single-parent node/edge data as a `tree`.",
        1,
        true,
        HIERARCHY_ATTRS,
        NODE_EDGE_BLOCKS,
        ANON,
    ),
    b(
        "image",
        "Shows an image from a publicly accessible URL, given directly or returned by a query.",
        1,
        true,
        IMAGE_ATTRS,
        PARAM_ONLY,
        ANON,
    ),
    b(
        "input",
        "A form control (`select`, `multiselect`, `combo`, `multicombo`, `text`, ...) whose \
         value other components use as `self.input.NAME.value`; inputs are always named.",
        1,
        true,
        INPUT_ATTRS,
        &["option", "param"],
        NAMED,
    ),
    b(
        "labels",
        "How an axis' labels are displayed.",
        0,
        false,
        LABELS_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "legend",
        "Whether and where the chart's legend is shown.",
        0,
        false,
        LEGEND_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "locals",
        "Defines local values scoped to the mod, referenced as `local.NAME`; a mod may have \
         several `locals` blocks and locals may refer to each other.",
        0,
        true,
        &[],
        NONE,
        NAMED,
    ),
    b(
        "mod",
        "The mod's metadata (used on the Hub and in social media) and dependencies. The label \
         is the mod's name; every mod has exactly one, in `mod.pp` (`mod.sp` for Steampipe).",
        1,
        true,
        MOD_ATTRS,
        &["opengraph", "require"],
        NAMED,
    ),
    b(
        "node",
        "The vertices of a graph, flow or hierarchy, queried as rows that each need an `id`; \
         named nodes are reused with `base`.",
        1,
        true,
        NODE_ATTRS,
        PARAM_ONLY,
        ANON,
    ),
    b(
        "opengraph",
        "Open Graph metadata for social media applications that show the mod.",
        0,
        false,
        OPENGRAPH_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "option",
        "A static option of an input; the label is the option's value.",
        1,
        false,
        OPTION_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "param",
        "A parameter the block's SQL accepts; params bind in order to `$1`, `$2`, ... and the \
         label is the name arguments use. Only top-level named resources may declare them.",
        1,
        false,
        PARAM_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "plugin",
        "A Steampipe plugin the mod needs, at a minimum version; the label is the plugin's \
         name. Powerpipe checks it but does not install the plugin.",
        1,
        false,
        PLUGIN_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "point",
        "Display options for one point (data element) of a series.",
        1,
        false,
        POINT_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "powerpipe",
        "The minimum Powerpipe CLI version the mod needs; Powerpipe checks it when the mod \
         loads.",
        0,
        false,
        POWERPIPE_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "query",
        "A named SQL statement that can be run alone or referenced by controls, charts and \
         other query-based resources; it is run by Powerpipe, not created in the database.",
        1,
        true,
        QUERY_ATTRS,
        PARAM_ONLY,
        NAMED,
    ),
    b(
        "require",
        "The mod's dependencies: the CLI version, Steampipe plugins and other mods. Powerpipe \
         rewrites this block when mods are installed or uninstalled.",
        0,
        false,
        &[],
        &["mod", "plugin", "powerpipe", "steampipe"],
        NAMED,
    ),
    b(
        "series",
        "Display options for the chart series with this name (the column holding its data).",
        1,
        false,
        SERIES_ATTRS,
        &["point"],
        NAMED,
    ),
    b(
        "steampipe",
        "The minimum Steampipe CLI version the mod needs (Steampipe mods); checked when the \
         mod loads.",
        0,
        false,
        STEAMPIPE_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "table",
        "Shows query results as a table, or as lines of column name/value pairs.",
        1,
        true,
        TABLE_ATTRS,
        &["column", "param"],
        ANON,
    ),
    b(
        "text",
        "Shows GitHub-flavored Markdown, or raw text, in a dashboard.",
        1,
        true,
        TEXT_ATTRS,
        NONE,
        ANON,
    ),
    b(
        "title",
        "The title of a chart axis.",
        0,
        false,
        AXIS_TITLE_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "variable",
        "An input variable: a parameter of the mod, set at run time (`--var`, `.ppvars` files, \
         `PP_VAR_` environment variables) and referenced as `var.NAME`.",
        1,
        true,
        VARIABLE_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "with",
        "A prerequisite query run first, whose results the resource's queries use as \
         `with.NAME.rows`; only top-level dashboards, graphs, flows and hierarchies have them.",
        1,
        false,
        WITH_ATTRS,
        NONE,
        NAMED,
    ),
    b(
        "x",
        "The chart's x axis: its title and labels.",
        0,
        false,
        &[],
        &["labels", "title"],
        NAMED,
    ),
    b(
        "y",
        "The chart's y axis: its title, labels and range.",
        0,
        false,
        Y_ATTRS,
        &["labels", "title"],
        NAMED,
    ),
];

/// Kinds whose meaning inside a particular parent differs from their top-level meaning:
/// `(parent, schema)`.
static CONTEXTUAL: &[(&str, BlockSchema)] = &[(
    "require",
    b(
        "mod",
        "A dependency on another mod; the label is its repository path, e.g. \
         `github.com/turbot/powerpipe-mod-aws-compliance`. Usually managed by `powerpipe mod`.",
        1,
        false,
        REQUIRE_MOD_ATTRS,
        NONE,
        NAMED,
    ),
)];

const fn f(name: &'static str, signature: &'static str, doc: &'static str) -> FunctionDoc {
    FunctionDoc {
        name,
        signature,
        doc,
    }
}

/// The functions modlens evaluates, sorted by name.
static FUNCTIONS: &[FunctionDoc] = &[
    f(
        "abs",
        "abs(number) -> number",
        "The absolute value of a number.",
    ),
    f(
        "ceil",
        "ceil(number) -> number",
        "The closest whole number greater than or equal to the given number.",
    ),
    f(
        "chomp",
        "chomp(string) -> string",
        "Removes newline characters at the end of a string.",
    ),
    f(
        "coalesce",
        "coalesce(values...) -> any",
        "The first argument that is neither null nor an empty string.",
    ),
    f(
        "coalescelist",
        "coalescelist(lists...) -> list",
        "The first of its list arguments that is not empty.",
    ),
    f(
        "compact",
        "compact(list(string)) -> list(string)",
        "The list without its null and empty string elements.",
    ),
    f(
        "concat",
        "concat(lists...) -> list",
        "Joins lists together into a single list.",
    ),
    f(
        "contains",
        "contains(list, value) -> bool",
        "Whether the list (or set) contains the value.",
    ),
    f(
        "distinct",
        "distinct(list) -> list",
        "The list with duplicate elements removed, keeping the first occurrence of each.",
    ),
    f(
        "element",
        "element(list, index) -> any",
        "The element at `index`, wrapping around when the index is past the end.",
    ),
    f(
        "endswith",
        "endswith(string, suffix) -> bool",
        "Whether the string ends with the suffix.",
    ),
    f(
        "file",
        "file(path) -> string",
        "The contents of the file at `path` (relative to the mod's directory) as a string; \
         often used for `documentation`.",
    ),
    f(
        "flatten",
        "flatten(list) -> list",
        "Replaces nested lists with their elements, giving a single flat list.",
    ),
    f(
        "floor",
        "floor(number) -> number",
        "The closest whole number less than or equal to the given number.",
    ),
    f(
        "format",
        "format(spec, values...) -> string",
        "Formats values according to a printf-style specification such as `%s` or `%d`.",
    ),
    f(
        "formatlist",
        "formatlist(spec, values...) -> list(string)",
        "Like `format`, once per element of its list arguments, giving a list of strings.",
    ),
    f(
        "indent",
        "indent(spaces, string) -> string",
        "Adds the given number of spaces before every line of a string except the first.",
    ),
    f(
        "index",
        "index(list, value) -> number",
        "The index of the first element equal to the value; an error when there is none.",
    ),
    f(
        "join",
        "join(separator, list(string)) -> string",
        "Concatenates the list's strings with the separator between them.",
    ),
    f(
        "jsondecode",
        "jsondecode(string) -> any",
        "Parses a JSON string into the corresponding HCL value.",
    ),
    f(
        "jsonencode",
        "jsonencode(value) -> string",
        "Encodes a value as a JSON string.",
    ),
    f(
        "keys",
        "keys(map) -> list(string)",
        "The map's keys, in lexicographical order.",
    ),
    f(
        "length",
        "length(value) -> number",
        "The number of elements of a list or map, or of characters in a string.",
    ),
    f(
        "lookup",
        "lookup(map, key, default) -> any",
        "The map's value for the key, or the default when the key is missing.",
    ),
    f(
        "lower",
        "lower(string) -> string",
        "The string with its letters converted to lowercase.",
    ),
    f(
        "max",
        "max(numbers...) -> number",
        "The greatest of the numbers.",
    ),
    f(
        "merge",
        "merge(maps...) -> map",
        "Combines maps into one; for keys in several, the last map's value wins. Often used \
         to extend common `tags`.",
    ),
    f(
        "min",
        "min(numbers...) -> number",
        "The smallest of the numbers.",
    ),
    f(
        "range",
        "range([start,] limit[, step]) -> list(number)",
        "A list of numbers from `start` (0 by default) up to but not including `limit`, \
         counting by `step` (1 by default).",
    ),
    f(
        "regex",
        "regex(pattern, string) -> any",
        "The first match of the regular expression in the string: the matched text, or its \
         capture groups as a list or map; an error when nothing matches.",
    ),
    f(
        "regexall",
        "regexall(pattern, string) -> list",
        "Every match of the regular expression in the string, as `regex` would give each one.",
    ),
    f(
        "replace",
        "replace(string, search, replacement) -> string",
        "Replaces every occurrence of `search`; a search wrapped in slashes is a regular \
         expression.",
    ),
    f(
        "reverse",
        "reverse(list) -> list",
        "The list's elements in reverse order.",
    ),
    f(
        "slice",
        "slice(list, start, end) -> list",
        "The elements from index `start` up to but not including `end`.",
    ),
    f(
        "sort",
        "sort(list(string)) -> list(string)",
        "The strings sorted lexicographically.",
    ),
    f(
        "split",
        "split(separator, string) -> list(string)",
        "Divides the string at every occurrence of the separator.",
    ),
    f(
        "startswith",
        "startswith(string, prefix) -> bool",
        "Whether the string starts with the prefix.",
    ),
    f(
        "strcontains",
        "strcontains(string, substring) -> bool",
        "Whether the string contains the substring.",
    ),
    f(
        "strrev",
        "strrev(string) -> string",
        "The string's characters in reverse order.",
    ),
    f(
        "substr",
        "substr(string, offset, length) -> string",
        "The `length` characters starting at `offset`; a negative offset counts from the end \
         and a length of -1 means the rest.",
    ),
    f(
        "title",
        "title(string) -> string",
        "The string with the first letter of each word in uppercase.",
    ),
    f(
        "tobool",
        "tobool(value) -> bool",
        "Converts a value (such as \"true\" or \"false\") to a bool.",
    ),
    f(
        "tolist",
        "tolist(value) -> list",
        "Converts a set or tuple to a list.",
    ),
    f(
        "tomap",
        "tomap(value) -> map",
        "Converts an object to a map.",
    ),
    f(
        "tonumber",
        "tonumber(value) -> number",
        "Converts a value, such as a numeric string, to a number.",
    ),
    f(
        "toset",
        "toset(value) -> set",
        "Converts a list or tuple to a set, dropping duplicates and order.",
    ),
    f(
        "tostring",
        "tostring(value) -> string",
        "Converts a primitive value (number, bool or string) to a string.",
    ),
    f(
        "trim",
        "trim(string, characters) -> string",
        "Removes any of the given characters from the start and end of the string.",
    ),
    f(
        "trimprefix",
        "trimprefix(string, prefix) -> string",
        "Removes the prefix from the start of the string, if it is there.",
    ),
    f(
        "trimspace",
        "trimspace(string) -> string",
        "Removes whitespace from the start and end of the string.",
    ),
    f(
        "trimsuffix",
        "trimsuffix(string, suffix) -> string",
        "Removes the suffix from the end of the string, if it is there.",
    ),
    f(
        "upper",
        "upper(string) -> string",
        "The string with its letters converted to uppercase.",
    ),
    f(
        "values",
        "values(map) -> list",
        "The map's values, in the lexicographical order of their keys.",
    ),
    f(
        "zipmap",
        "zipmap(keys, values) -> map",
        "A map from a list of keys and a list of values of the same length.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of `resolve::funcs::NAMES`: the functions modlens implements.
    const FUNCS_NAMES: &[&str] = &[
        "abs",
        "ceil",
        "chomp",
        "coalesce",
        "coalescelist",
        "compact",
        "concat",
        "contains",
        "distinct",
        "element",
        "endswith",
        "file",
        "flatten",
        "floor",
        "format",
        "formatlist",
        "indent",
        "index",
        "join",
        "jsondecode",
        "jsonencode",
        "keys",
        "length",
        "lookup",
        "lower",
        "max",
        "merge",
        "min",
        "range",
        "regex",
        "regexall",
        "replace",
        "reverse",
        "slice",
        "sort",
        "split",
        "startswith",
        "strcontains",
        "strrev",
        "substr",
        "title",
        "tobool",
        "tolist",
        "tomap",
        "tonumber",
        "toset",
        "tostring",
        "trim",
        "trimprefix",
        "trimspace",
        "trimsuffix",
        "upper",
        "values",
        "zipmap",
    ];

    /// Every schema: the top-level table and the contextual ones, with the parent of each
    /// contextual one.
    fn all_schemas() -> Vec<(Option<&'static str>, &'static BlockSchema)> {
        let mut all: Vec<_> = blocks().iter().map(|b| (None, b)).collect();
        all.extend(CONTEXTUAL.iter().map(|(p, b)| (Some(*p), b)));
        all
    }

    /// True if `{`/`}` nest properly in `s`.
    fn balanced(s: &str) -> bool {
        let mut depth = 0i32;
        for c in s.chars() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth < 0 {
                        return false;
                    }
                }
                _ => {}
            }
        }
        depth == 0
    }

    #[test]
    fn kinds_are_unique_and_sorted() {
        let kinds: Vec<_> = blocks().iter().map(|b| b.kind).collect();
        for w in kinds.windows(2) {
            assert!(w[0] < w[1], "{} must sort before {}", w[0], w[1]);
        }
        for k in &kinds {
            assert_eq!(block(k).map(|b| b.kind), Some(*k));
        }
        assert!(block("no_such_block").is_none());
    }

    #[test]
    fn every_listed_kind_is_reachable_nested() {
        for (_, parent) in all_schemas() {
            for w in parent.blocks.windows(2) {
                assert!(
                    w[0] < w[1],
                    "{}: nested kinds unsorted at {}",
                    parent.kind,
                    w[1]
                );
            }
            for kind in parent.blocks {
                let child = nested(parent.kind, kind);
                assert_eq!(
                    child.map(|c| c.kind),
                    Some(*kind),
                    "nested({:?}, {kind:?})",
                    parent.kind
                );
            }
        }
    }

    #[test]
    fn every_nested_only_kind_has_a_parent() {
        for (ctx, schema) in all_schemas() {
            if schema.top_level {
                continue;
            }
            let reachable = blocks().iter().any(|p| {
                p.blocks.contains(&schema.kind)
                    && nested(p.kind, schema.kind) == Some(schema)
                    && ctx.is_none_or(|c| c == p.kind)
            });
            assert!(
                reachable,
                "{} is not reachable from any parent",
                schema.kind
            );
        }
    }

    #[test]
    fn attributes_are_unique_sorted_and_documented() {
        for (_, schema) in all_schemas() {
            assert!(!schema.doc.is_empty(), "{} has no doc", schema.kind);
            for w in schema.attributes.windows(2) {
                assert!(
                    w[0].name < w[1].name,
                    "{}: attribute {} duplicated or unsorted",
                    schema.kind,
                    w[1].name
                );
            }
            for attr in schema.attributes {
                assert!(
                    !attr.doc.is_empty(),
                    "{}.{} has no doc",
                    schema.kind,
                    attr.name
                );
                let prefix = format!("{} = ", attr.name);
                assert!(
                    attr.snippet.starts_with(&prefix),
                    "{}.{} snippet {:?}",
                    schema.kind,
                    attr.name,
                    attr.snippet
                );
                // An attribute that is also a nested block type would be ambiguous.
                assert!(
                    !schema.blocks.contains(&attr.name),
                    "{}.{} is both an attribute and a block",
                    schema.kind,
                    attr.name
                );
            }
        }
    }

    #[test]
    fn snippets_have_balanced_braces() {
        for (_, schema) in all_schemas() {
            for attr in schema.attributes {
                assert!(balanced(attr.snippet), "{}.{}", schema.kind, attr.name);
            }
            let s = block_snippet(schema.kind);
            assert!(balanced(&s), "block_snippet({}) = {s:?}", schema.kind);
            assert!(s.starts_with(schema.kind), "{s:?}");
            for kind in schema.blocks {
                let s = nested_snippet(schema.kind, kind);
                assert!(
                    balanced(&s),
                    "nested_snippet({}, {kind}) = {s:?}",
                    schema.kind
                );
                assert!(s.starts_with(kind), "{s:?}");
            }
        }
        assert!(balanced(&block_snippet("unknown")));
        assert!(balanced(&nested_snippet("unknown", "unknown")));
    }

    #[test]
    fn snippet_labels_follow_the_schema() {
        assert_eq!(
            block_snippet("control"),
            "control \"${1:name}\" {\n  title = \"$2\"\n  sql = <<-EOQ\n    $0\n  EOQ\n}"
        );
        assert_eq!(block_snippet("locals"), "locals {\n  $0\n}");
        assert_eq!(nested_snippet("dashboard", "card"), "card {\n  $0\n}");
        assert_eq!(
            nested_snippet("require", "mod"),
            "mod \"${1:github.com/org/repo}\" {\n  version = \"$2\"\n}"
        );
        assert!(nested_snippet("dashboard", "input").starts_with("input \"${1:name}\" {"));
        assert!(nested_snippet("graph", "category").starts_with("category \"${1:"));
        assert!(nested_snippet("chart", "series").starts_with("series \"${1:"));
        assert_eq!(nested_snippet("chart", "legend"), "legend {\n  $0\n}");
        assert!(nested_snippet("query", "param").starts_with("param \"${1:name}\" {"));
        for kind in top_level() {
            let s = block_snippet(kind);
            let labelled = block(kind).is_some_and(|b| b.labels > 0);
            assert_eq!(s.starts_with(&format!("{kind} \"")), labelled, "{s:?}");
        }
    }

    #[test]
    fn top_level_kinds() {
        let top = top_level();
        for k in [
            "benchmark",
            "control",
            "query",
            "dashboard",
            "variable",
            "locals",
            "mod",
        ] {
            assert!(top.contains(&k), "{k} should be top-level");
        }
        // Powerpipe's reference: cards, charts, inputs, ... "can be declared as named
        // resources at the top level of a mod"; containers "can only be declared as
        // anonymous blocks inside a dashboard or container".
        for k in [
            "card",
            "chart",
            "input",
            "node",
            "edge",
            "category",
            "detection",
        ] {
            assert!(top.contains(&k), "{k} should be top-level");
        }
        for k in [
            "param",
            "container",
            "with",
            "require",
            "column",
            "series",
            "option",
        ] {
            assert!(!top.contains(&k), "{k} should not be top-level");
        }
        for w in top.windows(2) {
            assert!(w[0] < w[1]);
        }
        assert_eq!(block("locals").map(|b| b.labels), Some(0));
        assert_eq!(block("control").map(|b| b.labels), Some(1));
    }

    #[test]
    fn nested_meanings() {
        assert!(nested("dashboard", "card").is_some());
        assert!(nested("container", "card").is_some());
        assert!(nested("control", "card").is_none());
        assert!(nested("unknown", "card").is_none());
        assert!(nested("dashboard", "card").is_some_and(|b| b.nested_label_optional));
        assert!(nested("dashboard", "container").is_some_and(|b| b.nested_label_optional));
        assert!(nested("dashboard", "input").is_some_and(|b| !b.nested_label_optional));

        let dep = nested("require", "mod");
        let dep_attrs: Vec<_> =
            dep.map_or(vec![], |d| d.attributes.iter().map(|a| a.name).collect());
        assert!(dep_attrs.contains(&"version") && dep_attrs.contains(&"args"));
        // The top-level meaning of `mod` is the mod definition.
        assert!(block("mod").is_some_and(|m| m.top_level && m.blocks.contains(&"require")));
        assert_ne!(dep, block("mod"));

        assert_eq!(nested("dashboard", "benchmark"), block("benchmark"));
        assert!(nested("chart", "series").is_some_and(|s| s.blocks.contains(&"point")));
        assert!(nested("axes", "y").is_some_and(|y| y.attributes.iter().any(|a| a.name == "min")));
        assert!(nested("x", "title").is_some());
        assert!(nested("require", "steampipe").is_some());
        assert!(nested("require", "powerpipe").is_some());
        assert!(nested("require", "plugin").is_some());
        assert!(nested("mod", "require").is_some());
        assert!(nested("input", "option").is_some());
        assert!(nested("table", "column").is_some());
        assert!(nested("graph", "node").is_some_and(|n| n.nested_label_optional));
        assert!(nested("card", "param").is_some());
        assert!(nested("with", "param").is_none());
    }

    #[test]
    fn control_attributes() {
        let names: Vec<_> =
            block("control").map_or(vec![], |c| c.attributes.iter().map(|a| a.name).collect());
        for n in [
            "args",
            "base",
            "database",
            "description",
            "documentation",
            "query",
            "search_path",
            "search_path_prefix",
            "severity",
            "sql",
            "tags",
            "title",
        ] {
            assert!(names.contains(&n), "control.{n}");
        }
        assert!(
            !names.contains(&"param"),
            "param is a block, not an attribute"
        );
        assert!(block("control").is_some_and(|c| c.blocks == ["param"]));
    }

    #[test]
    fn functions_match_the_evaluator() {
        let names: Vec<_> = functions().iter().map(|f| f.name).collect();
        assert_eq!(names, FUNCS_NAMES);
        for f in functions() {
            assert!(
                f.signature.starts_with(&format!("{}(", f.name)),
                "{}",
                f.signature
            );
            assert!(!f.doc.is_empty(), "{}", f.name);
        }
    }
}

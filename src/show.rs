//! `modlens show` (one resolved resource) and `modlens check` (resolve everything, print
//! every diagnostic).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail};
use rayon::prelude::*;
use serde::Serialize;

use modlens::resolve::{Resource, Val};

use crate::alloc;
use crate::cli::{
    CheckOutput, Line, Options, Output, beside_values, exit_code, model_diagnostics, open,
    open_with, peak_rss, print_json, print_lines, sort_lines,
};

/// A resolved resource for `show`, with the SQL of the query it runs.
#[derive(Serialize)]
struct ShowView<'a> {
    #[serde(flatten)]
    resource: &'a Resource,
    /// For a control that runs a query: that query's rendered SQL.
    query_sql: Option<Val>,
}

/// `modlens show DIR RESOURCE`.
pub fn show(dir: &Path, resource: &str, opts: &Options, output: Output) -> Result<i32> {
    let r = open(dir, opts)?;
    let mut lines = model_diagnostics(&r);
    let Some(id) = r.model.index.lookup_qualified(resource) else {
        bail!(
            "no resource named `{}` in {} (try `modlens list TYPE DIR`)",
            crate::cli::shown(resource),
            r.ws.root.display()
        );
    };
    crate::cli::note_namesakes(&r.model.index, id);
    let res = r.resolver.resolve(&r.model, id);
    let query_sql = res
        .query
        .as_ref()
        .and_then(|q| r.resolver.resolve_name(&r.model, q))
        .and_then(|q| q.sql.clone());
    lines.extend(resource_lines(&res));
    sort_lines(&mut lines);
    let errors = print_lines(&lines);
    match output {
        Output::Json => print_json(&ShowView {
            resource: &res,
            query_sql,
        })?,
        Output::Human => print_human(&res, query_sql.as_ref())?,
    }
    Ok(exit_code(errors))
}

fn print_human(v: &Resource, query_sql: Option<&Val>) -> Result<()> {
    let mut out = crate::cli::stdout();
    writeln!(out, "{}", v.name)?;
    writeln!(
        out,
        "  {:<13} {}:{}:{}",
        "file", v.file, v.start.line, v.start.column
    )?;
    if let Some(t) = &v.title {
        writeln!(out, "  {:<13} {t}", "title")?;
    }
    if let Some(d) = &v.description {
        for (n, line) in d.lines().enumerate() {
            writeln!(
                out,
                "  {:<13} {line}",
                if n == 0 { "description" } else { "" }
            )?;
        }
    }
    if !v.tags.is_empty() {
        let tags: Vec<String> = v.tags.iter().map(|(k, x)| format!("{k} = {x:?}")).collect();
        writeln!(out, "  {:<13} {}", "tags", tags.join(", "))?;
    }
    if let Some(b) = &v.base {
        writeln!(out, "  {:<13} {b}", "base")?;
    }
    if let Some(q) = &v.query {
        writeln!(out, "  {:<13} {q}", "query")?;
    }
    for p in &v.params {
        let mut s = p.name.to_string();
        if let Some(d) = &p.default {
            s.push_str(&format!(" = {}", d.to_hcl_text()));
        }
        if let Some(d) = &p.description {
            s.push_str(&format!("  # {d}"));
        }
        writeln!(out, "  {:<13} {s}", "param")?;
    }
    if let Some(a) = &v.args {
        writeln!(out, "  {:<13} {}", "args", a.to_hcl_text())?;
    }
    // A variable's type constraint is shown as written, and so is a connection (Powerpipe
    // evaluates `connection.steampipe.default` to a connection, which modlens keeps as its
    // name): neither is a string.
    let variable = &*v.kind == "variable";
    let connection_var = variable
        && v.attributes.iter().any(|(k, x)| {
            &**k == "type" && matches!(x, Val::Str(s) if s.starts_with("connection."))
        });
    for (k, x) in &v.attributes {
        let text = match x {
            Val::Str(s) if variable && matches!(&**k, "type" | "value_source") => s.to_string(),
            Val::Str(s)
                if s.starts_with("connection.")
                    && ((connection_var && matches!(&**k, "value" | "default"))
                        || &**k == "database") =>
            {
                s.to_string()
            }
            Val::Str(s) if s.contains('\n') => format!("({} lines)", s.lines().count()),
            other => other.to_hcl_text(),
        };
        writeln!(out, "  {:<13} {text}", k)?;
    }
    for b in &v.blocks {
        let label = b
            .label
            .as_ref()
            .map(|l| format!(" {l:?}"))
            .unwrap_or_default();
        writeln!(out, "  {:<13} {}{label}", "block", b.kind)?;
    }
    if !v.children.is_empty() {
        writeln!(out, "  children")?;
        for c in &v.children {
            writeln!(out, "    {c}")?;
        }
    }
    let sql = match (&v.sql, query_sql) {
        (Some(s), _) => Some(("sql", s)),
        (None, Some(s)) => Some(("sql (from its query)", s)),
        _ => None,
    };
    if let Some((label, s)) = sql {
        writeln!(out, "  {label}")?;
        match s {
            Val::Str(text) => {
                for line in text.lines() {
                    writeln!(out, "    {line}")?;
                }
            }
            other => writeln!(out, "    {}", other.to_hcl_text())?,
        }
    }
    Ok(())
}

fn resource_lines(r: &Resource) -> Vec<Line> {
    r.diagnostics
        .iter()
        .map(|d| Line::new(&r.file, d))
        .collect()
}

#[derive(Serialize)]
struct CheckStats {
    files: usize,
    bytes: u64,
    resources: usize,
    errors: usize,
    warnings: usize,
    load_ms: f64,
    /// Evaluating every variable and local: up front, then beside the resolves.
    values_ms: f64,
    resolve_ms: f64,
    total_ms: f64,
    resolver: modlens::resolve::ResolverStats,
    index_heap_bytes: usize,
    values_heap_bytes: usize,
    live_heap_bytes: usize,
    peak_heap_bytes: usize,
    allocated_bytes: usize,
    allocated_per_source_byte: f64,
    peak_rss_bytes: Option<u64>,
}

#[derive(Serialize)]
struct CheckReport<'a> {
    diagnostics: Vec<LineView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<CheckStats>,
}

#[derive(Serialize)]
struct LineView<'a> {
    file: &'a str,
    severity: &'static str,
    line: u32,
    column: u32,
    message: &'a str,
}

/// `modlens check DIR`.
pub fn check(dir: &Path, opts: &Options, stats: bool, output: CheckOutput) -> Result<i32> {
    let t0 = Instant::now();
    // The variables and locals are evaluated beside the resolves, not before them: the
    // resolves evaluate what they use on demand (each value once, whichever thread asks
    // first), and the rest no longer waits on one thread while the others are idle.
    let r = open_with(dir, opts, false)?;
    // File by file (the list of files is small; a list of every resource would grow with
    // the mod): each file's resources resolved and dropped, or kept by the bounded cache.
    let files: Vec<modlens::index::FileId> = r.model.index.files().map(|(id, _)| id).collect();
    let total: usize = files
        .iter()
        .map(|f| r.model.index.resources_in_file(*f).count())
        .sum();
    let bar = progress(total as u64);
    let t = Instant::now();
    let (found, values_ms): (Vec<Vec<Line>>, f64) = beside_values(&r, || {
        files
            .par_iter()
            .map(|file| {
                let mut lines = Vec::new();
                for id in r.model.index.resources_in_file(*file) {
                    let res: Arc<Resource> = r.resolver.resolve(&r.model, id);
                    bar.inc(1);
                    lines.extend(resource_lines(&res));
                }
                lines
            })
            .collect()
    });
    bar.finish_and_clear();
    let resolve_ms = t.elapsed().as_secs_f64() * 1e3;
    // Every value is evaluated now: all of their diagnostics.
    let mut lines = model_diagnostics(&r);
    lines.extend(found.into_iter().flatten());
    sort_lines(&mut lines);
    let errors = lines
        .iter()
        .filter(|l| l.severity == modlens::syntax::Severity::Error)
        .count();
    let warnings = lines.len() - errors;
    let snap = alloc::snapshot();
    let st = stats.then(|| CheckStats {
        files: r.load.stats.files,
        bytes: r.load.stats.bytes,
        resources: total,
        errors,
        warnings,
        load_ms: r.load.discover_ms + r.load.load_ms,
        values_ms: r.values_ms + values_ms,
        resolve_ms,
        total_ms: t0.elapsed().as_secs_f64() * 1e3,
        resolver: r.resolver.stats(),
        index_heap_bytes: r.model.index.heap_bytes(),
        values_heap_bytes: r.model.values.heap_bytes(),
        live_heap_bytes: snap.live,
        peak_heap_bytes: snap.peak,
        allocated_bytes: snap.total,
        allocated_per_source_byte: snap.total as f64 / r.load.stats.bytes.max(1) as f64,
        peak_rss_bytes: peak_rss(),
    });
    match output {
        CheckOutput::Json => {
            let report = CheckReport {
                diagnostics: lines
                    .iter()
                    .map(|l| LineView {
                        file: &l.file,
                        severity: l.severity.as_str(),
                        line: l.line,
                        column: l.column,
                        message: &l.message,
                    })
                    .collect(),
                stats: st,
            };
            print_json(&report)?;
        }
        CheckOutput::Human => {
            print_lines(&lines);
            let mut out = crate::cli::stdout();
            writeln!(
                out,
                "{total} resources checked: {errors} errors, {warnings} warnings"
            )?;
            if let Some(s) = st {
                print_stats(&mut out, &s)?;
            }
        }
        CheckOutput::Github => {
            // Annotations alone on stdout; the summary and figures on stderr.
            let mut out = crate::cli::stdout();
            for l in &lines {
                writeln!(out, "{}", github_annotation(l))?;
            }
            out.flush()?;
            let mut err = std::io::stderr().lock();
            writeln!(
                err,
                "{total} resources checked: {errors} errors, {warnings} warnings"
            )?;
            if let Some(s) = st {
                print_stats(&mut err, &s)?;
            }
        }
    }
    crate::cli::leave(r);
    Ok(exit_code(errors > 0))
}

/// One diagnostic as a GitHub Actions workflow command: `::error file=F,line=L,col=C::M`
/// (`::warning` for a warning), escaped as the runner wants: `%`, CR and LF in the message,
/// and `:` and `,` too in the properties.
fn github_annotation(l: &Line) -> String {
    let level = match l.severity {
        modlens::syntax::Severity::Error => "error",
        _ => "warning",
    };
    format!(
        "::{level} file={},line={},col={}::{}",
        escape_property(&l.file),
        l.line,
        l.column,
        escape_data(&l.message)
    )
}

/// A workflow command's message, escaped.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value, escaped.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn print_stats(out: &mut impl Write, s: &CheckStats) -> Result<()> {
    let c = &s.resolver.cache;
    writeln!(out, "files          {} ({} bytes)", s.files, s.bytes)?;
    writeln!(
        out,
        "time           {:.1} ms total: load {:.1} ms, values {:.1} ms, resolve {:.1} ms",
        s.total_ms, s.load_ms, s.values_ms, s.resolve_ms
    )?;
    writeln!(
        out,
        "resolver       {} resolved, {} merged, {} index fields evaluated",
        s.resolver.resolved, s.resolver.merged, s.resolver.fields_evaluated
    )?;
    writeln!(
        out,
        "cache          {} entries, {} bytes (peak {}), {} hits, {} misses ({:.1}% hits), {} evictions",
        c.entries,
        c.bytes,
        c.peak_bytes,
        c.hits,
        c.misses,
        c.hit_rate() * 100.0,
        c.evictions
    )?;
    writeln!(
        out,
        "heap           {} live, {} peak; index {}, values {}",
        s.live_heap_bytes, s.peak_heap_bytes, s.index_heap_bytes, s.values_heap_bytes
    )?;
    writeln!(
        out,
        "allocated      {} bytes ({:.2}x source)",
        s.allocated_bytes, s.allocated_per_source_byte
    )?;
    if let Some(rss) = s.peak_rss_bytes {
        writeln!(out, "peak RSS       {rss} bytes")?;
    }
    Ok(())
}

/// A progress bar on stderr when it is a terminal and the work is long; hidden otherwise.
fn progress(len: u64) -> indicatif::ProgressBar {
    crate::cli::progress_bar(len, "resolving")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(file: &str, severity: modlens::syntax::Severity, message: &str) -> Line {
        Line {
            file: file.to_string(),
            severity,
            line: 3,
            column: 7,
            byte: 40,
            message: message.to_string(),
        }
    }

    #[test]
    fn github_annotations_escape_what_the_runner_reads() {
        use modlens::syntax::Severity;
        assert_eq!(
            github_annotation(&line("a.pp", Severity::Error, "unknown `x`")),
            "::error file=a.pp,line=3,col=7::unknown `x`"
        );
        assert_eq!(
            github_annotation(&line(
                "dir,1/b:c%.pp",
                Severity::Warning,
                "100% sure\r\nnext: a, b"
            )),
            "::warning file=dir%2C1/b%3Ac%25.pp,line=3,col=7::100%25 sure%0D%0Anext: a, b"
        );
    }
}

#[derive(Serialize)]
struct StatsReport {
    files: usize,
    resources: usize,
    workers: usize,
    load_ms: f64,
    values_ms: f64,
    background_ms: f64,
    walk: &'static str,
    scheduler: modlens::load::MetricsView,
    resolver: modlens::resolve::ResolverStats,
    cache_hit_rate: f64,
}

/// `modlens stats DIR`: the background load the language server runs, to the end.
pub fn stats(dir: &Path, opts: &Options, workers: Option<usize>, output: Output) -> Result<i32> {
    use modlens::load::{
        Background, Config, ResourceLoader, Scheduler, Shared, SystemClock, WalkEnd,
    };
    let r = open_with(dir, opts, false)?;
    let files = r.load.stats.files;
    let (load_ms, values_ms) = (r.load.discover_ms + r.load.load_ms, r.values_ms);
    let resources = r.model.index.resources().count();
    let shared = Arc::new(Shared::new(r.model, r.resolver));
    let mut config = Config::default();
    if let Some(w) = workers {
        config.workers = w.max(1);
    }
    let n_workers = config.workers;
    let sched = Arc::new(Scheduler::new(
        ResourceLoader {
            shared: shared.clone(),
        },
        config,
        Arc::new(SystemClock::default()),
    ));
    let t = Instant::now();
    let walk = Background::start(sched.clone());
    let bar = progress(resources as u64);
    while !walk.finished() {
        let m = sched.metrics();
        bar.set_position(m.total(|c| c.done + c.failed));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let end = walk.join();
    sched.wait_idle(std::time::Duration::from_secs(3600));
    bar.finish_and_clear();
    let background_ms = t.elapsed().as_secs_f64() * 1e3;
    let metrics = sched.metrics();
    sched.shutdown(std::time::Duration::from_secs(10));
    // Every diagnostic, now that everything has been resolved.
    let errors = {
        let model = shared.model();
        model.values.force(&model.index);
        let mut lines: Vec<Line> = crate::cli::model_lines(&model);
        for id in model.index.resources().collect::<Vec<_>>() {
            if let Some(res) = shared.resolver.cached(&model, id) {
                lines.extend(resource_lines(&res));
            }
        }
        sort_lines(&mut lines);
        print_lines(&lines)
    };
    let resolver = shared.resolver.stats();
    let report = StatsReport {
        files,
        resources,
        workers: n_workers,
        load_ms,
        values_ms,
        background_ms,
        walk: match end {
            WalkEnd::Done => "done",
            WalkEnd::CacheFull => "stopped: cache full",
            WalkEnd::ShutDown => "stopped",
        },
        scheduler: modlens::load::MetricsView::from(&metrics),
        resolver,
        cache_hit_rate: resolver.cache.hit_rate(),
    };
    match output {
        Output::Json => print_json(&report)?,
        Output::Human => {
            let mut out = crate::cli::stdout();
            writeln!(
                out,
                "{} files, {} resources; {} workers; load {:.1} ms, values {:.1} ms, background {:.1} ms ({})",
                report.files,
                report.resources,
                report.workers,
                report.load_ms,
                report.values_ms,
                report.background_ms,
                report.walk
            )?;
            writeln!(
                out,
                "{:<9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} {:>7} {:>7} {:>11} {:>11} {:>11} {:>11}",
                "priority",
                "queued",
                "running",
                "done",
                "failed",
                "merged",
                "promoted",
                "dropped",
                "retried",
                "wait p50",
                "wait p99",
                "service p50",
                "service p99"
            )?;
            let us = |v: Option<f64>| {
                v.map(|x| format!("{x:.0} µs"))
                    .unwrap_or_else(|| "-".into())
            };
            for p in &report.scheduler.priorities {
                writeln!(
                    out,
                    "{:<9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} {:>7} {:>7} {:>11} {:>11} {:>11} {:>11}",
                    p.priority,
                    p.queued,
                    p.in_flight,
                    p.done,
                    p.failed,
                    p.merged,
                    p.promoted,
                    p.dropped,
                    p.retried,
                    us(p.wait_p50_us),
                    us(p.wait_p99_us),
                    us(p.service_p50_us),
                    us(p.service_p99_us)
                )?;
            }
            let c = &report.resolver.cache;
            writeln!(
                out,
                "resolver: {} resolved, {} merged in flight; cache {} entries, {} bytes, {:.1}% hits, {} evictions; breaker {}",
                report.resolver.resolved,
                report.resolver.merged,
                c.entries,
                c.bytes,
                report.cache_hit_rate * 100.0,
                c.evictions,
                if report.scheduler.breaker_open {
                    "open"
                } else {
                    "closed"
                }
            )?;
        }
    }
    Ok(exit_code(errors))
}

//! The scaling report's writer: figures in, markdown tables and SVG plots out. No measuring
//! and no I/O here (the caller writes the files), so that the tables and plots can be tested
//! on small synthetic figures.

use std::fmt::Write as _;

use plotters::prelude::*;

/// One figure: a value, or why there is none (shown in its place, e.g. "unavailable: ...").
pub type Fig = Result<f64, String>;

/// What the report says of the machine and the run.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// CPU model (from `/proc/cpuinfo`).
    pub cpu: String,
    /// Logical cores.
    pub cores: usize,
    /// Memory, as text (from `/proc/meminfo`).
    pub ram: String,
    /// Operating system and kernel.
    pub os: String,
    /// `rustc --version`.
    pub rustc: String,
    /// `go version`, or why Go is unavailable.
    pub go: String,
    /// `/proc/loadavg` before the run.
    pub load_before: String,
    /// `/proc/loadavg` after the run.
    pub load_after: String,
    /// When the run started (UTC).
    pub date: String,
    /// The command that regenerated the report.
    pub command: String,
    /// Seconds the whole run took.
    pub seconds: f64,
    /// Rayon threads (and Go's GOMAXPROCS) of every peer.
    pub threads: usize,
    /// Timed rounds per size (fewer for the slow peers, see each row's `rounds`).
    pub runs: usize,
}

/// Every figure measured on one generated mod.
#[derive(Debug, Clone)]
pub struct SizeRow {
    /// The generator's size (1 for 1x).
    pub label: String,
    /// Files the index reads.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Resources in the index.
    pub resources: usize,
    /// Read floor, in-process median ms.
    pub read_ms: Fig,
    /// `workspace::load`, in-process median ms.
    pub load_ms: Fig,
    /// hcl-rs parse of every file, in-process median ms.
    pub hcl_ms: Fig,
    /// Go `hclsyntax.ParseConfig` of every file, median ms inside the Go process.
    pub go_ms: Fig,
    /// Rounds timed: (read floor and modlens, hcl-rs, Go).
    pub rounds: (usize, usize, usize),
    /// Heap held by the index after the load (bytes).
    pub index_heap: Fig,
    /// Peak RSS of `modlens index DIR --index-only` (bytes).
    pub dump_rss: Fig,
    /// The same above the empty mod's (bytes).
    pub dump_rss_above: Fig,
    /// Live heap after resolving every resource with the default cache: index, values,
    /// cached resources and source cache (bytes).
    pub resolved_heap: Fig,
    /// hcl-rs keeping every body: the peer's peak RSS above its empty-mod baseline (bytes).
    pub eager_rss_above: Fig,
    /// Whole-process wall time of `modlens index DIR --index-only` (ms, median).
    pub dump_ms: Fig,
    /// Whole-process wall time of `modlens index DIR --stats` (ms, median).
    pub stats_ms: Fig,
    /// From starting `modlens lsp` to the first `workspace/symbol` answer with results (ms,
    /// median).
    pub lsp_ms: Fig,
}

fn mb(bytes: f64) -> f64 {
    bytes / 1e6
}

impl SizeRow {
    /// Source megabytes.
    pub fn source_mb(&self) -> f64 {
        mb(self.bytes as f64)
    }
}

/// A time in ms, or the reason there is none.
fn ms(f: &Fig) -> String {
    match f {
        Ok(v) if *v >= 100.0 => format!("{v:.0}"),
        Ok(v) => format!("{v:.2}"),
        Err(why) => why.clone(),
    }
}

/// `a / b` as a ratio, when both exist.
fn ratio(a: &Fig, b: &Fig) -> Option<f64> {
    match (a, b) {
        (Ok(a), Ok(b)) if *b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// A time with its ratio to `base`: `12.34 (2.10x)`.
fn ms_x(f: &Fig, base: &Fig) -> String {
    match (f, ratio(f, base)) {
        (Ok(_), Some(r)) => format!("{} ({r:.2}x)", ms(f)),
        _ => ms(f),
    }
}

/// Bytes as MB, or the reason there is none.
fn mbytes(f: &Fig) -> String {
    match f {
        Ok(v) => format!("{:.1}", mb(*v)),
        Err(why) => why.clone(),
    }
}

/// Bytes as MB with their ratio to the source: `12.3 (0.41x)`.
fn mb_x(f: &Fig, source: u64) -> String {
    match f {
        Ok(v) => format!("{:.1} ({:.2}x)", mb(*v), v / source.max(1) as f64),
        Err(why) => why.clone(),
    }
}

/// A per-MB figure.
fn per_mb(f: &Fig, row: &SizeRow, scale: f64, digits: usize) -> String {
    match f {
        Ok(v) if row.bytes > 0 => format!("{:.*}", digits, v * scale / row.source_mb()),
        _ => "n/a".into(),
    }
}

/// Table (a): load time vs size.
pub fn load_table(rows: &[SizeRow]) -> String {
    let mut s = String::from(
        "| size | files | source MB | read floor ms | modlens index ms (x floor) | hcl-rs parse ms (x floor) | Go hclsyntax ms (x floor) | rounds (floor+modlens / hcl-rs / Go) |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {}x | {} | {:.1} | {} | {} | {} | {} | {} / {} / {} |",
            r.label,
            r.files,
            r.source_mb(),
            ms(&r.read_ms),
            ms_x(&r.load_ms, &r.read_ms),
            ms_x(&r.hcl_ms, &r.read_ms),
            ms_x(&r.go_ms, &r.read_ms),
            r.rounds.0,
            r.rounds.1,
            r.rounds.2
        );
    }
    s
}

/// Table (b): memory vs size.
pub fn memory_table(rows: &[SizeRow]) -> String {
    let mut s = String::from(
        "| size | source MB | resources | index heap MB (x source) | `--index-only` peak RSS MB (above empty mod) | heap after resolving everything MB (x source) | eager hcl-rs ASTs, RSS above empty mod MB (x source) |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {}x | {:.1} | {} | {} | {} (+{}) | {} | {} |",
            r.label,
            r.source_mb(),
            r.resources,
            mb_x(&r.index_heap, r.bytes),
            mbytes(&r.dump_rss),
            mbytes(&r.dump_rss_above),
            mb_x(&r.resolved_heap, r.bytes),
            mb_x(&r.eager_rss_above, r.bytes),
        );
    }
    s
}

/// Table (c): LSP first answer vs size.
pub fn lsp_table(rows: &[SizeRow]) -> String {
    let mut s = String::from(
        "| size | source MB | LSP first `workspace/symbol` ms | `index --index-only` process ms | LSP / index-only | `index --stats` process ms | LSP / stats |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let x = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.2}x"));
    for r in rows {
        let _ = writeln!(
            s,
            "| {}x | {:.1} | {} | {} | {} | {} | {} |",
            r.label,
            r.source_mb(),
            ms(&r.lsp_ms),
            ms(&r.dump_ms),
            x(ratio(&r.lsp_ms, &r.dump_ms)),
            ms(&r.stats_ms),
            x(ratio(&r.lsp_ms, &r.stats_ms)),
        );
    }
    s
}

/// Linearity: time per MB and heap per MB of source, per size (informational).
pub fn linearity_table(rows: &[SizeRow]) -> String {
    let mut s = String::from(
        "| size | read floor ms/MB | modlens ms/MB | hcl-rs ms/MB | Go ms/MB | LSP ms/MB | index heap MB/MB | resolved heap MB/MB |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {}x | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            per_mb(&r.read_ms, r, 1.0, 2),
            per_mb(&r.load_ms, r, 1.0, 2),
            per_mb(&r.hcl_ms, r, 1.0, 1),
            per_mb(&r.go_ms, r, 1.0, 1),
            per_mb(&r.lsp_ms, r, 1.0, 2),
            per_mb(&r.index_heap, r, 1e-6, 3),
            per_mb(&r.resolved_heap, r, 1e-6, 3),
        );
    }
    s
}

/// One line of a plot: its name and its points (source MB, value); missing figures left out.
pub struct Series {
    /// Legend text.
    pub name: String,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// The series of `f` over `rows`, values scaled by `scale`.
    pub fn of(name: &str, rows: &[SizeRow], scale: f64, f: impl Fn(&SizeRow) -> &Fig) -> Series {
        Series {
            name: name.into(),
            points: rows
                .iter()
                .filter_map(|r| f(r).as_ref().ok().map(|v| (r.source_mb(), v * scale)))
                .filter(|&(x, y)| x > 0.0 && y > 0.0)
                .collect(),
        }
    }
}

const COLORS: [RGBColor; 5] = [
    RGBColor(0x44, 0x44, 0x44),
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
];

/// A log-log line plot as SVG text: x is source MB, y in `y_unit`.
pub fn plot(title: &str, y_unit: &str, series: &[Series]) -> Result<String, String> {
    let all = || series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all() {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        // Nothing measured: an empty frame still renders.
        (x0, x1, y0, y1) = (1.0, 10.0, 1.0, 10.0);
    }
    let (x0, x1, y0, y1) = (x0 / 1.5, x1 * 1.5, y0 / 2.0, y1 * 2.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (820, 520)).into_drawing_area();
        let e = |e: &dyn std::fmt::Display| format!("plot {title}: {e}");
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc("source size (MB, log scale)")
            .y_desc(format!("{y_unit} (log scale)"))
            .x_label_formatter(&|v| short(*v))
            .y_label_formatter(&|v| short(*v))
            .light_line_style(WHITE)
            .draw()
            .map_err(|x| e(&x))?;
        for (i, s) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(s.points.clone(), color.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(|x| e(&x))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|x| e(&x))?;
        root.present().map_err(|x| e(&x))?;
    }
    Ok(svg)
}

/// A tick label: few digits, no trailing zeros.
fn short(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        let s = format!("{v:.1}");
        s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
    } else {
        format!("{v:.2}")
    }
}

/// The plots, by file name (under `plots/`).
pub fn plots(rows: &[SizeRow]) -> Result<Vec<(&'static str, String)>, String> {
    Ok(vec![
        (
            "load_time.svg",
            plot(
                "(a) load time vs size",
                "ms",
                &[
                    Series::of("read floor", rows, 1.0, |r| &r.read_ms),
                    Series::of("modlens index (workspace::load)", rows, 1.0, |r| &r.load_ms),
                    Series::of("hcl-rs parse", rows, 1.0, |r| &r.hcl_ms),
                    Series::of("Go hclsyntax parse", rows, 1.0, |r| &r.go_ms),
                ],
            )?,
        ),
        (
            "memory.svg",
            plot(
                "(b) memory vs size",
                "MB",
                &[
                    Series::of("index heap", rows, 1e-6, |r| &r.index_heap),
                    Series::of("--index-only dump peak RSS", rows, 1e-6, |r| &r.dump_rss),
                    Series::of("heap after resolving everything", rows, 1e-6, |r| {
                        &r.resolved_heap
                    }),
                    Series::of("eager hcl-rs ASTs (RSS above empty)", rows, 1e-6, |r| {
                        &r.eager_rss_above
                    }),
                ],
            )?,
        ),
        (
            "lsp_first_answer.svg",
            plot(
                "(c) LSP first answer vs size",
                "ms",
                &[
                    Series::of("LSP first workspace/symbol", rows, 1.0, |r| &r.lsp_ms),
                    Series::of("modlens index --index-only (process)", rows, 1.0, |r| {
                        &r.dump_ms
                    }),
                    Series::of("modlens index --stats (process)", rows, 1.0, |r| {
                        &r.stats_ms
                    }),
                ],
            )?,
        ),
    ])
}

/// The tables, in the report's order: (heading, table).
pub fn tables(rows: &[SizeRow]) -> Vec<(&'static str, String)> {
    vec![
        ("(a) Load time vs size", load_table(rows)),
        ("(b) Memory vs size", memory_table(rows)),
        ("(c) LSP first answer vs size", lsp_table(rows)),
        ("Linearity (informational)", linearity_table(rows)),
    ]
}

/// The whole `benchmarks.md`.
pub fn markdown(m: &Machine, rows: &[SizeRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Scaling report\n");
    let _ = writeln!(
        s,
        "Generated by `{}` (do not edit by hand: rerun it). Every figure below is what that \
         command printed in the same run.\n",
        m.command
    );
    let _ = writeln!(s, "## Machine and run\n");
    let _ = writeln!(s, "| | |\n| --- | --- |");
    let _ = writeln!(s, "| date (UTC) | {} |", m.date);
    let _ = writeln!(s, "| CPU | {} |", m.cpu);
    let _ = writeln!(
        s,
        "| cores | {} (peers ran on {} threads) |",
        m.cores, m.threads
    );
    let _ = writeln!(s, "| memory | {} |", m.ram);
    let _ = writeln!(s, "| OS | {} |", m.os);
    let _ = writeln!(s, "| rustc | {} |", m.rustc);
    let _ = writeln!(s, "| Go | {} |", m.go);
    let _ = writeln!(s, "| load average before | {} |", m.load_before);
    let _ = writeln!(s, "| load average after | {} |", m.load_after);
    let _ = writeln!(
        s,
        "| rounds | {} per size (fewer for slow peers: see each table) |",
        m.runs
    );
    let _ = writeln!(s, "| whole run | {:.0} s |\n", m.seconds);
    s.push_str(HOW_TO_READ);
    for ((heading, table), plot) in tables(rows).into_iter().zip([
        Some("load_time.svg"),
        Some("memory.svg"),
        Some("lsp_first_answer.svg"),
        None,
    ]) {
        let _ = writeln!(s, "\n## {heading}\n");
        if let Some(p) = plot {
            let _ = writeln!(s, "![{heading}](plots/{p})\n");
        }
        s.push_str(&table);
    }
    s
}

/// The "how to read this" paragraph.
const HOW_TO_READ: &str = "## How to read this

The mods are made by `modlens::generate` (seed 1): size N has about N × 1,000 top-level
resources shaped like the public AWS compliance mods (1x is about 0.9 MB, a quarter of the
largest public one); the tables give each one's files and bytes. Both axes of every plot are
logarithmic, so a straight line of slope 1 is linear growth and parallel lines are constant
ratios. The machine is shared and noisy: compare lines measured in the same run (the ratios in
the tables), not the absolute figures across runs.

* **(a) load time**, in process, discovery excluded, warm page cache, CPU caches evicted before
  every timed run; read floor, modlens and hcl-rs are interleaved round by round on the same
  rayon pool and each shows its median. *Read floor*: read every file, nothing else. *modlens
  index*: `workspace::load` (read, scan, merge; no evaluation). *hcl-rs*: read and
  `hcl::parse` every file (the body dropped at once, so that 300x fits in memory; no
  evaluation). *Go hclsyntax*: `examples/go_parse_peer/main.go`, read and
  `hclsyntax.ParseConfig` every file on as many goroutines as the peers have threads, timed
  inside its own process (median of its rounds; at large sizes one round). `(Nx)` is the
  ratio to the read floor.
* **(b) memory**: *index heap*: heap the index holds after `workspace::load` (a counting
  allocator in this process). *`--index-only` peak RSS*: the whole `modlens index DIR
  --index-only` process (its dump to a null sink), and in parentheses above the same command
  on an empty mod. *heap after resolving everything*: live heap after every resource was
  resolved through one resolver with the default cache (index, evaluated values, the cached
  resources up to the cache's limit, the source cache). *eager hcl-rs ASTs*: the
  `hcl_parse_peer` example keeping every hcl-rs body, its peak RSS above the same peer on an
  empty mod: what a loader that keeps every AST holds (measured in a child process under an
  address-space limit; larger sizes are not measured when they would not fit).
* **(c) LSP first answer**: from starting `modlens lsp` over stdio (`initialize`,
  `initialized`, then at once a `workspace/symbol` request, which waits for the index) to the
  first answer with results; the whole-process times of `modlens index DIR --index-only`
  and `--stats` are the references (DESIGN §4 budgets the LSP at 2x the index-only time).
* **Linearity**: time and heap per MB of source at each size; flat columns mean linear
  growth (informational, not judged).
";

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, bytes: u64, scale: f64) -> SizeRow {
        SizeRow {
            label: label.into(),
            files: 10,
            bytes,
            resources: 100,
            read_ms: Ok(2.0 * scale),
            load_ms: Ok(5.0 * scale),
            hcl_ms: Ok(60.0 * scale),
            go_ms: Err("unavailable (go missing)".into()),
            rounds: (5, 3, 0),
            index_heap: Ok(bytes as f64 * 0.25),
            dump_rss: Ok(12e6),
            dump_rss_above: Ok(2e6),
            resolved_heap: Ok(bytes as f64 * 0.5),
            eager_rss_above: Err("not measured (above 6 GB)".into()),
            dump_ms: Ok(9.0 * scale),
            stats_ms: Ok(8.0 * scale),
            lsp_ms: Ok(18.0 * scale),
        }
    }

    #[test]
    fn tables_show_ratios_reasons_and_per_mb_figures() {
        let rows = [row("1", 2_000_000, 1.0), row("10", 20_000_000, 10.0)];
        let load = load_table(&rows);
        assert!(load.contains("| 1x | 10 | 2.0 | 2.00 | 5.00 (2.50x) | 60.00 (30.00x) | unavailable (go missing) | 5 / 3 / 0 |"), "{load}");
        assert!(
            load.contains("| 10x | 10 | 20.0 | 20.00 | 50.00 (2.50x) | 600 (30.00x) |"),
            "{load}"
        );
        let mem = memory_table(&rows);
        assert!(mem.contains("| 1x | 2.0 | 100 | 0.5 (0.25x) | 12.0 (+2.0) | 1.0 (0.50x) | not measured (above 6 GB) |"), "{mem}");
        let lsp = lsp_table(&rows);
        assert!(
            lsp.contains("| 1x | 2.0 | 18.00 | 9.00 | 2.00x | 8.00 | 2.25x |"),
            "{lsp}"
        );
        let lin = linearity_table(&rows);
        // 5 ms over 2 MB, 50 ms over 20 MB: the same 2.50 ms/MB.
        assert!(
            lin.contains("| 1x | 1.00 | 2.50 | 30.0 | n/a | 9.00 | 0.250 | 0.500 |"),
            "{lin}"
        );
        assert!(
            lin.contains("| 10x | 1.00 | 2.50 | 30.0 | n/a | 9.00 | 0.250 | 0.500 |"),
            "{lin}"
        );
    }

    #[test]
    fn the_markdown_holds_every_table_and_links_every_plot() {
        let rows = [row("1", 2_000_000, 1.0)];
        let m = Machine {
            command: "cargo run --release --example scaling_report -- docs/".into(),
            ..Machine::default()
        };
        let md = markdown(&m, &rows);
        for (_, table) in tables(&rows) {
            assert!(md.contains(&table));
        }
        for (name, _) in plots(&rows).expect("plots render") {
            assert!(md.contains(&format!("(plots/{name})")), "{name} linked");
        }
        assert!(md.contains("`cargo run --release --example scaling_report -- docs/`"));
    }

    #[test]
    fn plots_are_svg_with_every_series_and_skip_missing_points() {
        let rows = [row("1", 2_000_000, 1.0), row("10", 20_000_000, 10.0)];
        let svg = plot(
            "t",
            "ms",
            &[
                Series::of("read floor", &rows, 1.0, |r| &r.read_ms),
                Series::of("Go", &rows, 1.0, |r| &r.go_ms),
            ],
        )
        .expect("renders");
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        // Each legend entry is a text element of its own line.
        for name in ["read floor", "Go"] {
            assert!(svg.lines().any(|l| l.trim() == name), "legend {name}");
        }
        // Two points of the read floor drawn as circles; none for Go.
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
        let empty = plot("nothing", "ms", &[]).expect("an empty plot renders");
        assert!(empty.contains("nothing"));
    }
}

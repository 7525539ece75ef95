//! Builds the dashboards payload of a folder N times (a profiling target for
//! `index::dashboards::payload`).
use std::sync::Arc;

#[path = "common/args.rs"]
mod args;

fn main() {
    let (dir, times) = args::dir_and_times(100);
    let Ok(ws) = modlens::workspace::discover(std::path::Path::new(&dir)) else {
        eprintln!("not a workspace: {dir}");
        return;
    };
    let (index, _) = modlens::workspace::load(&ws);
    let sources: Arc<dyn modlens::resolve::Sources> = Arc::new(
        modlens::workspace::DiskSources::new(ws.root.clone(), 4 << 20),
    );
    let resolver =
        modlens::resolve::Resolver::new(sources.clone(), modlens::cache::Limits::default());
    let model =
        modlens::resolve::Model::new(index, &sources, &modlens::resolve::ValueInputs::default());
    let fields = |id, key| resolver.dump_field(&model, id, key);
    let t = std::time::Instant::now();
    let mut kept = Vec::with_capacity(times);
    for _ in 0..times {
        kept.push(modlens::index::dashboards::payload(&model.index, &fields));
    }
    let built = t.elapsed();
    drop(kept);
    eprintln!(
        "{:.3} ms per payload built, {:.3} ms with dropping it",
        built.as_secs_f64() * 1e3 / times as f64,
        t.elapsed().as_secs_f64() * 1e3 / times as f64
    );
}

//! The `modlens` command line: the binary's edge, where errors become exit codes and
//! messages. Library code never prints; this file and `cli.rs` do.

mod alloc;
mod cli;
mod formatting;
mod show;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

fn main() {
    std::process::exit(cli::main());
}

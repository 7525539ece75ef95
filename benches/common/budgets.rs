//! The budget table the benches end with: each budget, its limit, what this run measured and
//! whether it passes. [`finish`] prints it and exits 1 when a budget failed.

/// One budget.
pub struct Budget {
    pub what: String,
    pub limit: String,
    pub measured: String,
    pub pass: bool,
}

/// Prints the `== BUDGETS` table and the count of passes and failures; returns the failures.
pub fn print(budgets: &[Budget], started: std::time::Instant) -> usize {
    println!("\n== BUDGETS");
    println!(
        "  {:<52} {:>16} {:>14}  verdict",
        "budget", "limit", "measured"
    );
    let mut pass = 0;
    for b in budgets {
        println!(
            "  {:<52} {:>16} {:>14}  {}",
            b.what,
            b.limit,
            b.measured,
            if b.pass { "PASS" } else { "FAIL" }
        );
        pass += usize::from(b.pass);
    }
    let fail = budgets.len() - pass;
    println!(
        "  {pass} PASS, {fail} FAIL (whole run {:.0} s)",
        started.elapsed().as_secs_f64()
    );
    fail
}

/// Prints the table (see [`print`]) and ends the process: exit code 1 when a budget failed,
/// 0 otherwise.
#[allow(dead_code)] // benches that exit themselves only use `print`
pub fn finish(budgets: &[Budget], started: std::time::Instant) -> ! {
    let failed = print(budgets, started);
    std::process::exit(i32::from(failed > 0))
}

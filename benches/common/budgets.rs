//! The budget table the benches end with: each budget, its limit, what this run measured and
//! whether it passes.

/// One budget.
pub struct Budget {
    pub what: String,
    pub limit: String,
    pub measured: String,
    pub pass: bool,
}

/// Prints the `== BUDGETS` table and the count of passes and failures.
pub fn print(budgets: &[Budget], started: std::time::Instant) {
    println!("\n== BUDGETS");
    println!(
        "  {:<46} {:>12} {:>12}  verdict",
        "budget", "limit", "measured"
    );
    let mut pass = 0;
    for b in budgets {
        println!(
            "  {:<46} {:>12} {:>12}  {}",
            b.what,
            b.limit,
            b.measured,
            if b.pass { "PASS" } else { "FAIL" }
        );
        pass += usize::from(b.pass);
    }
    println!(
        "  {pass} PASS, {} FAIL (whole run {:.0} s)",
        budgets.len() - pass,
        started.elapsed().as_secs_f64()
    );
}

//! What the load bench prints: one table of every scenario over all its
//! rounds, and the ratios between each scenario and its baseline, taken
//! round by round (the two ran one after the other, seconds apart) so that
//! the machine's drift over the whole run cancels out.

use crate::generator::Outcome;

/// One scenario over every round.
pub(crate) struct Measured {
    /// The scenario's letter (`a`, `b`, `b'`, …).
    pub(crate) letter: &'static str,
    /// The letter of the scenario it is compared with.
    pub(crate) baseline: Option<&'static str>,
    /// Every round added up.
    pub(crate) total: Outcome,
    /// Each round's requests/s and p99 (µs), in order.
    pub(crate) rounds: Vec<(f64, u32)>,
}

impl Measured {
    pub(crate) fn new(
        letter: &'static str,
        name: &str,
        baseline: Option<&'static str>,
    ) -> Measured {
        Measured {
            letter,
            baseline,
            total: Outcome::empty(name),
            rounds: Vec::new(),
        }
    }

    /// `round` added.
    pub(crate) fn record(&mut self, round: &Outcome) {
        self.rounds.push((round.rps(), round.quantile(0.99).max(1)));
        self.total.add(round);
    }
}

pub(crate) fn print_table(measured: &[Measured]) {
    eprintln!();
    eprintln!(
        "{:<44} {:>9} {:>11} {:>8} {:>8} {:>9} {:>8} {:>8}  token cache hit/miss, decision cache hits",
        "scenario", "requests", "req/s", "p50 µs", "p99 µs", "p99.9 µs", "max µs", "errors"
    );
    for o in measured.iter().map(|m| &m.total) {
        let cache = o.cache.map_or(String::from("-"), |c| {
            format!("{}/{}, {}", c.token_hits, c.token_misses, c.decision_hits)
        });
        eprintln!(
            "{:<44} {:>9} {:>11.0} {:>8} {:>8} {:>9} {:>8} {:>8}  {}",
            o.name,
            o.latencies_us.len(),
            o.rps(),
            o.quantile(0.50),
            o.quantile(0.99),
            o.quantile(0.999),
            o.latencies_us.last().copied().unwrap_or(0),
            o.non_200 + o.io_errors,
            cache
        );
    }
}

/// The median, the smallest and the largest of `values` (not empty).
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (median, values[0], values[n - 1])
}

/// Each scenario against its baseline: the median of the round-by-round
/// ratios (with their range), and the ratio of the totals ("pooled").
pub(crate) fn print_ratios(measured: &[Measured]) {
    eprintln!();
    for m in measured {
        let Some(base) = m
            .baseline
            .and_then(|b| measured.iter().find(|o| o.letter == b))
        else {
            continue;
        };
        let paired = m.rounds.iter().zip(&base.rounds);
        let rps: Vec<f64> = paired.clone().map(|(s, b)| s.0 / b.0).collect();
        let p99: Vec<f64> = paired
            .map(|(s, b)| f64::from(s.1) / f64::from(b.1))
            .collect();
        if rps.is_empty() {
            continue;
        }
        let rounds = rps.len();
        let (rps_median, rps_min, rps_max) = spread(rps);
        let (p99_median, p99_min, p99_max) = spread(p99);
        let pooled_p99 =
            f64::from(m.total.quantile(0.99).max(1)) / f64::from(base.total.quantile(0.99).max(1));
        eprintln!(
            "{:<44} vs ({}): rps ratio {rps_median:.2} (median of {rounds} paired rounds, {rps_min:.2}–{rps_max:.2}; pooled {:.2}), p99 ratio {p99_median:.2} ({p99_min:.2}–{p99_max:.2}; pooled {pooled_p99:.2})",
            m.total.name,
            base.letter,
            m.total.rps() / base.total.rps(),
        );
    }
    let find = |letter: &str| measured.iter().find(|m| m.letter == letter);
    if let (Some(off), Some(on)) = (find("b'"), find("b")) {
        eprintln!(
            "decision cache off / on: {:.0} vs {:.0} req/s (pooled ratio {:.3})",
            off.total.rps(),
            on.total.rps(),
            off.total.rps() / on.total.rps()
        );
    }
}

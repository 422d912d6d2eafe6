//! Lists read from the call table.

use super::ALL;

/// The names `--pause-before`/`--pause-after` accept: every traced call
/// socklab's programs make.
pub fn pausable() -> impl Iterator<Item = &'static str> {
    let mut seen: Vec<&'static str> = Vec::new();
    ALL.iter()
        .filter(|c| c.traced && c.programs)
        .map(|c| c.name)
        .filter(move |n| {
            let new = !seen.contains(n);
            if new {
                seen.push(n);
            }
            new
        })
}

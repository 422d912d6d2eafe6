//! A signal mask as strace prints it (`[CHLD USR1]`, `~[RTMIN RT_1]`):
//! the one renderer, for sys's traced lines and the C twin's table of
//! names (script/emit: its MaskIs prints a mask as the trace does).

/// A signal's name without `SIG` as strace writes it in sets (`CHLD`,
/// `RTMIN` for 32, `RT_1` for 33), or its number when it has none.
pub fn signal_short_name(n: i32) -> String {
    match n {
        32 => "RTMIN".to_string(),
        33..=64 => format!("RT_{}", n - 32),
        _ => nix::sys::signal::Signal::try_from(n).map_or_else(
            |_| n.to_string(),
            |s| s.as_str().trim_start_matches("SIG").to_string(),
        ),
    }
}

/// A signal mask (bit n-1: signal n) as strace prints it: `[]`,
/// `[CHLD USR1]`, or `~[...]` (the signals not in it) when more than
/// half are.
pub fn signal_set(mask: u64) -> String {
    let names = |m: u64| -> String {
        (1..=64)
            .filter(|n| m & (1u64 << (n - 1)) != 0)
            .map(signal_short_name)
            .collect::<Vec<_>>()
            .join(" ")
    };
    if mask.count_ones() > 32 {
        format!("~[{}]", names(!mask))
    } else {
        format!("[{}]", names(mask))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_as_strace_prints_them() {
        assert_eq!(signal_set(0), "[]");
        assert_eq!(signal_set(1 << 16), "[CHLD]");
        assert_eq!(signal_set((1 << 9) | (1 << 16)), "[USR1 CHLD]");
        assert_eq!(signal_set(!((1 << 31) | (1 << 32))), "~[RTMIN RT_1]");
    }
}

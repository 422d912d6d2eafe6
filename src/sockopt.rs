//! Socket options by name: one declarative row per option.

/// An int-valued socket option as strace names it.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub level: libc::c_int,
    pub name: libc::c_int,
    pub level_name: &'static str,
    pub opt_name: &'static str,
}

macro_rules! opt {
    ($level:ident, $name:ident) => {
        Opt {
            level: libc::$level,
            name: libc::$name,
            level_name: stringify!($level),
            opt_name: stringify!($name),
        }
    };
}

/// `--reuseaddr`: set before bind, never otherwise.
pub const SO_REUSEADDR: Opt = opt!(SOL_SOCKET, SO_REUSEADDR);
/// Read after a non-blocking connect to learn how it ended.
pub const SO_ERROR: Opt = opt!(SOL_SOCKET, SO_ERROR);

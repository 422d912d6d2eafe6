//! Socket options by name: one declarative table row per option, its value
//! type, how strace prints it, and which sockets it applies to.

use std::borrow::Cow;
use std::fmt;

use crate::values::quoting::{STRACE_MAX_STRLEN, quote};
use crate::values::xlat;

/// How an option's value is laid out in memory and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An int used as a boolean: `0`/`1`, `on`/`off`.
    Bool,
    /// A plain int.
    Int,
    /// `struct linger`: `on:SECS` or `off`.
    Linger,
    /// `struct timeval`: seconds, e.g. `1.5`.
    Timeval,
}

/// Which sockets an option applies to (for `sockopt list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Any,
    Tcp,
    Ipv4,
    Ipv6,
}

/// A socket option as strace names it.
#[derive(Debug, Clone)]
pub struct Opt {
    pub level: libc::c_int,
    pub name: libc::c_int,
    /// strace's name for the level: SOL_SOCKET, SOL_TCP, SOL_IP, SOL_IPV6.
    pub level_name: &'static str,
    /// strace's name for the option (SO_RCVTIMEO is SO_RCVTIMEO_OLD there).
    pub opt_name: Cow<'static, str>,
    /// The name users type.
    pub user_name: Cow<'static, str>,
    pub kind: Kind,
    pub scope: Scope,
}

macro_rules! row {
    ($level:ident, $name:ident, $kind:ident, $scope:ident) => {
        row!($level, $name, stringify!($name), $kind, $scope)
    };
    ($level:ident, $name:ident, $strace:expr, $kind:ident, $scope:ident) => {
        Opt {
            level: libc::$level,
            name: libc::$name,
            level_name: stringify!($level),
            opt_name: Cow::Borrowed($strace),
            user_name: Cow::Borrowed(stringify!($name)),
            kind: Kind::$kind,
            scope: Scope::$scope,
        }
    };
}

/// `--reuseaddr`: set before bind, never otherwise.
pub const SO_REUSEADDR: Opt = row!(SOL_SOCKET, SO_REUSEADDR, Bool, Any);
/// Read after a non-blocking connect to learn how it ended.
pub const SO_ERROR: Opt = row!(SOL_SOCKET, SO_ERROR, Int, Any);

/// Read by `--show-state` (a struct, shown as bytes as strace does).
pub const TCP_INFO: Opt = row!(SOL_TCP, TCP_INFO, Int, Tcp);

/// Every option socklab knows by name, in `sockopt list` order.
pub const TABLE: &[Opt] = &[
    row!(SOL_SOCKET, SO_REUSEADDR, Bool, Any),
    row!(SOL_SOCKET, SO_REUSEPORT, Bool, Any),
    row!(SOL_SOCKET, SO_KEEPALIVE, Bool, Any),
    row!(SOL_SOCKET, SO_LINGER, Linger, Any),
    row!(SOL_SOCKET, SO_RCVBUF, Int, Any),
    row!(SOL_SOCKET, SO_SNDBUF, Int, Any),
    row!(SOL_SOCKET, SO_RCVLOWAT, Int, Any),
    row!(SOL_SOCKET, SO_SNDLOWAT, Int, Any),
    row!(SOL_SOCKET, SO_RCVTIMEO, "SO_RCVTIMEO_OLD", Timeval, Any),
    row!(SOL_SOCKET, SO_SNDTIMEO, "SO_SNDTIMEO_OLD", Timeval, Any),
    row!(SOL_SOCKET, SO_BROADCAST, Bool, Any),
    row!(SOL_SOCKET, SO_DONTROUTE, Bool, Any),
    row!(SOL_SOCKET, SO_OOBINLINE, Bool, Any),
    row!(SOL_SOCKET, SO_PRIORITY, Int, Any),
    row!(SOL_SOCKET, SO_MARK, Int, Any),
    row!(SOL_SOCKET, SO_TYPE, Int, Any),
    row!(SOL_SOCKET, SO_ERROR, Int, Any),
    row!(SOL_TCP, TCP_NODELAY, Bool, Tcp),
    row!(SOL_TCP, TCP_CORK, Bool, Tcp),
    row!(SOL_TCP, TCP_MAXSEG, Int, Tcp),
    row!(SOL_TCP, TCP_KEEPIDLE, Int, Tcp),
    row!(SOL_TCP, TCP_KEEPINTVL, Int, Tcp),
    row!(SOL_TCP, TCP_KEEPCNT, Int, Tcp),
    row!(SOL_TCP, TCP_QUICKACK, Bool, Tcp),
    row!(SOL_TCP, TCP_USER_TIMEOUT, Int, Tcp),
    row!(SOL_TCP, TCP_DEFER_ACCEPT, Int, Tcp),
    row!(SOL_TCP, TCP_NOTSENT_LOWAT, Int, Tcp),
    row!(SOL_TCP, TCP_FASTOPEN, Int, Tcp),
    row!(SOL_IP, IP_TTL, Int, Ipv4),
    row!(SOL_IP, IP_TOS, Int, Ipv4),
    row!(SOL_IP, IP_MTU_DISCOVER, Int, Ipv4),
    row!(SOL_IP, IP_MTU, Int, Ipv4),
    row!(SOL_IPV6, IPV6_V6ONLY, Bool, Ipv6),
    row!(SOL_IPV6, IPV6_UNICAST_HOPS, Int, Ipv6),
];

/// Options that can be read but not set (`sockopt list` says so).
pub fn read_only(opt: &Opt) -> bool {
    matches!(opt.user_name.as_ref(), "SO_TYPE" | "SO_ERROR" | "IP_MTU")
}

/// A value ready for setsockopt: its bytes, and how strace prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value(pub Vec<u8>);

impl Value {
    pub fn int(v: libc::c_int) -> Value {
        Value(v.to_ne_bytes().to_vec())
    }

    pub fn as_int(&self) -> Option<libc::c_int> {
        Some(libc::c_int::from_ne_bytes(
            self.0.get(..4)?.try_into().ok()?,
        ))
    }

    /// strace's rendering of the value for this option's kind.
    pub fn strace(&self, kind: Kind) -> String {
        match (kind, self.0.len()) {
            (Kind::Bool | Kind::Int, 4) => format!("[{}]", self.as_int().unwrap_or(0)),
            (Kind::Linger, 8) => {
                let onoff = self.as_int().unwrap_or(0);
                let secs = Value(self.0[4..].to_vec()).as_int().unwrap_or(0);
                format!("{{l_onoff={onoff}, l_linger={secs}}}")
            }
            _ => quote(&self.0, STRACE_MAX_STRLEN),
        }
    }

    /// The value as a user reads it back: `1`, `on:5`, `1.5s`.
    pub fn human(&self, kind: Kind) -> String {
        match kind {
            Kind::Bool | Kind::Int => self.as_int().map_or_else(|| "?".into(), |v| v.to_string()),
            Kind::Linger => {
                let onoff = self.as_int().unwrap_or(0);
                let secs = Value(self.0.get(4..).unwrap_or_default().to_vec())
                    .as_int()
                    .unwrap_or(0);
                if onoff == 0 {
                    "off".into()
                } else {
                    format!("on:{secs}")
                }
            }
            Kind::Timeval => {
                let sec = i64::from_ne_bytes(
                    self.0
                        .get(..8)
                        .and_then(|b| b.try_into().ok())
                        .unwrap_or([0; 8]),
                );
                let usec = i64::from_ne_bytes(
                    self.0
                        .get(8..16)
                        .and_then(|b| b.try_into().ok())
                        .unwrap_or([0; 8]),
                );
                format!("{}s", sec as f64 + usec as f64 / 1e6)
            }
        }
    }

    /// The size getsockopt needs for this kind.
    pub fn size(kind: Kind) -> usize {
        match kind {
            Kind::Bool | Kind::Int => 4,
            Kind::Linger => 8,
            Kind::Timeval => 16,
        }
    }
}

/// Parse a value for `kind`: `1`/`on`/`true`, `on:SECS`/`off`, seconds.
pub fn parse_value(kind: Kind, s: &str) -> Result<Value, String> {
    let int = |s: &str| c_int(s).map_err(|e| format!("'{s}' {e}"));
    match kind {
        Kind::Bool => match s {
            "1" | "on" | "true" | "yes" => Ok(Value::int(1)),
            "0" | "off" | "false" | "no" => Ok(Value::int(0)),
            _ => Err(format!("'{s}' is not a boolean (1/0, on/off)")),
        },
        Kind::Int => int(s).map(Value::int),
        Kind::Linger => {
            let (onoff, secs) = match s.split_once(':') {
                Some(("on", secs)) => (1, int(secs)?),
                None if s == "off" => (0, 0),
                _ => return Err(format!("'{s}' is not a linger value (on:SECS or off)")),
            };
            if secs < 0 {
                return Err(format!("linger seconds {secs} is negative"));
            }
            Ok(Value(
                [onoff, secs]
                    .iter()
                    .flat_map(|v: &libc::c_int| v.to_ne_bytes())
                    .collect(),
            ))
        }
        Kind::Timeval => {
            let secs: f64 = s
                .parse()
                .map_err(|_| format!("'{s}' is not a number of seconds"))?;
            if !(0.0..=1e9).contains(&secs) {
                return Err(format!("{s} seconds is out of range"));
            }
            let whole = secs.trunc() as i64;
            let usec = ((secs - secs.trunc()) * 1e6).round() as i64;
            Ok(Value(
                [whole, usec].iter().flat_map(|v| v.to_ne_bytes()).collect(),
            ))
        }
    }
}

/// When an option is set, as Stevens' `sock` does it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Right after socket(), before bind/connect (the default).
    Created,
    /// On each socket accept4 returns (`NAME=VALUE@accepted`).
    Accepted,
    /// After connect (`NAME=VALUE@connected`).
    Connected,
}

/// One `--sockopt NAME=VALUE[@PHASE]`.
#[derive(Debug, Clone)]
pub struct Setting {
    pub opt: Opt,
    pub value: Value,
    pub phase: Phase,
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={}",
            self.opt.user_name,
            self.value.human(self.opt.kind)
        )
    }
}

/// Parse `NAME=VALUE[@accepted|@connected]` or `LEVEL:OPTNAME=INT`.
pub fn parse_setting(s: &str) -> Result<Setting, String> {
    let (body, phase) = match s.rsplit_once('@') {
        Some((body, "accepted")) => (body, Phase::Accepted),
        Some((body, "connected")) => (body, Phase::Connected),
        Some((_, other)) => {
            return Err(format!(
                "unknown phase '@{other}' (use @accepted or @connected)"
            ));
        }
        None => (s, Phase::Created),
    };
    let (name, value) = body
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not NAME=VALUE"))?;
    let opt = match name.split_once(':') {
        Some((level, optname)) => raw_opt(level, optname)?,
        None => lookup(name)
            .ok_or_else(|| format!("unknown option '{name}' (see `socklab sockopt list`)"))?,
    };
    if read_only(&opt) {
        return Err(format!("{} can be read, not set", opt.user_name));
    }
    let value = parse_value(opt.kind, value).map_err(|e| format!("{name}: {e}"))?;
    Ok(Setting { opt, value, phase })
}

/// A table row by its user name, case-insensitive (`so_rcvbuf` works).
pub fn lookup(name: &str) -> Option<Opt> {
    TABLE
        .iter()
        .find(|o| o.user_name.eq_ignore_ascii_case(name))
        .cloned()
}

/// A C int, or what it is not: an integer too big for one is not "not
/// an integer".
fn c_int(s: &str) -> Result<libc::c_int, String> {
    s.parse().map_err(|_| match s.parse::<i128>() {
        Ok(_) => format!(
            "is out of a C int's range ({}..{})",
            libc::c_int::MIN,
            libc::c_int::MAX
        ),
        Err(_) => "is not an integer".to_string(),
    })
}

/// `LEVEL:OPTNAME` with numbers or level names, for options not in the table.
fn raw_opt(level: &str, optname: &str) -> Result<Opt, String> {
    let (level, level_name) = match level.to_ascii_uppercase().as_str() {
        "SOL_SOCKET" | "1" => (libc::SOL_SOCKET, "SOL_SOCKET"),
        "SOL_TCP" | "IPPROTO_TCP" | "6" => (libc::SOL_TCP, "SOL_TCP"),
        "SOL_IP" | "IPPROTO_IP" | "0" => (libc::SOL_IP, "SOL_IP"),
        "SOL_IPV6" | "IPPROTO_IPV6" | "41" => (libc::SOL_IPV6, "SOL_IPV6"),
        other => {
            return Err(format!(
                "unknown level '{other}' (SOL_SOCKET, SOL_TCP, SOL_IP, SOL_IPV6 or their numbers)"
            ));
        }
    };
    let name = c_int(optname).map_err(|e| format!("option number '{optname}' {e}"))?;
    // strace's name for it (its xlat lists), known to socklab's table or
    // not: `SOL_IP:13` is IP_RECVTOS, `SOL_SOCKET:200` `0xc8 /* SO_??? */`.
    Ok(Opt {
        level,
        name,
        level_name,
        opt_name: Cow::Owned(xlat::option_text(level, name)),
        // An int option of the table keeps its name (and its explanations).
        user_name: TABLE
            .iter()
            .find(|o| {
                o.level == level && o.name == name && matches!(o.kind, Kind::Int | Kind::Bool)
            })
            .map_or_else(
                || Cow::Owned(format!("{level_name}:{name}")),
                |o| o.user_name.clone(),
            ),
        kind: Kind::Int,
        scope: Scope::Any,
    })
}

/// Why the kernel's value differs from the one asked for, where Linux says why.
pub fn explain(opt: &Opt, requested: &Value, effective: &Value) -> Option<&'static str> {
    if requested == effective {
        return None;
    }
    Some(match opt.user_name.as_ref() {
        "SO_RCVBUF" | "SO_SNDBUF" => {
            "Linux doubles the value for its bookkeeping overhead and clamps it to net.core.rmem_max/wmem_max (socket(7))"
        }
        "SO_RCVLOWAT" => "the kernel clamps it to the receive buffer size",
        "TCP_MAXSEG" => {
            "before connect, the kernel keeps the user's limit but reports the default MSS"
        }
        "SO_RCVTIMEO" | "SO_SNDTIMEO" => "the kernel rounds the timeout to its clock tick",
        "SO_REUSEADDR" | "SO_REUSEPORT" | "SO_KEEPALIVE" | "SO_BROADCAST" | "SO_DONTROUTE"
        | "SO_OOBINLINE" | "TCP_NODELAY" | "TCP_CORK" | "IPV6_V6ONLY" => {
            "booleans read back as 0 or 1"
        }
        "TCP_DEFER_ACCEPT" => "the kernel converts seconds to retransmission counts and back",
        _ => "the kernel adjusted the value",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_render_as_strace_prints_them() {
        let linger = parse_value(Kind::Linger, "on:0").unwrap();
        assert_eq!(linger.strace(Kind::Linger), "{l_onoff=1, l_linger=0}");
        assert_eq!(linger.human(Kind::Linger), "on:0");
        let tv = parse_value(Kind::Timeval, "1.5").unwrap();
        // Captured from strace of Python's setsockopt(SO_RCVTIMEO, (1, 500000)).
        assert_eq!(
            tv.strace(Kind::Timeval),
            r#""\1\0\0\0\0\0\0\0 \241\7\0\0\0\0\0""#
        );
        assert_eq!(
            parse_value(Kind::Bool, "on").unwrap().strace(Kind::Bool),
            "[1]"
        );
    }

    #[test]
    fn the_table_has_the_names_strace_prints() {
        for opt in TABLE {
            assert_eq!(
                xlat::option_name(opt.level, opt.name),
                Some(opt.opt_name.as_ref()),
                "{}",
                opt.user_name
            );
            assert_eq!(xlat::option(opt.level, &opt.user_name), Some(opt.name));
        }
        // A raw LEVEL:N takes strace's name (issue 15).
        for (raw, name) in [
            ("SOL_IP:13=1", "IP_RECVTOS"),
            ("41:67=1", "IPV6_TCLASS"),
            ("0:8=1", "IP_PKTINFO"),
            ("SOL_TCP:11=1", "TCP_INFO"),
            ("SOL_TCP:13=1", "TCP_CONGESTION"),
            ("SOL_SOCKET:20=1", "SO_RCVTIMEO_OLD"),
            ("SOL_SOCKET:50=1", "SO_ATTACH_BPF"),
        ] {
            assert_eq!(
                parse_setting(raw).map(|s| s.opt.opt_name),
                Ok(name.into()),
                "{raw}"
            );
        }
    }

    #[test]
    fn settings_parse_names_phases_and_raw_forms() {
        let s = parse_setting("so_rcvbuf=4096@accepted").unwrap();
        assert_eq!(
            (s.opt.opt_name.as_ref(), s.phase),
            ("SO_RCVBUF", Phase::Accepted)
        );
        let raw = parse_setting("SOL_SOCKET:200=1").unwrap();
        assert_eq!(raw.opt.opt_name, "0xc8 /* SO_??? */");
        let known = parse_setting("6:1=1").unwrap();
        assert_eq!(known.opt.opt_name, "TCP_NODELAY");
        for bad in [
            "SO_RCVBUF",
            "SO_NOPE=1",
            "SO_RCVBUF=x",
            "SO_LINGER=1",
            "SO_LINGER=on:-1",
            "SO_KEEPALIVE=2",
            "X:1=1",
            "SO_TYPE=1",
            "SO_RCVBUF=1@later",
            "SO_RCVTIMEO=-1",
        ] {
            assert!(parse_setting(bad).is_err(), "{bad}");
        }
    }
}

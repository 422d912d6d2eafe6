//! An option's value, set (setsockopt) or read back (getsockopt), in both
//! languages: one model ([`OptVal`]) and, side by side, its C text (the
//! value's declaration, its address and size) and its Python text (the
//! argument `setsockopt` takes, what `getsockopt` returns and its check).

use super::model::{Mreq, OptVal, Pair, Val};

impl Mreq {
    /// C: the struct, its addresses filled by `inet_pton`.
    fn c(&self) -> String {
        let (ty, second) = if self.len == 12 {
            ("struct ip_mreqn", "imr_address")
        } else {
            ("struct ip_mreq", "imr_interface")
        };
        format!(
            "{ty} v = {{0}}; inet_pton(AF_INET, \"{}\", &v.imr_multiaddr); inet_pton(AF_INET, \"{}\", &v.{second});\n\t\t ",
            self.group, self.iface
        )
    }

    /// Python: the tutorial's `struct.pack("4s4s", inet_aton(G), inet_aton(I))`.
    fn python(&self) -> String {
        let ifindex = if self.len == 12 { ", 0" } else { "" };
        format!(
            "struct.pack(\"4s4s{}\", socket.inet_aton(\"{}\"), socket.inet_aton(\"{}\"){ifindex})",
            if self.len == 12 { "i" } else { "" },
            self.group,
            self.iface
        )
    }
}

/// The call's other arguments as the emitter writes them, and its
/// literals and constants.
pub struct Names<'a> {
    pub fd: String,
    pub level: String,
    pub name: String,
    pub lit: &'a dyn Fn(&[u8]) -> String,
    pub val: &'a dyn Fn(&Val) -> String,
}

/// A pair's C type, its two fields, and Python's struct format.
fn shape(p: &Pair) -> (&'static str, &'static str, &'static str, &'static str) {
    if p.linger {
        ("struct linger", "l_onoff", "l_linger", "ii")
    } else {
        ("struct timeval", "tv_sec", "tv_usec", "ll")
    }
}

/// C: `setsockopt` with the value declared before it.
pub fn c_set(n: &Names, v: &OptVal) -> String {
    let (decl, arg, len) = match v {
        OptVal::Int(Some(x)) => (format!("int v = {}; ", (n.val)(x)), "&v".into(), "4".into()),
        OptVal::Int(None) | OptVal::Len(_) => ("int v = 0; ".into(), "&v".into(), "4".into()),
        OptVal::Bytes(b) => (String::new(), (n.lit)(b), b.len().to_string()),
        OptVal::Pair(p) => (
            format!("{} v = {{{}, {}}}; ", shape(p).0, p.a, p.b),
            "&v".into(),
            "sizeof v".into(),
        ),
        OptVal::Mreq(m) => (m.c(), "&v".into(), "sizeof v".into()),
    };
    format!(
        "{decl}r = setsockopt({}, {}, {}, {arg}, {len});",
        n.fd, n.level, n.name
    )
}

/// C: `getsockopt` into a value of the option's shape, then its check.
pub fn c_get(line: usize, n: &Names, v: &OptVal) -> String {
    let call = |decl: String, arg: &str| {
        format!(
            "{decl} r = getsockopt({}, {}, {}, {arg}, &vn);",
            n.fd, n.level, n.name
        )
    };
    match v {
        OptVal::Int(want) => {
            let mut s = call("int v = 0; socklen_t vn = 4;".into(), "&v");
            if let Some(w) = want {
                s += &format!(
                    " if (r >= 0) {{ IntIs({line}, \"option value\", v, {}); }}",
                    (n.val)(w)
                );
            }
            s
        }
        OptVal::Len(len) => call(format!("char v[{len}]; socklen_t vn = {len};"), "v"),
        OptVal::Mreq(m) => call(format!("char v[{0}]; socklen_t vn = {0};", m.len), "v"),
        OptVal::Bytes(b) => call(
            format!("char v[{}]; socklen_t vn = {0};", b.len().max(1)),
            "v",
        ),
        OptVal::Pair(p) => {
            let (ty, x, y, _) = shape(p);
            call(format!("{ty} v; socklen_t vn = sizeof v;"), "&v")
                + &format!(
                    "\n\t\t  if (r >= 0) {{ IntIs({line}, \"{x}\", v.{x}, {}); IntIs({line}, \"{y}\", v.{y}, {}); }}",
                    p.a, p.b
                )
        }
    }
}

/// Python: `s.setsockopt(level, name, value)`.
pub fn py_set(n: &Names, v: &OptVal) -> String {
    let value = match v {
        OptVal::Int(Some(x)) => (n.val)(x),
        OptVal::Int(None) | OptVal::Len(_) => "0".into(),
        OptVal::Bytes(b) => (n.lit)(b),
        OptVal::Pair(p) => format!("struct.pack(\"{}\", {}, {})", shape(p).3, p.a, p.b),
        OptVal::Mreq(m) => m.python(),
    };
    format!("{}.setsockopt({}, {}, {value})", n.fd, n.level, n.name)
}

/// Python: `s.getsockopt(level, name[, buflen])` and its check of `r`.
pub fn py_get(line: usize, n: &Names, v: &OptVal) -> (String, String) {
    let call = |len: String| format!("{}.getsockopt({}, {}{len})", n.fd, n.level, n.name);
    match v {
        OptVal::Int(want) => (
            call(String::new()),
            want.as_ref().map_or(String::new(), |w| {
                format!("; want({line}, r, {})", (n.val)(w))
            }),
        ),
        OptVal::Len(len) => (call(format!(", {len}")), String::new()),
        OptVal::Mreq(m) => (call(format!(", {}", m.len)), String::new()),
        OptVal::Bytes(b) => (call(format!(", {}", b.len())), String::new()),
        OptVal::Pair(p) => (
            call(format!(", {}", p.bytes().len())),
            format!(
                "; want({line}, struct.unpack(\"{}\", r), ({}, {}))",
                shape(p).3,
                p.a,
                p.b
            ),
        ),
    }
}

impl Pair {
    /// The bytes the kernel takes (two ints, or two longs).
    pub fn bytes(&self) -> Vec<u8> {
        if self.linger {
            let mut v = (self.a as i32).to_ne_bytes().to_vec();
            v.extend((self.b as i32).to_ne_bytes());
            v
        } else {
            let mut v = self.a.to_ne_bytes().to_vec();
            v.extend(self.b.to_ne_bytes());
            v
        }
    }
}

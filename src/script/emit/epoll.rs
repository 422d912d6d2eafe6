//! epoll in the emitted programs: `epoll_create1`, `epoll_ctl` (with the
//! data the line writes: script/epoll_data.rs) and `epoll_wait` (its
//! count and the events written checked). C makes the calls themselves;
//! Python writes them as the `select` module does: `select.epoll()`
//! (always `epoll_create1(EPOLL_CLOEXEC)`), `register`/`modify`/
//! `unregister` (`EPOLL_CTL_DEL` with an event pointer, not NULL),
//! `poll(SECS, MAX)`; register and modify set data = the fd, so data
//! that is not the fd is libc's epoll_ctl through ctypes (runtime.py's
//! `epoll_register`, `epoll_modify`).

use super::super::ast::ExprKind;
use super::super::check::Step;
use super::super::epoll_data::{self, Data};
use super::super::resolve::{self, Why};
use super::model::{Fd, Model, Op, Val, fd, field, fields_of, val_of};
use crate::values::xlat::Group;

fn arg(step: &Step, i: usize) -> Result<&super::super::ast::Expr, Why> {
    step.args
        .get(i)
        .ok_or_else(|| format!("{} lacks argument {}", step.row.name, i + 1))
}

/// The op of an epoll line.
pub fn op(step: &Step) -> Result<Op, Why> {
    let a = |i: usize| arg(step, i);
    Ok(match step.row.name {
        "epoll_create1" => Op::EpollCreate1(val_of(a(0)?, Some(Group::EpollFlags))?),
        "epoll_ctl" => {
            let event = match epoll_data::ctl(a(2)?, a(3)?)? {
                None => None,
                Some(data) => Some((
                    match field(fields_of(a(3)?), "events") {
                        Some(e) => val_of(e, Some(Group::Epoll))?,
                        None => super::model::num(0),
                    },
                    match data {
                        Data::Fd(e) => Data::Fd(fd(e)?),
                        Data::Num(n) => Data::Num(n),
                    },
                )),
            };
            Op::EpollCtl(
                fd(a(0)?)?,
                val_of(a(1)?, Some(Group::EpollCtl))?,
                fd(a(2)?)?,
                event,
            )
        }
        _ => Op::EpollWait(
            fd(a(0)?)?,
            resolve::len(a(2)?)?.unwrap_or(1),
            resolve::int(a(3)?, None)?,
            events(a(1)?)?,
        ),
    })
}

/// epoll_wait's events as written: `[{events=EPOLLIN, data={u32=7,
/// u64=7}}]`, a name in data an fd, a number a number until
/// [`label_data`] (an event without both is not checked: none are).
fn events(e: &super::super::ast::Expr) -> Result<Vec<(Val, Data<Fd>)>, Why> {
    let mut out = Vec::new();
    for item in super::model::items_of(Some(e)) {
        let f = fields_of(item);
        let data = field(f, "data").map(fields_of).unwrap_or(&[]);
        let d = match field(data, "u64").or(field(data, "u32")) {
            Some(d) => match d.kind {
                ExprKind::Int(n) => u64::try_from(n).ok().map(Data::Num),
                _ => Some(Data::Fd(fd(d)?)),
            },
            None => None,
        };
        match (field(f, "events"), d) {
            (Some(ev), Some(d)) => out.push((val_of(ev, Some(Group::Epoll))?, d)),
            _ => return Ok(Vec::new()),
        }
    }
    Ok(out)
}

/// epoll_wait's data numbers that an earlier epoll_ctl line wrote as its
/// fd's label are that fd (as the runner's labels, script/epoll_data.rs).
pub fn label_data<'a>(models: impl Iterator<Item = &'a mut Model>) {
    let mut labels = std::collections::BTreeSet::new();
    for m in models {
        match &mut m.op {
            Op::EpollCtl(_, _, _, Some((_, Data::Fd(Fd::Label(n) | Fd::Std(n))))) => {
                labels.insert(*n);
            }
            Op::EpollWait(_, _, _, events) => {
                for (_, d) in events.iter_mut() {
                    match *d {
                        Data::Num(n) if labels.contains(&(n as i64)) => {
                            *d = Data::Fd(fd_of(n as i64));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

fn fd_of(n: i64) -> Fd {
    match n {
        0..=2 => Fd::Std(n),
        _ => Fd::Label(n),
    }
}

/// How each language names fds and constants.
pub struct Words<'a> {
    pub var: &'a dyn Fn(&Fd) -> String,
    pub val: &'a dyn Fn(&Val) -> String,
}

/// The C statement(s), or None: not an epoll line.
pub fn c(m: &Model, w: &Words) -> Option<String> {
    let (var, val) = (w.var, w.val);
    Some(match &m.op {
        Op::EpollCreate1(flags) => format!("r = epoll_create1({});", val(flags)),
        Op::EpollCtl(ep, o, f, Some((ev, data))) => format!(
            "struct epoll_event ev = {{{}, {{.u64 = {}}}}}; r = epoll_ctl({}, {}, {}, &ev);",
            val(ev),
            match data {
                Data::Fd(d) => format!("(uint64_t){}", var(d)),
                Data::Num(n) => n.to_string(),
            },
            var(ep),
            val(o),
            var(f)
        ),
        Op::EpollCtl(ep, o, f, None) => {
            format!("r = epoll_ctl({}, {}, {}, NULL);", var(ep), val(o), var(f))
        }
        Op::EpollWait(ep, max, timeout, events) => {
            let line = m.line;
            let mut checks = String::new();
            for (i, (ev, data)) in events.iter().enumerate() {
                checks += &format!(
                    " IntIs({line}, \"events\", ev[{i}].events, {}); IntIs({line}, \"data\", (long)ev[{i}].data.u64, {});",
                    val(ev),
                    match data {
                        Data::Fd(f) => var(f),
                        Data::Num(n) => format!("(long){n}ULL"),
                    }
                );
            }
            if !checks.is_empty() {
                checks = format!("\n\t\t  if (r == {}) {{{checks} }}", events.len());
            }
            format!(
                "struct epoll_event *ev = calloc({max}, sizeof *ev); r = epoll_wait({}, ev, {max}, {timeout});{checks} free(ev);",
                var(ep)
            )
        }
        _ => return None,
    })
}

/// Python's expression, its checks and its comment, or None.
pub fn python(m: &Model, w: &Words) -> Option<(String, String, &'static str)> {
    let (var, val) = (w.var, w.val);
    let line = m.line;
    Some(match &m.op {
        Op::EpollCreate1(_) => (
            "select.epoll()".to_string(),
            String::new(),
            "epoll_create1(EPOLL_CLOEXEC) whatever the flags",
        ),
        Op::EpollCtl(ep, o, f, ev) => {
            let events = ev.as_ref().map_or("0".to_string(), |(e, _)| val(e));
            let data = match ev {
                Some((_, Data::Fd(d))) if d == f => None,
                Some((_, Data::Fd(d))) => Some(var(d)),
                Some((_, Data::Num(n))) => Some(n.to_string()),
                None => None,
            };
            let call = match (o.value, data) {
                (v, _) if v == i64::from(libc::EPOLL_CTL_DEL) => {
                    format!("{}.unregister({})", var(ep), var(f))
                }
                // register/modify would set data = the fd.
                (v, Some(data)) => format!(
                    "epoll_{}({}, {}, {events}, {data})",
                    if v == i64::from(libc::EPOLL_CTL_MOD) {
                        "modify"
                    } else {
                        "register"
                    },
                    var(ep),
                    var(f)
                ),
                (v, None) if v == i64::from(libc::EPOLL_CTL_MOD) => {
                    format!("{}.modify({}, {events})", var(ep), var(f))
                }
                _ => format!("{}.register({}, {events})", var(ep), var(f)),
            };
            let note = match o.value {
                v if v == i64::from(libc::EPOLL_CTL_DEL) => {
                    "unregister passes an event pointer, not NULL"
                }
                _ if call.starts_with("epoll_") => {
                    "libc's epoll_ctl through ctypes: register would set data = the fd"
                }
                _ => "",
            };
            (call, String::new(), note)
        }
        Op::EpollWait(ep, max, timeout, events) => {
            let secs = match timeout {
                t if *t < 0 => "-1".to_string(),
                t => format!("{t} / 1000"),
            };
            let mut count = match m.want {
                super::model::Want::Value(n) => format!("; want({line}, len(ev), {n})"),
                _ => String::new(),
            };
            if !events.is_empty() {
                let want: Vec<String> = events
                    .iter()
                    .map(|(ev, data)| match data {
                        Data::Fd(f) => format!("({}.fileno(), {})", var(f), val(ev)),
                        // poll() gives data.fd: the low 32 bits, signed.
                        Data::Num(n) => format!("({}, {})", *n as u32 as i32, val(ev)),
                    })
                    .collect();
                count += &format!("; want({line}, ev, [{}])", want.join(", "));
            }
            (format!("{}.poll({secs}, {max})", var(ep)), count, "")
        }
        _ => return None,
    })
}

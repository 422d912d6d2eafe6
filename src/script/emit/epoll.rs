//! epoll in the emitted programs: `epoll_create1`, `epoll_ctl` (the
//! event's data is the fd, as socklab's script sets it) and `epoll_wait`
//! (its count checked). C makes the calls themselves; Python writes them
//! as the `select` module does: `select.epoll()` (always
//! `epoll_create1(EPOLL_CLOEXEC)`), `register`/`modify`/`unregister`
//! (`EPOLL_CTL_DEL` with an event pointer, not NULL), `poll(SECS, MAX)`.

use super::super::ast::ExprKind;
use super::super::check::Step;
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
            let events = match &a(3)?.kind {
                ExprKind::Null => None,
                _ => Some(match field(fields_of(a(3)?), "events") {
                    Some(e) => val_of(e, Some(Group::Epoll))?,
                    None => super::model::num(0),
                }),
            };
            Op::EpollCtl(
                fd(a(0)?)?,
                val_of(a(1)?, Some(Group::EpollCtl))?,
                fd(a(2)?)?,
                events,
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

/// epoll_wait's events as written: `[{events=EPOLLIN, data={u32=l, u64=l}}]`
/// (an event without both is not checked: none are).
fn events(e: &super::super::ast::Expr) -> Result<Vec<(Val, Fd)>, Why> {
    let mut out = Vec::new();
    for item in super::model::items_of(Some(e)) {
        let f = fields_of(item);
        let data = field(f, "data").map(fields_of).unwrap_or(&[]);
        match (
            field(f, "events"),
            field(data, "u64").or(field(data, "u32")),
        ) {
            (Some(ev), Some(d)) => out.push((val_of(ev, Some(Group::Epoll))?, fd(d)?)),
            _ => return Ok(Vec::new()),
        }
    }
    Ok(out)
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
        Op::EpollCtl(ep, o, f, Some(ev)) => format!(
            "struct epoll_event ev = {{{}, {{.u64 = (uint64_t){}}}}}; r = epoll_ctl({}, {}, {1}, &ev);",
            val(ev),
            var(f),
            var(ep),
            val(o)
        ),
        Op::EpollCtl(ep, o, f, None) => {
            format!("r = epoll_ctl({}, {}, {}, NULL);", var(ep), val(o), var(f))
        }
        Op::EpollWait(ep, max, timeout, events) => {
            let line = m.line;
            let mut checks = String::new();
            for (i, (ev, f)) in events.iter().enumerate() {
                checks += &format!(
                    " IntIs({line}, \"events\", ev[{i}].events, {}); IntIs({line}, \"data\", (long)ev[{i}].data.u64, {});",
                    val(ev),
                    var(f)
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
            let events = ev.as_ref().map_or("0".to_string(), val);
            let call = match o.value {
                v if v == i64::from(libc::EPOLL_CTL_DEL) => {
                    format!("{}.unregister({})", var(ep), var(f))
                }
                v if v == i64::from(libc::EPOLL_CTL_MOD) => {
                    format!("{}.modify({}, {events})", var(ep), var(f))
                }
                _ => format!("{}.register({}, {events})", var(ep), var(f)),
            };
            let note = match o.value {
                v if v == i64::from(libc::EPOLL_CTL_DEL) => {
                    "unregister passes an event pointer, not NULL"
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
                    .map(|(ev, f)| format!("({}.fileno(), {})", var(f), val(ev)))
                    .collect();
                count += &format!("; want({line}, ev, [{}])", want.join(", "));
            }
            (format!("{}.poll({secs}, {max})", var(ep)), count, "")
        }
        _ => return None,
    })
}

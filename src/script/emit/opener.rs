//! Which earlier step opens an fd a step uses (`Plan::after`): the
//! nearest one whose result is in the step's own fd table. socklab's
//! runner asks it at run time (a line waits while its label is not
//! bound, run.rs: the label is bound by the first result that shows it,
//! which in the actor's process is its own call's, as each process's
//! fds are its own); the twins decide it from the script: a step of the
//! same process (any of its threads), or of its parent before the fork
//! that made it (the child inherits those fds), and so on up. Two
//! children of a prefork server both get fd 5 from their accept4: each
//! child's recvfrom(5) waits for its own accept4, not the other's.

use super::super::check::Step;
use super::model::{Fd, Model};
use super::{Plan, outputs, same, threads};

/// The process of actor `a` (the steps so far: `out`, `plan.actor`):
/// its own if a fork made it, else that of the actor whose clone3 line
/// started it, else socklab's own (None).
fn process(plan: &Plan, out: &[(Step, Model)], a: usize) -> Option<usize> {
    let mut a = a;
    for _ in 0..=plan.actors.len() {
        if plan.forked_by.get(a).copied().flatten().is_some() {
            return Some(a);
        }
        let born = out
            .iter()
            .position(|(s, _)| threads::starts(s, a, plan))
            .and_then(|j| plan.actor.get(j).copied());
        match born {
            Some(parent) if parent != a => a = parent,
            _ => return None,
        }
    }
    None
}

/// Whether step `j`'s result is in the fd table of actor `a` at step
/// `i` (j < i): j in a's process, or in an ancestor before its fork.
fn shares(plan: &Plan, out: &[(Step, Model)], j: usize, i: usize, a: usize) -> bool {
    let of = |k: usize| plan.actor.get(k).and_then(|&x| process(plan, out, x));
    let mut p = process(plan, out, a);
    let mut limit = i;
    // Each fork is an earlier step than the last: at most one per actor.
    for _ in 0..=plan.actors.len() {
        if j < limit && of(j) == p {
            return true;
        }
        match p.and_then(|x| plan.forked_by.get(x).copied().flatten()) {
            Some(f) => {
                limit = limit.min(f);
                p = of(f);
            }
            None => return false,
        }
    }
    false
}

/// The step that opens an fd step `i` (of actor `a`) uses: the nearest
/// earlier one in its fd table whose result shows it; failing that (an
/// fd no step of that table shows), the nearest of any actor's.
pub(super) fn after(
    plan: &Plan,
    out: &[(Step, Model)],
    i: usize,
    a: usize,
    uses: &[Fd],
) -> Option<usize> {
    let opens = |j: &usize| {
        out.get(*j)
            .is_some_and(|(_, o)| outputs(o).iter().any(|f| uses.iter().any(|u| same(u, f))))
    };
    let mut openers = (0..i).rev().filter(opens);
    let any = openers.clone().next();
    openers.find(|&j| shares(plan, out, j, i, a)).or(any)
}

#[cfg(test)]
mod tests {
    use super::super::Plan;

    fn after(text: &str) -> Vec<Option<usize>> {
        let steps = crate::script::prepare(text, "t.script").unwrap();
        Plan::new(steps, "t.script")
            .map(|p| p.after)
            .unwrap_or_default()
    }

    /// Two children's fd 5: each one's close waits for its own socket;
    /// a child's use of an fd its parent opened before the fork, for that.
    #[test]
    fn an_fd_is_opened_in_the_lines_own_process_or_its_parent_before_the_fork() {
        let got = after(
            "s = socket(AF_INET, SOCK_STREAM, IPPROTO_IP)\n\
             a = fork()\n\
             b = fork()\n\
             a | socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 5\n\
             b | socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 5\n\
             a | close(5) = 0\n\
             b | close(s) = 0\n",
        );
        assert_eq!(got.get(5), Some(&Some(3)), "{got:?}");
        assert_eq!(got.get(6).copied().flatten(), Some(2), "{got:?}");
    }
}

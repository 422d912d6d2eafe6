//! What a lab's record needs to replay on the lab network (issue 16):
//! each side's calls are tagged with the host it was on (`client@b`,
//! `strace::host`, set by [`super::LabNet::inside`]), and the record says
//! how to bring the network up for the replay: a note
//! `# net: socklab net up --link SPEC --sysctl K=V ...` when the lab
//! brings it up. `socklab script` itself enters hosts and nothing more
//! (no link, no sysctl): the reader runs that line first.

use std::cell::RefCell;

use super::Ctx;

thread_local! {
    /// The lab running on this thread (its worker), for its notes.
    static LAB: RefCell<Option<Ctx>> = const { RefCell::new(None) };
}

/// While it lives, the notes of [`net_up`] on this thread go to `ctx`'s timeline.
pub(super) struct ForLab(());

impl Drop for ForLab {
    fn drop(&mut self) {
        LAB.with(|l| l.borrow_mut().take());
    }
}

pub(super) fn for_lab(ctx: &Ctx) -> ForLab {
    LAB.with(|l| *l.borrow_mut() = Some(ctx.clone()));
    ForLab(())
}

/// The lab network is coming up with `link` and `sysctls`: the command
/// that brings the same one up, as a `lab | # net: ...` note.
pub(super) fn net_up(link: &str, sysctls: &[&str]) {
    let text = format!("net: {}", command(link, sysctls));
    LAB.with(|l| {
        if let Some(ctx) = l.borrow().as_ref() {
            ctx.note("lab", &text);
        }
    });
}

/// The lab changes the link of its network `net` (`LabNet::set`): the
/// line by which a script does the same at that point, `net | set SPEC`
/// (`script::link`), and the note naming socklab's own calls it takes.
pub(super) fn net_set(spec: &str, net: &str) {
    use crate::script::link;
    LAB.with(|l| {
        if let Some(ctx) = l.borrow().as_ref() {
            if ctx.json {
                ctx.note(link::TAG, &format!("set {spec}"));
            } else {
                ctx.line(&format!("{:>6} | set {spec}", link::TAG));
            }
            ctx.note(link::TAG, &link::note(net));
        }
    });
}

/// `socklab net up [--link SPEC] [--sysctl K=V]...`, each word quoted
/// for a shell if it needs to be (`a>b:loss=5%`).
pub fn command(link: &str, sysctls: &[&str]) -> String {
    let mut words = vec!["socklab", "net", "up"];
    if !link.is_empty() {
        words.extend(["--link", link]);
    }
    for s in sysctls {
        words.extend(["--sysctl", s]);
    }
    words
        .iter()
        .map(|w| quoted(w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn quoted(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "=,.%_:/-+@".contains(c));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::command;

    #[test]
    fn the_net_up_line_is_a_shell_command() {
        assert_eq!(
            command("blackhole", &["net.ipv4.tcp_syn_retries=1"]),
            "socklab net up --link blackhole --sysctl net.ipv4.tcp_syn_retries=1"
        );
        assert_eq!(command("", &[]), "socklab net up");
        assert_eq!(
            command("a>b:loss=5%", &[]),
            "socklab net up --link 'a>b:loss=5%'"
        );
    }
}

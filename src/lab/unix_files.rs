//! The UNIX-domain family: stream, datagram and abstract sockets, stale
//! socket files, file permissions (unix(7), UNP 15). A script
//! (`scripts/unix-family.script`): its directory made by its own mkdirat,
//! the permission check in a forked process that gives up root.

use nix::errno::Errno;

use super::framework::{Ctx, Lab, Ran, Verdict, run_script};
use crate::private_dir::random_name;
use crate::values::error::{Error, Result};

pub fn labs() -> Vec<Lab> {
    vec![Lab {
        name: "unix-family",
        question: "AF_UNIX stream, datagram and abstract sockets; what does a stale socket file do; do file permissions matter?",
        source: "the tutorial's two families (AF_UNIX, file based); unix(7); UNP 15 (Unix domain protocols)",
        expected: "all three work; stale file: bind EADDRINUSE, connect ECONNREFUSED; mode 000: EACCES",
        run: unix_family,
    }]
}

/// The script's placeholders: the directory's parent and its name.
const TMP: &str = "/tmp";
const NAME: &str = "socklab-lab-XXXXXX";

/// The lab's script for a directory `name` in `tmp`. As root, the
/// permission check runs in `nobody`, a fork that gives up root; as
/// another user, the client connects itself (there is no root to give up,
/// and setgroups would fail with EPERM).
fn script(tmp: &str, name: &str, root: bool) -> String {
    let text = include_str!("scripts/unix-family.script");
    let lines = text.lines().filter_map(|l| {
        let forking = l.starts_with("nobody |") || l.starts_with("server | nobody = fork()");
        if root || !forking {
            return Some(l.to_string());
        }
        let call = l.trim_start_matches("nobody |").trim_start();
        let set_up = ["set", "exit_group", "nobody ="]
            .iter()
            .any(|p| call.starts_with(p))
            || l.starts_with("server |");
        (!set_up).then(|| format!("client | {call}"))
    });
    let text: String = lines.map(|l| l + "\n").collect();
    // The name first: the parent's placeholder is a prefix of the path.
    text.replace(NAME, name).replace(TMP, tmp)
}

/// A directory path the script can hold as written, in a string and as
/// a short-form address (no space, comma, quote, bracket, `#` or `|`).
fn plain(path: &str) -> bool {
    !path.is_empty()
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+~=:".contains(&b))
}

fn unix_family(ctx: &Ctx) -> Result<Verdict> {
    let tmp = std::env::temp_dir().display().to_string();
    let tmp = tmp.trim_end_matches('/');
    let tmp = if tmp.is_empty() { "/" } else { tmp };
    if !plain(tmp) {
        return Err(Error::Runtime(format!(
            "TMPDIR {tmp}: the lab's script writes socket paths in it as short forms; \
             use a directory whose path has only letters, digits and / . _ - + ~ = :"
        )));
    }
    // getrandom on the lab's timeline: the name the script's mkdirat makes.
    let name = random_name(&ctx.sys("lab"), "socklab-lab")?;
    let root = crate::sys::untraced::geteuid() == 0;
    let ran = run_script(ctx, "unix-family", &script(tmp, &name, root))?;
    verdict(&ran, root)
}

/// The verdict from what the lines returned.
fn verdict(ran: &Ran, root: bool) -> Result<Verdict> {
    let got = |actor: &str, call: &str, i: usize| ran.calls(actor, call).get(i).map(|s| s.ret);
    let stream_ok = got("server", "recvfrom", 0) == Some(Ok(11));
    let left = ran
        .calls("server", "newfstatat")
        .first()
        .is_some_and(|s| s.returned(0) && s.text.contains("S_IFSOCK"));
    let rebind = got("server", "bind", 1);
    let reconnect = got("client", "connect", 1);
    let stale_ok =
        rebind == Some(Err(Errno::EADDRINUSE)) && reconnect == Some(Err(Errno::ECONNREFUSED));
    let from = ran
        .calls("server", "recvfrom")
        .get(1)
        .and_then(|s| s.text.split_once("sun_path=@\""))
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or("?".to_string(), |(n, _)| format!("@{n}"));
    let (n1, n2) = (got("server", "recvfrom", 1), got("server", "recvfrom", 2));
    let dgram_ok = n1 == Some(Ok(3)) && n2 == Some(Ok(3)) && from.starts_with('@');
    let who = if root { "nobody" } else { "client" };
    let perm: Vec<_> = ran
        .calls(who, "connect")
        .iter()
        .filter(|s| s.text.contains("perm.sock"))
        .map(|s| s.ret)
        .collect();
    let perm_ok = perm.first() == Some(&Err(Errno::EACCES)) && perm.get(1) == Some(&Ok(0));
    let removed = ran
        .calls("lab", "unlinkat")
        .first()
        .is_some_and(|s| s.returned(0));
    let abstract_ok = removed
        && ran
            .calls("client", "connect")
            .last()
            .is_some_and(|s| s.returned(0));
    let word = |r: Option<std::result::Result<i64, Errno>>| match r {
        Some(Ok(_)) => "connected".to_string(),
        Some(Err(e)) => format!("{e:?}"),
        None => "not run".into(),
    };
    let outcome = |r: Option<std::result::Result<i64, Errno>>| match r {
        Some(Ok(v)) => format!("= {v}"),
        Some(Err(e)) => format!("{e:?}"),
        None => "not run".into(),
    };
    let user = if root {
        "user nobody (uid 65534)"
    } else {
        "this user"
    };
    Ok(Verdict {
        pass: ran.pass(stream_ok && left && stale_ok && dgram_ok && perm_ok && abstract_ok),
        observed: ran.observed(format!(
            "stream, datagram (3+3 bytes from {from}) and abstract worked{}; stale file: bind {}, connect {}; \
             {user}: mode 000 {}, mode 0777 {}; the directory was empty while the abstract name listened",
            if left { "" } else { " (no socket file left after close?)" },
            outcome(rebind),
            outcome(reconnect),
            word(perm.first().copied()),
            word(perm.get(1).copied()),
        )),
        why: "A UNIX socket bound to a path creates a socket file; closing the socket leaves \
              the file, and the next bind on that path fails with EADDRINUSE while a connect \
              finds nobody listening (ECONNREFUSED): servers unlink it before bind (or after \
              close). Datagram sockets keep boundaries and need a name of their own to get an \
              answer (autobind gives an abstract one). Abstract names (a leading NUL, shown \
              as @) live outside the filesystem and vanish with the socket: the directory \
              could be removed (rmdir needs it empty) while one listened. Connecting needs \
              write permission on the file (root is exempt: the check runs in a process that \
              gave up root with setgroups, setgid, setuid)."
            .into(),
    })
}

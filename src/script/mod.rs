//! `socklab script` and `socklab shell` (issue 14): socket calls in the
//! syntax `--trace` prints (strace's), any call, in any order, on any
//! number of sockets and actors. This is the language's reference.
//!
//! # Lines
//!
//! A script is lines of calls as strace prints them:
//! `connect(4, {sa_family=AF_INET, sin_port=htons(40000), sin_addr=inet_addr("127.0.0.1")}, 16) = 0`.
//! So every line `socklab --trace` or `strace -f` prints, and every lab
//! timeline, is a script. Around the call a line may have:
//! - `NAME | ` first: the actor that makes the call (a thread of its
//!   own; `[pid N] ` from strace -f is the actor `pid N`); without one,
//!   the actor `main`. The timeline is tagged `NAME | ` as soon as one
//!   line names its actor. `NAME@HOST | `: the actor is on a host of the
//!   lab network (see "Hosts of the lab network").
//! - `+SECS ` first (packetdrill's time prefix): wait that long before the line.
//! - `NAME = ` before the call: NAME stands for the fd the call returns
//!   (for socketpair, `NAME[0]` and `NAME[1]`).
//! - `= RESULT` after it: an expectation (a value, `-1 ENAME` with or
//!   without strace's `(text)`, `?`, `...` for anything). Without `=`
//!   nothing is expected of the call.
//! - `# ...`: a comment. Blank lines, program output (`server > text`),
//!   strace's `--- SIG ---` and `+++ exited +++` lines, lab headers and
//!   `--wire` lines are skipped.
//!
//! # Arguments
//!
//! Arguments are written in C order, as strace prints them: numbers,
//! constants (`AF_INET`, `SOCK_STREAM|SOCK_NONBLOCK`, `MSG_PEEK`,
//! `SOL_SOCKET`, `SO_REUSEADDR`, `F_GETFL`, `FIONREAD`, `POLLIN`...),
//! strings with strace's escapes, `NULL`, structs `{...}`, arrays
//! `[...]`, `[128 => 16]` lengths. Nothing is added that the line did not
//! ask for: no hidden `SOCK_CLOEXEC`, no hidden option, no hidden call.
//! - In an output argument (what the kernel fills in: a received buffer,
//!   an address, a length, an option value read back) a written value is
//!   an expectation; `...` means "don't care".
//! - In an input argument, `...` is the natural value: a length from the
//!   string or the address, recvfrom's buffer, accept's address buffer.
//!   `accept4(3, NULL, NULL, 0)` asks for no address; `accept4(3, ...,
//!   ..., 0)` or a struct asks for one.
//! - A string cut by strace (`"abcd"...`) with a larger length is its
//!   shown bytes repeated to that length (a 100-byte sendto replays
//!   as 100 bytes); a received string cut so compares its first bytes.
//! - A sockaddr's written length is not passed as is: the address's own
//!   length is (the one strace shows for it).
//!
//! # Short forms
//!
//! `HOST:PORT`, `[V6]:PORT`, `/path` and `@name` stand for a sockaddr
//! (and its length), and calls may leave out what has a natural value;
//! the timeline always shows the real call:
//! - `bind(s, 127.0.0.1:0)`, `connect(c, [::1]:8080)` (the length added);
//! - `getsockname(s)`, `getsockname(s, 127.0.0.1:40001, ...)`;
//! - `accept(s)` is `accept(s, ..., ...)`; `accept4(s, SOCK_CLOEXEC)`;
//! - `send(c, "hi")` is `sendto(c, "hi", 2, 0, NULL, 0)`, `send(c, "hi", MSG_DONTWAIT)`;
//! - `recv(a, 1024)` is `recvfrom(a, ..., 1024, 0, NULL, NULL)`, `recv(a, 10, MSG_PEEK)`;
//! - `read(fd, 100)`, `write(fd, "x")`; `setsockopt(s, SOL_SOCKET,
//!   SO_REUSEADDR, [1])` (its length added); `getsockopt(s, SOL_SOCKET, SO_ERROR)`;
//!   `ioctl(s, FIONREAD)`; `sendmsg(s, {...})` and `recvmsg(s, {...})` (flags 0).
//! - `fork()` is `clone(child_stack=NULL, ..., ...)`; `signal(SIGPIPE,
//!   SIG_DFL)` is `rt_sigaction(SIGPIPE, {sa_handler=SIG_DFL}, NULL, 8)`.
//! - `LEVEL:N` as `--sockopt` writes it stands for the level and the
//!   option: `setsockopt(s, SOL_IP:13, [1])`, `getsockopt(s, 41:67)`,
//!   `SOL_TCP:11`, `IPPROTO_TCP:1` (a level by its SOL_/IPPROTO_ name or
//!   number); the timeline prints the option's name as strace does
//!   (`SOL_IP, IP_RECVTOS`), and that name is read back too.
//! - A timeval option (`SO_RCVTIMEO_OLD`, `SO_SNDTIMEO_OLD`) takes
//!   `{tv_sec=1, tv_usec=0}` (set, or read back as an expectation);
//!   strace 6.1 prints its value as the 16 bytes, and so does the timeline.
//!
//! # File calls and credentials
//!
//! The calls socklab's labs make on their directories and socket files
//! replay too, as strace prints them (`files.rs`): `openat(AT_FDCWD|DIRFD,
//! "path", O_...|..., MODE)` (the mode only with O_CREAT/O_TMPFILE, as
//! strace; its fd is a label), `getrandom("...", N, 0)` (the bytes are
//! random: never an expectation), `mkdirat(DIRFD, "name", 0700)`,
//! `newfstatat(DIRFD, "name", {st_mode=S_IFSOCK|0755, st_size=0, ...},
//! AT_SYMLINK_NOFOLLOW)` (that flag only: socklab never follows a link;
//! the struct is an expectation), `fchmod(FD, 0755)`, `fchmodat(DIRFD,
//! "name", 000)`, `unlinkat(DIRFD, "name", 0|AT_REMOVEDIR)`,
//! `unlink("path")`. They are the user's own: the script makes what it
//! says (a mode `0700` is octal as in C). A script's `unlink` of a socket
//! file its bind made takes it off the end's list. A process actor can
//! give up root: `setgroups(0, NULL)`, `setgid(65534)`, `setuid(65534)`
//! (the raw syscalls); a thread actor refuses them (they would change the
//! ids of socklab's own thread).
//!
//! # Labels
//!
//! The fds, ports and abstract socket names a script writes are labels.
//! The first time one appears in a result (the fd socket, accept,
//! accept4, dup, dup2, epoll_create1 return, socketpair's `[3, 4]`,
//! SCM_RIGHTS' `cmsg_data=[5]`; a port or an abstract name in an address
//! getsockname, getpeername, accept4 or recvfrom returns) it is bound to
//! what this run got; later it means that value, in any position. A
//! closed fd's label may be bound again by a later result. Port 0 is
//! never a label; a port that first appears in an input is used as
//! written. fds 0, 1 and 2 stand for themselves. So a trace recorded
//! yesterday replays today.
//!
//! # Actors and blocking
//!
//! Lines run in file order. Each actor is a thread; the next line starts
//! when the current call has returned, or when its thread is seen asleep
//! in that very call (`/proc/self/task/TID/stat` and `.../syscall`,
//! never a sleep). A blocked call prints `NAME(args <unfinished ...>`
//! and, when it returns, `<... NAME resumed>rest) = RESULT`, as `strace
//! -f` prints them; its expectation is checked then. A line written as
//! such a pair is one call, made at its unfinished line. A line of an
//! actor still blocked waits for that call to return; a line whose fd is
//! bound by a call still under way waits for it too. (A blocked accept
//! already holds the fd it will return: the kernel takes the number
//! before it waits, so a socket made meanwhile gets the next one.)
//!
//! One exception (`waits.rs`): a line written whole whose call ends by
//! itself waits for its call to return before the next line starts, so
//! that the next line cannot change what it returns: `poll` and
//! `epoll_wait` with a timeout >= 0 (`poll(..., 300) = 0 (Timeout)`),
//! and any call whose line expects `-1 EAGAIN` (a non-blocking socket,
//! or a blocking one whose `SO_RCVTIMEO` / `SO_SNDTIMEO` ran out) or
//! `-1 EINPROGRESS`. Written as an `<unfinished ...>` line, such a call
//! keeps the rule above. One not returned after its own timeout plus
//! `--timeout` is taken as blocked. `socklab shell` does not wait.
//!
//! # Processes and signals
//!
//! An actor is a thread of socklab, unless a fork made it a process:
//! `NAME = fork()`, or strace's `NAME = clone(child_stack=NULL,
//! flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD,
//! child_tidptr=...) = PID` (the timeline prints it so, the child's name
//! first, so that it replays), made by a thread actor, forks socklab
//! (glibc's fork, traced: the clone line). The child inherits every fd
//! (its fd table is its own from then on: an fd it closes or gets is
//! its own) and is the actor NAME; without a name, `pid PID` for the
//! written result (so strace -f's `[pid PID]` lines are its lines). A
//! pid is a label, as an fd is: `kill(PID, ...)`, `wait4(PID, ...)`
//! mean this run's pid. The child makes its lines' calls as the runner
//! asks through two pipes (pipe2, read, write, close of fds above 900:
//! socklab's plumbing, not the experiment, as its /proc reads; strace
//! -f shows them); their lines come back onto the one timeline in
//! order, and asleep detection reads /proc/PID/task/PID/{stat,syscall}.
//! A process actor cannot fork.
//!
//! A child that dies shows what strace -f shows: its call (killed by
//! SIGPIPE: `= -1 EPIPE (Broken pipe)`, the only result with which the
//! kernel sends SIGPIPE; by another signal while asleep: `<... NAME
//! resumed>) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)`;
//! SIGKILL: `= ?`), then `--- SIG {si_signo=SIG, si_code=SI_USER,
//! si_pid=SENDER, si_uid=UID} ---` (not for SIGKILL) and `+++ killed by
//! SIG +++`. The script does not fail for it, unless that call's line
//! expected another result. Later lines of a dead actor fail. The
//! parent's `--- SIGCHLD ---` (ignored, as by default) is not shown.
//! `exit_group(N) = ?` in a process actor ends it (`+++ exited with N
//! +++`). At the end each child still alive closes the fds it still has
//! (its lines), then `exit_group(0) = ?`; one still in a call (or left
//! so by a failure or a timeout) is killed by the runner
//! (`kill(PID, SIGKILL)`, shown); then its parent's `wait4(PID, ...)`
//! (shown), unless a line reaped it: no child is left, not a zombie.
//!
//! Signals: `kill(NAME, SIG)` sends SIG to the actor NAME: kill(2) to a
//! process actor, `tgkill(PID, TID, SIG)` to a thread actor (a signal
//! whose action ends the process ends socklab and every thread actor);
//! `kill(PID, SIG)` with a number is kill(2) to that pid (a fork's
//! label). A timeline's `tgkill(P, T, SIG) = 0` replays: T is a label
//! bound to the actor whose earlier lines carry `[pid T]` (strace -f's
//! prefix, or a timeline's task id after its tag: `a | [pid T] ...`), P
//! stands for that actor's process (this run's pid for a thread actor);
//! a tid no earlier line carries is a syntax error (exit 2). Dispositions: socklab ignores SIGPIPE (Rust's runtime sets
//! SIG_IGN before main; its other signals are at their defaults in a
//! script), and a child inherits that. `rt_sigaction(SIG, {sa_handler=
//! SIG_DFL, sa_mask=[], sa_flags=0}, NULL, 8)` (or `signal(SIG,
//! SIG_DFL)`, `SIG_IGN`) sets a process actor's disposition (the raw
//! syscall, as strace shows it); it is refused in a thread actor (it
//! would change socklab's own). No handler can be installed.
//!
//! At the end (however the run ends) every actor's thread is joined
//! before socklab exits, so that `strace -f` shows one `exit_group`,
//! whole; an actor still in a call (past `--timeout`) or a process
//! actor still alive is not waited for: the exit ends it.
//!
//! # Hosts of the lab network
//!
//! `NAME@HOST | ` puts the actor NAME on a host of the lab network
//! (`socklab net up`, issue 16): `client@b | connect(c, 192.0.2.1:80)`.
//! HOST is a host's name, `a` or `b`; the network is `socklab` unless
//! `--net N` names another (`socklab net up --name N`). Before the
//! script's first call, each actor on a host starts, and its thread
//! enters the host's network namespace, three calls on the timeline as
//! strace -f shows them: `client@b | openat(AT_FDCWD,
//! "/run/netns/socklab-b", O_RDONLY|O_CLOEXEC) = 3`, `client@b |
//! setns(3, CLONE_NEWNET) = 0`, `client@b | close(3) = 0`. Its lines are
//! tagged `NAME@HOST`. A host that is not there (the network is not up)
//! ends the run there, before any of the script's calls: one line, exit
//! 1, the hint `socklab net up` (root is needed for setns). In a script
//! these three lines (from a timeline) are skipped: the runner makes
//! them for this run's network. An actor's host is fixed at its first
//! line: `client@b` on a later line of an actor first seen without a
//! host, or on another host, is an error (exit 2); a later line may
//! leave the host out. A fork's child is where its parent is (a
//! process inherits its network namespace); its lines are tagged with
//! its name. The hosts' sysctls and the link it starts with are `socklab
//! net up`'s (a lab's record says which in its `# net: socklab net up
//! ...` line). In the shell, a line whose host is not there is reported
//! and the session goes on. `--emit` refuses actors on hosts.
//!
//! `net | set SPEC` (`link.rs`) changes the link at that point, as
//! `socklab net set SPEC` does (`blackhole`, `down`, `up`, `delay=50ms`):
//! not a call, and `net` names no actor. It runs once the calls written
//! before it have returned (within `--timeout`; one written
//! `<unfinished ...>` and resumed after it may stay blocked); a note
//! after it names socklab's own calls to the forwarder's control socket.
//! Without the network: exit 1 before the first call; another `net | `
//! line or a bad SPEC: exit 2. Labs that change their link print it.
//!
//! # The end, and exit codes
//!
//! At the end, calls still under way get `--timeout` seconds (5 by
//! default) to return; one still blocked then fails the script if its
//! line expects a result. Every fd the script left open is closed and
//! every socket file its binds made is removed, each as a timeline line
//! (a process actor's end first: see above). A socket file is removed
//! only if it is still the one the bind made: right after a bind on a
//! path succeeds, the actor looks at the file (a newfstatat through an
//! untraced Sys, the runner's bookkeeping: not shown) and keeps its
//! st_dev/st_ino; at the end `newfstatat` (shown) must find that same
//! device and inode for `unlink` (shown) to follow; anything else at the
//! path (a regular file, a link, another socket file) is left alone, with
//! a `# PATH: not the socket file the bind made ...: left alone` note.
//! Then every directory the script's `mkdirat` made (and its own
//! `unlinkat(..., AT_REMOVEDIR)` did not remove) is removed, deepest
//! first: right after the mkdirat the actor keeps its absolute path (the
//! dirfd's from /proc/self/fd) and st_dev/st_ino (untraced bookkeeping);
//! at the end `newfstatat` (shown) must find them for
//! `unlinkat(AT_FDCWD, PATH, AT_REMOVEDIR)` (shown) to follow, which the
//! kernel does only on an empty directory; another directory at the path
//! (`# PATH: not the directory the mkdirat made ...: left alone`) or one
//! holding what socklab did not make (`-1 ENOTEMPTY`, `# PATH: not
//! empty ...`) is left alone. A process actor whose status cannot be read (waitid fails: socklab
//! started with SIGCHLD ignored) gets a `# process PID ended; how is not
//! known` note instead of an `exit_group` line nobody saw.
//! - exit 0: every expectation held;
//! - exit 1: one did not, or a call could not be made: `FILE:LINE: the
//!   line`, what was expected and what came, each actor's last calls
//!   (the run stops at the first failure);
//! - exit 2: the script has errors: `FILE:LINE:COL: message` for each
//!   (syntax, an unknown call or constant or errno, a wrong number of
//!   arguments, a name or fd used before a line binds it), and no call is made.
//!
//! # The commands
//!
//! `socklab script FILE|-` prints the timeline on stdout (`--trace=json`:
//! JSON Lines; `--show-state`: each TCP socket's state after its calls;
//! `--wire`, `--pcap F`: the script's packets among its lines). `socklab
//! shell` reads lines from stdin and runs each at once; a line that names
//! no actor goes to a thread that is not blocked, so a blocking call
//! gives the prompt back and its result prints when it comes; `help`,
//! `help CALL`, `save FILE`, `quit`; the prompt shows only on a terminal.
//! With stdin and stdout on a terminal the line editor (rustyline) reads
//! the lines: arrow keys and Ctrl-R recall earlier lines (history kept in
//! memory for the session; `--history FILE` reads FILE first and appends
//! the session's lines to it; nothing is written without it), Tab
//! completes call names (as bash: the common part, then the list), and a
//! blocked call's result prints above the line being typed, which is then
//! drawn again as it was. The editor's own pipe (for those lines) is made
//! above fd 10, so the session's sockets start at 3 as in a script.
//! Otherwise lines are read as `script -` reads them.
//!
//! # Files
//!
//! `ast.rs` what a line says; `parse/` the parser; `check.rs` the check
//! pass (lines to steps, short forms expanded); `labels.rs`;
//! `resolve.rs` and `request.rs` (arguments to values); `call.rs` (one
//! arm per call); `actors.rs` (threads), `asleep.rs` (asleep detection); `run.rs` (the
//! runner), `returned.rs` (a call returned), `end.rs` (timeout, clean-up, report); `expect.rs`;
//! `process.rs` (a process actor: the fork's child, the runner's side
//! of its pipes), `frame.rs` (what goes through them), `forks.rs` (the
//! runner's side: fork, kill, a child's death and end);
//! `waits.rs` (the lines that wait for their call); `hosts.rs` and
//! `entering.rs` (actors on the lab network's hosts: checked, started); `shell.rs` (`socklab shell`), `editing.rs` (its line editor).

use std::time::Duration;

use crate::strace::{Format, Stream, Tracer};
use crate::values::error::{Error, Result};

mod actors;
mod asleep;
pub mod ast;
mod awaiting;
mod call;
pub mod check;
mod editing;
pub mod emit;
mod end;
mod entering;
mod expand;
mod expect;
mod files;
mod forks;
mod frame;
mod hosts;
mod labels;
pub mod link;
pub mod parse;
mod process;
mod request;
mod resolve;
mod returned;
mod run;
pub mod shell;
#[cfg(test)]
mod tests;
mod waits;

/// How a script runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The timeline's format: text (strace's lines) or JSON Lines.
    pub trace: Format,
    /// `--show-state`: each TCP socket's state after each call.
    pub show_state: bool,
    /// `--timeout`: how long calls still blocked at the end may take.
    pub timeout: Duration,
    /// `--wire`, `--pcap`: the packets of the script's ports among its
    /// lines (`run_file` only; a lab has its own capture).
    pub wire: crate::wire::Options,
    /// The file's name in messages (`-` for stdin).
    pub file_name: String,
    /// `--net N`: the lab network whose hosts `NAME@HOST` actors enter.
    pub net: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            trace: Format::Text,
            show_state: false,
            timeout: Duration::from_secs(5),
            wire: crate::wire::Options::default(),
            file_name: "-".into(),
            net: "socklab".into(),
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct Outcome {
    /// Every expectation held.
    pub pass: bool,
    /// Each call made, in the order it returned.
    pub lines: Vec<Done>,
    /// The failure report (FILE:LINE: ..., expected, got, last calls).
    pub failure: Option<String>,
    /// How each process actor ended, in the order they did.
    pub ends: Vec<(String, crate::sys::untraced::Ended)>,
}

/// One call made.
#[derive(Debug, Clone)]
pub struct Done {
    pub line_no: usize,
    pub actor: String,
    pub call: &'static str,
    pub ret: std::result::Result<i64, nix::errno::Errno>,
    /// Bytes received, if any.
    pub out: Vec<u8>,
    /// The strace line printed.
    pub text: String,
    /// From the call's entry to its return (a lab's verdict may time it).
    pub took: Duration,
}

/// The steps of a script, or each error as `FILE:LINE:COL: message`.
pub fn prepare(text: &str, file: &str) -> std::result::Result<Vec<check::Step>, Vec<String>> {
    let (_, mut errors) = link::directives(text);
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if link::directive(i + 1, line).is_some() {
            continue;
        }
        match parse::parse_line(i + 1, line) {
            Ok(Some(l)) => lines.push(l),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    match check::check(&lines) {
        Ok(steps) if errors.is_empty() => return Ok(steps),
        Ok(_) => {}
        Err(more) => errors.extend(more),
    }
    errors.sort_by_key(|e| (e.line, e.col));
    Err(errors
        .iter()
        .map(|e| format!("{file}:{}:{}: {}", e.line, e.col, e.msg))
        .collect())
}

/// Run a script, its timeline on stdout. Errors in the script are
/// printed on stderr (no call is made) and returned as a usage error.
pub fn run_file(text: &str, opts: &Options) -> Result<Outcome> {
    let tracer = Tracer::new(opts.trace, Box::new(Stream::stdout()));
    match prepare(text, &opts.file_name) {
        Ok(steps) if opts.wire.active() => {
            // --wire, --pcap: the packets of the script's ports, among
            // its lines (the timeline learns the ports from the calls).
            let (tracer, timeline) = crate::wire::timeline(tracer, &opts.wire);
            let sys = crate::sys::Sys::new(tracer.clone());
            let wire = crate::wire::start(&sys, timeline, &opts.wire, &[])?;
            let outcome = run_steps(steps, text, opts, &tracer);
            let stopped = wire.stop(&sys);
            let outcome = outcome?;
            stopped.map(|()| outcome)
        }
        Ok(steps) => run_steps(steps, text, opts, &tracer),
        Err(lines) => {
            let n = lines.len();
            crate::strace::write_line(&mut std::io::stderr().lock(), &lines.join("\n"));
            Err(Error::Usage(format!(
                "{}: {n} error{} in the script; no call was made",
                opts.file_name,
                if n == 1 { "" } else { "s" }
            )))
        }
    }
}

/// Run a script with its timeline through `tracer` (a lab's: actor tags
/// are its sides). Errors in the script: a usage error with every line.
pub fn run_with(text: &str, opts: &Options, tracer: &Tracer) -> Result<Outcome> {
    match prepare(text, &opts.file_name) {
        Ok(steps) => run_steps(steps, text, opts, tracer),
        Err(lines) => Err(Error::Usage(lines.join("\n"))),
    }
}

/// Run `steps` (of `text`, whose `net | set SPEC` lines change the link
/// between them, `link.rs`).
fn run_steps(
    steps: Vec<check::Step>,
    text: &str,
    opts: &Options,
    tracer: &Tracer,
) -> Result<Outcome> {
    let (links, _) = link::directives(text);
    if !links.is_empty() {
        link::check_up(&opts.net)?;
    }
    // Each link change runs before the first step written after it.
    let before: Vec<usize> = steps.iter().map(|s| s.no).collect();
    let mut links = links.into_iter().peekable();
    let n = steps.len();
    let mut runner = run::Runner::new(steps, opts, tracer.clone());
    runner.enter_hosts()?;
    for (id, no) in before.iter().enumerate().take(n) {
        while let Some((at, spec)) = links.next_if(|(at, _)| at < no) {
            runner.before_link(id);
            link::set(tracer, &opts.net, at, &spec)?;
        }
        runner.run_step(id)?;
        if runner.failed() {
            break;
        }
    }
    if !runner.failed() {
        for (at, spec) in links {
            runner.before_link(n);
            link::set(tracer, &opts.net, at, &spec)?;
        }
    }
    runner.end()?;
    let failure = runner.report();
    Ok(Outcome {
        pass: failure.is_none(),
        lines: std::mem::take(&mut runner.done),
        failure,
        ends: std::mem::take(&mut runner.ends),
    })
}

//! The command line as clap reads it: `Cli`, its subcommands and their
//! option groups. Turned into the programs' options by `opts.rs`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::parse::{
    parse_mode, parse_msg_flags, parse_pause, parse_secs, parse_server_recv_flags, parse_sockopt,
    parse_timeout,
};
use crate::inspect::Pause;
use crate::programs::sockopt_list::SockKind;
use crate::programs::stream::SendMode;
use crate::socket::modes::{Setup, Wait};
use crate::values::addr::Addr;
use crate::values::sockopt::Setting;

#[derive(Parser, Debug)]
#[command(
    name = "socklab",
    version,
    about = "A lab for BSD sockets: TCP, UDP and UNIX servers and clients whose every syscall is visible",
    long_about = "A lab for BSD sockets: TCP, UDP and UNIX-domain servers and clients built directly on \
socket/bind/listen/accept4/connect/recvfrom/sendto. Nothing sets a socket option you did not ask for.\n\n\
Servers answer each message upper-cased (the tutorial's phone call) and print `listening on ADDR` \
with the real address once they can take traffic.\n\n\
--trace prints every syscall on stderr exactly as strace prints it; compare with \
`strace -f -e trace=%net,close socklab ...`.",
    after_help = "Start with `socklab demo`. Exit codes: 0 success, 1 a syscall or runtime failure, \
2 a usage error, 128+N killed by signal N."
)]
pub struct Cli {
    /// Print every syscall on stderr: `text` in strace's syntax (the default), or `json` (JSON Lines).
    #[arg(long, global = true, value_name = "FORMAT", num_args = 0..=1, require_equals = true, default_missing_value = "text")]
    pub trace: Option<TraceFormat>,

    /// Write the trace to FILE instead of stderr (implies --trace).
    #[arg(long, global = true, value_name = "FILE")]
    pub trace_file: Option<PathBuf>,

    /// Write the run's calls to FILE as a script (strace's syntax; `socklab script FILE` replays them): a program's trace, or a lab's timeline (its other lines become `#` comments). Text only; with or without --trace.
    #[arg(long, global = true, value_name = "FILE")]
    pub record: Option<PathBuf>,

    /// Stamp each trace line as strace's -t, -tt, -ttt, -r, -T: `t` (10:11:12), `tt` (10:11:12.123456), `ttt` (1700000000.123456), all UTC; `r` (the time since the previous line); `T` (the time the call took, ` <0.000045>` after the result); several joined by commas (`tt,T`). Text trace lines of programs, labs, scripts and demo.
    #[arg(long, global = true, value_name = "t|tt|ttt|r|T", value_parser = crate::strace::stamp::TraceTime::parse)]
    pub trace_time: Option<crate::strace::stamp::TraceTime>,

    /// After each syscall on a TCP socket, print its state (TCP_INFO: ESTABLISHED, CLOSE_WAIT, ...; rtt; unacked; retransmits) and queues (SIOCINQ and SIOCOUTQ, which strace prints as FIONREAD and TIOCOUTQ: the same numbers); for a listener, its accept queue. TCP only: on UDP and UNIX sockets it prints nothing.
    #[arg(long, global = true)]
    pub show_state: bool,

    /// Stop before CALL (e.g. accept4, close) so ss, tcpdump or strace can look: SECS seconds, or until Enter (terminal) or SIGUSR1. Repeatable.
    #[arg(long, global = true, value_name = "CALL[:SECS]", value_parser = parse_pause)]
    pub pause_before: Vec<Pause>,

    /// Stop after CALL (e.g. listen), as --pause-before. Repeatable.
    #[arg(long, global = true, value_name = "CALL[:SECS]", value_parser = parse_pause)]
    pub pause_after: Vec<Pause>,

    /// Stop before every syscall (Enter on a terminal, SIGUSR1 otherwise).
    #[arg(long, global = true)]
    pub step: bool,

    /// Capture the program's packets on lo (AF_PACKET; needs root or CAP_NET_RAW) and print them among the syscalls, by time, as tcpdump -nn prints them (implies --trace). TCP and UDP programs only.
    #[arg(long, global = true)]
    pub wire: bool,

    /// Write the program's packets to FILE as a pcap file (tcpdump -r FILE -nn, Wireshark); with or without --wire.
    #[arg(long, global = true, value_name = "FILE")]
    pub pcap: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// TCP over IPv4 or IPv6 (SOCK_STREAM).
    #[command(subcommand)]
    Tcp(TcpCommand),
    /// UDP over IPv4 or IPv6 (SOCK_DGRAM).
    #[command(subcommand)]
    Udp(UdpCommand),
    /// UNIX-domain sockets on a path or an abstract @NAME (stream, or --dgram).
    #[command(subcommand)]
    Unix(UnixCommand),
    /// Run every server with its client (TCP v4/v6, UDP, UNIX stream, datagram, abstract), traced.
    Demo,
    /// Socket options: `list` prints each option's default on a fresh socket of each type.
    #[command(subcommand)]
    Sockopt(SockoptCommand),
    /// Load a server: rr (request/response), stream (bulk), connect (connections/s), udp (datagrams/s); see BENCHMARKS.md.
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
    /// The tutorial's and UNP's experiments as self-checking runs: `lab list`, `lab NAME`, `lab all`.
    Lab {
        /// `list` (the default), a lab's name, or `all`.
        #[arg(default_value = "list")]
        name: String,
        /// JSON Lines events instead of text (each timeline event with its time).
        #[arg(long)]
        json: bool,
    },
    /// Run a script: socket calls in strace's syntax (what --trace and strace -f print), `NAME | ` actors, `= RESULT` expectations. Its timeline prints on stdout (--trace=json: JSON Lines). Exit 0 when every expectation held, 1 when one did not, 2 for errors in the script (no call made). See `socklab shell` and its `help`.
    Script {
        /// The script file, or - for stdin.
        file: String,
        /// Seconds a call still blocked at the end of the script may take to return.
        #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_secs)]
        timeout: f64,
        /// Print the script as a standalone program instead of running it: `c` (pthreads, cc -Wall -Wextra -Werror -pthread) or `python` (the socket module), making the same calls in the same order.
        #[arg(long, value_name = "LANG", value_parser = ["c", "python"])]
        emit: Option<String>,
        /// With --emit python: print the calls Python makes that the script did not, and why, instead of the program.
        #[arg(long, requires = "emit")]
        explain: bool,
        /// The lab network whose hosts `NAME@HOST | ` actors enter (`socklab net up --name N`).
        #[arg(long, value_name = "N", default_value = "socklab")]
        net: String,
    },
    /// The script language one line at a time: each call runs as typed and prints its strace line; a blocking call gives the prompt back and its result prints when it comes. `help`, `help CALL`, `save FILE`, `quit`.
    Shell {
        /// Seconds a call still blocked when the input ends may take to return.
        #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_secs)]
        timeout: f64,
        /// Line-editing history from FILE and the session's lines appended to it (on a terminal; by default the history lives only as long as the session).
        #[arg(long, value_name = "FILE")]
        history: Option<std::path::PathBuf>,
        /// The lab network whose hosts `NAME@HOST | ` actors enter (`socklab net up --name N`).
        #[arg(long, value_name = "N", default_value = "socklab")]
        net: String,
    },
    /// The lab network: hosts a and b (network namespaces) joined by a link socklab drives (delay, loss, MTU, blackhole, ...). Needs root.
    #[command(subcommand)]
    Net(super::net::NetCommand),
}

#[derive(Subcommand, Debug)]
pub enum SockoptCommand {
    /// Every known option's default value on a fresh socket (UNP's checkopts), and whether it can be set.
    List {
        /// Socket types to show (default: all).
        #[arg(value_enum)]
        kinds: Vec<SockKind>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TcpCommand {
    /// socket, [setsockopt SO_REUSEADDR], bind, listen, getsockname, then accept4 and a recvfrom/sendto loop.
    Server {
        /// HOST:PORT, [IPV6]:PORT or :PORT; port 0 picks an ephemeral port.
        #[arg(default_value = "127.0.0.1:8081", value_parser = Addr::parse_inet)]
        addr: Addr,
        #[command(flatten)]
        common: ServerArgs,
        #[command(flatten)]
        stream: StreamServerArgs,
    },
    /// socket, connect, then per message: sendto, recvfrom; close.
    Client {
        /// HOST:PORT, [IPV6]:PORT or :PORT.
        #[arg(default_value = "127.0.0.1:8081", value_parser = Addr::parse_inet)]
        addr: Addr,
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        stream: StreamClientArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum UdpCommand {
    /// socket, [setsockopt SO_REUSEADDR], bind, getsockname, then a recvfrom/sendto loop.
    Server {
        /// HOST:PORT, [IPV6]:PORT or :PORT; port 0 picks an ephemeral port.
        #[arg(default_value = "127.0.0.1:8082", value_parser = Addr::parse_inet)]
        addr: Addr,
        #[command(flatten)]
        common: ServerArgs,
        /// iterative (recvfrom, sendto), epoll (epoll_wait before each recvfrom) or uring (multishot RECVMSG, SENDMSG SQEs, one io_uring_enter per batch).
        #[arg(long, value_name = "MODEL", default_value = "iterative", value_parser = crate::programs::server_opts::parse_dgram)]
        model: crate::programs::server_opts::Model,
        #[arg(long, value_name = "FLAGS", help = RECV_FLAGS_SERVER, value_parser = parse_server_recv_flags)]
        recv_flags: Vec<i32>,
        /// Up to N datagrams per call: recvmmsg (MSG_WAITFORONE: waits for the first only), then one sendmmsg of the replies; the syscalls per datagram are printed at the end. Models iterative and epoll; not with --timeout or --nonblocking.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
        batch: Option<u32>,
    },
    /// socket, [connect], then per line (empty lines too): sendto, recvfrom; close.
    Client {
        /// HOST:PORT, [IPV6]:PORT or :PORT.
        #[arg(default_value = "127.0.0.1:8082", value_parser = Addr::parse_inet)]
        addr: Addr,
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        dgram: DgramClientArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum UnixCommand {
    /// Check the path, socket, bind, then the stream or datagram server; unlink the file on exit.
    Server {
        /// A filesystem path, or @NAME for the Linux abstract namespace (no file).
        #[arg(default_value = "/tmp/socklab.sock", value_parser = clap::builder::TypedValueParser::try_map(clap::builder::OsStringValueParser::new(), Addr::parse_unix_os))]
        addr: Addr,
        /// SOCK_DGRAM instead of SOCK_STREAM.
        #[arg(long, conflicts_with_all = ["backlog", "naive", "naive_limit", "lines"])]
        dgram: bool,
        /// Remove a socket file already at the path without checking whether anyone answers on it.
        #[arg(long)]
        unlink_stale: bool,
        /// The socket file's permission bits, e.g. 0600 (owner only) or 0660 (owner and group): umask(0777 & ~MODE) around socket and bind, so the file never exists with more. Default: 0777 less the umask (stated at start).
        #[arg(long, value_name = "OCTAL", value_parser = parse_mode)]
        mode: Option<u32>,
        /// Bind even when a directory on the path is a symbolic link (refused by default: a link can put the socket somewhere else than the path says).
        #[arg(long)]
        follow_symlinks: bool,
        /// With --dgram: the flags of each recvfrom (see `udp server --help`).
        #[arg(long, value_name = "FLAGS", requires = "dgram", value_parser = parse_server_recv_flags)]
        recv_flags: Vec<i32>,
        /// With --dgram: recvmmsg/sendmmsg of up to N datagrams per call (see `udp server --help`).
        #[arg(long, value_name = "N", requires = "dgram", value_parser = clap::value_parser!(u32).range(1..=1024))]
        batch: Option<u32>,
        #[command(flatten)]
        common: ServerArgs,
        #[command(flatten)]
        stream: StreamServerArgs,
    },
    /// socket, [autobind for --dgram], connect, then per message: sendto, recvfrom; close.
    Client {
        /// A filesystem path, or @NAME for the Linux abstract namespace.
        #[arg(default_value = "/tmp/socklab.sock", value_parser = clap::builder::TypedValueParser::try_map(clap::builder::OsStringValueParser::new(), Addr::parse_unix_os))]
        addr: Addr,
        /// SOCK_DGRAM instead of SOCK_STREAM (binds an autobind address so replies can come back).
        #[arg(long, conflicts_with_all = ["send_empty", "connect_ex", "lines", "shutdown", "send_mode"])]
        dgram: bool,
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        stream: StreamClientArgs,
        #[command(flatten)]
        dgram_opts: DgramClientArgs,
    },
}

/// Options of every server.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Receive buffer size: the n of recv(n). 0 is a zero-length recv, which returns 0 whether or not the peer closed: a stream program makes one and closes the connection with a note; a datagram is truncated to 0 bytes.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(0..=(64 << 20)))]
    pub bufsize: u32,
    /// setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) before bind (never set otherwise).
    #[arg(long)]
    pub reuseaddr: bool,
    /// The tutorial's first version: one connection (or datagram), one recv, one reply, exit.
    #[arg(long)]
    pub once: bool,
    /// Exit 0 after serving N connections (datagram servers: N datagrams).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_conns: Option<u64>,
    /// Print only the listening line and errors (no output per message).
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub socket: SocketArgs,
}

/// How every socket of a program is set up (servers and clients alike).
#[derive(Args, Debug, Clone)]
pub struct SocketArgs {
    /// Python's settimeout(SECS): ioctl(FIONBIO), then poll with the time left before each call; expiry exits 1. 0 is Python's settimeout(0.0), the same as setblocking(False): --nonblocking.
    #[arg(long, value_name = "SECS", value_parser = parse_timeout, conflicts_with = "nonblocking")]
    pub timeout: Option<f64>,
    /// Python's setblocking(False): ioctl(FIONBIO); a call that would block fails with EAGAIN (shown), then socklab waits in poll and retries.
    #[arg(long)]
    pub nonblocking: bool,
    /// Set an option: NAME=VALUE (right after socket), NAME=VALUE@accepted (on each accepted socket), NAME=VALUE@connected (after connect), or LEVEL:OPTNAME=INT. Values: integers, on/off, on:SECS for SO_LINGER, seconds for timeouts. Read back and shown. Repeatable. See `socklab sockopt list`.
    #[arg(long = "sockopt", value_name = "NAME=VALUE[@PHASE]", value_parser = parse_sockopt)]
    pub sockopts: Vec<Setting>,
    /// Show the socket's names when it connects or is accepted: getsockname and getpeername (a datagram client without --connect: getsockname after its bind, --bind or UNIX autobind, else after the first sendto, which binds it).
    #[arg(long)]
    pub names: bool,
    /// The kernel's receive timeout, for comparison with --timeout: SO_RCVTIMEO, a blocking recv that fails with EAGAIN.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub rcvtimeo: Option<f64>,
    /// The kernel's send timeout: SO_SNDTIMEO, a blocking send that fails with EAGAIN.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub sndtimeo: Option<f64>,
}

impl SocketArgs {
    pub fn setup(&self) -> Setup {
        let wait = match (self.timeout, self.nonblocking) {
            // Python: settimeout(0.0) is setblocking(False).
            (Some(0.0), _) => Wait::NonBlocking,
            (Some(secs), _) => Wait::Timeout(Duration::from_secs_f64(secs)),
            (None, true) => Wait::NonBlocking,
            (None, false) => Wait::Blocking,
        };
        let mut sockopts = self.sockopts.clone();
        for (name, secs) in [
            ("SO_RCVTIMEO", self.rcvtimeo),
            ("SO_SNDTIMEO", self.sndtimeo),
        ] {
            if let Some(secs) = secs
                && let Ok(setting) =
                    crate::values::sockopt::parse_setting(&format!("{name}={secs}"))
            {
                sockopts.push(setting);
            }
        }
        Setup {
            wait,
            sockopts,
            names: self.names,
            send_flags: 0,
            recv_flags: 0,
        }
    }
}

/// Options of the stream servers only.
#[derive(Args, Debug, Clone)]
pub struct StreamServerArgs {
    /// listen(fd, N): the accept queue's length (the tutorial's listen(5)); any C int, as listen(2) takes: the kernel caps it at net.core.somaxconn, and takes a negative one (-1) as that cap (--trace says which).
    #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = clap::value_parser!(i32))]
    pub backlog: i32,
    /// The tutorial's server without the `len(msg) == 0` check: show the spin after the peer closes.
    #[arg(long, conflicts_with = "once")]
    pub naive: bool,
    /// Python's makefile(): read through a buffer line by line and answer each line, however recv split the bytes.
    #[arg(long, conflicts_with_all = ["naive", "once"])]
    pub lines: bool,
    /// How many zero-length recv returns the --naive server makes before it stops.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub naive_limit: u64,
    /// Read and discard: no reply (a target for `socklab bench stream`).
    #[arg(long, conflicts_with_all = ["naive", "once", "lines"])]
    pub sink: bool,
    /// How the server handles many clients: iterative (one at a time, the tutorial's), fork (a process per connection), thread (a thread per connection), prefork:N / prethread:N (a pool of N sharing the listening socket), poll / epoll (one thread, non-blocking event loop), uring (one thread, io_uring: one io_uring_enter per loop iteration). UNIX --dgram: iterative, epoll or uring.
    #[arg(long, value_name = "MODEL", default_value = "iterative", value_parser = crate::programs::server_opts::parse)]
    pub model: crate::programs::server_opts::Model,
}

/// Options of every client.
#[derive(Args, Debug, Clone)]
pub struct ClientArgs {
    /// Send TEXT instead of reading lines from stdin (repeatable, in order).
    /// Any bytes, as C's argv and Python's surrogateescape: not only UTF-8.
    #[arg(short, long = "message", value_name = "TEXT", value_parser = clap::value_parser!(std::ffi::OsString))]
    pub messages: Vec<std::ffi::OsString>,
    /// Receive buffer size: the n of recv(n). 0 is a zero-length recv, which returns 0 whether or not the peer closed: a stream program makes one and closes the connection with a note; a datagram is truncated to 0 bytes.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(0..=(64 << 20)))]
    pub bufsize: u32,
    /// Send one message of N bytes of a lowercase pattern instead of lines (stream clients read the whole echo back; force partial sends with a small SO_SNDBUF).
    #[arg(long, value_name = "N", conflicts_with = "messages", value_parser = clap::value_parser!(u32).range(1..=(1 << 30)))]
    pub size: Option<u32>,
    /// Print the server's bytes as they came. Without it, when stdout is a terminal, control characters are shown escaped as in the trace (\\33 for ESC), so a server cannot send escape sequences to the terminal; stdout that is not a terminal always gets them raw.
    #[arg(long)]
    pub raw: bool,
    /// Send the messages and read nothing back (no recvfrom): for a peer that does not answer (`nc -l`, a --sink server); then close.
    #[arg(long, conflicts_with = "recv_flags")]
    pub no_reply: bool,
    /// bind(ADDR) before connect (datagrams: before the first sendto), as Stevens' `sock -b`: HOST:PORT (port 0: the kernel picks the port) or a UNIX path/@NAME (a path's socket file stays after the client exits).
    #[arg(long, value_name = "ADDR", value_parser = clap::value_parser!(std::ffi::OsString))]
    pub bind: Option<std::ffi::OsString>,
    /// Flags of each message's sendto, names joined by | or the option repeated: MSG_DONTWAIT (EAGAIN instead of waiting for room), MSG_OOB (TCP: the last byte urgent), MSG_MORE (hold the bytes for more: a cork), MSG_NOSIGNAL (EPIPE without SIGPIPE); also MSG_PEEK, MSG_WAITALL, MSG_TRUNC (passed as given).
    #[arg(long, value_name = "FLAGS", value_parser = parse_msg_flags)]
    pub send_flags: Vec<i32>,
    #[arg(long, value_name = "FLAGS", help = RECV_FLAGS_CLIENT, value_parser = parse_msg_flags)]
    pub recv_flags: Vec<i32>,
    #[command(flatten)]
    pub socket: SocketArgs,
}

/// `--recv-flags` of the clients.
const RECV_FLAGS_CLIENT: &str = "Flags of each reply's recvfrom, names joined by | or the option repeated: MSG_PEEK (each reply is peeked, printed, then read by a recvfrom without it: the bytes show twice), MSG_WAITALL (a stream recv waits for all --bufsize bytes or the peer's close), MSG_DONTWAIT (-1 EAGAIN when nothing is there yet), MSG_TRUNC (a datagram's real length; a truncated one is reported. TCP: the bytes are discarded, not copied, tcp(7): their count is said instead), MSG_OOB (a stream's urgent byte, TCP or UNIX stream: EINVAL when none is waiting; UDP ignores it and reads the datagram as without it; a UNIX datagram socket fails with EOPNOTSUPP); also MSG_MORE, MSG_NOSIGNAL (passed as given).";

/// `--recv-flags` of the datagram servers.
const RECV_FLAGS_SERVER: &str = "Flags of each recvfrom, names joined by | or the option repeated: MSG_TRUNC (the datagram's real length: one longer than --bufsize is reported as truncated; without it recvfrom returns only the bytes it kept), MSG_DONTWAIT (-1 EAGAIN when no datagram is there), MSG_WAITALL, MSG_MORE, MSG_NOSIGNAL (passed as given: a UDP recvfrom returns one datagram with or without them), MSG_OOB (UDP ignores it and reads the datagram as without it; a UNIX datagram socket fails with EOPNOTSUPP: only a stream has an urgent byte). Not MSG_PEEK: the server would read the same datagram forever.";

/// Options of the stream clients only.
#[derive(Args, Debug, Clone)]
pub struct StreamClientArgs {
    /// Send empty lines too: a zero-length send puts nothing on the wire and the next recv blocks (pair with --timeout).
    #[arg(long)]
    pub send_empty: bool,
    /// Connect like Python's connect_ex: print the error code instead of failing, then carry on.
    #[arg(long)]
    pub connect_ex: bool,
    /// Python's makefile(): send every line with its newline first, then read the replies line by line through a buffer, showing what each recv carried.
    #[arg(long, conflicts_with_all = ["size", "send_empty", "no_reply", "send_flags", "recv_flags"])]
    pub lines: bool,
    /// After the last message, half-close (shutdown SHUT_WR) and keep reading until the server closes.
    #[arg(long)]
    pub shutdown: bool,
    /// Python's send (one sendto, may send less; reported) or sendall (loop until all is out).
    #[arg(long, value_enum, default_value = "sendall")]
    pub send_mode: SendMode,
}

/// Options of the datagram clients only.
#[derive(Args, Debug, Clone)]
pub struct DgramClientArgs {
    /// connect() the datagram socket, then send/recv without addresses (UNIX: needs --dgram).
    #[arg(long)]
    pub connect: bool,
}

/* args.c: the command line and the client's messages (args.h). */
#define _GNU_SOURCE
#include "args.h"
#include "modes.h"
#include "unp.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void twin_init(const char *name) {
    prog = name;
    /* Parity with socklab: the Rust runtime ignores SIGPIPE, so a send to a
     * closed peer fails with EPIPE instead of killing the program. */
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
}

static _Noreturn void usage(const char *fmt, const char *arg) {
    fprintf(stderr, "%s: error: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see %s --help)\n", prog);
    exit(2);
}

static unsigned long long number(const char *opt, const char *s,
                                 unsigned long long lo, unsigned long long hi) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno || v < lo || v > hi) {
        char what[64];
        snprintf(what, sizeof what, "invalid value '%%s' for '%s'", opt);
        usage(what, s);
    }
    return v;
}

/* Any C int, as listen(2) takes (clap's i32): an optional '-', digits. */
static int c_int(const char *opt, const char *s) {
    const char *digits = *s == '-' ? s + 1 : s;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*digits < '0' || *digits > '9' || *end || errno || v < INT_MIN || v > INT_MAX) {
        char what[64];
        snprintf(what, sizeof what, "invalid value '%%s' for '%s'", opt);
        usage(what, s);
    }
    return (int)v;
}

/* Rust's trim_ascii: space, \t, \n, \f, \r (not \v). */
static bool ascii_ws(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

unsigned char *next_message(struct opts *o, size_t *i, size_t *n) {
    if (o->size > 0) {
        /* --size N: N bytes of `abc...xyz` repeated, lowercase, so the
         * upper-cased echo is checkable. */
        if ((*i)++ > 0)
            return NULL;
        unsigned char *pattern = Malloc(o->size, "--size");
        for (size_t k = 0; k < o->size; k++)
            pattern[k] = 'a' + k % 26;
        *n = o->size;
        return pattern;
    }
    if (o->n_messages > 0) {
        if (*i >= o->n_messages)
            return NULL;
        char *m = o->messages[(*i)++];
        *n = strlen(m);
        unsigned char *copy = malloc(*n + 1);
        memcpy(copy, m, *n + 1);
        return copy;
    }
    /* stdin, as the tutorial's input('>>: ').strip(); the prompt only on a
     * terminal (isatty: ioctl(0, TCGETS), as Rust's is_terminal). */
    if (isatty(0)) {
        fputs(">>: ", stdout);
        fflush(stdout);
    }
    /* At most LINE_LIMIT bytes and the newline: stdin without newlines
     * (< /dev/zero) cannot make the line grow forever. */
    char *line = malloc(LINE_LIMIT + 2);
    size_t len = 0;
    int c;
    while (len < LINE_LIMIT + 1 && (c = getc(stdin)) != EOF) {
        line[len++] = (char)c;
        if (c == '\n')
            break;
    }
    if (len == 0) {
        free(line);
        return NULL;
    }
    if (len == LINE_LIMIT + 1 && line[len - 1] != '\n')
        err_quit(1, "a stdin line longer than %d bytes (no newline in its first %d): "
                    "over the client's line limit; split it into lines, or send a "
                    "pattern with --size", LINE_LIMIT, LINE_LIMIT);
    size_t start = 0, end = (size_t)len;
    while (start < end && ascii_ws(line[start]))
        start++;
    while (end > start && ascii_ws(line[end - 1]))
        end--;
    memmove(line, line + start, end - start);
    *n = end - start;
    (*i)++;
    return (unsigned char *)line;
}

/* socklab's cli::parse_secs: 0.001 to 1000000, finite (poll(2) counts
 * milliseconds: a shorter time would be 0, non-blocking). A usage error
 * (exit 2) before any syscall. */
static double seconds_arg(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0.001 && v <= 1e6))
        usage("'%s' is not a number of seconds (0.001 to 1000000)", s);
    return v;
}

/* --timeout: as seconds_arg, or 0 (Python's settimeout(0.0)). */
static double timeout_arg(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end != s && !*end && v == 0 && *s != '-')
        return 0;
    if (end == s || *end || !(v >= 0.001 && v <= 1e6))
        usage("'%s' is not a number of seconds (0, or 0.001 to 1000000)", s);
    return v;
}

static void add_setting(struct opts *o, const char *text) {
    const char *why = parse_setting(text, &o->sockopts[o->n_sockopts]);
    if (why) {
        char msg[512];
        snprintf(msg, sizeof msg, "invalid value '%s' for '--sockopt': %s", text, why);
        usage("%s", msg);
    }
    o->n_sockopts++;
}

/* --rcvtimeo/--sndtimeo: a created-phase SO_RCVTIMEO/SO_SNDTIMEO setting. */
static void add_timeo(struct opts *o, const char *name, const char *secs) {
    char text[128];
    if (!secs)
        return;
    snprintf(text, sizeof text, "%s=%s", name, secs);
    add_setting(o, text);
}

/* As socklab: a --sockopt whose phase this program never reaches would
 * silently never be set; refuse it (exit 2) before any syscall. */
static void check_phases(const struct opts *o, unsigned groups) {
    bool accepts = (groups & OPT_STREAM_SERVER) && !o->dgram;
    bool connects = ((groups & OPT_STREAM_CLIENT) && !o->dgram) ||
                    ((groups & OPT_DGRAM_CLIENT) && o->connect);
    for (size_t i = 0; i < o->n_sockopts; i++) {
        const struct setting *s = &o->sockopts[i];
        char msg[256];
        if (s->phase == PH_ACCEPTED && !accepts)
            snprintf(msg, sizeof msg, "--sockopt %s@accepted: only a stream server "
                     "accepts connections", s->opt.user_name);
        else if (s->phase == PH_CONNECTED && !connects)
            snprintf(msg, sizeof msg, "--sockopt %s@connected: only a stream client, "
                     "or a datagram client with --connect, connects", s->opt.user_name);
        else
            continue;
        usage("%s", msg);
    }
}

/* --mode OCTAL: 0 to 0777, as socklab's cli::parse_mode (`0600`, `660`, `0o600`). */
static int mode_arg(const char *s) {
    const char *d = strncmp(s, "0o", 2) ? s : s + 2;
    size_t n = strlen(d);
    if (n == 0 || n > 4 || strspn(d, "01234567") != n || strtol(d, NULL, 8) > 0777)
        usage("'%s' is not an octal file mode from 0 to 0777 (e.g. 0600, 0660)", s);
    return (int)strtol(d, NULL, 8);
}

/* --send-flags/--recv-flags: names joined by | (socklab's
 * cli::parse::parse_msg_flags); a server's not MSG_PEEK. */
static int msg_flags(const char *opt, const char *s, bool server) {
    static const struct { const char *name; int bit; } all[] = {
        {"MSG_PEEK", MSG_PEEK}, {"MSG_WAITALL", MSG_WAITALL},
        {"MSG_DONTWAIT", MSG_DONTWAIT}, {"MSG_OOB", MSG_OOB}, {"MSG_MORE", MSG_MORE},
        {"MSG_NOSIGNAL", MSG_NOSIGNAL}, {"MSG_TRUNC", MSG_TRUNC},
    };
    int flags = 0;
    char copy[256];
    snprintf(copy, sizeof copy, "%s", s);
    for (char *save, *name = strtok_r(copy, "|", &save); name;
         name = strtok_r(NULL, "|", &save)) {
        size_t i = 0;
        while (i < sizeof all / sizeof all[0] && strcmp(all[i].name, name))
            i++;
        if (i == sizeof all / sizeof all[0]) {
            char what[256];
            snprintf(what, sizeof what, "invalid value '%s' for '%s <FLAGS>': '%%s' is not a "
                     "flag: MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT, MSG_OOB, MSG_MORE, "
                     "MSG_NOSIGNAL, MSG_TRUNC (joined with |, or the option repeated)", s, opt);
            usage(what, name);
        }
        flags |= all[i].bit;
    }
    if (server && (flags & MSG_PEEK))
        usage("invalid value '%s' for '--recv-flags <FLAGS>': MSG_PEEK leaves the datagram "
              "queued: the server would read the same one forever (the clients take it)", s);
    return flags;
}

void parse_args(int argc, char **argv, unsigned groups, bool unix_addr,
                const char *default_addr, struct opts *o) {
    enum { BACKLOG = 256, BUFSIZE, REUSEADDR, ONCE, MAXCONNS, TIMEOUT, NAIVE,
           NAIVELIMIT, SENDEMPTY, CONNECTEX, CONNECT, DGRAM, UNLINKSTALE, HELP,
           NONBLOCKING, SOCKOPT, RCVTIMEO, SNDTIMEO, SIZE, SENDMODE, NAMES,
           LINES, SHUTDOWN, SHOWSTATE, MODE, FOLLOWSYMLINKS, SINK, MODEL,
           NOREPLY, BIND, SENDFLAGS, RECVFLAGS, BATCH };
    struct { unsigned group; struct option opt; } all[] = {
        {OPT_SERVER | OPT_CLIENT, {"bufsize", required_argument, 0, BUFSIZE}},
        {OPT_SERVER | OPT_CLIENT, {"timeout", required_argument, 0, TIMEOUT}},
        {OPT_SERVER | OPT_CLIENT, {"nonblocking", no_argument, 0, NONBLOCKING}},
        {OPT_SERVER | OPT_CLIENT, {"sockopt", required_argument, 0, SOCKOPT}},
        {OPT_SERVER | OPT_CLIENT, {"rcvtimeo", required_argument, 0, RCVTIMEO}},
        {OPT_SERVER | OPT_CLIENT, {"sndtimeo", required_argument, 0, SNDTIMEO}},
        {OPT_SERVER | OPT_CLIENT, {"names", no_argument, 0, NAMES}},
        {OPT_STREAM_SERVER | OPT_STREAM_CLIENT, {"lines", no_argument, 0, LINES}},
        {OPT_STREAM_CLIENT, {"shutdown", no_argument, 0, SHUTDOWN}},
        {OPT_CLIENT, {"size", required_argument, 0, SIZE}},
        {OPT_STREAM_CLIENT, {"send-mode", required_argument, 0, SENDMODE}},
        {OPT_SERVER, {"reuseaddr", no_argument, 0, REUSEADDR}},
        {OPT_SERVER, {"once", no_argument, 0, ONCE}},
        {OPT_SERVER, {"max-conns", required_argument, 0, MAXCONNS}},
        {OPT_SERVER, {"quiet", no_argument, 0, 'q'}},
        {OPT_SERVER, {"model", required_argument, 0, MODEL}},
        {OPT_STREAM_SERVER, {"backlog", required_argument, 0, BACKLOG}},
        {OPT_STREAM_SERVER, {"naive", no_argument, 0, NAIVE}},
        {OPT_STREAM_SERVER, {"sink", no_argument, 0, SINK}},
        {OPT_STREAM_SERVER, {"naive-limit", required_argument, 0, NAIVELIMIT}},
        {OPT_CLIENT, {"message", required_argument, 0, 'm'}},
        {OPT_CLIENT, {"no-reply", no_argument, 0, NOREPLY}},
        {OPT_CLIENT, {"bind", required_argument, 0, BIND}},
        {OPT_CLIENT, {"send-flags", required_argument, 0, SENDFLAGS}},
        {OPT_CLIENT | OPT_DGRAM_SERVER, {"recv-flags", required_argument, 0, RECVFLAGS}},
        {OPT_DGRAM_SERVER, {"batch", required_argument, 0, BATCH}},
        {OPT_STREAM_CLIENT, {"send-empty", no_argument, 0, SENDEMPTY}},
        {OPT_STREAM_CLIENT, {"connect-ex", no_argument, 0, CONNECTEX}},
        {OPT_DGRAM_CLIENT, {"connect", no_argument, 0, CONNECT}},
        {OPT_UNIX, {"dgram", no_argument, 0, DGRAM}},
        {OPT_UNIX_SERVER, {"unlink-stale", no_argument, 0, UNLINKSTALE}},
        {OPT_UNIX_SERVER, {"mode", required_argument, 0, MODE}},
        {OPT_UNIX_SERVER, {"follow-symlinks", no_argument, 0, FOLLOWSYMLINKS}},
        {~0u, {"show-state", no_argument, 0, SHOWSTATE}},
        {~0u, {"help", no_argument, 0, HELP}},
    };
    struct option longopts[sizeof all / sizeof all[0] + 1];
    size_t k = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i].group & groups)
            longopts[k++] = all[i].opt;
    memset(&longopts[k], 0, sizeof longopts[k]);
    const char *shortopts = groups & OPT_SERVER ? "q" : "m:";

    memset(o, 0, sizeof *o);
    o->backlog = 5;
    o->bufsize = 1024;
    o->naive_limit = 10;
    o->send_all = true;
    o->mode = -1;
    o->messages = calloc(argc, sizeof *o->messages);
    o->sockopts = calloc(argc + 2, sizeof *o->sockopts);
    const char *address = default_addr, *rcvtimeo = NULL, *sndtimeo = NULL, *bind = NULL;
    bool timeout_set = false;
    int positional = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        switch (c) {
        case BACKLOG: /* -1: the kernel takes it as net.core.somaxconn */
            o->backlog = c_int("--backlog", optarg);
            break;
        case BUFSIZE: o->bufsize = number("--bufsize", optarg, 0, 64 << 20); break;
        case MAXCONNS: o->max_conns = number("--max-conns", optarg, 1, ULLONG_MAX); break;
        case BATCH: o->batch = number("--batch", optarg, 1, 1024); break;
        case NAIVELIMIT: o->naive_limit = number("--naive-limit", optarg, 1, 1000000); break;
        case TIMEOUT: o->timeout = timeout_arg(optarg); timeout_set = true; break;
        case REUSEADDR: o->reuseaddr = true; break;
        case ONCE: o->once = true; break;
        case 'q': o->quiet = true; break;
        case NAIVE: o->naive = true; break;
        case SENDEMPTY: o->send_empty = true; break;
        case CONNECTEX: o->connect_ex = true; break;
        case CONNECT: o->connect = true; break;
        case DGRAM: o->dgram = true; break;
        case UNLINKSTALE: o->unlink_stale = true; break;
        case MODE: o->mode = mode_arg(optarg); break;
        case FOLLOWSYMLINKS: o->follow_symlinks = true; break;
        case 'm': o->messages[o->n_messages++] = optarg; break;
        case NONBLOCKING: o->nonblocking = true; break;
        case NAMES: o->names = true; break;
        case LINES: o->lines = true; break;
        case SINK: o->sink = true; break;
        case SHUTDOWN: o->shutdown = true; break;
        case SHOWSTATE: show_state = true; break;
        case MODEL:
            if (!strcmp(optarg, "iterative")) o->model = MODEL_ITERATIVE;
            else if (!strcmp(optarg, "fork")) o->model = MODEL_FORK;
            else if (!strcmp(optarg, "thread")) o->model = MODEL_THREAD;
            else if (!strcmp(optarg, "poll")) o->model = MODEL_POLL;
            else if (!strcmp(optarg, "epoll")) o->model = MODEL_EPOLL;
            else if (!strcmp(optarg, "uring")) o->model = MODEL_URING;
            else if (!strncmp(optarg, "prefork:", 8)) {
                o->model = MODEL_PREFORK;
                o->pool = number("--model prefork:N", optarg + 8, 1, 1024);
            } else if (!strncmp(optarg, "prethread:", 10)) {
                o->model = MODEL_PRETHREAD;
                o->pool = number("--model prethread:N", optarg + 10, 1, 1024);
            } else
                usage("'%s' is not a model: iterative, fork, thread, prefork:N, "
                      "prethread:N, poll, epoll or uring", optarg);
            break;
        case SOCKOPT: add_setting(o, optarg); break;
        case RCVTIMEO: seconds_arg(rcvtimeo = optarg); break;
        case SNDTIMEO: seconds_arg(sndtimeo = optarg); break;
        case SIZE: o->size = number("--size", optarg, 1, 1 << 30); break;
        case NOREPLY: o->no_reply = true; break;
        case BIND: bind = optarg; break;
        case SENDFLAGS: o->send_flags |= msg_flags("--send-flags", optarg, false); break;
        case RECVFLAGS:
            o->recv_flags |= msg_flags("--recv-flags", optarg, groups & OPT_DGRAM_SERVER);
            break;
        case SENDMODE:
            if (strcmp(optarg, "send") && strcmp(optarg, "sendall"))
                usage("invalid value '%s' for '--send-mode' (send or sendall)", optarg);
            o->send_all = !strcmp(optarg, "sendall");
            break;
        case HELP:
            printf("usage: %s [OPTIONS] [ADDR]  (the C twin of socklab's program; "
                   "same options, see socklab --help)\n", prog);
            if (groups & OPT_SERVER)
                printf("  --model MODEL  iterative, %s\n",
                       groups & OPT_STREAM_SERVER
                           ? "fork, thread, prefork:N, prethread:N, poll, epoll, uring"
                           : "epoll, uring");
            exit(0);
        default:
            usage("unexpected or incomplete argument '%s'", argv[optind - 1]);
        }
    }
    for (; optind < argc; optind++, positional++)
        address = argv[optind];
    if (positional > 1)
        usage("unexpected argument '%s'", argv[argc - 1]);
    if (o->naive && o->once)
        usage("the argument '%s' cannot be used with '--once'", "--naive");
    if (o->sink && (o->naive || o->once || o->lines))
        usage("the argument '%s' cannot be used with '--naive', '--once' or '--lines'", "--sink");
    if (timeout_set && o->nonblocking)
        usage("the argument '%s' cannot be used with '--nonblocking'", "--timeout");
    /* Python: settimeout(0.0) is setblocking(False). */
    if (timeout_set && o->timeout == 0)
        o->nonblocking = true;
    if (o->lines && (o->naive || o->once))
        usage("the argument '%s' cannot be used with '--naive' or '--once'", "--lines");
    if (o->lines && (o->size || o->send_empty))
        usage("the argument '%s' cannot be used with '--size' or '--send-empty'", "--lines");
    if (o->dgram && (o->lines || o->shutdown))
        usage("the argument '%s' cannot be used with '--lines' or '--shutdown'", "--dgram");
    bool event_loop = o->model == MODEL_EPOLL || o->model == MODEL_POLL || o->model == MODEL_URING;
    if (event_loop && (o->timeout > 0 || o->nonblocking))
        usage("--model %s: the event loop's sockets are non-blocking already "
              "(accept4 SOCK_NONBLOCK); drop --timeout/--nonblocking",
              o->model == MODEL_POLL ? "poll" : o->model == MODEL_URING ? "uring" : "epoll");
    if (event_loop && (o->lines || o->naive))
        usage("--model %s: --lines and --naive need a blocking model (iterative, "
              "fork, thread, prefork:N, prethread:N)", o->model == MODEL_POLL ? "poll" : o->model == MODEL_URING ? "uring" : "epoll");
    if (!(groups & OPT_STREAM_SERVER) || o->dgram)
        if (o->model != MODEL_ITERATIVE && o->model != MODEL_EPOLL && o->model != MODEL_URING)
            usage("%s", "not a datagram server model: iterative, epoll or uring");
    if (o->model == MODEL_URING && o->recv_flags)
        usage("%s", "--model uring: the multishot RECVMSG takes no --recv-flags; use --model "
                    "iterative or epoll");
    if (o->no_reply && o->recv_flags)
        usage("the argument '%s' cannot be used with '--recv-flags <FLAGS>'", "--no-reply");
    if (o->lines && (o->no_reply || o->send_flags || o->recv_flags))
        usage("the argument '%s' cannot be used with '--no-reply', '--send-flags' or "
              "'--recv-flags'", "--lines");
    if ((groups & OPT_UNIX_SERVER) && o->recv_flags && !o->dgram)
        usage("%s", "the following required arguments were not provided: --dgram");
    if ((groups & OPT_UNIX_SERVER) && o->batch && !o->dgram)
        usage("%s", "the following required arguments were not provided: --dgram");
    if (o->batch && o->model != MODEL_ITERATIVE && o->model != MODEL_EPOLL)
        usage("%s", "--batch works with --model iterative or epoll");
    if (o->batch && (o->timeout > 0 || o->nonblocking))
        usage("%s", "--batch waits in recvmmsg (MSG_WAITFORONE): not with --timeout or --nonblocking");
    if (bind) {
        o->bind = true;
        if (!(unix_addr ? addr_parse_unix(bind, &o->local) : addr_parse_inet(bind, &o->local)))
            usage("--bind %s: not an address", bind);
    }
    if (o->size && o->n_messages)
        usage("the argument '%s' cannot be used with '--message'", "--size");
    /* As socklab: --rcvtimeo, then --sndtimeo, after the --sockopt ones. */
    add_timeo(o, "SO_RCVTIMEO", rcvtimeo);
    add_timeo(o, "SO_SNDTIMEO", sndtimeo);
    o->wait = o->nonblocking ? WAIT_NONBLOCKING : o->timeout;
    if (!(unix_addr ? addr_parse_unix(address, &o->addr) : addr_parse_inet(address, &o->addr)))
        usage("invalid address '%s'", address);
    check_phases(o, groups);
}

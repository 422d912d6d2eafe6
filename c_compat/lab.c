/* lab.c: the command line, addresses, printing and Python's wait modes
 * shared by socklab's C twins (see lab.h). */
#include "lab.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void lab_init(const char *name) {
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

static int parse_port(const char *s) {
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 5 || atoi(s) > 65535)
        return -1;
    return atoi(s);
}

/* HOST:PORT, [IPV6]:PORT, :PORT or localhost:PORT; numeric only (inet_pton,
 * no resolver: a resolver would add socket calls of its own). */
static bool parse_inet(const char *s, struct addr *a) {
    char host[INET6_ADDRSTRLEN + 2];
    memset(a, 0, sizeof *a);
    if (s[0] == '[') {
        const char *close = strstr(s, "]:");
        if (!close || (size_t)(close - s - 1) >= sizeof host)
            return false;
        memcpy(host, s + 1, close - s - 1);
        host[close - s - 1] = 0;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
        int port = parse_port(close + 2);
        if (port < 0 || inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
            return false;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        a->len = sizeof *sin6;
        return true;
    }
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return false;
    memcpy(host, s, colon - s);
    host[colon - s] = 0;
    struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
    int port = parse_port(colon + 1);
    if (port < 0)
        return false;
    if (!*host || !strcmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
        return false;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    a->len = sizeof *sin;
    return true;
}

/* /path (length SUN_LEN, no NUL) or @NAME (2 + 1 + strlen(NAME)). */
static bool parse_unix(const char *s, struct addr *a) {
    struct sockaddr_un *sun = (struct sockaddr_un *)&a->ss;
    memset(a, 0, sizeof *a);
    if (!*s || !strcmp(s, "@") || strlen(s) > sizeof sun->sun_path - 1)
        return false;
    sun->sun_family = AF_UNIX;
    if (s[0] == '@') {
        memcpy(sun->sun_path + 1, s + 1, strlen(s + 1));
        a->len = offsetof(struct sockaddr_un, sun_path) + strlen(s);
    } else {
        memcpy(sun->sun_path, s, strlen(s));
        a->len = offsetof(struct sockaddr_un, sun_path) + strlen(s);
    }
    return true;
}

struct addr addr_autobind(void) {
    struct addr a;
    memset(&a, 0, sizeof a);
    a.ss.ss_family = AF_UNIX;
    a.len = sizeof(sa_family_t);
    return a;
}

int addr_family(const struct addr *a) { return a->ss.ss_family; }
bool addr_is_unix(const struct addr *a) { return a->ss.ss_family == AF_UNIX; }

const char *addr_unix_path(const struct addr *a) {
    const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->ss;
    if (!addr_is_unix(a) || a->len <= offsetof(struct sockaddr_un, sun_path) ||
        sun->sun_path[0] == 0)
        return NULL;
    return sun->sun_path; /* zero-filled storage: NUL-terminated */
}

const char *addr_str(const struct addr *a) {
    static char text[2][160];
    static int which;
    char *out = text[which ^= 1];
    char ip[INET6_ADDRSTRLEN];
    switch (a->ss.ss_family) {
    case AF_INET: {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
        snprintf(out, sizeof text[0], "%s:%d", ip, ntohs(sin->sin_port));
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
        snprintf(out, sizeof text[0], "[%s]:%d", ip, ntohs(sin6->sin6_port));
        break;
    }
    case AF_UNIX: {
        const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->ss;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        size_t n = a->len > off ? a->len - off : 0;
        if (n == 0)
            snprintf(out, sizeof text[0], "(unnamed)");
        else if (sun->sun_path[0] == 0)
            snprintf(out, sizeof text[0], "@%.*s", (int)(n - 1), sun->sun_path + 1);
        else
            snprintf(out, sizeof text[0], "%.*s", (int)strnlen(sun->sun_path, n), sun->sun_path);
        break;
    }
    default:
        snprintf(out, sizeof text[0], "{sa_family=%d}", a->ss.ss_family);
    }
    return out;
}

void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* strace's printstr escaping (socklab's trace::quote, never cut). */
static void quote(FILE *f, const unsigned char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\f': fputs("\\f", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\v': fputs("\\v", f); break;
        default:
            if (c >= 0x20 && c <= 0x7e)
                fputc(c, f);
            else if (i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '7')
                fprintf(f, "\\%03o", c);
            else
                fprintf(f, "\\%o", c);
        }
    }
    fputc('"', f);
}

void print_shown(FILE *f, const unsigned char *msg, size_t n) {
    fprintf(f, "%zu %s ", n, n == 1 ? "byte" : "bytes");
    quote(f, msg, n);
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

void warn_fail(const struct fail *f) {
    if (f->err)
        warn_sys(f->call, f->err);
    else
        fprintf(stderr, "%s: %s: timed out after %gs\n", prog, f->call, f->secs);
}

_Noreturn void die_fail(const struct fail *f) {
    if (f->err)
        err_sys(f->call, f->err);
    err_quit(1, "%s: timed out after %gs", f->call, f->secs);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 0 (blocking) or the moment the call's timeout expires. */
static double deadline_of(double wait) { return wait > 0 ? now() + wait : 0; }

static int failed(struct fail *f, const char *call, int err, double secs) {
    f->call = call;
    f->err = err;
    f->secs = secs;
    return -1;
}

/* The time left until deadline in whole ms, rounded up as CPython does. */
static int ms_left(double deadline) {
    double left = deadline - now();
    if (left < 0)
        left = 0;
    long long ns = (long long)(left * 1e9);
    long long ms = (ns + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* In timeout mode: poll(events, ms left, rounded up as CPython does);
 * a poll that returns 0 is a timeout. */
static int ready(int fd, short events, double deadline, double wait,
                 const char *call, struct fail *f) {
    if (deadline == 0)
        return 0;
    short revents;
    int r = r_poll(fd, events, ms_left(deadline), &revents);
    if (r < 0)
        return failed(f, "poll", errno, 0);
    if (r == 0)
        return failed(f, call, 0, wait);
    return 0;
}

/* Rust's `{:?}` of an f64: the shortest digits that read back as v, in
 * decimal notation (`2.0`, `0.3`, `0.0001`) when 1e-4 <= |v| < 1e16 or v is
 * 0, else as `1e-5`, `1.5e-5`. */
const char *rust_f64(double v, char *out, size_t n) {
    char e[40];
    for (int p = 0; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p, v);
        if (strtod(e, NULL) == v)
            break;
    }
    /* e is `[-]D[.DDD]e[+-]XX`: the digits and the exponent. */
    char digits[24], *d = digits, *s = e;
    bool neg = *s == '-';
    if (neg)
        s++;
    for (; *s != 'e'; s++)
        if (*s != '.')
            *d++ = *s;
    *d = 0;
    int exp = atoi(s + 1);
    while (d > digits + 1 && d[-1] == '0')
        *--d = 0;
    int nd = (int)strlen(digits);
    double a = fabs(v);
    if (a != 0 && (a < 1e-4 || a >= 1e16)) {
        snprintf(out, n, "%s%c%s%se%d", neg ? "-" : "", digits[0],
                 nd > 1 ? "." : "", digits + 1, exp);
        return out;
    }
    /* Decimal: the point goes after digit exp + 1 (zeros fill the gap). */
    char dec[64];
    size_t k = 0;
    if (neg)
        dec[k++] = '-';
    if (a == 0 || exp < 0) {
        dec[k++] = '0';
        dec[k++] = '.';
        for (int z = 0; a != 0 && z < -exp - 1; z++)
            dec[k++] = '0';
        for (int i = 0; i < nd; i++)
            dec[k++] = digits[i];
    } else {
        for (int i = 0; i <= exp; i++)
            dec[k++] = i < nd ? digits[i] : '0';
        dec[k++] = '.';
        if (nd <= exp + 1)
            dec[k++] = '0';
        for (int i = exp + 1; i < nd; i++)
            dec[k++] = digits[i];
    }
    dec[k] = 0;
    snprintf(out, n, "%s", dec);
    return out;
}

/* What socklab's --timeout becomes: Duration::from_secs_f64(v) (rounded
 * to the nanosecond), then as_secs_f64(). */
static double duration_secs(double v) {
    double whole = floor(v);
    double ns = round((v - whole) * 1e9);
    if (ns >= 1e9) {
        whole += 1;
        ns = 0;
    }
    return whole + ns / 1e9;
}

void set_wait(int fd, double wait) {
    char secs[48];
    if (wait == 0)
        return;
    Ioctl_fionbio(fd, 1);
    /* What Python's gettimeout() would now say (socklab prints it too). */
    if (wait < 0)
        say("fd %d: setblocking(False), gettimeout() -> 0.0", fd);
    else
        say("fd %d: settimeout(%s), gettimeout() -> %s", fd,
            rust_f64(duration_secs(wait), secs, sizeof secs), secs);
}

/* The retries of one call in timeout or non-blocking mode (src/io.rs's
 * Retry): its deadline, whether the last poll said the fd was ready, and
 * the back-off. A poll that says ready is not always about this call (an
 * unconnected UNIX datagram socket's POLLOUT tells of its own buffer, while
 * sendto waits for the peer's queue): when poll said ready and the call
 * still says EAGAIN, the next try waits first in poll(fd, 0, ms), 1 ms,
 * then 2, 4... up to 1 s; in timeout mode the deadline is checked after
 * every EAGAIN, whatever poll says. */
#define BACKOFF_MAX_MS 1000
struct retry {
    double deadline;
    bool polled_ready;
    int backoff_ms;
};

static struct retry retry_of(double wait) {
    return (struct retry){.deadline = deadline_of(wait)};
}

/* Before the call: in timeout mode, poll(events, ms left). */
static int retry_ready(struct retry *rt, int fd, short events, double wait,
                       const char *call, struct fail *f) {
    if (ready(fd, events, rt->deadline, wait, call, f) < 0)
        return -1;
    if (wait > 0)
        rt->polled_ready = true;
    return 0;
}

/* The call made progress (sendall): the back-off starts afresh. */
static void retry_progress(struct retry *rt) {
    rt->polled_ready = false;
    rt->backoff_ms = 0;
}

/* After a call failed with err: make it again? In timeout mode an EAGAIN
 * is a spurious wake-up (poll again, as CPython) until the deadline; in
 * non-blocking mode it means "wait": poll(events, -1) first. Either way,
 * after an EAGAIN that followed a poll that said ready, back off first.
 * 1 yes, 0 no, -1 failed (f: the timeout, or poll itself). */
static int retry_again(struct retry *rt, int fd, short events, double wait,
                       const char *call, int err, struct fail *f) {
    short revents;
    if (err != EAGAIN || wait == 0)
        return 0;
    int limit = INT_MAX;
    if (wait > 0) {
        if (now() >= rt->deadline)
            return failed(f, call, 0, wait);
        limit = ms_left(rt->deadline);
    }
    if (rt->polled_ready) {
        rt->backoff_ms = rt->backoff_ms ? rt->backoff_ms * 2 : 1;
        if (rt->backoff_ms > BACKOFF_MAX_MS)
            rt->backoff_ms = BACKOFF_MAX_MS;
        int ms = rt->backoff_ms < limit ? rt->backoff_ms : limit;
        if (r_poll(fd, 0, ms, &revents) < 0)
            return failed(f, "poll", errno, 0);
    }
    if (wait < 0) {
        if (r_poll(fd, events, -1, &revents) < 0)
            return failed(f, "poll", errno, 0);
        rt->polled_ready = revents != 0;
    }
    return 1;
}

void apply_sockopts(int fd, const struct opts *o, enum phase phase) {
    for (size_t i = 0; i < o->n_sockopts; i++) {
        const struct setting *s = &o->sockopts[i];
        if (s->phase != phase)
            continue;
        struct value eff = {.len = value_size(s->opt.kind)};
        socklen_t len = eff.len;
        Setsockopt(fd, s->opt.level, s->opt.name, s->value.bytes, s->value.len);
        Getsockopt(fd, s->opt.level, s->opt.name, eff.bytes, &len);
        eff.len = len < eff.len ? len : eff.len;
        char req[64], got[64];
        printf("sockopt %s on fd %d: requested %s", s->opt.user_name, fd,
               value_human(&s->value, s->opt.kind, req, sizeof req));
        if (eff.len != s->value.len || memcmp(eff.bytes, s->value.bytes, eff.len)) {
            printf(", effective %s", value_human(&eff, s->opt.kind, got, sizeof got));
            const char *why = sockopt_explain(&s->opt, &s->value, &eff);
            if (why)
                printf(" (%s)", why);
        }
        say("%s", "");
    }
}

void show_names(int fd) {
    struct addr local, peer;
    Getsockname(fd, &local.ss, &local.len);
    Getpeername(fd, &peer.ss, &peer.len);
    say("fd %d: local %s, peer %s", fd, addr_str(&local), addr_str(&peer));
}

static int connect_code(int fd, const struct addr *a, double wait, struct fail *f) {
    double deadline = deadline_of(wait);
    short revents;
    if (r_connect(fd, SA(a), a->len) == 0)
        return 0;
    if (!(wait != 0 && errno == EINPROGRESS))
        return failed(f, "connect", errno, 0);
    if (wait < 0 && r_poll(fd, POLLOUT | POLLERR, -1, &revents) < 0)
        return failed(f, "poll", errno, 0);
    if (ready(fd, POLLOUT | POLLERR, deadline, wait, "connect", f) < 0)
        return -1;
    int value = 0;
    socklen_t len = sizeof value;
    int r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len);
    state_after(fd);
    if (r < 0)
        return failed(f, "getsockopt", errno, 0);
    return value ? failed(f, "connect", value, 0) : 0;
}

int io_connect(int fd, const struct addr *a, double wait, struct fail *f) {
    return connect_code(fd, a, wait, f);
}

int io_connect_ex(int fd, const struct addr *a, double wait) {
    struct fail f;
    if (wait < 0) /* non-blocking: connect's errno at once (EINPROGRESS) */
        return r_connect(fd, SA(a), a->len) == 0 ? 0 : errno;
    if (connect_code(fd, a, wait, &f) == 0)
        return 0;
    return f.err ? f.err : EAGAIN;
}

/* CPython's sock_call: poll first (timeout mode), and again if the call
 * says EAGAIN (non-blocking mode: poll(events, -1) first). */
#define WAITING(events, call, op)                                             \
    struct retry rt = retry_of(wait);                                         \
    for (;;) {                                                                \
        if (retry_ready(&rt, fd, events, wait, call, f) < 0)                  \
            return -1;                                                        \
        ssize_t r = (op);                                                     \
        if (r >= 0)                                                           \
            return r;                                                         \
        int err = errno, a = retry_again(&rt, fd, events, wait, call, err, f); \
        if (a < 0)                                                            \
            return -1;                                                        \
        if (!a)                                                               \
            return failed(f, call, err, 0);                                   \
    }

int io_accept(int fd, struct addr *peer, double wait, struct fail *f) {
    WAITING(POLLIN, "accept4", r_accept4(fd, &peer->ss, &peer->len))
}

ssize_t io_recv(int fd, void *buf, size_t n, double wait, struct fail *f) {
    WAITING(POLLIN, "recvfrom", r_recvfrom(fd, buf, n, NULL, NULL))
}

ssize_t io_recv_datagram(int fd, void *buf, size_t n, struct addr *from,
                         double wait, struct fail *f) {
    WAITING(POLLIN, "recvfrom",
            r_recvfrom_flags(fd, buf, n, MSG_TRUNC, from ? &from->ss : NULL,
                             from ? &from->len : NULL))
}

ssize_t io_recvfrom(int fd, void *buf, size_t n, struct addr *from, double wait,
                    struct fail *f) {
    WAITING(POLLIN, "recvfrom", r_recvfrom(fd, buf, n, &from->ss, &from->len))
}

ssize_t io_send(int fd, const void *buf, size_t n, const struct addr *to,
                double wait, struct fail *f) {
    WAITING(POLLOUT, "sendto",
            r_sendto(fd, buf, n, to ? SA(to) : NULL, to ? to->len : 0))
}

int io_sendall(int fd, const void *buf, size_t n, double wait, struct fail *f) {
    struct retry rt = retry_of(wait);
    size_t sent = 0;
    for (;;) {
        if (retry_ready(&rt, fd, POLLOUT, wait, "sendto", f) < 0)
            goto out;
        ssize_t r = r_sendto(fd, (const char *)buf + sent, n - sent, NULL, 0);
        if (r >= 0) {
            sent += r;
            if (sent >= n)
                return 0;
            retry_progress(&rt);
            continue;
        }
        int err = errno, a = retry_again(&rt, fd, POLLOUT, wait, "sendto", err, f);
        if (a < 0)
            goto out; /* the timeout, or poll itself failed */
        if (!a) {
            failed(f, "sendto", err, 0);
            goto out;
        }
    }
out:
    if (sent > 0)
        say("sendall: %zu of %zu bytes went out before the failure", sent, n);
    return -1;
}

bool duplex_needed(size_t len, const struct opts *o) {
    for (size_t i = 0; i < o->n_sockopts; i++)
        if (o->sockopts[i].opt.level == SOL_SOCKET && o->sockopts[i].opt.name == SO_SNDTIMEO)
            return false;
    return len > SENDALL_MAX && o->send_all;
}

static int send_reading(int fd, const unsigned char *msg, size_t n, size_t *sent,
                        unsigned char *buf, size_t bufsize, double wait,
                        int (*on_data)(void *, const unsigned char *, size_t,
                                       struct fail *),
                        void *ctx, struct fail *f) {
    double deadline = deadline_of(wait);
    bool poll_first = deadline != 0; /* timeout mode: poll before each call */
    while (*sent < n) {
        if (poll_first) {
            int ms = -1;
            if (deadline != 0) {
                double left = deadline - now();
                long long ns = (long long)((left < 0 ? 0 : left) * 1e9);
                long long m = (ns + 999999) / 1000000;
                ms = m > INT_MAX ? INT_MAX : (int)m;
            }
            short revents;
            int r = r_poll(fd, POLLIN | POLLOUT, ms, &revents);
            if (r < 0)
                return failed(f, "poll", errno, 0);
            if (r == 0)
                return failed(f, "sendto", 0, wait);
            if (revents & (POLLIN | POLLERR | POLLHUP)) {
                ssize_t got = r_recvfrom(fd, buf, bufsize, NULL, NULL);
                if (got < 0)
                    return failed(f, "recvfrom", errno, 0);
                if (got == 0)
                    return 0;
                if (on_data(ctx, buf, got, f) < 0)
                    return -1;
            }
            if (!(revents & POLLOUT))
                continue;
        }
        poll_first = true;
        ssize_t r = wait == 0 ? r_sendto_flags(fd, msg + *sent, n - *sent, MSG_DONTWAIT, NULL, 0)
                              : r_sendto(fd, msg + *sent, n - *sent, NULL, 0);
        if (r >= 0)
            *sent += r;
        else if (errno != EAGAIN)
            return failed(f, "sendto", errno, 0);
    }
    return 1;
}

int io_send_reading(int fd, const unsigned char *msg, size_t n, size_t *sent,
                    unsigned char *buf, size_t bufsize, double wait,
                    int (*on_data)(void *, const unsigned char *, size_t,
                                   struct fail *),
                    void *ctx, struct fail *f) {
    *sent = 0;
    int r = send_reading(fd, msg, n, sent, buf, bufsize, wait, on_data, ctx, f);
    if (r < 0 && *sent > 0)
        say("sendall: %zu of %zu bytes went out before the failure", *sent, n);
    return r;
}

int socket_to_bind(int type, const struct opts *o) {
    int fd = Socket(addr_family(&o->addr), type);
    if (o->reuseaddr)
        Setsockopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    apply_sockopts(fd, o, PH_CREATED);
    return fd;
}

int bound_socket(int type, const struct opts *o) {
    int fd = socket_to_bind(type, o);
    Bind(fd, SA(&o->addr), o->addr.len);
    return fd;
}

/* socklab's parse_secs: 0.001 to 1000000, finite (poll(2) counts
 * milliseconds: a shorter time would be 0, non-blocking). A usage error
 * (exit 2) before any syscall. */
static double seconds_arg(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0.001 && v <= 1e6))
        usage("'%s' is not a number of seconds (0.001 to 1000000)", s);
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

/* --mode OCTAL: 0 to 0777, as socklab's parse_mode (`0600`, `660`, `0o600`). */
static int mode_arg(const char *s) {
    const char *d = strncmp(s, "0o", 2) ? s : s + 2;
    size_t n = strlen(d);
    if (n == 0 || n > 4 || strspn(d, "01234567") != n || strtol(d, NULL, 8) > 0777)
        usage("'%s' is not an octal file mode from 0 to 0777 (e.g. 0600, 0660)", s);
    return (int)strtol(d, NULL, 8);
}

char after_listening[80];

void parse_args(int argc, char **argv, unsigned groups, bool unix_addr,
                const char *default_addr, struct opts *o) {
    enum { BACKLOG = 256, BUFSIZE, REUSEADDR, ONCE, MAXCONNS, TIMEOUT, NAIVE,
           NAIVELIMIT, SENDEMPTY, CONNECTEX, CONNECT, DGRAM, UNLINKSTALE, HELP,
           NONBLOCKING, SOCKOPT, RCVTIMEO, SNDTIMEO, SIZE, SENDMODE, NAMES,
           LINES, SHUTDOWN, SHOWSTATE, MODE, FOLLOWSYMLINKS, SINK, MODEL };
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
    const char *address = default_addr, *rcvtimeo = NULL, *sndtimeo = NULL;
    int positional = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        switch (c) {
        case BACKLOG: o->backlog = number("--backlog", optarg, 0, 65535); break;
        case BUFSIZE: o->bufsize = number("--bufsize", optarg, 1, 64 << 20); break;
        case MAXCONNS: o->max_conns = number("--max-conns", optarg, 1, ULLONG_MAX); break;
        case NAIVELIMIT: o->naive_limit = number("--naive-limit", optarg, 1, 1000000); break;
        case TIMEOUT: o->timeout = seconds_arg(optarg); break;
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
            else if (!strncmp(optarg, "prefork:", 8)) {
                o->model = MODEL_PREFORK;
                o->pool = number("--model prefork:N", optarg + 8, 1, 1024);
            } else if (!strncmp(optarg, "prethread:", 10)) {
                o->model = MODEL_PRETHREAD;
                o->pool = number("--model prethread:N", optarg + 10, 1, 1024);
            } else
                usage("'%s' is not a model: iterative, fork, thread, prefork:N, "
                      "prethread:N, poll or epoll", optarg);
            break;
        case SOCKOPT: add_setting(o, optarg); break;
        case RCVTIMEO: seconds_arg(rcvtimeo = optarg); break;
        case SNDTIMEO: seconds_arg(sndtimeo = optarg); break;
        case SIZE: o->size = number("--size", optarg, 1, 1 << 30); break;
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
                           ? "fork, thread, prefork:N, prethread:N, poll, epoll"
                           : "epoll");
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
    if (o->timeout > 0 && o->nonblocking)
        usage("the argument '%s' cannot be used with '--nonblocking'", "--timeout");
    if (o->lines && (o->naive || o->once))
        usage("the argument '%s' cannot be used with '--naive' or '--once'", "--lines");
    if (o->lines && (o->size || o->send_empty))
        usage("the argument '%s' cannot be used with '--size' or '--send-empty'", "--lines");
    if (o->dgram && (o->lines || o->shutdown))
        usage("the argument '%s' cannot be used with '--lines' or '--shutdown'", "--dgram");
    bool event_loop = o->model == MODEL_EPOLL || o->model == MODEL_POLL;
    if (event_loop && (o->timeout > 0 || o->nonblocking))
        usage("--model %s: the event loop's sockets are non-blocking already "
              "(accept4 SOCK_NONBLOCK); drop --timeout/--nonblocking",
              o->model == MODEL_POLL ? "poll" : "epoll");
    if (event_loop && (o->lines || o->naive))
        usage("--model %s: --lines and --naive need a blocking model (iterative, "
              "fork, thread, prefork:N, prethread:N)", o->model == MODEL_POLL ? "poll" : "epoll");
    if (!(groups & OPT_STREAM_SERVER) || o->dgram)
        if (o->model != MODEL_ITERATIVE && o->model != MODEL_EPOLL)
            usage("%s", "not a datagram server model: iterative or epoll");
    if (o->size && o->n_messages)
        usage("the argument '%s' cannot be used with '--message'", "--size");
    /* As socklab: --rcvtimeo, then --sndtimeo, after the --sockopt ones. */
    add_timeo(o, "SO_RCVTIMEO", rcvtimeo);
    add_timeo(o, "SO_SNDTIMEO", sndtimeo);
    o->wait = o->nonblocking ? WAIT_NONBLOCKING : o->timeout;
    if (!(unix_addr ? parse_unix(address, &o->addr) : parse_inet(address, &o->addr)))
        usage("invalid address '%s'", address);
    check_phases(o, groups);
}

/* stream.c: the tutorial's stream server and client, shared by TCP
 * (tcp_server.c, tcp_client.c) and UNIX stream sockets (unix_*.c); the twin
 * of socklab's src/stream.rs.
 *
 * Server, after socket, [setsockopt SO_REUSEADDR], the --sockopt settings
 * and bind; listen (1) and getsockname (2) are made in tcp_server.c's and
 * unix_server.c's main too, stream_serve does the rest:
 * 1. listen(fd, backlog)
 * 2. getsockname(fd) -> print `listening on ADDR`; ioctl(FIONBIO) with
 *    --timeout or --nonblocking (another --model: models.c from here)
 * 3. connection loop: accept4(fd); with --nonblocking, ioctl(conn,
 *    FIONBIO); the @accepted settings; --names: getsockname(conn),
 *    getpeername(conn); UNIX: getsockopt(conn, SO_PEERCRED); print
 *    `connection from PEER` (UNIX: `(pid N, uid N, gid N)`)
 * 4. communication loop: recvfrom(conn); 0 bytes -> print `PEER closed`,
 *    leave the loop; else print the message and sendto it upper-cased
 *    (--sink: recvfrom until 0, no reply)
 *    (--lines: recvfrom into a line buffer; sendto per complete line)
 * 5. close(conn); back to 3 until --once or --max-conns
 * 6. close(fd)
 *
 * Client (steps 1-3 and 5's calls in tcp_client.c's and unix_client.c's
 * main; stream_exchange is step 4, stream_drain step 5's reading):
 * 1. socket; the --sockopt settings; 2. ioctl(FIONBIO) with
 * --timeout or --nonblocking; 3. connect; the @connected settings;
 * --names: getsockname, getpeername;
 * 4. per message: sendto (all of it, or one with --send-mode send),
 *    recvfrom -> print the reply (with --size: recvfrom until the whole
 *    echo is back); --lines: all messages in one sendall, then the
 *    replies through the line buffer;
 * 5. --shutdown: shutdown(SHUT_WR), recvfrom until 0; close.
 *
 * Each ioctl(FIONBIO) is followed by what Python's gettimeout() says:
 * `fd N: settimeout(2.0), gettimeout() -> 2.0` or
 * `fd N: setblocking(False), gettimeout() -> 0.0`.
 *
 * --show-state (TCP only, in the wrappers of unp.c): after each call on a
 * TCP socket but socket and close: getsockopt(TCP_INFO), then, unless it
 * listens, ioctl(FIONREAD), ioctl(TIOCOUTQ); print `[state fd N: ...]`. */
#define _GNU_SOURCE
#include "stream.h"
#include "duplex.h"
#include "models.h"
#include "modes.h"
#include "print.h"
#include "settings.h"
#include "unp.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void upper(unsigned char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'a' && s[i] <= 'z')
            s[i] -= 'a' - 'A';
}

/* Print the message, send it back upper-cased. 0, or -1 with f. */
static int reply(int conn, const struct addr *peer, unsigned char *msg, size_t n,
                 const struct opts *o, struct fail *f) {
    if (!o->quiet && n > 0) {
        printf("from %s: ", addr_str(peer));
        print_shown(stdout, msg, n);
        say("%s", "");
    }
    upper(msg, n);
    return io_sendall(conn, msg, n, o->wait, f);
}

/* The tutorial's "low version": one recvfrom, one reply. */
static int answer_once(int conn, const struct addr *peer, unsigned char *buf,
                       const struct opts *o, struct fail *f) {
    ssize_t n = io_recv(conn, buf, o->bufsize, o->wait, f);
    if (n < 0)
        return -1;
    if (n == 0) {
        if (!o->quiet)
            say("%s closed", addr_str(peer));
        return 0;
    }
    return reply(conn, peer, buf, n, o, f);
}

/* The improved server's communication loop, with the len(msg) == 0 check. */
static int converse(int conn, const struct addr *peer, unsigned char *buf,
                    const struct opts *o, struct fail *f) {
    for (;;) {
        ssize_t n = io_recv(conn, buf, o->bufsize, o->wait, f);
        if (n < 0)
            return -1;
        if (n == 0) {
            if (!o->quiet)
                say("%s closed", addr_str(peer));
            return 0;
        }
        if (reply(conn, peer, buf, n, o, f) < 0)
            return -1;
    }
}

/* --sink: recvfrom until the peer closes; nothing is sent back. */
static int sink(int conn, const struct addr *peer, unsigned char *buf,
                const struct opts *o, struct fail *f) {
    ssize_t n;
    while ((n = io_recv(conn, buf, o->bufsize, o->wait, f)) > 0)
        ;
    if (n < 0)
        return -1;
    if (!o->quiet)
        say("%s closed", addr_str(peer));
    return 0;
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Without the len(msg) == 0 check: after the peer closes, recv returns 0 at
 * once, forever; stop after --naive-limit spins. */
static int converse_naively(int conn, const struct addr *peer, unsigned char *buf,
                            const struct opts *o, struct fail *f) {
    unsigned long long empty = 0;
    double first_empty = 0;
    for (;;) {
        ssize_t n = io_recv(conn, buf, o->bufsize, o->wait, f);
        if (n < 0)
            return -1;
        if (n == 0 && empty++ == 0)
            first_empty = seconds();
        if (reply(conn, peer, buf, n, o, f) < 0)
            return -1;
        if (empty >= o->naive_limit)
            break;
    }
    double secs = first_empty ? seconds() - first_empty : 0;
    double rate = secs > 0 ? empty / secs : 1.0 / 0.0;
    say("%s closed, but the naive server does not check for it: recv returned 0 "
        "bytes %llu times in %.3f ms (%.0f/s), never blocking; stopped at "
        "--naive-limit %llu",
        addr_str(peer), empty, secs * 1e3, rate, o->naive_limit);
    return 0;
}

/* --lines: the bytes received and not yet handed out as lines (Python's
 * makefile()). */
struct line_buffer {
    unsigned char *pending;
    size_t len, cap;
};

/* A complete line already received (without its \n) into *line
 * (malloc'd, its length in *n): 1, or 0 when there is none yet. */
static int next_line(struct line_buffer *lb, unsigned char **line, size_t *n) {
    unsigned char *nl = lb->len ? memchr(lb->pending, '\n', lb->len) : NULL;
    if (!nl)
        return 0;
    *n = nl - lb->pending;
    *line = malloc(*n + 1);
    memcpy(*line, lb->pending, *n);
    memmove(lb->pending, nl + 1, lb->len - *n - 1);
    lb->len -= *n + 1;
    return 1;
}

/* Add what one recvfrom returned and say what the buffer holds. 0, or -1
 * (f->call NULL: the message is printed) for a line over the limit. */
static int feed_lines(struct line_buffer *lb, const unsigned char *p, size_t r,
                      const struct opts *o, struct fail *f) {
    if (lb->len + r > lb->cap)
        lb->pending = realloc(lb->pending, lb->cap = 2 * (lb->len + r));
    memcpy(lb->pending + lb->len, p, r);
    lb->len += r;
    /* A peer that never sends a newline cannot make the buffer grow
     * without bound: past the limit (64 KiB, or --bufsize if larger),
     * the line is refused and the connection closed. */
    size_t limit = o->bufsize > 65536 ? o->bufsize : 65536;
    if (lb->len > limit && !memchr(lb->pending, '\n', lb->len)) {
        fprintf(stderr, "%s: a line longer than %zu bytes (no newline yet): over "
                        "the --lines buffer's limit; closing the connection\n",
                prog, limit);
        f->call = NULL;
        return -1;
    }
    size_t lines = 0, last = 0;
    for (size_t i = 0; i < lb->len; i++)
        if (lb->pending[i] == '\n') {
            lines++;
            last = i + 1;
        }
    say("recv returned %zu bytes: the buffer now holds %zu complete line%s and "
        "%zu bytes of a partial one", r, lines, lines == 1 ? "" : "s", lb->len - last);
    return 0;
}

/* The next complete line (without its \n) into *line (malloc'd, its length
 * in *n), calling recvfrom as often as it takes, and saying what each one
 * carried. 1 a line, 0 the peer closed (a partial line left over is handed
 * out as the last line: 1), -1 with f. */
static int read_line(struct line_buffer *lb, int fd, unsigned char *buf,
                     const struct opts *o, unsigned char **line, size_t *n,
                     struct fail *f) {
    for (;;) {
        if (next_line(lb, line, n))
            return 1;
        ssize_t r = io_recv(fd, buf, o->bufsize, o->wait, f);
        if (r < 0)
            return -1;
        if (r == 0) {
            if (lb->len == 0)
                return 0;
            *line = malloc(lb->len);
            memcpy(*line, lb->pending, lb->len);
            *n = lb->len;
            lb->len = 0;
            return 1;
        }
        if (feed_lines(lb, buf, r, o, f) < 0)
            return -1;
    }
}

/* The server's communication loop with --lines: each complete line is
 * answered upper-cased with its \n, however the bytes were split. */
static int converse_lines(int conn, const struct addr *peer, unsigned char *buf,
                          const struct opts *o, struct fail *f) {
    struct line_buffer lb = {0};
    unsigned char *line;
    size_t n;
    int r;
    while ((r = read_line(&lb, conn, buf, o, &line, &n, f)) > 0) {
        printf("line from %s: ", addr_str(peer));
        print_shown(stdout, line, n);
        say("%s", "");
        upper(line, n);
        line = realloc(line, n + 1);
        line[n] = '\n';
        r = io_sendall(conn, line, n + 1, o->wait, f);
        free(line);
        if (r < 0)
            break;
    }
    free(lb.pending);
    if (r < 0)
        return -1;
    say("%s closed", addr_str(peer));
    return 0;
}

/* The errors accept(2) says to treat like EAGAIN: the connection being
 * accepted failed, not the listener. */
int accept_error_is_the_peers(int e) {
    switch (e) {
    case ECONNABORTED: case EPROTO: case EPERM: case ENETDOWN:
    case ENOPROTOOPT: case EHOSTDOWN: case ENONET: case EHOSTUNREACH:
    case EOPNOTSUPP: case ENETUNREACH:
        return 1;
    default:
        return 0;
    }
}

/* close(conn): the descriptor is gone even when close fails (close(2));
 * say so, and serve the next client. */
static void close_conn(int conn) {
    state_track(conn, false);
    if (close(conn) < 0 && errno != EINTR) /* EINTR: closed all the same */
        warn_sys("close", errno);
}

/* A UNIX peer's credentials, from connect (getsockopt SO_PEERCRED):
 * ` (pid P, uid U, gid G)`; nothing for other families. */
void peer_cred(int conn, const struct addr *peer, char *cred, size_t n) {
    cred[0] = 0;
    if (addr_is_unix(peer)) {
        struct ucred c;
        socklen_t len = sizeof c;
        Getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &c, &len);
        snprintf(cred, n, " (pid %d, uid %u, gid %u)", (int)c.pid,
                 (unsigned)c.uid, (unsigned)c.gid);
    }
}

/* One accepted connection (steps 3 to 5 after accept4); the same in every
 * model that gives a connection its own process or thread. */
void serve_conn(int conn, const struct addr *peer, unsigned char *buf,
                const struct opts *o) {
    struct fail f;
    /* Linux's accept4 does not pass O_NONBLOCK on; make the
     * connection non-blocking too, so its EAGAINs show. */
    if (o->nonblocking)
        set_wait(conn, o->wait);
    apply_sockopts(conn, o, PH_ACCEPTED);
    if (o->names)
        show_names(conn);
    char cred[80] = "";
    peer_cred(conn, peer, cred, sizeof cred);
    if (!o->quiet)
        say("connection from %s%s", addr_str(peer), cred);
    int r = o->once    ? answer_once(conn, peer, buf, o, &f)     /* 4 */
            : o->naive ? converse_naively(conn, peer, buf, o, &f)
            : o->sink  ? sink(conn, peer, buf, o, &f)
            : o->lines ? converse_lines(conn, peer, buf, o, &f)
                       : converse(conn, peer, buf, o, &f);
    /* A failure on one connection ends that connection, not the server. */
    if (r < 0 && f.call) /* no call: the failure was already told */
        warn_fail(&f);
    close_conn(conn);                                          /* 5 */
}

void stream_serve(int listener, const struct addr *me, const struct opts *o) {
    struct addr peer;
    struct fail f;
    if (o->model != MODEL_ITERATIVE) {
        model_serve(listener, me, o); /* says `listening on` when ready */
        return;
    }
    say_listening(me);                                         /* 2 */
    set_wait(listener, o->wait);
    unsigned char *buf = Malloc(o->bufsize, "--bufsize");
    for (unsigned long long served = 0;;) {
        int conn = io_accept(listener, &peer, o->wait, &f);  /* 3 */
        if (conn < 0 && accept_error_is_the_peers(f.err)) {
            /* accept(2): a pending network error of the new connection;
             * the listener is fine: go on. */
            warn_fail(&f);
            continue;
        }
        if (conn < 0)
            die_fail(&f);
        serve_conn(conn, &peer, buf, o);                       /* 4-5 */
        served++;
        if (o->once || (o->max_conns && served >= o->max_conns))
            break;
    }
    free(buf);
    Close(listener);                                           /* 6 */
}

/* Send one message as --send-mode says: the bytes that went out, or -1. */
static ssize_t send_message(int fd, const unsigned char *msg, size_t n,
                            const struct opts *o, struct fail *f) {
    if (o->send_all)
        return io_sendall(fd, msg, n, o->wait, f) < 0 ? -1 : (ssize_t)n;
    ssize_t sent = io_send(fd, msg, n, NULL, o->wait, f);
    if (sent >= 0 && (size_t)sent < n)
        say("send: %zd of %zu bytes sent; the rest was not (send may send less "
            "than asked: sendall loops)", sent, n);
    return sent;
}

/* The upper-cased echo of a message, checked piece by piece as it
 * arrives (no copy of the echo is kept). */
struct echo {
    const unsigned char *sent;
    size_t n, got;
    unsigned long calls;
    bool intact;
};

static void echo_take(struct echo *e, const unsigned char *p, size_t r) {
    for (size_t k = 0; k < r && e->intact; k++) {
        size_t i = e->got + k;
        unsigned char want = i < e->n ? e->sent[i] : 0;
        if (want >= 'a' && want <= 'z')
            want = want - 'a' + 'A';
        e->intact = i < e->n && p[k] == want;
    }
    e->got += r;
    e->calls++;
}

/* Read until the upper-cased echo of the sent bytes is back (one recv may
 * carry part of it; e may hold what came while sending); print what
 * arrived. 1 intact, 0 not (or the server closed first), -1 with f. */
static int receive_echo(int fd, unsigned char *buf, struct echo *e,
                        const struct opts *o, struct fail *f) {
    while (e->got < e->n) {
        ssize_t r = io_recv(fd, buf, o->bufsize, o->wait, f);
        if (r < 0)
            return -1;
        if (r == 0) {
            say("server closed the connection after %zu of %zu bytes", e->got, e->n);
            return 0;
        }
        echo_take(e, buf, r);
    }
    bool intact = e->intact && e->got == e->n;
    say("received %zu bytes in %lu recv calls: %s", e->got, e->calls,
        intact ? "the upper-cased message, intact" : "NOT the upper-cased message");
    return intact;
}

/* A message longer than SENDALL_MAX, sent while the echo is read
 * (io_send_reading): with --size the echo is checked as a short one's;
 * else each piece is printed as it came, and when none came while
 * sending, one recv as for a short message. 1 go on, 0 the server
 * closed first, -1 with f. */
struct long_exchange {
    const struct opts *o;
    struct echo echo;
};

static int on_echo(void *ctx, const unsigned char *p, size_t n, struct fail *f) {
    struct long_exchange *x = ctx;
    (void)f;
    if (!x->o->size) {
        fwrite(p, 1, n, stdout);
        say("%s", "");
    }
    echo_take(&x->echo, p, n);
    return 0;
}

static int exchange_long(int fd, unsigned char *buf, const unsigned char *msg,
                         size_t n, const struct opts *o, struct fail *f) {
    struct long_exchange x = {.o = o, .echo = {.sent = msg, .n = n, .intact = true}};
    size_t sent;
    int r = io_send_reading(fd, msg, n, &sent, buf, o->bufsize, o->wait, on_echo, &x, f);
    if (r < 0)
        return -1;
    if (r == 0) {
        say("server closed the connection after %zu of %zu bytes were sent (%zu "
            "bytes came back)", sent, n, x.echo.got);
        return 0;
    }
    if (o->size)
        return receive_echo(fd, buf, &x.echo, o, f);
    if (x.echo.calls == 0) {
        ssize_t got = io_recv(fd, buf, o->bufsize, o->wait, f);
        if (got < 0)
            return -1;
        if (got == 0) {
            say("server closed the connection");
            return 0;
        }
        fwrite(buf, 1, got, stdout);
        say("%s", "");
    }
    return 1;
}

/* --lines with more than SENDALL_MAX bytes: the replies that come while
 * the lines go out (io_send_reading), printed as they complete. */
struct lines_exchange {
    const struct opts *o;
    struct line_buffer lb;
    size_t count, replies;
};

static int on_lines(void *ctx, const unsigned char *p, size_t n, struct fail *f) {
    struct lines_exchange *x = ctx;
    unsigned char *line;
    size_t len;
    if (feed_lines(&x->lb, p, n, x->o, f) < 0)
        return -1;
    while (x->replies < x->count && next_line(&x->lb, &line, &len)) {
        fwrite(line, 1, len, stdout);
        say("%s", "");
        free(line);
        x->replies++;
    }
    return 0;
}

/* The client with --lines: every message with its \n in one sendall (a
 * buffered writer's flush), then the replies line by line through the
 * buffer; more than SENDALL_MAX bytes go out while the replies are read. */
static void exchange_lines(int fd, unsigned char *buf, struct opts *o) {
    struct fail f;
    unsigned char *all = NULL, *msg, *line;
    size_t len = 0, count = 0, i = 0, n;
    while ((msg = next_message(o, &i, &n))) {
        all = realloc(all, len + n + 1);
        memcpy(all + len, msg, n);
        all[len + n] = '\n';
        len += n + 1;
        count++;
        free(msg);
    }
    struct lines_exchange x = {.o = o, .count = count};
    if (duplex_needed(len, o)) {
        size_t sent;
        int r = io_send_reading(fd, all, len, &sent, buf, o->bufsize, o->wait,
                                on_lines, &x, &f);
        free(all);
        if (r < 0)
            die_fail(&f);
        if (r == 0) {
            say("server closed the connection");
            free(x.lb.pending);
            return;
        }
    } else {
        if (io_sendall(fd, all, len, o->wait, &f) < 0)
            die_fail(&f);
        free(all);
    }
    struct line_buffer lb = x.lb;
    for (size_t k = x.replies; k < count; k++) {
        int r = read_line(&lb, fd, buf, o, &line, &n, &f);
        if (r < 0)
            die_fail(&f);
        if (r == 0) {
            say("server closed the connection");
            break;
        }
        fwrite(line, 1, n, stdout);
        say("%s", "");
        free(line);
    }
    free(lb.pending);
}

/* After shutdown(SHUT_WR): recvfrom until the server closes too, printing
 * what still comes. */
void stream_drain(int fd, unsigned char *buf, const struct opts *o) {
    struct fail f;
    for (;;) {
        ssize_t got = io_recv(fd, buf, o->bufsize, o->wait, &f);
        if (got < 0)
            die_fail(&f);
        if (got == 0) {
            say("server closed the connection");
            break;
        }
        fwrite(buf, 1, got, stdout);
        say("%s", "");
    }
}

void stream_exchange(int fd, unsigned char *buf, struct opts *o) {
    struct fail f;
    unsigned char *msg;
    size_t i = 0, n;
    if (o->lines) {
        exchange_lines(fd, buf, o);
        return;
    }
    while ((msg = next_message(o, &i, &n))) {
        /* The tutorial's client skips empty lines: `if not msg: continue`. */
        if (n == 0 && !o->send_empty) {
            free(msg);
            continue;
        }
        if (duplex_needed(n, o)) {
            int r = exchange_long(fd, buf, msg, n, o, &f);
            free(msg);
            if (r < 0)
                die_fail(&f);
            if (r == 0)
                break;
            continue;
        }
        ssize_t sent = send_message(fd, msg, n, o, &f);
        if (sent < 0)
            die_fail(&f);
        if (o->size) {
            struct echo e = {.sent = msg, .n = sent, .intact = true};
            int r = receive_echo(fd, buf, &e, o, &f);
            free(msg);
            if (r < 0)
                die_fail(&f);
            if (r == 0)
                break;
            continue;
        }
        free(msg);
        ssize_t got = io_recv(fd, buf, o->bufsize, o->wait, &f);
        if (got < 0)
            die_fail(&f);
        if (got == 0) {
            say("server closed the connection");
            break;
        }
        fwrite(buf, 1, got, stdout);
        say("%s", "");
    }
}

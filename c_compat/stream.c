/* stream.c: the tutorial's stream server, shared by TCP (tcp_server.c)
 * and UNIX stream sockets (unix_server.c); the server half of socklab's
 * src/programs/stream.rs (the client's exchange is exchange.c's).
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
 * Each ioctl(FIONBIO) is followed by what Python's gettimeout() says:
 * `fd N: settimeout(2.0), gettimeout() -> 2.0` or
 * `fd N: setblocking(False), gettimeout() -> 0.0`.
 *
 * --show-state (TCP only, in the wrappers of unp.c): after each call on a
 * TCP socket but socket and close: getsockopt(TCP_INFO), then, unless it
 * listens, ioctl(FIONREAD), ioctl(TIOCOUTQ); print `[state fd N: ...]`. */
#define _GNU_SOURCE
#include "stream.h"
#include "lines.h"
#include "models.h"
#include "modes.h"
#include "print.h"
#include "settings.h"
#include "unp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void upper(unsigned char *s, size_t n) {
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

/* The peer closed (a recvfrom returned 0): said, unless -q. */
static void closed(const struct addr *peer, const struct opts *o) {
    if (!o->quiet)
        say("%s closed", addr_str(peer));
}

/* The tutorial's "low version": one recvfrom, one reply. */
static int answer_once(int conn, const struct addr *peer, unsigned char *buf,
                       const struct opts *o, struct fail *f) {
    ssize_t n = io_recv(conn, buf, o->bufsize, o->wait, f);
    if (n < 0)
        return -1;
    if (n == 0) {
        closed(peer, o);
        return 0;
    }
    return reply(conn, peer, buf, n, o, f);
}

/* --bufsize 0: one zero-length recv (it returns 0) and a note. */
static int zero_length_once(int conn, const struct addr *peer, unsigned char *buf,
                            const struct opts *o, struct fail *f) {
    if (io_recv(conn, buf, 0, o->wait, f) < 0)
        return -1;
    if (!o->quiet)
        say("%s: recv with --bufsize 0 returned 0, as a zero-length recv always does "
            "(not an end of file); closing the connection", addr_str(peer));
    return 0;
}

/* The improved server's communication loop, with the len(msg) == 0 check. */
static int converse(int conn, const struct addr *peer, unsigned char *buf,
                    const struct opts *o, struct fail *f) {
    for (;;) {
        ssize_t n = io_recv(conn, buf, o->bufsize, o->wait, f);
        if (n < 0)
            return -1;
        if (n == 0) {
            closed(peer, o);
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
    closed(peer, o);
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
    /* --bufsize 0: recvfrom(fd, "", 0, ...) returns 0 whatever the peer
     * does, so it cannot tell an end of file: one call, a note. */
    int r = o->bufsize == 0 ? zero_length_once(conn, peer, buf, o, &f)
            : o->once    ? answer_once(conn, peer, buf, o, &f)     /* 4 */
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

/* stream.c: the tutorial's stream server and client, shared by TCP
 * (tcp_server.c, tcp_client.c) and UNIX stream sockets (unix_*.c); the twin
 * of socklab's src/stream.rs.
 *
 * Server, after bound_socket (socket, [setsockopt SO_REUSEADDR], bind):
 * 1. listen(fd, backlog)
 * 2. getsockname(fd) -> print `listening on ADDR`
 * 3. connection loop: accept4(fd) -> print `connection from PEER`
 * 4. communication loop: recvfrom(conn); 0 bytes -> print `PEER closed`,
 *    leave the loop; else print the message and sendto it upper-cased
 * 5. close(conn); back to 3 until --once or --max-conns
 * 6. close(fd)
 *
 * Client: 1. socket; 2. ioctl(FIONBIO) with --timeout; 3. connect;
 * 4. per message: sendto (all of it), recvfrom -> print the reply;
 * 5. close. */
#include "lab.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    return io_sendall(conn, msg, n, o->timeout, f);
}

/* The tutorial's "low version": one recvfrom, one reply. */
static int answer_once(int conn, const struct addr *peer, unsigned char *buf,
                       const struct opts *o, struct fail *f) {
    ssize_t n = io_recv(conn, buf, o->bufsize, o->timeout, f);
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
        ssize_t n = io_recv(conn, buf, o->bufsize, o->timeout, f);
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
        ssize_t n = io_recv(conn, buf, o->bufsize, o->timeout, f);
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

void stream_serve(int listener, const struct opts *o) {
    struct addr me, peer;
    struct fail f;
    Listen(listener, o->backlog);                              /* 1 */
    Getsockname(listener, &me.ss, &me.len);                    /* 2 */
    say("listening on %s", addr_str(&me));
    set_wait(listener, o->timeout);
    unsigned char *buf = malloc(o->bufsize);
    for (unsigned long long served = 0;;) {
        int conn = io_accept(listener, &peer, o->timeout, &f);  /* 3 */
        if (conn < 0)
            die_fail(&f);
        if (!o->quiet)
            say("connection from %s", addr_str(&peer));
        int r = o->once    ? answer_once(conn, &peer, buf, o, &f)     /* 4 */
                : o->naive ? converse_naively(conn, &peer, buf, o, &f)
                           : converse(conn, &peer, buf, o, &f);
        /* A failure on one connection ends that connection, not the server. */
        if (r < 0)
            warn_fail(&f);
        Close(conn);                                           /* 5 */
        served++;
        if (o->once || (o->max_conns && served >= o->max_conns))
            break;
    }
    free(buf);
    Close(listener);                                           /* 6 */
}

void stream_client(struct opts *o) {
    struct fail f;
    int fd = Socket(addr_family(&o->addr), SOCK_STREAM);       /* 1 */
    set_wait(fd, o->timeout);                                  /* 2 */
    if (o->connect_ex) {                                       /* 3 */
        int code = io_connect_ex(fd, &o->addr, o->timeout);
        if (code)
            say("connect_ex -> %d %s", code, errno_text(code));
        else
            say("connect_ex -> 0");
    } else if (io_connect(fd, &o->addr, o->timeout, &f) < 0) {
        die_fail(&f);
    }
    unsigned char *buf = malloc(o->bufsize), *msg;
    size_t i = 0, n;
    while ((msg = next_message(o, &i, &n))) {                  /* 4 */
        /* The tutorial's client skips empty lines: `if not msg: continue`. */
        if (n == 0 && !o->send_empty) {
            free(msg);
            continue;
        }
        if (io_sendall(fd, msg, n, o->timeout, &f) < 0)
            die_fail(&f);
        free(msg);
        ssize_t got = io_recv(fd, buf, o->bufsize, o->timeout, &f);
        if (got < 0)
            die_fail(&f);
        if (got == 0) {
            say("server closed the connection");
            break;
        }
        fwrite(buf, 1, got, stdout);
        say("%s", "");
    }
    free(buf);
    Close(fd);                                                 /* 5 */
}

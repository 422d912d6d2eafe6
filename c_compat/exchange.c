/* exchange.c: the stream client's exchange, shared by tcp_client.c and
 * unix_client.c; the client half of socklab's src/programs/stream.rs.
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
 * 5. --shutdown: shutdown(SHUT_WR), recvfrom until 0; close. */
#define _GNU_SOURCE
#include "stream.h"
#include "duplex.h"
#include "lines.h"
#include "modes.h"
#include "print.h"
#include "unp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Send one message as --send-mode says: the bytes that went out, or -1. */
/* A recv that returned 0: the server closed, unless --bufsize 0 (a
 * zero-length recv always returns 0): then say so. 1 if it did. */
static int zero_length(const struct opts *o) {
    if (o->bufsize)
        return 0;
    say("server: recv with --bufsize 0 returned 0, as a zero-length recv always "
        "does (not an end of file); closing the connection");
    return 1;
}

/* A reply's n bytes, printed; but a TCP recv with MSG_TRUNC discards the
 * bytes it takes, copying nothing (tcp(7)): say that instead of printing
 * the buffer (a UNIX stream socket ignores the flag). stream.rs's say_reply. */
static void say_reply(const unsigned char *buf, ssize_t n, const struct opts *o, bool peek) {
    if ((o->recv_flags & MSG_TRUNC) && addr_family(&o->addr) != AF_UNIX) {
        if (peek)
            say("(%zd bytes from the server waiting, not copied: a TCP peek with MSG_TRUNC "
                "copies nothing into the buffer; tcp(7))", n);
        else
            say("(%zd bytes from the server discarded: a TCP recv with MSG_TRUNC drops what it "
                "takes, copying nothing into the buffer; tcp(7))", n);
        return;
    }
    fwrite(buf, 1, n, stdout);
    say("%s", "");
}

/* One recvfrom for a reply, with --recv-flags. With MSG_PEEK among them:
 * the peek first (its bytes printed when show_peek), then the same call
 * without MSG_PEEK, whose count is returned. */
static ssize_t recv_reply(int fd, unsigned char *buf, const struct opts *o,
                          bool show_peek, struct fail *f) {
    int flags = o->recv_flags;
    if (flags & MSG_PEEK) {
        ssize_t n = io_recv_flags(fd, buf, o->bufsize, flags, o->wait, f);
        if (n <= 0)
            return n;
        if (show_peek)
            say_reply(buf, n, o, true);
    }
    return io_recv_flags(fd, buf, o->bufsize, flags & ~MSG_PEEK, o->wait, f);
}

/* A recv returned 0: said, unless --bufsize 0's note said why already. */
static void server_closed(const struct opts *o) {
    if (!zero_length(o))
        say("server closed the connection");
}

/* One reply (recv_reply, its peek shown) printed: 1, or 0 once the server
 * closed (said). A failure ends the client. */
static int print_reply(int fd, unsigned char *buf, const struct opts *o) {
    struct fail f;
    ssize_t got = recv_reply(fd, buf, o, true, &f);
    if (got < 0)
        die_fail(&f);
    if (got == 0) {
        server_closed(o);
        return 0;
    }
    say_reply(buf, got, o, false);
    return 1;
}

static ssize_t send_message(int fd, const unsigned char *msg, size_t n,
                            const struct opts *o, struct fail *f) {
    if (o->send_all)
        return io_sendall_flags(fd, msg, n, o->send_flags, o->wait, f) < 0 ? -1 : (ssize_t)n;
    ssize_t sent = io_send_flags(fd, msg, n, o->send_flags, NULL, o->wait, f);
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
        ssize_t r = recv_reply(fd, buf, o, false, f);
        if (r < 0)
            return -1;
        if (r == 0) {
            if (!zero_length(o))
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
        if (!zero_length(o))
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
            server_closed(o);
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
            server_closed(o);
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
            server_closed(o);
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
    while (print_reply(fd, buf, o))
        ;
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
        if (o->no_reply) {
            free(msg);
            continue;
        }
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
        if (!print_reply(fd, buf, o))
            break;
    }
}

/* dgram_batch.c: `--batch N` of the datagram server (udp_server,
 * unix_server --dgram); the twin of socklab's src/programs/dgram_batch.rs.
 *
 * After socket, [setsockopt SO_REUSEADDR], bind, getsockname:
 * 1. print `listening on ADDR` ([--model epoll: epoll_create1, epoll_ctl(ADD)])
 * 2. loop: [epoll_wait]; recvmmsg(fd, [N entries], N,
 *    MSG_WAITFORONE|--recv-flags, NULL): waits for the first datagram only,
 *    takes the others that are queued (N: --batch, fewer to reach --once or
 *    --max-conns) -> each printed as the one-by-one server prints it;
 *    upper-cased in place; sendmmsg(fd, [the replies], K, 0) (UNIX:
 *    MSG_DONTWAIT), each reply to the address its datagram came from. Fewer
 *    sent than asked: `sendmmsg: S of K replies sent; sending the rest` and a
 *    sendmmsg of the rest; one that fails (-1) is that peer's failure,
 *    reported, its reply dropped, the rest sent.
 * 3. at --once/--max-conns: `batched: D datagrams, R recvmmsg + S sendmmsg
 *    [+ W epoll_wait] = C syscalls, X per datagram`
 * 4. [close(epfd)], close(fd) */
#define _GNU_SOURCE
#include "dgram.h"
#include "models.h"
#include "modes.h"
#include "print.h"
#include "stream.h"
#include "unp.h"

#include <stdlib.h>
#include <sys/socket.h>

struct batch {
    size_t n, size;
    unsigned char *bufs;
    struct iovec *iov;
    struct sockaddr_storage *names;
    struct mmsghdr *h;
};

struct counts {
    unsigned long long datagrams, recvs, sends, waits;
};

/* Points the first vlen entries at their buffer and address, msg_len 0. */
static void arm(struct batch *b, size_t vlen) {
    for (size_t k = 0; k < vlen; k++) {
        b->iov[k].iov_base = b->bufs + k * b->size;
        b->iov[k].iov_len = b->size;
        memset(&b->h[k], 0, sizeof b->h[k]);
        b->h[k].msg_hdr.msg_name = &b->names[k];
        b->h[k].msg_hdr.msg_namelen = sizeof b->names[k];
        b->h[k].msg_hdr.msg_iov = &b->iov[k];
        b->h[k].msg_hdr.msg_iovlen = 1;
    }
}

/* Datagram k: printed (not with -q), upper-cased, its reply's length set. */
static void echo(struct batch *b, size_t k, const struct opts *o) {
    struct addr from;
    memcpy(&from.ss, &b->names[k], sizeof from.ss);
    from.len = b->h[k].msg_hdr.msg_namelen;
    size_t real = b->h[k].msg_len, n = real > b->size ? b->size : real;
    unsigned char *buf = b->bufs + k * b->size;
    if (!o->quiet) {
        printf("datagram from %s: ", addr_str(&from));
        print_shown(stdout, buf, n);
        dgram_say_zero_bytes(n, real, b->size, (o->recv_flags & MSG_TRUNC) != 0);
        if (real > n)
            say("datagram from %s: truncated: %zu bytes, buffer %zu (--bufsize)",
                addr_str(&from), real, n);
    }
    upper(buf, n);
    b->iov[k].iov_len = n;
}

/* sendmmsg of replies 0..got, the rest again after a partial send; a
 * reply that fails alone is reported and skipped. */
static void reply_all(int fd, struct batch *b, size_t got, int flags, bool quiet,
                      struct counts *c) {
    for (size_t at = 0; at < got;) {
        size_t asked = got - at;
        int sent = r_sendmmsg(fd, b->h + at, asked, flags);
        c->sends++;
        if (sent >= 0 && (size_t)sent >= asked)
            break;
        if (sent > 0) {
            if (!quiet)
                say("sendmmsg: %d of %zu replies sent; sending the rest", sent, asked);
            at += sent;
            continue;
        }
        if (sent < 0) {
            struct addr to;
            char what[160];
            memcpy(&to.ss, &b->names[at], sizeof to.ss);
            to.len = b->h[at].msg_hdr.msg_namelen;
            snprintf(what, sizeof what, "sendmmsg to %s", addr_str(&to));
            warn_sys(what, errno);
        }
        at++;
    }
}

void dgram_serve_batch(int fd, const struct addr *me, const struct opts *o) {
    struct batch b = {.n = o->batch, .size = o->bufsize};
    size_t total = b.n * b.size;
    b.bufs = Malloc(total ? total : 1, "--bufsize --batch");
    b.iov = calloc(b.n, sizeof *b.iov);
    b.names = calloc(b.n, sizeof *b.names);
    b.h = calloc(b.n, sizeof *b.h);
    if (!b.iov || !b.names || !b.h)
        err_quit(1, "cannot allocate --batch %zu", b.n);
    say_listening(me);                                             /* 1 */
    set_wait(fd, o->wait);
    int ep = o->model == MODEL_EPOLL ? dgram_epoll(fd) : -1;
    int send_flags = addr_is_unix(me) ? MSG_DONTWAIT : 0;
    struct counts c = {0};
    for (;;) {                                                     /* 2 */
        if (ep >= 0) {
            dgram_epoll_wait(ep);
            c.waits++;
        }
        unsigned long long left = o->max_conns ? o->max_conns - c.datagrams : ~0ULL;
        size_t vlen = o->once ? 1 : left < b.n ? (size_t)left : b.n;
        arm(&b, vlen);
        int got = r_recvmmsg(fd, b.h, vlen, MSG_WAITFORONE | o->recv_flags);
        if (got < 0)
            err_sys("recvmmsg", errno);
        c.recvs++;
        for (int k = 0; k < got; k++)
            echo(&b, k, o);
        reply_all(fd, &b, got, send_flags, o->quiet, &c);
        c.datagrams += got;
        if (o->once || (o->max_conns && c.datagrams >= o->max_conns))
            break;
    }
    unsigned long long calls = c.recvs + c.sends + c.waits;              /* 3 */
    char waits[64] = "";
    if (c.waits)
        snprintf(waits, sizeof waits, " + %llu epoll_wait", c.waits);
    say("batched: %llu datagrams, %llu recvmmsg + %llu sendmmsg%s = %llu syscalls, "
        "%.3f per datagram",
        c.datagrams, c.recvs, c.sends, waits, calls,
        (double)calls / (double)(c.datagrams ? c.datagrams : 1));
    free(b.bufs);
    free(b.iov);
    free(b.names);
    free(b.h);
    if (ep >= 0)
        Close(ep);
    Close(fd);                                                     /* 4 */
}

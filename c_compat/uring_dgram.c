/* uring_dgram.c: the datagram server's --model uring (socklab's
 * src/programs/model/uring_dgram.rs), on raw syscalls: no liburing.
 *
 * 1. getsockname(fd) (in udp_server.c's and unix_server.c's main)
 * 2. io_uring_setup(1024), the rings mmap'ed (SQ and CQ in one mapping,
 *    then the SQEs), 256 buffers of 16 + 128 + bufsize bytes after their
 *    ring entries in one anonymous mmap,
 *    io_uring_register(IORING_REGISTER_PBUF_RING); then `listening on ADDR`
 * 3. a multishot RECVMSG (buffer group 0; msg_namelen 128, no iovec): each
 *    buffer holds struct io_uring_recvmsg_out, the sender, the payload
 * 4. loop: one io_uring_enter(ring, pending, 1, IORING_ENTER_GETEVENTS) per
 *    iteration; each CQE: a datagram (printed, upper-cased, a SENDMSG SQE
 *    back to its sender from the same buffer, MSG_DONTWAIT to a UNIX peer),
 *    a reply sent (the buffer back; a failure reported), the RECVMSG ended
 *    (ENOBUFS: re-armed once a buffer is back); after --once/--max-conns
 *    datagrams the RECVMSG is cancelled (ASYNC_CANCEL)
 * 5. once nothing is in flight: close(ring), close(fd). */
#define _GNU_SOURCE
#include "dgram.h"
#include "models.h"
#include "print.h"
#include "ring.h"
#include "stream.h"
#include "unp.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ENTRIES 1024
#define NBUFS 256
#define HDR 16
#define NAME 128
#define RECV (2ULL << 32)
#define SEND (3ULL << 32)
#define CANCEL (4ULL << 32)

struct dloop {
    struct ring r; /* buffers of HDR + NAME + --bufsize bytes */
    int fd;
    bool unix_peer, quiet;
    size_t bufsize; /* --bufsize: each buffer's room for a datagram's bytes */
    struct msghdr recv_hdr, send_hdr[NBUFS];
    struct iovec send_iov[NBUFS];
    unsigned long long served, limit;
    bool recv, starved, gave, stopping;
    size_t sending;
};

static void give(struct dloop *l, unsigned bid) {
    ring_give(&l->r, bid);
    l->gave = true;
}

static void push(struct dloop *l, struct io_uring_sqe s) {
    ring_push(&l->r, s);
}

static void arm_recv(struct dloop *l) {
    struct io_uring_sqe s = {.opcode = IORING_OP_RECVMSG, .fd = l->fd, .len = 1,
                             .addr = (uint64_t)(uintptr_t)&l->recv_hdr,
                             .user_data = RECV | (unsigned)l->fd,
                             .ioprio = IORING_RECV_MULTISHOT, .flags = IOSQE_BUFFER_SELECT};
    s.buf_group = 0;
    l->recv = true;
    l->starved = l->gave = false;
    push(l, s);
}

static void stop(struct dloop *l) {
    if (l->stopping)
        return;
    l->stopping = true;
    if (!l->recv)
        return;
    struct io_uring_sqe s = {.opcode = IORING_OP_ASYNC_CANCEL, .fd = -1,
                             .addr = RECV | (unsigned)l->fd,
                             .user_data = CANCEL | (unsigned)l->fd};
    push(l, s);
}

static void datagram(struct dloop *l, unsigned bid, size_t len) {
    unsigned char *buf = ring_buf(&l->r, bid);
    struct io_uring_recvmsg_out *h = (struct io_uring_recvmsg_out *)buf;
    struct addr from = {0};
    size_t namelen = h->namelen < NAME ? h->namelen : NAME;
    if (namelen == 0 && l->unix_peer) { /* an unbound UNIX client */
        sa_family_t fam = AF_UNIX;
        memcpy(buf + HDR, &fam, sizeof fam);
        namelen = sizeof fam;
    }
    memcpy(&from.ss, buf + HDR, namelen);
    from.len = namelen;
    unsigned char *payload = buf + HDR + NAME;
    size_t n = len > HDR + NAME ? len - HDR - NAME : 0;
    if (!l->quiet) {
        printf("datagram from %s: ", addr_str(&from));
        print_shown(stdout, payload, n);
        dgram_say_zero_bytes(n, n, l->bufsize, 0); /* buffers of --bufsize bytes */
    }
    upper(payload, n);
    l->send_iov[bid] = (struct iovec){.iov_base = payload, .iov_len = n};
    l->send_hdr[bid] = (struct msghdr){.msg_name = buf + HDR, .msg_namelen = namelen,
                                       .msg_iov = &l->send_iov[bid], .msg_iovlen = 1};
    struct io_uring_sqe s = {.opcode = IORING_OP_SENDMSG, .fd = l->fd, .len = 1,
                             .addr = (uint64_t)(uintptr_t)&l->send_hdr[bid],
                             .user_data = SEND | bid};
    s.msg_flags = l->unix_peer ? MSG_DONTWAIT : 0;
    l->sending++;
    push(l, s);
    l->served++;
    if (l->limit && l->served >= l->limit)
        stop(l);
}

static void on_recv(struct dloop *l, struct io_uring_cqe *c) {
    if (!(c->flags & IORING_CQE_F_MORE))
        l->recv = false;
    if (c->flags & IORING_CQE_F_BUFFER) {
        unsigned bid = c->flags >> IORING_CQE_BUFFER_SHIFT;
        if (c->res < 0 || l->stopping)
            give(l, bid);
        else
            datagram(l, bid, c->res);
    } else if (c->res == -ENOBUFS) {
        l->starved = true;
    } else if (c->res < 0 && c->res != -ECANCELED) {
        err_sys("io_uring RECVMSG", -c->res);
    }
}

static void on_send(struct dloop *l, struct io_uring_cqe *c) {
    unsigned bid = (unsigned)(c->user_data & 0xffff);
    l->sending--;
    if (c->res < 0) {
        struct addr to = {0};
        memcpy(&to.ss, l->send_hdr[bid].msg_name, l->send_hdr[bid].msg_namelen);
        to.len = l->send_hdr[bid].msg_namelen;
        char what[200];
        snprintf(what, sizeof what, "io_uring SENDMSG to %s", addr_str(&to));
        warn_sys(what, -c->res);
    }
    give(l, bid);
}

void dgram_uring(int fd, const struct addr *me, const struct opts *o) {
    struct ring r;                                             /* 2 */
    ring_setup(&r, ENTRIES, NBUFS, HDR + NAME + o->bufsize);
    struct dloop *l = calloc(1, sizeof *l);
    if (!l)
        err_sys("calloc", ENOMEM);
    l->r = r;
    l->fd = fd, l->unix_peer = addr_family(me) == AF_UNIX, l->quiet = o->quiet;
    l->bufsize = o->bufsize;
    l->limit = o->once ? 1 : o->max_conns;
    l->recv_hdr.msg_namelen = NAME;
    arm_recv(l);                                               /* 3 */
    say_listening(me);
    while (!(l->stopping && !l->recv && l->sending == 0)) {
        ring_enter(&l->r, true);                               /* 4 */
        size_t n;
        struct io_uring_cqe *batch = ring_reap(&l->r, &n);
        for (size_t i = 0; i < n; i++) {
            uint64_t kind = batch[i].user_data & (0xffULL << 32);
            if (kind == RECV)
                on_recv(l, &batch[i]);
            else if (kind == SEND)
                on_send(l, &batch[i]);
        }
        free(batch);
        if (!l->recv && !l->stopping && (!l->starved || l->gave))
            arm_recv(l);
    }
    Close(l->r.fd);                                            /* 5 */
    Close(fd);
    free(l);
}

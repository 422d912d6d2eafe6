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
#include "models.h"
#include "print.h"
#include "stream.h"
#include "unp.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ENTRIES 1024
#define NBUFS 256
#define HDR 16
#define NAME 128
#define RECV (2ULL << 32)
#define SEND (3ULL << 32)
#define CANCEL (4ULL << 32)

struct dloop {
    int ring, fd;
    bool unix_peer, quiet;
    size_t bufsize; /* HDR + NAME + --bufsize */
    unsigned *sq_head, *sq_tail, sq_mask, sq_entries, *sq_array, tail;
    struct io_uring_sqe *sqes;
    unsigned *cq_head, *cq_tail, cq_mask;
    struct io_uring_cqe *cqes;
    unsigned char *br, *bufs;
    unsigned short br_tail;
    struct msghdr recv_hdr, send_hdr[NBUFS];
    struct iovec send_iov[NBUFS];
    unsigned long long served, limit;
    bool recv, starved, gave, stopping;
    size_t sending;
};

static void give(struct dloop *l, unsigned bid) {
    struct io_uring_buf *e = (struct io_uring_buf *)l->br + (l->br_tail & (NBUFS - 1));
    e->addr = (uint64_t)(uintptr_t)(l->bufs + (size_t)bid * l->bufsize);
    e->len = l->bufsize;
    e->bid = bid;
    l->br_tail++;
    atomic_store_explicit((_Atomic unsigned short *)(l->br + 14), l->br_tail, memory_order_release);
    l->gave = true;
}

static void enter(struct dloop *l, bool wait) {
    atomic_store_explicit((_Atomic unsigned *)l->sq_tail, l->tail, memory_order_release);
    for (;;) {
        check_stop();
        unsigned n = l->tail - atomic_load_explicit((_Atomic unsigned *)l->sq_head, memory_order_acquire);
        if (syscall(SYS_io_uring_enter, l->ring, n, wait ? 1 : 0,
                    wait ? IORING_ENTER_GETEVENTS : 0, NULL, (size_t)0) >= 0)
            return;
        if (errno != EINTR)
            err_sys("io_uring_enter", errno);
    }
}

static void push(struct dloop *l, struct io_uring_sqe s) {
    while (l->tail - atomic_load_explicit((_Atomic unsigned *)l->sq_head, memory_order_acquire)
           >= l->sq_entries)
        enter(l, false); /* the CQEs stay in the ring for the next reap */
    unsigned i = l->tail & l->sq_mask;
    l->sqes[i] = s;
    l->sq_array[i] = i;
    l->tail++;
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
    unsigned char *buf = l->bufs + (size_t)bid * l->bufsize;
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
        say("%s", n == 0 ? " (an empty datagram)" : "");
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

static void *map(size_t len, int fd, off_t off) {
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED | MAP_POPULATE, fd, off);
    if (p == MAP_FAILED)
        err_sys("mmap", errno);
    return p;
}

void dgram_uring(int fd, const struct addr *me, const struct opts *o) {
    struct io_uring_params p = {0};                            /* 2 */
    int ring = syscall(SYS_io_uring_setup, ENTRIES, &p);
    if (ring < 0)
        err_sys("io_uring_setup", errno);
    size_t sq_len = p.sq_off.array + p.sq_entries * 4;
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    bool single = p.features & IORING_FEAT_SINGLE_MMAP;
    unsigned char *sq = map(single && cq_len > sq_len ? cq_len : sq_len, ring, IORING_OFF_SQ_RING);
    unsigned char *cq = single ? sq : map(cq_len, ring, IORING_OFF_CQ_RING);
    void *sqes = map(p.sq_entries * sizeof(struct io_uring_sqe), ring, IORING_OFF_SQES);
    size_t bufsize = HDR + NAME + o->bufsize;
    size_t ring_len = (NBUFS * 16 + 4095) / 4096 * 4096;
    unsigned char *br = map(ring_len + (size_t)NBUFS * bufsize, -1, 0);
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br, .ring_entries = NBUFS};
    if (syscall(SYS_io_uring_register, ring, IORING_REGISTER_PBUF_RING, &reg, 1) < 0)
        err_sys("io_uring_register", errno);
    struct dloop *l = calloc(1, sizeof *l);
    if (!l)
        err_sys("calloc", ENOMEM);
    *l = (struct dloop){
        .ring = ring, .fd = fd, .unix_peer = addr_family(me) == AF_UNIX, .quiet = o->quiet,
        .bufsize = bufsize, .limit = o->once ? 1 : o->max_conns,
        .sq_head = (unsigned *)(sq + p.sq_off.head), .sq_tail = (unsigned *)(sq + p.sq_off.tail),
        .sq_mask = *(unsigned *)(sq + p.sq_off.ring_mask), .sq_entries = p.sq_entries,
        .sq_array = (unsigned *)(sq + p.sq_off.array), .sqes = sqes,
        .cq_head = (unsigned *)(cq + p.cq_off.head), .cq_tail = (unsigned *)(cq + p.cq_off.tail),
        .cq_mask = *(unsigned *)(cq + p.cq_off.ring_mask),
        .cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes), .br = br, .bufs = br + ring_len};
    l->recv_hdr.msg_namelen = NAME;
    l->tail = *l->sq_tail;
    for (unsigned b = 0; b < NBUFS; b++)
        give(l, b);
    arm_recv(l);                                               /* 3 */
    say_listening(me);
    while (!(l->stopping && !l->recv && l->sending == 0)) {
        enter(l, true);                                        /* 4 */
        unsigned head = *l->cq_head;
        unsigned tail = atomic_load_explicit((_Atomic unsigned *)l->cq_tail, memory_order_acquire);
        size_t n = tail - head;
        struct io_uring_cqe *batch = malloc((n ? n : 1) * sizeof *batch);
        for (size_t i = 0; i < n; i++)
            batch[i] = l->cqes[(head + i) & l->cq_mask];
        atomic_store_explicit((_Atomic unsigned *)l->cq_head, tail, memory_order_release);
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
    Close(ring);                                               /* 5 */
    Close(fd);
    free(l);
}

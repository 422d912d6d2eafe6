/* uring.c: --model uring (socklab's src/programs/model/uring.rs and
 * uring_conn.rs, src/sys/uring_ring.rs), on raw syscalls: no liburing.
 *
 * 1. prlimit64(RLIMIT_NOFILE) raised as the epoll model does
 * 2. io_uring_setup(1024), the rings mmap'ed (SQ and CQ in one mapping,
 *    then the SQEs), 256 buffers of bufsize bytes after their ring entries
 *    in one anonymous mmap, io_uring_register(IORING_REGISTER_PBUF_RING);
 *    then `listening on ADDR`
 * 3. ACCEPT: multishot, or single-shot with --max-conns/--once
 * 4. loop: one io_uring_enter(ring, pending, 1, IORING_ENTER_GETEVENTS)
 *    per iteration; each CQE: accepted (getpeername unless -q, a
 *    multishot RECV with a byte limit of 2 x bufsize), received (a SEND
 *    from the buffer), sent (the buffer back, the next one, or the RECV
 *    re-armed), closed (close once nothing is in flight)
 * 5. close(ring), close(listener). */
#define _GNU_SOURCE
#include "models.h"
#include "modes.h"
#include "print.h"
#include "settings.h"
#include "stream.h"
#include "unp.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ENTRIES 1024
#define NBUFS 256
#define MAX_BUFS 2
#define ACCEPT (1ULL << 32)
#define RECV (2ULL << 32)
#define SEND (3ULL << 32)
#define CANCEL (4ULL << 32)

struct uconn {
    struct addr peer;
    bool recv, cancelling, closing, sending, starved;
    unsigned bid, sent, len;
    unsigned wbid[MAX_BUFS + 8], wlen[MAX_BUFS + 8], nwait;
};

struct uloop {
    const struct opts *o;
    int ring, listener;
    unsigned *sq_head, *sq_tail, sq_mask, sq_entries, *sq_array, tail;
    struct io_uring_sqe *sqes;
    unsigned *cq_head, *cq_tail, cq_mask;
    struct io_uring_cqe *cqes;
    unsigned char *br, *bufs;
    unsigned short br_tail;
    struct uconn **conns;
    size_t n_conns, live;
    unsigned long long accepted, limit;
    bool listening, accepting;
    /* RECVs ended for want of buffers, first come first re-armed: a FIFO
     * (starved[first..nstarved]); an fd whose conn is no longer starved is
     * passed over. held: buffers filled and not back in the ring yet. */
    int *starved;
    size_t first, nstarved, cap_starved, held;
};

static void give(struct uloop *l, unsigned bid) {
    struct io_uring_buf *e = (struct io_uring_buf *)l->br + (l->br_tail & (NBUFS - 1));
    e->addr = (uint64_t)(uintptr_t)(l->bufs + (size_t)bid * l->o->bufsize);
    e->len = l->o->bufsize;
    e->bid = bid;
    l->br_tail++;
    atomic_store_explicit((_Atomic unsigned short *)(l->br + 14), l->br_tail, memory_order_release);
    if (l->held)
        l->held--;
}

static void starve(struct uloop *l, int fd) {
    if (l->nstarved == l->cap_starved) {
        if (l->first) {
            memmove(l->starved, l->starved + l->first, (l->nstarved - l->first) * sizeof *l->starved);
            l->nstarved -= l->first, l->first = 0;
        } else {
            l->cap_starved = 2 * l->cap_starved + 16;
            l->starved = realloc(l->starved, l->cap_starved * sizeof *l->starved);
        }
    }
    l->starved[l->nstarved++] = fd;
}

static void enter(struct uloop *l, bool wait) {
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

static void on_cqe(struct uloop *l, struct io_uring_cqe *c);

static void push(struct uloop *l, struct io_uring_sqe s) {
    while (l->tail - atomic_load_explicit((_Atomic unsigned *)l->sq_head, memory_order_acquire)
           >= l->sq_entries)
        enter(l, false); /* the CQEs stay in the ring for the next reap */
    unsigned i = l->tail & l->sq_mask;
    l->sqes[i] = s;
    l->sq_array[i] = i;
    l->tail++;
}

static void arm_accept(struct uloop *l) {
    struct io_uring_sqe s = {.opcode = IORING_OP_ACCEPT, .fd = l->listener,
                             .user_data = ACCEPT | (unsigned)l->listener};
    if (!l->limit)
        s.ioprio = IORING_ACCEPT_MULTISHOT;
    s.accept_flags = SOCK_CLOEXEC;
    l->accepting = true;
    push(l, s);
}

static void arm_recv(struct uloop *l, int fd) {
    l->conns[fd]->recv = true;
    struct io_uring_sqe s = {.opcode = IORING_OP_RECV, .fd = fd, .user_data = RECV | (unsigned)fd,
                             .ioprio = IORING_RECV_MULTISHOT, .flags = IOSQE_BUFFER_SELECT};
    s.buf_group = 0;
    s.file_index = MAX_BUFS * l->o->bufsize; /* optlen: the RECV's byte limit */
    push(l, s);
}

static void send_buf(struct uloop *l, int fd, unsigned bid, unsigned from, unsigned len) {
    struct io_uring_sqe s = {.opcode = IORING_OP_SEND, .fd = fd, .user_data = SEND | (unsigned)fd};
    s.addr = (uint64_t)(uintptr_t)(l->bufs + (size_t)bid * l->o->bufsize + from);
    s.len = len - from;
    push(l, s);
}

static void settle(struct uloop *l, int fd) {
    struct uconn *c = l->conns[fd];
    if (!c || !c->closing)
        return;
    if (c->recv) {
        if (!c->cancelling) {
            c->cancelling = true;
            struct io_uring_sqe s = {.opcode = IORING_OP_ASYNC_CANCEL, .fd = -1,
                                     .user_data = CANCEL | (unsigned)fd};
            s.addr = RECV | (unsigned)fd;
            push(l, s);
        }
        return;
    }
    if (c->sending)
        return;
    for (unsigned i = 0; i < c->nwait; i++)
        give(l, c->wbid[i]);
    free(c);
    l->conns[fd] = NULL;
    l->live--;
    Close(fd);
    if (!l->listening && (!l->limit || l->accepted < l->limit)) {
        l->listening = true;
        if (!l->accepting)
            arm_accept(l);
    }
}

static void rearm(struct uloop *l, int fd) {
    struct uconn *c = l->conns[fd];
    if (c && !c->recv && !c->closing && !c->starved && !c->sending && !c->nwait)
        arm_recv(l, fd);
}

/* As many starved RECVs re-armed as buffers are free, in the order they
 * starved; one that is sending is re-armed when its SEND completes. */
static void rearm_starved(struct uloop *l) {
    size_t free_bufs = l->held < NBUFS ? NBUFS - l->held : 0;
    while (free_bufs > 0 && l->first < l->nstarved) {
        int fd = l->starved[l->first++];
        struct uconn *c = (size_t)fd < l->n_conns ? l->conns[fd] : NULL;
        if (!c || !c->starved)
            continue;
        c->starved = false;
        if (!c->closing && !c->recv && !c->sending) {
            arm_recv(l, fd);
            free_bufs--;
        }
    }
    if (l->first == l->nstarved)
        l->first = l->nstarved = 0;
}

static void on_accept(struct uloop *l, struct io_uring_cqe *cq) {
    if (!(cq->flags & IORING_CQE_F_MORE))
        l->accepting = false;
    if (cq->res < 0) {
        int e = -cq->res;
        if (e != EAGAIN && e != ECANCELED) {
            warn_sys("io_uring ACCEPT", e);
            if (e == EMFILE || e == ENFILE) {
                if (l->live == 0)
                    exit(1);
                l->listening = false;
            }
        }
    } else {
        int fd = cq->res;
        l->accepted++;
        if (l->limit && l->accepted >= l->limit)
            l->listening = false;
        apply_sockopts(fd, l->o, PH_ACCEPTED);
        if (l->o->names)
            show_names(fd);
        struct addr peer = {0};
        char cred[80] = "";
        if (!l->o->quiet) {
            socklen_t len = sizeof peer.ss;
            if (getpeername(fd, (struct sockaddr *)&peer.ss, &len) < 0)
                err_sys("getpeername", errno);
            peer.len = len;
            peer_cred(fd, &peer, cred, sizeof cred);
            say("connection from %s%s", addr_str(&peer), cred);
        }
        if ((size_t)fd >= l->n_conns) {
            size_t n = 2 * (size_t)fd + 16;
            l->conns = realloc(l->conns, n * sizeof *l->conns);
            memset(&l->conns[l->n_conns], 0, (n - l->n_conns) * sizeof *l->conns);
            l->n_conns = n;
        }
        struct uconn *c = calloc(1, sizeof *c);
        c->peer = peer;
        l->conns[fd] = c;
        l->live++;
        arm_recv(l, fd);
    }
    if (l->listening && !l->accepting)
        arm_accept(l);
}

static void on_recv(struct uloop *l, int fd, struct io_uring_cqe *cq) {
    unsigned bid = cq->flags >> IORING_CQE_BUFFER_SHIFT;
    if (cq->flags & IORING_CQE_F_BUFFER)
        l->held++;
    struct uconn *c = (size_t)fd < l->n_conns ? l->conns[fd] : NULL;
    if (!c) {
        if (cq->flags & IORING_CQE_F_BUFFER)
            give(l, bid);
        return;
    }
    if (!(cq->flags & IORING_CQE_F_MORE))
        c->recv = c->cancelling = false;
    if (cq->res > 0 && (cq->flags & IORING_CQE_F_BUFFER)) {
        unsigned n = cq->res;
        unsigned char *msg = l->bufs + (size_t)bid * l->o->bufsize;
        if (!l->o->quiet) {
            printf("from %s: ", addr_str(&c->peer));
            print_shown(stdout, msg, n);
            say("%s", "");
        }
        if (l->o->sink || c->closing) {
            give(l, bid);
        } else {
            upper(msg, n);
            if (!c->sending) {
                c->sending = true;
                c->bid = bid, c->sent = 0, c->len = n;
                send_buf(l, fd, bid, 0, n);
            } else if (c->nwait < MAX_BUFS + 8) {
                c->wbid[c->nwait] = bid, c->wlen[c->nwait] = n, c->nwait++;
            } else {
                give(l, bid);
                c->closing = true;
            }
        }
    } else if (cq->res == 0) {
        if (!l->o->quiet)
            say("%s closed", addr_str(&c->peer));
        c->closing = true;
    } else if (cq->res == -ENOBUFS) {
        if (!c->closing && !c->starved) {
            c->starved = true;
            starve(l, fd);
        }
    } else if (cq->res < 0 && cq->res != -ECANCELED) {
        warn_sys("io_uring RECV", -cq->res);
        c->closing = true;
    }
    rearm(l, fd);
    settle(l, fd);
}

static void on_send(struct uloop *l, int fd, struct io_uring_cqe *cq) {
    struct uconn *c = (size_t)fd < l->n_conns ? l->conns[fd] : NULL;
    if (!c || !c->sending)
        return;
    c->sending = false;
    if (cq->res < 0) {
        give(l, c->bid);
        warn_sys("io_uring SEND", -cq->res);
        c->closing = true;
        settle(l, fd);
        return;
    }
    c->sent += cq->res;
    if (c->sent < c->len) {
        c->sending = true;
        send_buf(l, fd, c->bid, c->sent, c->len);
        return;
    }
    give(l, c->bid);
    if (l->o->once) {
        c->closing = true;
    } else if (c->nwait) {
        c->sending = true;
        c->bid = c->wbid[0], c->sent = 0, c->len = c->wlen[0];
        memmove(c->wbid, c->wbid + 1, (c->nwait - 1) * sizeof c->wbid[0]);
        memmove(c->wlen, c->wlen + 1, (c->nwait - 1) * sizeof c->wlen[0]);
        c->nwait--;
        send_buf(l, fd, c->bid, 0, c->len);
        return;
    }
    rearm(l, fd);
    settle(l, fd);
}

static void on_cqe(struct uloop *l, struct io_uring_cqe *c) {
    int fd = (int)(unsigned)c->user_data;
    switch (c->user_data & (0xffULL << 32)) {
    case ACCEPT: on_accept(l, c); break;
    case RECV: on_recv(l, fd, c); break;
    case SEND: on_send(l, fd, c); break;
    default: break; /* ASYNC_CANCEL's own result */
    }
}

static void *map(size_t len, int fd, off_t off) {
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED | MAP_POPULATE, fd, off);
    if (p == MAP_FAILED)
        err_sys("mmap", errno);
    return p;
}

void model_uring(int listener, const struct addr *me, const struct opts *o) {
    struct rlimit rl;                                          /* 1 */
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        err_sys("getrlimit", errno);
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        err_sys("setrlimit", errno);
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
    size_t ring_len = (NBUFS * 16 + 4095) / 4096 * 4096;
    unsigned char *br = map(ring_len + (size_t)NBUFS * o->bufsize, -1, 0);
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br, .ring_entries = NBUFS};
    if (syscall(SYS_io_uring_register, ring, IORING_REGISTER_PBUF_RING, &reg, 1) < 0)
        err_sys("io_uring_register", errno);
    struct uloop l = {
        .o = o, .ring = ring, .listener = listener, .limit = model_limit(o), .listening = true,
        .sq_head = (unsigned *)(sq + p.sq_off.head), .sq_tail = (unsigned *)(sq + p.sq_off.tail),
        .sq_mask = *(unsigned *)(sq + p.sq_off.ring_mask), .sq_entries = p.sq_entries,
        .sq_array = (unsigned *)(sq + p.sq_off.array), .sqes = sqes,
        .cq_head = (unsigned *)(cq + p.cq_off.head), .cq_tail = (unsigned *)(cq + p.cq_off.tail),
        .cq_mask = *(unsigned *)(cq + p.cq_off.ring_mask),
        .cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes), .br = br, .bufs = br + ring_len};
    l.tail = *l.sq_tail;
    for (unsigned b = 0; b < NBUFS; b++)
        give(&l, b);
    arm_accept(&l);                                            /* 3 */
    say_listening(me);
    while (l.listening || l.live > 0 || !l.limit || l.accepted < l.limit) {
        enter(&l, true);                                       /* 4 */
        unsigned head = *l.cq_head;
        unsigned tail = atomic_load_explicit((_Atomic unsigned *)l.cq_tail, memory_order_acquire);
        size_t n = tail - head;
        struct io_uring_cqe *batch = malloc((n ? n : 1) * sizeof *batch);
        for (size_t i = 0; i < n; i++)
            batch[i] = l.cqes[(head + i) & l.cq_mask];
        atomic_store_explicit((_Atomic unsigned *)l.cq_head, tail, memory_order_release);
        for (size_t i = 0; i < n; i++)
            on_cqe(&l, &batch[i]);
        free(batch);
        rearm_starved(&l);
    }
    Close(ring);                                               /* 5 */
    Close(listener);
    free(l.conns);
    free(l.starved);
}

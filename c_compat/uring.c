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
 *    multishot RECV with a byte limit of 2 x bufsize; --once: one
 *    single-shot RECV, no limit), received (a SEND
 *    from the buffer), sent (the buffer back, the next one, or the RECV
 *    re-armed), closed (close once nothing is in flight)
 * 5. close(ring), close(listener). */
#define _GNU_SOURCE
#include "models.h"
#include "modes.h"
#include "print.h"
#include "ring.h"
#include "settings.h"
#include "stream.h"
#include "unp.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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
    struct ring r;
    int listener;
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
    ring_give(&l->r, bid);
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

static void push(struct uloop *l, struct io_uring_sqe s) {
    ring_push(&l->r, s);
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
                             .flags = IOSQE_BUFFER_SELECT};
    s.buf_group = 0;
    if (!l->o->once) { /* --once: one single-shot RECV, its reply, close */
        s.ioprio = IORING_RECV_MULTISHOT;
        s.file_index = MAX_BUFS * l->o->bufsize; /* optlen: the RECV's byte limit */
    }
    push(l, s);
}

static void send_buf(struct uloop *l, int fd, unsigned bid, unsigned from, unsigned len) {
    struct io_uring_sqe s = {.opcode = IORING_OP_SEND, .fd = fd, .user_data = SEND | (unsigned)fd};
    s.addr = (uint64_t)(uintptr_t)(ring_buf(&l->r, bid) + from);
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
        unsigned char *msg = ring_buf(&l->r, bid);
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

void model_uring(int listener, const struct addr *me, const struct opts *o) {
    struct rlimit rl;                                          /* 1 */
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        err_sys("getrlimit", errno);
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        err_sys("setrlimit", errno);
    struct uloop l = {.o = o, .listener = listener, .limit = model_limit(o), .listening = true};
    ring_setup(&l.r, ENTRIES, NBUFS, o->bufsize);              /* 2 */
    arm_accept(&l);                                            /* 3 */
    say_listening(me);
    while (l.listening || l.live > 0 || !l.limit || l.accepted < l.limit) {
        ring_enter(&l.r, true);                                /* 4 */
        size_t n;
        struct io_uring_cqe *batch = ring_reap(&l.r, &n);
        for (size_t i = 0; i < n; i++)
            on_cqe(&l, &batch[i]);
        free(batch);
        rearm_starved(&l);
    }
    Close(l.r.fd);                                             /* 5 */
    Close(listener);
    free(l.conns);
    free(l.starved);
}

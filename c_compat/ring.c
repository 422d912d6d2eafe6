/* ring.c: an io_uring on raw syscalls (ring.h). */
#define _GNU_SOURCE
#include "ring.h"
#include "unp.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *map(size_t len, int fd, off_t off) {
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED | MAP_POPULATE, fd, off);
    if (p == MAP_FAILED)
        err_sys("mmap", errno);
    return p;
}

void ring_setup(struct ring *r, unsigned entries, unsigned nbufs, size_t bufsize) {
    struct io_uring_params p = {0};
    int fd = syscall(SYS_io_uring_setup, entries, &p);
    if (fd < 0)
        err_sys("io_uring_setup", errno);
    size_t sq_len = p.sq_off.array + p.sq_entries * 4;
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    bool single = p.features & IORING_FEAT_SINGLE_MMAP;
    unsigned char *sq = map(single && cq_len > sq_len ? cq_len : sq_len, fd, IORING_OFF_SQ_RING);
    unsigned char *cq = single ? sq : map(cq_len, fd, IORING_OFF_CQ_RING);
    void *sqes = map(p.sq_entries * sizeof(struct io_uring_sqe), fd, IORING_OFF_SQES);
    size_t ring_len = (nbufs * 16 + 4095) / 4096 * 4096;
    unsigned char *br = map(ring_len + nbufs * bufsize, -1, 0);
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br, .ring_entries = nbufs};
    if (syscall(SYS_io_uring_register, fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0)
        err_sys("io_uring_register", errno);
    *r = (struct ring){
        .fd = fd,
        .sq_head = (unsigned *)(sq + p.sq_off.head), .sq_tail = (unsigned *)(sq + p.sq_off.tail),
        .sq_mask = *(unsigned *)(sq + p.sq_off.ring_mask), .sq_entries = p.sq_entries,
        .sq_array = (unsigned *)(sq + p.sq_off.array), .sqes = sqes,
        .cq_head = (unsigned *)(cq + p.cq_off.head), .cq_tail = (unsigned *)(cq + p.cq_off.tail),
        .cq_mask = *(unsigned *)(cq + p.cq_off.ring_mask),
        .cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes),
        .br = br, .bufs = br + ring_len, .nbufs = nbufs, .bufsize = bufsize};
    r->tail = *r->sq_tail;
    for (unsigned b = 0; b < nbufs; b++)
        ring_give(r, b);
}

unsigned char *ring_buf(const struct ring *r, unsigned bid) {
    return r->bufs + (size_t)bid * r->bufsize;
}

void ring_give(struct ring *r, unsigned bid) {
    struct io_uring_buf *e = (struct io_uring_buf *)r->br + (r->br_tail & (r->nbufs - 1));
    e->addr = (uint64_t)(uintptr_t)ring_buf(r, bid);
    e->len = r->bufsize;
    e->bid = bid;
    r->br_tail++;
    atomic_store_explicit((_Atomic unsigned short *)(r->br + 14), r->br_tail, memory_order_release);
}

void ring_enter(struct ring *r, bool wait) {
    atomic_store_explicit((_Atomic unsigned *)r->sq_tail, r->tail, memory_order_release);
    for (;;) {
        check_stop();
        unsigned n = r->tail - atomic_load_explicit((_Atomic unsigned *)r->sq_head, memory_order_acquire);
        if (syscall(SYS_io_uring_enter, r->fd, n, wait ? 1 : 0,
                    wait ? IORING_ENTER_GETEVENTS : 0, NULL, (size_t)0) >= 0)
            return;
        if (errno != EINTR)
            err_sys("io_uring_enter", errno);
    }
}

void ring_push(struct ring *r, struct io_uring_sqe s) {
    while (r->tail - atomic_load_explicit((_Atomic unsigned *)r->sq_head, memory_order_acquire)
           >= r->sq_entries)
        ring_enter(r, false);
    unsigned i = r->tail & r->sq_mask;
    r->sqes[i] = s;
    r->sq_array[i] = i;
    r->tail++;
}

struct io_uring_cqe *ring_reap(struct ring *r, size_t *n) {
    unsigned head = *r->cq_head;
    unsigned tail = atomic_load_explicit((_Atomic unsigned *)r->cq_tail, memory_order_acquire);
    *n = tail - head;
    struct io_uring_cqe *batch = malloc((*n ? *n : 1) * sizeof *batch);
    if (!batch)
        err_sys("malloc", ENOMEM);
    for (size_t i = 0; i < *n; i++)
        batch[i] = r->cqes[(head + i) & r->cq_mask];
    atomic_store_explicit((_Atomic unsigned *)r->cq_head, tail, memory_order_release);
    return batch;
}

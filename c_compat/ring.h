/* ring.h: an io_uring on raw syscalls (no liburing), shared by the stream
 * servers' --model uring (uring.c) and the datagram servers' (uring_dgram.c);
 * the twin of socklab's src/sys/uring_ring.rs. */
#ifndef SOCKLAB_RING_H
#define SOCKLAB_RING_H

#include <linux/io_uring.h>
#include <stdbool.h>
#include <stddef.h>

/* The rings mapped in this process, and the provided-buffer ring (group 0)
 * with its nbufs buffers of bufsize bytes. */
struct ring {
    int fd;
    unsigned *sq_head, *sq_tail, sq_mask, sq_entries, *sq_array, tail;
    struct io_uring_sqe *sqes;
    unsigned *cq_head, *cq_tail, cq_mask;
    struct io_uring_cqe *cqes;
    unsigned char *br, *bufs;
    unsigned short br_tail, nbufs;
    size_t bufsize;
};

/* io_uring_setup(entries), the rings mmap'ed (SQ and CQ in one mapping:
 * IORING_FEAT_SINGLE_MMAP, else two), the SQEs mmap'ed, nbufs (a power of
 * two) buffers of bufsize bytes after their ring entries in one anonymous
 * mmap, io_uring_register(IORING_REGISTER_PBUF_RING) as group 0, every
 * buffer given. A failure: err_sys (one line, exit 1). */
void ring_setup(struct ring *r, unsigned entries, unsigned nbufs, size_t bufsize);
/* Buffer bid back to the kernel (group 0). */
void ring_give(struct ring *r, unsigned bid);
/* The address of buffer bid. */
unsigned char *ring_buf(const struct ring *r, unsigned bid);
/* io_uring_enter(fd, pending, wait ? 1 : 0, wait ? IORING_ENTER_GETEVENTS : 0):
 * every pushed SQE submitted; EINTR retried after check_stop. */
void ring_enter(struct ring *r, bool wait);
/* Queue one SQE; a full SQ is submitted first (no wait: its CQEs stay in
 * the ring for the next reap). */
void ring_push(struct ring *r, struct io_uring_sqe s);
/* Every CQE in the ring, copied out (malloc'd: the caller frees it), *n of
 * them; the CQ head moved past them. */
struct io_uring_cqe *ring_reap(struct ring *r, size_t *n);

#endif

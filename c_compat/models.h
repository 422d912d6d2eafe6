/* models.h: the stream server models other than the iterative one, and
 * the datagram server's epoll (socklab's src/programs/model/). */
#ifndef SOCKLAB_MODELS_H
#define SOCKLAB_MODELS_H

#include "args.h"

/* After listen and getsockname (me): fork, thread, prefork:N,
 * prethread:N, poll or epoll, as --model says; each prints `listening on`
 * when ready. */
void model_serve(int listener, const struct addr *me, const struct opts *o);
/* How many connections a model serves: 1 with --once, --max-conns, or 0
 * (no limit). */
unsigned long long model_limit(const struct opts *o);

/* workers.c: a process (fork) or a thread per connection; the pools. */
void model_fork(int listener, const struct opts *o);
void model_thread(int listener, const struct opts *o);
void model_prefork(int listener, const struct addr *me, const struct opts *o);
void model_prethread(int listener, const struct addr *me, const struct opts *o);
/* uring.c: --model uring. */
void model_uring(int listener, const struct addr *me, const struct opts *o);
/* uring_dgram.c: the datagram server's --model uring, after getsockname (me):
 * the ring set up, `listening on ME`, the loop, close(ring), close(fd). */
void dgram_uring(int fd, const struct addr *me, const struct opts *o);
/* event.c: kind MODEL_POLL or MODEL_EPOLL. */
void model_event_loop(int listener, const struct addr *me, const struct opts *o,
                      int kind);
/* event.c: the datagram server's epoll: epoll_create1, epoll_ctl(ADD, fd, EPOLLIN);
 * dgram_epoll_wait before each recvfrom. */
int dgram_epoll(int fd);
void dgram_epoll_wait(int ep);

#endif

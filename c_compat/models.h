/* models.h: the stream server models other than the iterative one, and
 * the datagram server's epoll (socklab's src/model/). */
#ifndef SOCKLAB_MODELS_H
#define SOCKLAB_MODELS_H

#include "args.h"

/* After listen and getsockname (me): fork, thread, prefork:N,
 * prethread:N, poll or epoll, as --model says; each prints `listening on`
 * when ready. */
void model_serve(int listener, const struct addr *me, const struct opts *o);
/* The datagram server's epoll: epoll_create1, epoll_ctl(ADD, fd, EPOLLIN);
 * dgram_epoll_wait before each recvfrom. */
int dgram_epoll(int fd);
void dgram_epoll_wait(int ep);

#endif

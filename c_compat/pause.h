/* pause.h: out of fds in the models whose workers block in accept4
 * (thread, prethread:N, prefork:N), as socklab's src/programs/model/pause.rs:
 * Out of fds (accept4: EMFILE, ENFILE) in thread, prethread and prefork
 * (pause_accept): reported once per shortage (until an accept4 succeeds at
 * its first try while no worker waits); with
 * thread, no connection live: exit 1 (as epoll); otherwise wait until a
 * connection is closed or 1 s, then accept4 again. */
#ifndef SOCKLAB_PAUSE_H
#define SOCKLAB_PAUSE_H

#include "args.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* The connections of a model, counted for the pause. */
struct conns {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    atomic_ullong opened, closed;
    atomic_int waiters;
    atomic_bool reported; /* the EMFILE line is out, the shortage not over */
};

#define CONNS_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, false}

/* A connection was closed: wake the workers waiting for a free fd. */
void conns_closed(struct conns *c);
/* accept4 with the pause on EMFILE/ENFILE (pool: no exit when no
 * connection is live): the connection, or -1 (a failure that was the
 * peer's, reported). */
int pause_accept(int listener, struct addr *peer, const struct opts *o,
                 struct conns *c, bool pool);

#endif

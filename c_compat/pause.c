/* pause.c: out of fds in the blocking models (pause.h). */
#define _GNU_SOURCE
#include "pause.h"
#include "modes.h"
#include "stream.h"
#include "unp.h"

#include <errno.h>
#include <time.h>

/* A connection was closed: wake the workers waiting for a free fd. */
void conns_closed(struct conns *c) {
    atomic_fetch_add(&c->closed, 1);
    if (atomic_load(&c->waiters) > 0) {
        pthread_mutex_lock(&c->lock);
        pthread_cond_broadcast(&c->freed);
        pthread_mutex_unlock(&c->lock);
    }
}

/* Wait until a connection closed since `seen`, or 1 s; a stop signal is
 * looked for every 100 ms. */
static void conns_wait(struct conns *c, unsigned long long seen) {
    atomic_fetch_add(&c->waiters, 1);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 1;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        if (stop_pending()) {
            pthread_mutex_unlock(&c->lock);
            check_stop();
        }
        if (atomic_load(&c->closed) != seen)
            break;
        struct timespec slice;
        clock_gettime(CLOCK_REALTIME, &slice);
        if (slice.tv_sec > deadline.tv_sec ||
            (slice.tv_sec == deadline.tv_sec && slice.tv_nsec >= deadline.tv_nsec))
            break;
        slice.tv_nsec += 100000000L;
        if (slice.tv_nsec >= 1000000000L) {
            slice.tv_nsec -= 1000000000L;
            slice.tv_sec++;
        }
        if (slice.tv_sec > deadline.tv_sec ||
            (slice.tv_sec == deadline.tv_sec && slice.tv_nsec > deadline.tv_nsec))
            slice = deadline;
        pthread_cond_timedwait(&c->freed, &c->lock, &slice);
    }
    pthread_mutex_unlock(&c->lock);
    atomic_fetch_sub(&c->waiters, 1);
}

/* accept4 with the header's pause on EMFILE/ENFILE (pool: no exit when no
 * connection is live: a worker blocked in accept4 holds an fd). Returns the
 * connection, or -1 after a failure that was the peer's (reported). */
int pause_accept(int listener, struct addr *peer, const struct opts *o,
                 struct conns *c, bool pool) {
    bool paused = false;
    for (;;) {
        unsigned long long seen = atomic_load(&c->closed);
        struct fail f;
        int conn = io_accept(listener, peer, o->wait, &f);
        if (conn >= 0) {
            atomic_fetch_add(&c->opened, 1);
            /* the shortage is over: a first try succeeded, nobody waits */
            if (!paused && atomic_load(&c->reported) && atomic_load(&c->waiters) == 0)
                atomic_store(&c->reported, false);
            return conn;
        }
        if (accept_error_is_the_peers(f.err)) {
            warn_fail(&f);
            return -1;
        }
        if (f.err != EMFILE && f.err != ENFILE)
            die_fail(&f);
        if (!pool && atomic_load(&c->opened) == atomic_load(&c->closed))
            die_fail(&f);
        paused = true;
        if (!atomic_exchange(&c->reported, true))
            warn_fail(&f);
        conns_wait(c, seen);
    }
}

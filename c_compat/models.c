/* models.c: the server models of socklab's src/model/ (UNP chapter 30):
 * fork, thread, prefork:N, prethread:N, poll and epoll; the iterative
 * server is stream.c's.
 *
 * fork: SIGCHLD caught without SA_RESTART, so a child's exit interrupts
 * accept4 and the parent reaps it at once.
 * 1. [wait4(-1, WNOHANG) while children have ended]; 2. accept4;
 * 3. fork (clone); the child: close(listener), serve_conn, exit; the
 * parent: close(conn); back to 1 until --once/--max-conns;
 * 4. wait4(pid, 0) for each child left; close(listener).
 * A stop signal (SIGINT, SIGTERM, SIGHUP): stop_children, then die by it.
 *
 * stop_children (fork, prefork): 1. rt_sigprocmask(SIG_BLOCK, [CHLD]);
 * 2. kill(pid, SIGTERM) each; 3. until none is left or 2 s have passed:
 * wait4(-1, WNOHANG) for the ended, rt_sigtimedwait([CHLD], time left);
 * 4. kill(pid, SIGKILL) each left, wait4(pid, 0) each.
 *
 * thread: 1. accept4; 2. a thread runs serve_conn (pthread_create fails:
 * reported, close(conn)); back to 1 until --once/--max-conns; 3. join the
 * threads; close(listener).
 *
 * Out of fds (accept4: EMFILE, ENFILE) in thread, prethread and prefork
 * (pause_accept): reported once per shortage (until an accept4 succeeds at
 * its first try while no worker waits); with
 * thread, no connection live: exit 1 (as epoll); otherwise wait until a
 * connection is closed or 1 s, then accept4 again.
 *
 * prefork:N: 1. getpid; N times clone (fork); each child:
 * prctl(PR_SET_PDEATHSIG, SIGTERM), getppid (the parent already gone: die
 * by SIGTERM), then loops: accept4 on the shared listener, serve_conn;
 * 2. `listening on`; the parent waits: wait4(-1, 0) per child, a worker
 * that ends badly is reported; none left after a bad end: exit 1;
 * 3. close(listener).
 *
 * prethread:N: N-1 threads, then `listening on`; the N threads (the main
 * thread is one) loop: accept4, serve_conn; then join, close(listener).
 *
 * epoll: one thread, non-blocking sockets, level-triggered:
 * 1. prlimit64(RLIMIT_NOFILE) read, the soft limit set to the hard one
 * 2. epoll_create1(EPOLL_CLOEXEC), epoll_ctl(ADD, listener, EPOLLIN);
 *    then `listening on ADDR`
 * 3. loop: epoll_wait(ep, events, 512, -1); for each ready fd:
 *    - the listener: one accept4(SOCK_CLOEXEC|SOCK_NONBLOCK), the
 *      @accepted settings, [--names], `connection from PEER`,
 *      epoll_ctl(ADD, conn, EPOLLIN); at --max-conns (--once: 1)
 *      epoll_ctl(DEL, listener)
 *    - a connection with output pending: one sendto of the rest; all out:
 *      epoll_ctl(MOD, conn, EPOLLIN)
 *    - otherwise one recvfrom; 0: `PEER closed`, close(conn); else print
 *      it, one sendto upper-cased; the rest the kernel did not take is
 *      kept (at most bufsize bytes) and epoll_ctl(MOD, conn, EPOLLOUT)
 *    - a failing call is reported and ends that connection only
 * 4. after the last connection of --max-conns: close(ep), close(listener). */
#define _GNU_SOURCE
#include "models.h"
#include "modes.h"
#include "print.h"
#include "settings.h"
#include "stream.h"
#include "unp.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long long limit_of(const struct opts *o) {
    return o->once ? 1 : o->max_conns; /* 0: none */
}

/* ---- fork ---- */

#define GRACE_SECS 2

/* After a stop signal: SIGTERM, a bounded wait, SIGKILL (the header's
 * stop_children). kids[i] == 0: reaped already. */
static void stop_children(pid_t *kids, size_t n) {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);                       /* 1 */
    size_t left = 0;
    for (size_t i = 0; i < n; i++)
        if (kids[i] > 0) {
            kill(kids[i], SIGTERM);                            /* 2 */
            left++;
        }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += GRACE_SECS;
    while (left > 0) {                                         /* 3 */
        pid_t p;
        while (left > 0 && (p = wait4(-1, NULL, WNOHANG, NULL)) > 0)
            for (size_t i = 0; i < n; i++)
                if (kids[i] == p) {
                    kids[i] = 0;
                    left--;
                }
        if (left == 0)
            break;
        struct timespec now, rest;
        clock_gettime(CLOCK_MONOTONIC, &now);
        rest.tv_sec = deadline.tv_sec - now.tv_sec;
        rest.tv_nsec = deadline.tv_nsec - now.tv_nsec;
        if (rest.tv_nsec < 0) {
            rest.tv_nsec += 1000000000L;
            rest.tv_sec--;
        }
        if (rest.tv_sec < 0)
            rest.tv_sec = rest.tv_nsec = 0;
        /* EAGAIN: the time is up; EINTR: a second stop signal. */
        if (sigtimedwait(&chld, NULL, &rest) < 0)
            break;
    }
    for (size_t i = 0; i < n; i++)                             /* 4 */
        if (kids[i] > 0) {
            kill(kids[i], SIGKILL);
            while (wait4(kids[i], NULL, 0, NULL) < 0 && errno == EINTR)
                ;
            kids[i] = 0;
        }
}

static volatile sig_atomic_t child_exited;
static void on_child(int sig) { (void)sig; child_exited = 1; }

static void model_fork(int listener, const struct opts *o) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_child;
    sa.sa_flags = SA_NOCLDSTOP; /* no SA_RESTART: accept4 returns EINTR */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, NULL) < 0)
        err_sys("sigaction", errno);
    catch_stop_signals();
    set_wait(listener, o->wait);
    pid_t *children = NULL;
    size_t n = 0, cap = 0;
    unsigned long long accepted = 0, limit = limit_of(o);
    for (;;) {
        while (n > 0) {                                        /* 1 */
            int st;
            pid_t p = wait4(-1, &st, WNOHANG, NULL);
            if (p <= 0)
                break;
            for (size_t i = 0; i < n; i++)
                if (children[i] == p) {
                    memmove(&children[i], &children[i + 1], (n - i - 1) * sizeof *children);
                    n--;
                    break;
                }
        }
        struct addr peer;
        check_stop();
        socklen_t len = sizeof peer.ss;                        /* 2 */
        int conn = accept4(listener, (struct sockaddr *)&peer.ss, &len, SOCK_CLOEXEC);
        if (conn < 0) {
            if (errno == EINTR) {
                if (stop_pending()) {
                    stop_children(children, n);
                    check_stop();
                }
                child_exited = 0;
                continue;
            }
            err_sys("accept4", errno);
        }
        peer.len = len;
        accepted++;
        pid_t pid = fork();                                    /* 3 */
        if (pid == 0) {
            Close(listener);
            unsigned char *buf = malloc(o->bufsize);
            serve_conn(conn, &peer, buf, o);
            exit(0);
        }
        if (pid < 0)
            warn_sys("fork", errno);
        else {
            if (n == cap)
                children = realloc(children, (cap = cap ? 2 * cap : 16) * sizeof *children);
            children[n++] = pid;
        }
        Close(conn);
        if (limit && accepted >= limit)
            break;
    }
    for (size_t i = 0; i < n; i++) {                           /* 4 */
        int st;
        while (wait4(children[i], &st, 0, NULL) < 0 && errno == EINTR)
            if (stop_pending()) {
                stop_children(children + i, n - i);
                check_stop();
            }
    }
    free(children);
    Close(listener);
}

/* ---- out of fds: pause_accept (thread, prethread, prefork) ---- */

struct conns {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    atomic_ullong opened, closed;
    atomic_int waiters;
    atomic_bool reported; /* the EMFILE line is out, the shortage not over */
};

#define CONNS_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, false}

/* A connection was closed: wake the workers waiting for a free fd. */
static void conns_closed(struct conns *c) {
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
static int pause_accept(int listener, struct addr *peer, const struct opts *o,
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

/* ---- thread ---- */

struct job {
    int conn;
    struct addr peer;
    const struct opts *o;
    struct conns *conns;
    atomic_bool done; /* set by the thread as it ends */
};

static void *run_conn(void *arg) {
    struct job *j = arg;
    unsigned char *buf = malloc(j->o->bufsize);
    serve_conn(j->conn, &j->peer, buf, j->o);
    free(buf);
    conns_closed(j->conns);
    atomic_store(&j->done, true);
    return NULL;
}

struct worker {
    pthread_t thread;
    struct job *job;
};

/* Join the threads that have ended (no wait: they are gone) and keep the
 * others, as the Rust twin drops its finished handles before each spawn:
 * without it ended threads pile up until pthread_create fails. */
static size_t join_ended(struct worker *w, size_t n) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (atomic_load(&w[i].job->done)) {
            pthread_join(w[i].thread, NULL);
            free(w[i].job);
        } else {
            w[kept++] = w[i];
        }
    }
    return kept;
}

static void model_thread(int listener, const struct opts *o) {
    set_wait(listener, o->wait);
    struct worker *workers = NULL;
    size_t n = 0, cap = 0;
    unsigned long long accepted = 0, limit = limit_of(o);
    static struct conns conns = CONNS_INIT;
    for (;;) {
        struct job *j = malloc(sizeof *j);
        j->o = o;
        j->conns = &conns;
        atomic_init(&j->done, false);
        j->conn = pause_accept(listener, &j->peer, o, &conns, false); /* 1 */
        if (j->conn < 0) {
            free(j);
            continue;
        }
        accepted++;
        n = join_ended(workers, n);
        if (n == cap)
            workers = realloc(workers, (cap = cap ? 2 * cap : 16) * sizeof *workers);
        workers[n].job = j;
        int e = pthread_create(&workers[n].thread, NULL, run_conn, j); /* 2 */
        if (e != 0) { /* that connection alone fails */
            warn_sys("pthread_create", e);
            Close(j->conn);
            conns_closed(&conns);
            free(j);
        } else
            n++;
        if (limit && accepted >= limit)
            break;
    }
    for (size_t i = 0; i < n; i++) {                          /* 3 */
        pthread_join(workers[i].thread, NULL);
        free(workers[i].job);
    }
    free(workers);
    Close(listener);
}

/* ---- epoll ---- */

#define MAX_EVENTS 512

struct conn {
    struct addr peer;
    unsigned char *out; /* allocated at the first partial write */
    size_t len, sent;
};

struct loop {
    const struct opts *o;
    int kind; /* MODEL_EPOLL or MODEL_POLL */
    int ep, listener;
    struct conn **conns; /* by fd */
    size_t n_conns;
    size_t live;
    unsigned long long accepted, limit;
    bool listening;
    unsigned char *buf;
    /* poll: the array poll(2) gets, and each fd's index in it */
    struct pollfd *pfds;
    size_t npfds, cap_pfds;
    size_t *slot;
    size_t n_slot;
};

/* Watch (ADD), change (MOD) or stop watching (DEL) fd: epoll_ctl, or the
 * poll array (no call; DEL moves the last entry into the hole). */
static void ctl(struct loop *l, int op, int fd, unsigned events) {
    if (l->kind == MODEL_EPOLL) {
        struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)fd};
        if (epoll_ctl(l->ep, op, fd, op == EPOLL_CTL_DEL ? NULL : &ev) < 0)
            err_sys("epoll_ctl", errno);
        return;
    }
    short pe = events == EPOLLOUT ? POLLOUT : POLLIN;
    if (op == EPOLL_CTL_ADD) {
        if ((size_t)fd >= l->n_slot) {
            size_t n = 2 * (size_t)fd + 16;
            l->slot = realloc(l->slot, n * sizeof *l->slot);
            for (size_t i = l->n_slot; i < n; i++)
                l->slot[i] = SIZE_MAX;
            l->n_slot = n;
        }
        if (l->npfds == l->cap_pfds)
            l->pfds = realloc(l->pfds, (l->cap_pfds = 2 * l->cap_pfds + 16) * sizeof *l->pfds);
        l->slot[fd] = l->npfds;
        l->pfds[l->npfds++] = (struct pollfd){.fd = fd, .events = pe};
    } else if (op == EPOLL_CTL_MOD) {
        l->pfds[l->slot[fd]].events = pe;
    } else {
        size_t i = l->slot[fd];
        l->pfds[i] = l->pfds[--l->npfds];
        if (i < l->npfds)
            l->slot[l->pfds[i].fd] = i;
        l->slot[fd] = SIZE_MAX;
    }
}

static void close_conn(struct loop *l, int fd) {
    struct conn *c = l->conns[fd];
    l->conns[fd] = NULL;
    free(c->out);
    free(c);
    l->live--;
    if (l->kind == MODEL_POLL) /* epoll: closing the fd removes it */
        ctl(l, EPOLL_CTL_DEL, fd, 0);
    Close(fd);
    if (!l->listening && (!l->limit || l->accepted < l->limit)) {
        ctl(l, EPOLL_CTL_ADD, l->listener, EPOLLIN);
        l->listening = true;
    }
}

static void on_accept(struct loop *l) {
    struct addr peer;
    socklen_t len = sizeof peer.ss;
    check_stop();
    int fd = accept4(l->listener, (struct sockaddr *)&peer.ss, &len,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        warn_sys("accept4", errno);
        if (errno == EMFILE || errno == ENFILE) {
            if (l->live == 0)
                exit(1);
            ctl(l, EPOLL_CTL_DEL, l->listener, 0);
            l->listening = false;
        }
        return;
    }
    peer.len = len;
    l->accepted++;
    if (l->limit && l->accepted >= l->limit) {
        ctl(l, EPOLL_CTL_DEL, l->listener, 0);
        l->listening = false;
    }
    apply_sockopts(fd, l->o, PH_ACCEPTED);
    if (l->o->names)
        show_names(fd);
    char cred[80];
    peer_cred(fd, &peer, cred, sizeof cred);
    if (!l->o->quiet)
        say("connection from %s%s", addr_str(&peer), cred);
    ctl(l, EPOLL_CTL_ADD, fd, EPOLLIN);
    if ((size_t)fd >= l->n_conns) {
        size_t n = 2 * (size_t)fd + 16;
        l->conns = realloc(l->conns, n * sizeof *l->conns);
        memset(&l->conns[l->n_conns], 0, (n - l->n_conns) * sizeof *l->conns);
        l->n_conns = n;
    }
    struct conn *c = calloc(1, sizeof *c);
    c->peer = peer;
    l->conns[fd] = c;
    l->live++;
}

static void upper(unsigned char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'a' && s[i] <= 'z')
            s[i] -= 'a' - 'A';
}

/* The call that failed, for the message. */
static const char *failed_call;

/* 1 keep the connection, 0 done, -1 failed (errno, failed_call). */
static int on_read(struct loop *l, int fd, struct conn *c) {
    check_stop();
    ssize_t n = recvfrom(fd, l->buf, l->o->bufsize, 0, NULL, NULL);
    failed_call = "recvfrom";
    if (n < 0)
        return errno == EAGAIN ? 1 : -1;
    if (n == 0) {
        if (!l->o->quiet)
            say("%s closed", addr_str(&c->peer));
        return 0;
    }
    if (l->o->sink)
        return 1; /* read and discard: no reply */
    if (!l->o->quiet) {
        printf("from %s: ", addr_str(&c->peer));
        print_shown(stdout, l->buf, n);
        say("%s", "");
    }
    upper(l->buf, n);
    ssize_t took = sendto(fd, l->buf, n, 0, NULL, 0);
    failed_call = "sendto";
    if (took < 0) {
        if (errno != EAGAIN)
            return -1;
        took = 0;
    }
    if (took < n) {
        if (!c->out)
            c->out = malloc(l->o->bufsize);
        memcpy(c->out, l->buf + took, n - took);
        c->len = n - took;
        c->sent = 0;
        ctl(l, EPOLL_CTL_MOD, fd, EPOLLOUT);
        return 1;
    }
    return !l->o->once;
}

static int on_write(struct loop *l, int fd, struct conn *c) {
    check_stop();
    ssize_t m = sendto(fd, c->out + c->sent, c->len - c->sent, 0, NULL, 0);
    if (m < 0)
        return errno == EAGAIN ? 1 : -1;
    c->sent += m;
    if (c->sent < c->len)
        return 1;
    c->len = c->sent = 0;
    if (l->o->once)
        return 0;
    ctl(l, EPOLL_CTL_MOD, fd, EPOLLIN);
    return 1;
}

static void on_conn(struct loop *l, int fd, unsigned events) {
    if ((size_t)fd >= l->n_conns || !l->conns[fd])
        return;
    struct conn *c = l->conns[fd];
    int r;
    if (c->sent < c->len) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        failed_call = "sendto";
        r = on_write(l, fd, c);
        if (r < 0)
            warn_sys(failed_call, errno);
    } else {
        if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            return;
        r = on_read(l, fd, c);
        if (r < 0)
            warn_sys(failed_call, errno);
    }
    if (r <= 0)
        close_conn(l, fd);
}

/* Wait (forever); the ready fds and their events (EPOLLIN, EPOLLOUT,
 * EPOLLERR) into *fds and *evs (grown as needed); their number. */
static int wait_ready(struct loop *l, struct epoll_event *events, int **fds,
                      unsigned **evs, size_t *cap) {
    for (;;) {
        check_stop();
        int n = l->kind == MODEL_EPOLL ? epoll_wait(l->ep, events, MAX_EVENTS, -1)
                                       : poll(l->pfds, l->npfds, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            err_sys(l->kind == MODEL_EPOLL ? "epoll_wait" : "poll", errno);
        }
        if ((size_t)n > *cap) {
            *cap = 2 * (size_t)n;
            *fds = realloc(*fds, *cap * sizeof **fds);
            *evs = realloc(*evs, *cap * sizeof **evs);
        }
        if (l->kind == MODEL_EPOLL) {
            for (int i = 0; i < n; i++) {
                (*fds)[i] = (int)events[i].data.u64;
                (*evs)[i] = events[i].events;
            }
            return n;
        }
        int k = 0;
        for (size_t i = 0; i < l->npfds && k < n; i++) {
            short r = l->pfds[i].revents;
            if (!r)
                continue;
            (*fds)[k] = l->pfds[i].fd;
            (*evs)[k++] = (r & POLLIN ? EPOLLIN : 0) | (r & POLLOUT ? EPOLLOUT : 0) |
                          (r & (POLLERR | POLLHUP | POLLNVAL) ? EPOLLERR : 0);
        }
        return k;
    }
}

static void model_loop(int listener, const struct addr *me, const struct opts *o,
                       int kind) {
    struct rlimit rl;                                          /* 1 */
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        err_sys("getrlimit", errno);
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        err_sys("setrlimit", errno);
    struct loop l = {.o = o, .kind = kind, .ep = -1, .listener = listener,
                     .listening = true, .limit = limit_of(o), .buf = malloc(o->bufsize)};
    if (kind == MODEL_EPOLL) {
        l.ep = epoll_create1(EPOLL_CLOEXEC);                   /* 2 */
        if (l.ep < 0)
            err_sys("epoll_create1", errno);
    }
    ctl(&l, EPOLL_CTL_ADD, listener, EPOLLIN);
    say_listening(me);
    struct epoll_event events[MAX_EVENTS];
    int *fds = NULL;
    unsigned *evs = NULL;
    size_t cap = 0;
    while (l.listening || l.live > 0 || !l.limit || l.accepted < l.limit) {
        int n = wait_ready(&l, events, &fds, &evs, &cap);      /* 3 */
        for (int i = 0; i < n; i++) {
            if (fds[i] == listener)
                on_accept(&l);
            else
                on_conn(&l, fds[i], evs[i]);
        }
    }
    if (l.ep >= 0)
        Close(l.ep);                                           /* 4 */
    Close(listener);
    free(fds);
    free(evs);
    free(l.pfds);
    free(l.slot);
    free(l.conns);
    free(l.buf);
}

/* The datagram server's epoll. */
int dgram_epoll(int fd) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        err_sys("epoll_create1", errno);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        err_sys("epoll_ctl", errno);
    return ep;
}

void dgram_epoll_wait(int ep) {
    struct epoll_event ev;
    for (;;) {
        check_stop();
        if (epoll_wait(ep, &ev, 1, -1) >= 0)
            return;
        if (errno != EINTR)
            err_sys("epoll_wait", errno);
    }
}

/* ---- prefork:N and prethread:N ---- */

/* A pool worker: take a ticket, accept4, serve; until the tickets run out
 * (--max-conns across the workers). */
static void pool_worker(int listener, const struct opts *o, unsigned long long *tickets,
                        struct conns *conns) {
    unsigned long long limit = limit_of(o);
    unsigned char *buf = malloc(o->bufsize);
    for (;;) {
        unsigned long long t = __atomic_fetch_add(tickets, 1, __ATOMIC_SEQ_CST);
        if (limit && t >= limit)
            break;
        struct addr peer;
        int conn = pause_accept(listener, &peer, o, conns, true);
        if (conn < 0)
            continue;
        serve_conn(conn, &peer, buf, o);
        conns_closed(conns);
    }
    free(buf);
}

static void model_prefork(int listener, const struct addr *me, const struct opts *o) {
    catch_stop_signals();
    unsigned long long *tickets = mmap(NULL, sizeof *tickets, PROT_READ | PROT_WRITE,
                                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (tickets == MAP_FAILED)
        err_sys("mmap", errno);
    pid_t *kids = calloc(o->pool, sizeof *kids);
    size_t n = 0;
    pid_t parent = getpid();                                   /* 1 */
    for (unsigned i = 0; i < o->pool; i++) {
        pid_t pid = fork();
        if (pid < 0)
            err_sys("fork", errno);
        if (pid == 0) {
            if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
                err_sys("prctl", errno);
            if (getppid() != parent) { /* it ended before prctl */
                signal(SIGTERM, SIG_DFL);
                raise(SIGTERM);
            }
            static struct conns conns = CONNS_INIT;
            pool_worker(listener, o, tickets, &conns);
            exit(0);
        }
        kids[n++] = pid;
    }
    say_listening(me);                                         /* 2 */
    set_wait(listener, o->wait);
    unsigned failed = 0;
    for (size_t left = n; left > 0;) {
        int st;
        pid_t p = wait4(-1, &st, 0, NULL);
        if (p < 0 && errno == EINTR) { /* a stop signal */
            if (stop_pending()) {
                stop_children(kids, n);
                check_stop();
            }
            continue;
        }
        if (p < 0)
            err_sys("wait4", errno);
        for (size_t i = 0; i < n; i++)
            if (kids[i] == p)
                kids[i] = 0;
        left--;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            continue;
        failed++;
        if (WIFEXITED(st))
            fprintf(stderr, "%s: prefork worker %d exited with status %d (%zu of %u left)\n",
                    prog, (int)p, WEXITSTATUS(st), left, o->pool);
        else
            fprintf(stderr, "%s: prefork worker %d was killed by SIG%s (%zu of %u left)\n",
                    prog, (int)p, sigabbrev_np(WTERMSIG(st)), left, o->pool);
    }
    free(kids);
    if (failed)
        err_quit(1, "all %u prefork workers have ended (%u of them badly): "
                    "none is left to accept connections", o->pool, failed);
    Close(listener);                                           /* 3 */
}

struct pool_args {
    int listener;
    const struct opts *o;
    unsigned long long *tickets;
    struct conns *conns;
};

static void *run_pool_worker(void *arg) {
    struct pool_args *a = arg;
    pool_worker(a->listener, a->o, a->tickets, a->conns);
    return NULL;
}

static void model_prethread(int listener, const struct addr *me, const struct opts *o) {
    set_wait(listener, o->wait);
    static unsigned long long tickets;
    static struct conns conns = CONNS_INIT;
    struct pool_args a = {listener, o, &tickets, &conns};
    pthread_t *threads = calloc(o->pool, sizeof *threads);
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, &old); /* the main thread takes them */
    for (unsigned i = 1; i < o->pool; i++) {
        int e = pthread_create(&threads[i], NULL, run_pool_worker, &a);
        if (e != 0)
            err_sys("pthread_create", e);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    say_listening(me); /* the pool is ready */
    pool_worker(listener, o, &tickets, &conns);
    for (unsigned i = 1; i < o->pool; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    Close(listener);
}

void model_serve(int listener, const struct addr *me, const struct opts *o) {
    if (o->model == MODEL_FORK || o->model == MODEL_THREAD)
        say_listening(me);
    switch (o->model) {
    case MODEL_FORK: model_fork(listener, o); break;
    case MODEL_THREAD: model_thread(listener, o); break;
    case MODEL_EPOLL:
    case MODEL_POLL: model_loop(listener, me, o, o->model); break;
    case MODEL_PREFORK: model_prefork(listener, me, o); break;
    case MODEL_PRETHREAD: model_prethread(listener, me, o); break;
    default: err_quit(2, "no such model in the C twins");
    }
}

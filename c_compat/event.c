/* event.c: --model poll and --model epoll (socklab's src/programs/model/event.rs),
 * and the datagram server's epoll.
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
        if (!l->o->quiet && l->o->bufsize == 0)
            say("%s: recv with --bufsize 0 returned 0, as a zero-length recv always does "
                "(not an end of file); closing the connection", addr_str(&c->peer));
        else if (!l->o->quiet)
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

void model_event_loop(int listener, const struct addr *me, const struct opts *o,
                      int kind) {
    struct rlimit rl;                                          /* 1 */
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        err_sys("getrlimit", errno);
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        err_sys("setrlimit", errno);
    struct loop l = {.o = o, .kind = kind, .ep = -1, .listener = listener,
                     .listening = true, .limit = model_limit(o), .buf = malloc(o->bufsize)};
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

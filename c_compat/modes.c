/* modes.c: Python's socket modes (modes.h): blocking, a timeout, or
 * non-blocking, for each call the twins make on a socket. */
#define _GNU_SOURCE
#include "modes.h"
#include "print.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void warn_fail(const struct fail *f) {
    if (f->err)
        warn_sys(f->call, f->err);
    else
        fprintf(stderr, "%s: %s: timed out after %gs\n", prog, f->call, f->secs);
}

_Noreturn void die_fail(const struct fail *f) {
    if (f->err)
        err_sys(f->call, f->err);
    err_quit(1, "%s: timed out after %gs", f->call, f->secs);
}

double clock_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 0 (blocking) or the moment the call's timeout expires. */
double deadline_of(double wait) { return wait > 0 ? clock_now() + wait : 0; }

int failed(struct fail *f, const char *call, int err, double secs) {
    f->call = call;
    f->err = err;
    f->secs = secs;
    return -1;
}

/* The time left until deadline in whole ms, rounded up as CPython does. */
static int ms_left(double deadline) {
    double left = deadline - clock_now();
    if (left < 0)
        left = 0;
    long long ns = (long long)(left * 1e9);
    long long ms = (ns + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* In timeout mode: poll(events, ms left, rounded up as CPython does);
 * a poll that returns 0 is a timeout. */
static int ready(int fd, short events, double deadline, double wait,
                 const char *call, struct fail *f) {
    if (deadline == 0)
        return 0;
    short revents;
    int r = r_poll(fd, events, ms_left(deadline), &revents);
    if (r < 0)
        return failed(f, "poll", errno, 0);
    if (r == 0)
        return failed(f, call, 0, wait);
    return 0;
}

/* What socklab's --timeout becomes: Duration::from_secs_f64(v) (rounded
 * to the nanosecond), then as_secs_f64(). */
static double duration_secs(double v) {
    double whole = floor(v);
    double ns = round((v - whole) * 1e9);
    if (ns >= 1e9) {
        whole += 1;
        ns = 0;
    }
    return whole + ns / 1e9;
}

void set_wait(int fd, double wait) {
    char secs[48];
    if (wait == 0)
        return;
    Ioctl_fionbio(fd, 1);
    /* What Python's gettimeout() would now say (socklab prints it too). */
    if (wait < 0)
        say("fd %d: setblocking(False), gettimeout() -> 0.0", fd);
    else
        say("fd %d: settimeout(%s), gettimeout() -> %s", fd,
            rust_f64(duration_secs(wait), secs, sizeof secs), secs);
}

/* The retries of one call in timeout or non-blocking mode (socklab's
 * Retry, src/socket/retry.rs): its deadline, whether the last poll said the fd
 * was ready, and the back-off. A poll that says ready is not always about this call (an
 * unconnected UNIX datagram socket's POLLOUT tells of its own buffer, while
 * sendto waits for the peer's queue): when poll said ready and the call
 * still says EAGAIN, the next try waits first in poll(fd, 0, ms), 1 ms,
 * then 2, 4... up to 1 s; in timeout mode the deadline is checked after
 * every EAGAIN, whatever poll says. */
#define BACKOFF_MAX_MS 1000
struct retry {
    double deadline;
    bool polled_ready;
    int backoff_ms;
};

static struct retry retry_of(double wait) {
    return (struct retry){.deadline = deadline_of(wait)};
}

/* Before the call: in timeout mode, poll(events, ms left). */
static int retry_ready(struct retry *rt, int fd, short events, double wait,
                       const char *call, struct fail *f) {
    if (ready(fd, events, rt->deadline, wait, call, f) < 0)
        return -1;
    if (wait > 0)
        rt->polled_ready = true;
    return 0;
}

/* The call made progress (sendall): the back-off starts afresh. */
static void retry_progress(struct retry *rt) {
    rt->polled_ready = false;
    rt->backoff_ms = 0;
}

/* After a call failed with err: make it again? In timeout mode an EAGAIN
 * is a spurious wake-up (poll again, as CPython) until the deadline; in
 * non-blocking mode it means "wait": poll(events, -1) first. Either way,
 * after an EAGAIN that followed a poll that said ready, back off first.
 * 1 yes, 0 no, -1 failed (f: the timeout, or poll itself). */
static int retry_again(struct retry *rt, int fd, short events, double wait,
                       const char *call, int err, struct fail *f) {
    short revents;
    if (err != EAGAIN || wait == 0)
        return 0;
    int limit = INT_MAX;
    if (wait > 0) {
        if (clock_now() >= rt->deadline)
            return failed(f, call, 0, wait);
        limit = ms_left(rt->deadline);
    }
    if (rt->polled_ready) {
        rt->backoff_ms = rt->backoff_ms ? rt->backoff_ms * 2 : 1;
        if (rt->backoff_ms > BACKOFF_MAX_MS)
            rt->backoff_ms = BACKOFF_MAX_MS;
        int ms = rt->backoff_ms < limit ? rt->backoff_ms : limit;
        if (r_poll(fd, 0, ms, &revents) < 0)
            return failed(f, "poll", errno, 0);
    }
    if (wait < 0) {
        if (r_poll(fd, events, -1, &revents) < 0)
            return failed(f, "poll", errno, 0);
        rt->polled_ready = revents != 0;
    }
    return 1;
}

static int connect_code(int fd, const struct addr *a, double wait, struct fail *f) {
    double deadline = deadline_of(wait);
    short revents;
    if (r_connect(fd, SA(a), a->len) == 0)
        return 0;
    if (!(wait != 0 && errno == EINPROGRESS))
        return failed(f, "connect", errno, 0);
    if (wait < 0 && r_poll(fd, POLLOUT | POLLERR, -1, &revents) < 0)
        return failed(f, "poll", errno, 0);
    if (ready(fd, POLLOUT | POLLERR, deadline, wait, "connect", f) < 0)
        return -1;
    int value = 0;
    socklen_t len = sizeof value;
    int r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len);
    state_after(fd);
    if (r < 0)
        return failed(f, "getsockopt", errno, 0);
    return value ? failed(f, "connect", value, 0) : 0;
}

int io_connect(int fd, const struct addr *a, double wait, struct fail *f) {
    return connect_code(fd, a, wait, f);
}

int io_connect_ex(int fd, const struct addr *a, double wait) {
    struct fail f;
    if (wait < 0) /* non-blocking: connect's errno at once (EINPROGRESS) */
        return r_connect(fd, SA(a), a->len) == 0 ? 0 : errno;
    if (connect_code(fd, a, wait, &f) == 0)
        return 0;
    return f.err ? f.err : EAGAIN;
}

/* CPython's sock_call: poll first (timeout mode), and again if the call
 * says EAGAIN (non-blocking mode: poll(events, -1) first). */
#define WAITING(events, call, op)                                             \
    struct retry rt = retry_of(wait);                                         \
    for (;;) {                                                                \
        if (retry_ready(&rt, fd, events, wait, call, f) < 0)                  \
            return -1;                                                        \
        ssize_t r = (op);                                                     \
        if (r >= 0)                                                           \
            return r;                                                         \
        int err = errno, a = retry_again(&rt, fd, events, wait, call, err, f); \
        if (a < 0)                                                            \
            return -1;                                                        \
        if (!a)                                                               \
            return failed(f, call, err, 0);                                   \
    }

int io_accept(int fd, struct addr *peer, double wait, struct fail *f) {
    WAITING(POLLIN, "accept4", r_accept4(fd, &peer->ss, &peer->len))
}

ssize_t io_recv(int fd, void *buf, size_t n, double wait, struct fail *f) {
    return io_recv_flags(fd, buf, n, 0, wait, f);
}

ssize_t io_recv_flags(int fd, void *buf, size_t n, int flags, double wait, struct fail *f) {
    WAITING(POLLIN, "recvfrom", r_recvfrom_flags(fd, buf, n, flags, NULL, NULL))
}

ssize_t io_recv_datagram(int fd, void *buf, size_t n, int flags, struct addr *from,
                         double wait, struct fail *f) {
    WAITING(POLLIN, "recvfrom",
            r_recvfrom_flags(fd, buf, n, flags, from ? &from->ss : NULL,
                             from ? &from->len : NULL))
}

ssize_t io_recvfrom(int fd, void *buf, size_t n, struct addr *from, double wait,
                    struct fail *f) {
    WAITING(POLLIN, "recvfrom", r_recvfrom(fd, buf, n, &from->ss, &from->len))
}

ssize_t io_send(int fd, const void *buf, size_t n, const struct addr *to,
                double wait, struct fail *f) {
    return io_send_flags(fd, buf, n, 0, to, wait, f);
}

ssize_t io_send_flags(int fd, const void *buf, size_t n, int flags, const struct addr *to,
                      double wait, struct fail *f) {
    WAITING(POLLOUT, "sendto",
            r_sendto_flags(fd, buf, n, flags, to ? SA(to) : NULL, to ? to->len : 0))
}

int io_sendall(int fd, const void *buf, size_t n, double wait, struct fail *f) {
    return io_sendall_flags(fd, buf, n, 0, wait, f);
}

int io_sendall_flags(int fd, const void *buf, size_t n, int flags, double wait,
                     struct fail *f) {
    struct retry rt = retry_of(wait);
    size_t sent = 0;
    for (;;) {
        if (retry_ready(&rt, fd, POLLOUT, wait, "sendto", f) < 0)
            goto out;
        ssize_t r = r_sendto_flags(fd, (const char *)buf + sent, n - sent, flags, NULL, 0);
        if (r >= 0) {
            sent += r;
            if (sent >= n)
                return 0;
            retry_progress(&rt);
            continue;
        }
        int err = errno, a = retry_again(&rt, fd, POLLOUT, wait, "sendto", err, f);
        if (a < 0)
            goto out; /* the timeout, or poll itself failed */
        if (!a) {
            failed(f, "sendto", err, 0);
            goto out;
        }
    }
out:
    if (sent > 0)
        say("sendall: %zu of %zu bytes went out before the failure", sent, n);
    return -1;
}

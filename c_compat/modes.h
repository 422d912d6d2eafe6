/* modes.h: Python's socket modes, as socklab's src/socket/modes.rs and
 * src/socket/retry.rs make them: how each call waits.
 *
 * wait == 0 blocks; wait > 0 is a timeout (--timeout): the fd is
 * non-blocking and each call is preceded by poll() with the milliseconds
 * left; WAIT_NONBLOCKING (--nonblocking): the call is made at once, and when
 * it fails with EAGAIN, poll(..., -1) and the call again. */
#ifndef SOCKLAB_MODES_H
#define SOCKLAB_MODES_H

#include "addr.h"
#include "unp.h"

#include <stddef.h>
#include <sys/types.h>

/* Python's setblocking(False): EAGAIN, then poll(..., -1), then again
 * (backing off when poll says ready and the call still says EAGAIN). */
#define WAIT_NONBLOCKING (-1.0)

/* A failure of the calls below. */
struct fail {
    const char *call;
    int err;      /* errno, or 0 for a timeout */
    double secs;  /* the timeout that expired */
};
/* Print `prog: call: ENAME (text)` or `prog: call: timed out after Ns`,
 * then exit 1 (die_fail) or return (warn_fail). */
_Noreturn void die_fail(const struct fail *f);
void warn_fail(const struct fail *f);
/* Fill f; return -1. */
int failed(struct fail *f, const char *call, int err, double secs);

/* CLOCK_MONOTONIC in seconds. */
double clock_now(void);
/* 0 (blocking) or the moment a call's timeout expires. */
double deadline_of(double wait);

/* ioctl(fd, FIONBIO, [1]) unless wait is 0, then print what Python's
 * gettimeout() would say, as socklab does:
 * `fd N: settimeout(2.0), gettimeout() -> 2.0` or
 * `fd N: setblocking(False), gettimeout() -> 0.0`. */
void set_wait(int fd, double wait);

/* Python's connect: 0, or -1 with f (timeout and non-blocking: connect ->
 * EINPROGRESS -> poll(POLLOUT|POLLERR) -> getsockopt(SO_ERROR)). */
int io_connect(int fd, const struct addr *a, double wait, struct fail *f);
/* Python's connect_ex: the errno (0 connected, EAGAIN on timeout,
 * EINPROGRESS at once on a non-blocking socket). */
int io_connect_ex(int fd, const struct addr *a, double wait);
/* accept4(fd, peer), recvfrom(fd, buf, n), sendto(fd, buf, n, to) in the
 * mode wait says: the call's result, or -1 with f. */
int io_accept(int fd, struct addr *peer, double wait, struct fail *f);
ssize_t io_recv(int fd, void *buf, size_t n, double wait, struct fail *f);
ssize_t io_recvfrom(int fd, void *buf, size_t n, struct addr *from, double wait,
                    struct fail *f);
/* recvfrom(fd, buf, n, flags, NULL, NULL): io_recv with flags. */
ssize_t io_recv_flags(int fd, void *buf, size_t n, int flags, double wait, struct fail *f);
/* A datagram: recvfrom(fd, buf, n, flags, from or NULL, ...): with MSG_TRUNC
 * in flags its real length, more than n when it was cut (buf holds its
 * start). */
ssize_t io_recv_datagram(int fd, void *buf, size_t n, int flags, struct addr *from,
                         double wait, struct fail *f);
ssize_t io_send(int fd, const void *buf, size_t n, const struct addr *to,
                double wait, struct fail *f);
/* io_send with flags (--send-flags). */
ssize_t io_send_flags(int fd, const void *buf, size_t n, int flags, const struct addr *to,
                      double wait, struct fail *f);
/* Python's sendall: sendto until every byte is out, one deadline; a
 * zero-length buffer still makes one sendto. On a failure after some bytes
 * went out, it prints how many. */
int io_sendall(int fd, const void *buf, size_t n, double wait, struct fail *f);
/* io_sendall with flags on each sendto (--send-flags). */
int io_sendall_flags(int fd, const void *buf, size_t n, int flags, double wait,
                     struct fail *f);

#endif

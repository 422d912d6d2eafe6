/* duplex.c: a long message sent while its echo is read (duplex.h). */
#define _GNU_SOURCE
#include "duplex.h"
#include "print.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>

bool duplex_needed(size_t len, const struct opts *o) {
    /* Its calls are its own (MSG_DONTWAIT, poll): not with --no-reply
     * (nothing to read) nor with flags the user chose. */
    if (o->no_reply || o->send_flags || o->recv_flags)
        return false;
    for (size_t i = 0; i < o->n_sockopts; i++)
        if (o->sockopts[i].opt.level == SOL_SOCKET && o->sockopts[i].opt.name == SO_SNDTIMEO)
            return false;
    return len > SENDALL_MAX && o->send_all;
}

static int send_reading(int fd, const unsigned char *msg, size_t n, size_t *sent,
                        unsigned char *buf, size_t bufsize, double wait,
                        int (*on_data)(void *, const unsigned char *, size_t,
                                       struct fail *),
                        void *ctx, struct fail *f) {
    double deadline = deadline_of(wait);
    bool poll_first = deadline != 0; /* timeout mode: poll before each call */
    while (*sent < n) {
        if (poll_first) {
            int ms = -1;
            if (deadline != 0) {
                double left = deadline - clock_now();
                long long ns = (long long)((left < 0 ? 0 : left) * 1e9);
                long long m = (ns + 999999) / 1000000;
                ms = m > INT_MAX ? INT_MAX : (int)m;
            }
            short revents;
            int r = r_poll(fd, POLLIN | POLLOUT, ms, &revents);
            if (r < 0)
                return failed(f, "poll", errno, 0);
            if (r == 0)
                return failed(f, "sendto", 0, wait);
            if (revents & (POLLIN | POLLERR | POLLHUP)) {
                ssize_t got = r_recvfrom(fd, buf, bufsize, NULL, NULL);
                if (got < 0)
                    return failed(f, "recvfrom", errno, 0);
                if (got == 0)
                    return 0;
                if (on_data(ctx, buf, got, f) < 0)
                    return -1;
            }
            if (!(revents & POLLOUT))
                continue;
        }
        poll_first = true;
        ssize_t r = wait == 0 ? r_sendto_flags(fd, msg + *sent, n - *sent, MSG_DONTWAIT, NULL, 0)
                              : r_sendto(fd, msg + *sent, n - *sent, NULL, 0);
        if (r >= 0)
            *sent += r;
        else if (errno != EAGAIN)
            return failed(f, "sendto", errno, 0);
    }
    return 1;
}

int io_send_reading(int fd, const unsigned char *msg, size_t n, size_t *sent,
                    unsigned char *buf, size_t bufsize, double wait,
                    int (*on_data)(void *, const unsigned char *, size_t,
                                   struct fail *),
                    void *ctx, struct fail *f) {
    *sent = 0;
    int r = send_reading(fd, msg, n, sent, buf, bufsize, wait, on_data, ctx, f);
    if (r < 0 && *sent > 0)
        say("sendall: %zu of %zu bytes went out before the failure", *sent, n);
    return r;
}

/* dgram.c: the tutorial's datagram server and client, shared by UDP
 * (udp_server.c, udp_client.c) and UNIX datagram sockets (unix_* --dgram);
 * the twin of socklab's src/programs/dgram.rs.
 *
 * Server, after socket, [setsockopt SO_REUSEADDR], the --sockopt settings
 * and bind; getsockname (1) is made in udp_server.c's and unix_server.c's
 * main too, dgram_serve does the rest:
 * 1. getsockname(fd) -> print `listening on ADDR`; ioctl(FIONBIO) with
 *    --timeout or --nonblocking
 * 2. loop: recvfrom(fd, --recv-flags or 0) -> print sender and size (an empty
 *    datagram too; with MSG_TRUNC, one longer than --bufsize: `truncated`
 *    (recvfrom returns its real length; without it, the kept bytes); with -q
 *    nothing); sendto(fd, upper-cased, sender), to a UNIX peer with
 *    MSG_DONTWAIT (a peer whose queue is full gets EAGAIN, reported, and no
 *    reply); until --once or --max-conns datagrams
 * 3. close(fd)
 *
 * Client (steps 1-4 and 6 in udp_client.c's and unix_client.c's main;
 * dgram_exchange is step 5):
 * 1. socket(SOCK_DGRAM); the --sockopt settings; 2. ioctl(FIONBIO)
 * with --timeout or --nonblocking;
 * 3. UNIX only: bind({sa_family=AF_UNIX}, 2), the kernel's autobind, so
 * the server's reply has an address to go to; 4. connect with --connect,
 * then the @connected settings (--names: getsockname, getpeername);
 * 5. per line, empty ones too: sendto (or send when connected), then
 * recvfrom(--recv-flags; MSG_PEEK: peek, then read) -> print the reply (with
 * MSG_TRUNC: or that it was truncated);
 * 6. close.
 *
 * Each ioctl(FIONBIO) is followed by what Python's gettimeout() says:
 * `fd N: settimeout(2.0), gettimeout() -> 2.0` or
 * `fd N: setblocking(False), gettimeout() -> 0.0`. */
#define _GNU_SOURCE
#include "dgram.h"
#include "models.h"
#include "modes.h"
#include "print.h"
#include "stream.h"
#include "unp.h"

#include <stdlib.h>
#include <string.h>

/* A datagram longer than the buffer: recvfrom kept its first `kept` bytes
 * and the kernel dropped the rest; MSG_TRUNC told its real length. */
const char *dgram_zero_bytes(size_t n, size_t real, size_t cap, int trunc) {
    if (n != 0 || real != 0)
        return NULL;
    if (cap == 0 && !trunc)
        return "--bufsize 0 reads 0 bytes of any datagram, whatever its length: "
               "--recv-flags MSG_TRUNC tells it";
    return "an empty datagram";
}

void dgram_say_zero_bytes(size_t n, size_t real, size_t cap, int trunc) {
    const char *t = dgram_zero_bytes(n, real, cap, trunc);
    if (t)
        say(" (%s)", t);
    else
        say("%s", "");
}

static void truncated(const struct addr *from, ssize_t real, ssize_t kept) {
    say("datagram from %s: truncated: %zd bytes, buffer %zd (--bufsize)",
        addr_str(from), real, kept);
}

/* The reply of step 2. To a UNIX peer: one sendto(MSG_DONTWAIT) in every
 * mode, never a wait (a UNIX datagram sendto waits for room in the
 * receiver's queue: a peer that never reads would hold the server and every
 * other client); EAGAIN is that peer's failure. To a UDP peer: io_send in
 * the socket's mode. */
static ssize_t reply_to(int fd, const unsigned char *buf, size_t n,
                        const struct addr *to, double wait, struct fail *f) {
    if (!addr_is_unix(to))
        return io_send(fd, buf, n, to, wait, f);
    ssize_t r = r_sendto_flags(fd, buf, n, MSG_DONTWAIT, SA(to), to->len);
    if (r < 0) {
        f->call = "sendto";
        f->err = errno;
        f->secs = 0;
    }
    return r;
}

void dgram_serve(int fd, const struct addr *me, const struct opts *o) {
    struct addr from;
    struct fail f;
    if (o->model == MODEL_URING) { /* steps 1-3 on an io_uring: uring_dgram.c */
        dgram_uring(fd, me, o);
        return;
    }
    if (o->batch) {
        dgram_serve_batch(fd, me, o); /* dgram_batch.c */
        return;
    }
    say_listening(me);                                         /* 1 */
    set_wait(fd, o->wait);
    int ep = o->model == MODEL_EPOLL ? dgram_epoll(fd) : -1;
    unsigned char *buf = Malloc(o->bufsize, "--bufsize");
    for (unsigned long long served = 0;;) {
        if (ep >= 0)
            dgram_epoll_wait(ep);
        ssize_t real = io_recv_datagram(fd, buf, o->bufsize, o->recv_flags, &from, /* 2 */
                                        o->wait, &f);
        if (real < 0)
            die_fail(&f);
        ssize_t n = (size_t)real > o->bufsize ? (ssize_t)o->bufsize : real;
        if (!o->quiet) {
            printf("datagram from %s: ", addr_str(&from));
            print_shown(stdout, buf, n);
            dgram_say_zero_bytes(n, real, o->bufsize, (o->recv_flags & MSG_TRUNC) != 0);
        }
        if (real > n && !o->quiet)
            truncated(&from, real, n);
        upper(buf, n);
        /* A reply that cannot go out (an unbound UNIX client has no address,
         * an ICMP error came back, a UNIX peer's queue is full) is that
         * peer's failure: reported, the reply dropped; the server goes on. */
        if (reply_to(fd, buf, n, &from, o->wait, &f) < 0) {
            char what[160]; /* the call and the peer it failed for */
            snprintf(what, sizeof what, "%s to %s", f.call, addr_str(&from));
            f.call = what;
            warn_fail(&f);
        }
        served++;
        if (o->once || (o->max_conns && served >= o->max_conns))
            break;
    }
    free(buf);
    if (ep >= 0)
        Close(ep);
    Close(fd);                                                 /* 3 */
}

/* The reply's recvfrom with --recv-flags; with MSG_PEEK among them, the
 * peek first (its bytes printed), then the same call without it. */
static ssize_t recv_reply(int fd, unsigned char *buf, struct addr *from,
                          const struct opts *o, struct fail *f) {
    int flags = o->recv_flags;
    if (flags & MSG_PEEK) {
        ssize_t real = io_recv_datagram(fd, buf, o->bufsize, flags, from, o->wait, f);
        if (real < 0)
            return -1;
        ssize_t n = (size_t)real > o->bufsize ? (ssize_t)o->bufsize : real;
        if (n > 0) {
            fwrite(buf, 1, n, stdout);
            say("%s", "");
        }
    }
    return io_recv_datagram(fd, buf, o->bufsize, flags & ~MSG_PEEK, from, o->wait, f);
}

void dgram_exchange(int fd, struct opts *o) {
    struct fail f;
    unsigned char *buf = Malloc(o->bufsize, "--bufsize"), *msg;
    size_t i = 0, n;
    /* --names on an unconnected socket that bind named (--bind, a UNIX
     * client's autobind): no connect shows it, so getsockname now. */
    if (o->names && !o->connect && (o->bind || addr_family(&o->addr) == AF_UNIX)) {
        struct addr local;
        Getsockname(fd, &local.ss, &local.len);
        say("fd %d: local %s%s", fd, addr_str(&local),
            o->bind ? " (bound by --bind)" : " (the kernel's autobind name)");
    }
    /* --names on an unconnected UDP socket: the first sendto bound it. */
    bool show_bound = o->names && !o->connect && addr_family(&o->addr) != AF_UNIX &&
                      !o->bind;
    while ((msg = next_message(o, &i, &n))) {
        if (io_send_flags(fd, msg, n, o->send_flags, o->connect ? NULL : &o->addr, o->wait,
                          &f) < 0)
            die_fail(&f);
        free(msg);
        if (show_bound) {
            struct addr local;
            show_bound = false;
            Getsockname(fd, &local.ss, &local.len);
            say("fd %d: local %s (bound by the first sendto)", fd, addr_str(&local));
        }
        if (o->no_reply)
            continue;
        struct addr from = o->addr;
        ssize_t real = recv_reply(fd, buf, o->connect ? NULL : &from, o, &f);
        if (real < 0)
            die_fail(&f);
        ssize_t got = (size_t)real > o->bufsize ? (ssize_t)o->bufsize : real;
        if (real > got)
            truncated(&from, real, got);
        const char *zero =
            dgram_zero_bytes(got, real, o->bufsize, (o->recv_flags & MSG_TRUNC) != 0);
        if (zero && strcmp(zero, "an empty datagram") != 0) {
            say("(a datagram from %s: %s)", addr_str(&from), zero);
        } else if (got == 0 && real == 0) {
            say("(an empty datagram from %s)", addr_str(&from));
        } else if (got > 0) {
            fwrite(buf, 1, got, stdout);
            say("%s", "");
        }
    }
    free(buf);
}

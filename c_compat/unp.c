/* unp.c: the wrappers declared in unp.h. */
#include "unp.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <unistd.h>

const char *prog = "c_twin";

static void (*cleanup_hook)(void);
static volatile sig_atomic_t stop_signal;

const char *errno_text(int err) {
    static char text[160];
    const char *name = strerrorname_np(err);
    snprintf(text, sizeof text, "%s (%s)", name ? name : "E?", strerror(err));
    return text;
}

static void run_cleanup(void) {
    void (*fn)(void) = cleanup_hook;
    cleanup_hook = NULL;
    if (fn)
        fn();
}

void on_exit_cleanup(void (*fn)(void)) { cleanup_hook = fn; }

_Noreturn void err_sys(const char *what, int err) {
    run_cleanup();
    fprintf(stderr, "%s: %s: %s\n", prog, what, errno_text(err));
    exit(1);
}

void warn_sys(const char *what, int err) {
    fprintf(stderr, "%s: %s: %s\n", prog, what, errno_text(err));
}

_Noreturn void err_quit(int status, const char *fmt, ...) {
    va_list ap;
    run_cleanup();
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

void *Malloc(size_t n, const char *what) {
    void *p = malloc(n ? n : 1);
    if (!p)
        err_quit(1, "cannot allocate %zu bytes for %s (out of memory, or over the "
                    "address-space limit: ulimit -v)", n, what);
    return p;
}

/* SA_SIGINFO, as socklab's handler (which keeps the siginfo for its
 * trace's `--- SIGTERM {...} ---` line). */
static void record(int signo, siginfo_t *info, void *ctx) {
    (void)info;
    (void)ctx;
    stop_signal = signo;
}

void catch_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = record; /* no SA_RESTART: blocking calls return EINTR */
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], &sa, NULL) < 0)
            err_sys("sigaction", errno);
}

int stop_pending(void) { return stop_signal; }

void check_stop(void) {
    int sig = stop_signal;
    if (sig == 0)
        return;
    run_cleanup();
    die_by(sig);
}

/* Die by sig: its default action, unblocked (a blocked signal would stay
   pending), raised (glibc: gettid, getpid, tgkill); as Sys::die_by. */
void die_by(int sig) {
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    if (sigprocmask(SIG_UNBLOCK, &set, NULL) < 0)
        err_sys("sigprocmask", errno);
    raise(sig);
    exit(128 + sig);
}

bool show_state;

/* The TCP sockets seen so far (fds below 1024; the programs use a few). */
static bool tcp_fd[1024];

void state_track(int fd, bool tcp) {
    if (fd >= 0 && fd < (int)(sizeof tcp_fd / sizeof tcp_fd[0]))
        tcp_fd[fd] = tcp;
}

/* The kernel's TCP state names (include/net/tcp_states.h). */
static const char *tcp_state_name(unsigned state) {
    static const char *names[] = {"UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV",
                                  "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
                                  "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"};
    return state < sizeof names / sizeof names[0] ? names[state] : "UNKNOWN";
}

/* ioctl(fd, request, [n]) retried on EINTR: `n`, or `?` if it failed. */
static const char *queue(int fd, unsigned long request, char *out, size_t n) {
    int value = 0, r;
    do
        r = ioctl(fd, request, &value);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        snprintf(out, n, "?");
    else
        snprintf(out, n, "%d", value);
    return out;
}

void state_after(int fd) {
    if (!show_state || fd < 0 || fd >= (int)(sizeof tcp_fd / sizeof tcp_fd[0]) ||
        !tcp_fd[fd])
        return;
    int saved = errno, r;
    /* Rust's libc::tcp_info is 280 bytes (as strace shows: [280]); copy
     * what the kernel wrote into glibc's shorter struct. */
    unsigned char buf[280];
    struct tcp_info info;
    socklen_t len = sizeof buf;
    memset(buf, 0, sizeof buf);
    do
        r = getsockopt(fd, SOL_TCP, TCP_INFO, buf, &len);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
        memcpy(&info, buf, sizeof info < sizeof buf ? sizeof info : sizeof buf);
        const char *state = tcp_state_name(info.tcpi_state);
        if (!strcmp(state, "LISTEN")) {
            /* For a listener, the kernel reports the accept queue here. */
            printf("[state fd %d: LISTEN, accept queue %u of %u]\n", fd,
                   info.tcpi_unacked, info.tcpi_sacked);
        } else {
            char inq[16], outq[16];
            queue(fd, FIONREAD, inq, sizeof inq);
            queue(fd, TIOCOUTQ, outq, sizeof outq);
            printf("[state fd %d: %s, rtt %.3f ms, unacked %u, retransmits %u, "
                   "inq %s outq %s]\n",
                   fd, state, info.tcpi_rtt / 1000.0, info.tcpi_unacked,
                   info.tcpi_total_retrans, inq, outq);
        }
        fflush(stdout);
    }
    errno = saved;
}

/* Retry on EINTR unless a stop signal arrived (then check_stop dies). */
#define RETRY(expr)                                                           \
    do {                                                                      \
        r = (expr);                                                           \
        if (r < 0 && errno == EINTR)                                          \
            check_stop();                                                     \
    } while (r < 0 && errno == EINTR)

/* RETRY for a call on fd: --show-state looks at fd after each attempt. */
#define RETRY_ON(fd, expr)                                                    \
    do {                                                                      \
        r = (expr);                                                           \
        state_after(fd);                                                      \
        if (r < 0 && errno == EINTR)                                          \
            check_stop();                                                     \
    } while (r < 0 && errno == EINTR)

int r_connect(int fd, const struct sockaddr *sa, socklen_t len) {
    int r;
    check_stop();
    RETRY_ON(fd, connect(fd, sa, len));
    return r;
}

/* --show-state after accept4: the new connection, then the listener's queue. */
int r_accept4(int fd, struct sockaddr_storage *peer, socklen_t *len) {
    int r;
    check_stop();
    do {
        r = (*len = sizeof *peer, accept4(fd, (struct sockaddr *)peer, len, SOCK_CLOEXEC));
        if (r >= 0) {
            state_track(r, fd >= 0 && fd < (int)(sizeof tcp_fd / sizeof tcp_fd[0]) && tcp_fd[fd]);
            state_after(r);
        }
        state_after(fd);
        if (r < 0 && errno == EINTR)
            check_stop();
    } while (r < 0 && errno == EINTR);
    return r;
}

ssize_t r_recvfrom(int fd, void *buf, size_t n, struct sockaddr_storage *from,
                   socklen_t *len) {
    return r_recvfrom_flags(fd, buf, n, 0, from, len);
}

ssize_t r_recvfrom_flags(int fd, void *buf, size_t n, int flags,
                         struct sockaddr_storage *from, socklen_t *len) {
    ssize_t r;
    check_stop();
    if (from)
        RETRY_ON(fd, (*len = sizeof *from,
                      recvfrom(fd, buf, n, flags, (struct sockaddr *)from, len)));
    else
        RETRY_ON(fd, recv(fd, buf, n, flags)); /* glibc: recvfrom(fd, buf, n, flags, NULL, NULL) */
    return r;
}

ssize_t r_sendto(int fd, const void *buf, size_t n, const struct sockaddr *to,
                 socklen_t len) {
    return r_sendto_flags(fd, buf, n, 0, to, len);
}

ssize_t r_sendto_flags(int fd, const void *buf, size_t n, int flags,
                       const struct sockaddr *to, socklen_t len) {
    ssize_t r;
    check_stop();
    if (to)
        RETRY_ON(fd, sendto(fd, buf, n, flags, to, len));
    else
        RETRY_ON(fd, send(fd, buf, n, flags)); /* glibc: sendto(fd, buf, n, flags, NULL, 0) */
    return r;
}

int r_poll(int fd, short events, int timeout_ms, short *revents) {
    struct pollfd p = {.fd = fd, .events = events};
    int r;
    check_stop();
    RETRY_ON(fd, poll(&p, 1, timeout_ms));
    *revents = p.revents;
    return r;
}

int Socket(int family, int type) {
    int r;
    RETRY(socket(family, type | SOCK_CLOEXEC, 0));
    if (r < 0)
        err_sys("socket", errno);
    state_track(r, family != AF_UNIX && type == SOCK_STREAM);
    return r;
}

void Setsockopt_int(int fd, int level, int name, int value) {
    int r;
    RETRY_ON(fd, setsockopt(fd, level, name, &value, sizeof value));
    if (r < 0)
        err_sys("setsockopt", errno);
}

int Getsockopt_int(int fd, int level, int name) {
    int value = 0, r;
    socklen_t len = sizeof value;
    RETRY_ON(fd, getsockopt(fd, level, name, &value, &len));
    if (r < 0)
        err_sys("getsockopt", errno);
    return value;
}

void Setsockopt(int fd, int level, int name, const void *value, socklen_t len) {
    int r;
    RETRY_ON(fd, setsockopt(fd, level, name, value, len));
    if (r < 0)
        err_sys("setsockopt", errno);
}

void Getsockopt(int fd, int level, int name, void *value, socklen_t *len) {
    int r;
    RETRY_ON(fd, getsockopt(fd, level, name, value, len));
    if (r < 0)
        err_sys("getsockopt", errno);
}

void Bind(int fd, const struct sockaddr *sa, socklen_t len) {
    int r;
    RETRY_ON(fd, bind(fd, sa, len));
    if (r < 0)
        err_sys("bind", errno);
}

void Listen(int fd, int backlog) {
    int r;
    RETRY_ON(fd, listen(fd, backlog));
    if (r < 0)
        err_sys("listen", errno);
}

void Getsockname(int fd, struct sockaddr_storage *ss, socklen_t *len) {
    int r;
    RETRY_ON(fd, (*len = sizeof *ss, getsockname(fd, (struct sockaddr *)ss, len)));
    if (r < 0)
        err_sys("getsockname", errno);
}

void Getpeername(int fd, struct sockaddr_storage *ss, socklen_t *len) {
    int r;
    RETRY_ON(fd, (*len = sizeof *ss, getpeername(fd, (struct sockaddr *)ss, len)));
    if (r < 0)
        err_sys("getpeername", errno);
}

void Shutdown(int fd, int how) {
    int r;
    RETRY_ON(fd, shutdown(fd, how));
    if (r < 0)
        err_sys("shutdown", errno);
}

void Ioctl_fionbio(int fd, int on) {
    int r;
    RETRY_ON(fd, ioctl(fd, FIONBIO, &on));
    if (r < 0)
        err_sys("ioctl", errno);
}

void Close(int fd) {
    /* Not retried on EINTR: on Linux the fd is gone either way (close(2)),
     * so EINTR counts as closed.
     * Not inspected (--show-state): the fd is gone. */
    state_track(fd, false);
    if (close(fd) < 0 && errno != EINTR) /* EINTR: closed all the same */
        err_sys("close", errno);
}

void Unlink(const char *path) {
    int r;
    RETRY(unlink(path));
    if (r < 0)
        err_sys("unlink", errno);
}

int r_openat(int dirfd, const char *path, int flags) {
    int r;
    RETRY(openat(dirfd, path, flags | O_RDONLY | O_CLOEXEC));
    return r;
}

int Openat_dir(int dirfd, const char *path, int flags) {
    int r = r_openat(dirfd, path, flags | O_DIRECTORY);
    if (r < 0)
        err_sys("openat", errno);
    return r;
}

int Fstatat(int dirfd, const char *name, struct stat *st) {
    int r;
    RETRY(fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW));
    if (r < 0 && errno == ENOENT)
        return -1;
    if (r < 0)
        err_sys("newfstatat", errno);
    return 0;
}

void Unlinkat(int dirfd, const char *name, int flags) {
    int r;
    RETRY(unlinkat(dirfd, name, flags));
    if (r < 0)
        err_sys("unlinkat", errno);
}

int Lstat(const char *path, struct stat *st) {
    int r;
    RETRY(fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW));
    if (r < 0 && errno == ENOENT)
        return -1;
    if (r < 0)
        err_sys("newfstatat", errno);
    return 0;
}

/* recvmmsg(fd, h, vlen, flags, NULL) and sendmmsg(fd, h, vlen, flags):
 * `--batch N` (dgram_batch.c), -1 with errno, EINTR as above. */
int r_recvmmsg(int fd, struct mmsghdr *h, unsigned vlen, int flags) {
    int r;
    check_stop();
    RETRY_ON(fd, recvmmsg(fd, h, vlen, flags, NULL));
    return r;
}

int r_sendmmsg(int fd, struct mmsghdr *h, unsigned vlen, int flags) {
    int r;
    check_stop();
    RETRY_ON(fd, sendmmsg(fd, h, vlen, flags));
    return r;
}

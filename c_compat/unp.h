/* unp.h: the wrapper library of socklab's C twins, in the style of Stevens'
 * UNP (unpv13e/lib/wrapsock.c): one capitalised wrapper per syscall that
 * dies with `prog: call: ENAME (text)` and exit status 1.
 *
 * Parity decisions, the same as socklab's `sys` layer (src/sys/:
 * mod.rs and the calls grouped by topic):
 * - every socket gets SOCK_CLOEXEC and protocol 0;
 * - accept4() always receives the peer address in a sockaddr_storage;
 * - send is glibc's send(), i.e. sendto(fd, buf, n, 0, NULL, 0);
 *   recv is recvfrom(fd, buf, n, 0, NULL, NULL);
 * - a call interrupted by a signal (EINTR) is retried, as Python (PEP 475)
 *   and socklab do, unless a stop signal (SIGINT, SIGTERM, SIGHUP) was
 *   caught: then the program cleans up and dies by that signal;
 * - SIGPIPE is ignored and stdout is line-buffered (twin_init(), args.c). */
#ifndef SOCKLAB_UNP_H
#define SOCKLAB_UNP_H

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The program's name, for error lines (set by twin_init). */
extern const char *prog;

/* `ECONNREFUSED (Connection refused)` for err. */
const char *errno_text(int err);

/* Print `prog: what: ENAME (text)` and exit 1 (after the cleanup hook). */
_Noreturn void err_sys(const char *what, int err);
/* malloc(n) of a buffer sized from the command line (what: --size,
 * --bufsize); on failure `cannot allocate N bytes for WHAT`, the cleanup,
 * exit 1 (as socklab's text::buffer). */
void *Malloc(size_t n, const char *what);
/* Print `prog: what: ENAME (text)` and return. */
void warn_sys(const char *what, int err);
/* Print `prog: message` and exit status (after the cleanup hook). */
_Noreturn void err_quit(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What runs before the program dies (a UNIX server removes its file). */
void on_exit_cleanup(void (*fn)(void));

/* Catch SIGINT, SIGTERM and SIGHUP without SA_RESTART: the handler only
 * records the signal; the interrupted call returns EINTR and the program
 * cleans up, then dies by the signal (exit status 128+N). */
void catch_stop_signals(void);
/* A stop signal arrived: run the cleanup hook and die by it. Called by the
 * wrappers before a blocking call and on EINTR. */
void check_stop(void);
/* Die by sig (default action, unblocked, raised); never returns. */
void die_by(int sig) __attribute__((noreturn));
/* The stop signal that arrived (0: none), without acting on it. */
int stop_pending(void);

/* --show-state (socklab's src/inspect.rs): after each call on a TCP socket
 * (from socket(AF_INET[6], SOCK_STREAM) or accept4 on such a listener),
 * except socket() itself and close(), the wrappers make
 * getsockopt(fd, SOL_TCP, TCP_INFO, buf, [280]) (280: the size of Rust's
 * libc::tcp_info) and, unless the state is LISTEN, ioctl(fd, FIONREAD)
 * and ioctl(fd, TIOCOUTQ), then print `[state fd N: ...]`. These calls
 * are not inspected themselves; errno is kept. */
extern bool show_state;
/* Remember a TCP socket (tcp true) or forget a closed one. */
void state_track(int fd, bool tcp);
/* The hook itself, for the rare raw call outside the wrappers. */
void state_after(int fd);

/* Raw calls that return -1 with errno (EINTR handled as above). */
int r_connect(int fd, const struct sockaddr *sa, socklen_t len);
int r_accept4(int fd, struct sockaddr_storage *peer, socklen_t *len);
ssize_t r_recvfrom(int fd, void *buf, size_t n, struct sockaddr_storage *from,
                   socklen_t *len);
/* recvfrom with flags (MSG_TRUNC: a datagram's real length, however long). */
ssize_t r_recvfrom_flags(int fd, void *buf, size_t n, int flags,
                         struct sockaddr_storage *from, socklen_t *len);
ssize_t r_sendto(int fd, const void *buf, size_t n, const struct sockaddr *to,
                 socklen_t len);
/* sendto with flags (MSG_DONTWAIT: this one call never blocks). */
ssize_t r_sendto_flags(int fd, const void *buf, size_t n, int flags,
                       const struct sockaddr *to, socklen_t len);
int r_poll(int fd, short events, int timeout_ms, short *revents);
/* recvmmsg(..., NULL: no timeout) and sendmmsg (--batch N): how many, or -1. */
struct mmsghdr;
int r_recvmmsg(int fd, struct mmsghdr *h, unsigned vlen, int flags);
int r_sendmmsg(int fd, struct mmsghdr *h, unsigned vlen, int flags);

/* The wrappers: the call or death. */
int Socket(int family, int type);
void Setsockopt_int(int fd, int level, int name, int value);
int Getsockopt_int(int fd, int level, int name);
void Setsockopt(int fd, int level, int name, const void *value, socklen_t len);
/* getsockopt into value (*len bytes in, the kernel's length out). */
void Getsockopt(int fd, int level, int name, void *value, socklen_t *len);
void Bind(int fd, const struct sockaddr *sa, socklen_t len);
void Listen(int fd, int backlog);
void Getsockname(int fd, struct sockaddr_storage *ss, socklen_t *len);
void Getpeername(int fd, struct sockaddr_storage *ss, socklen_t *len);
void Shutdown(int fd, int how);
void Ioctl_fionbio(int fd, int on);
void Close(int fd);
void Unlink(const char *path);
/* glibc's lstat: newfstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW).
 * Returns 0, or -1 if nothing is there (ENOENT); dies otherwise. */
int Lstat(const char *path, struct stat *st);
/* openat(dirfd, path, flags|O_RDONLY|O_CLOEXEC): -1 with errno. */
int r_openat(int dirfd, const char *path, int flags);
/* openat(dirfd, path, flags|O_RDONLY|O_DIRECTORY|O_CLOEXEC): a directory fd. */
int Openat_dir(int dirfd, const char *path, int flags);
/* newfstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW): 0, or -1 if nothing
 * is there (ENOENT); dies otherwise. */
int Fstatat(int dirfd, const char *name, struct stat *st);
void Unlinkat(int dirfd, const char *name, int flags);

#endif

/* lab.h: what socklab's C twins share besides the wrappers: the command
 * line, addresses, how bytes are printed, the client's messages, and
 * Python's blocking and timeout modes (socklab's src/io.rs). */
#ifndef SOCKLAB_LAB_H
#define SOCKLAB_LAB_H

#include "unp.h"
#include "sockopt.h"

#include <stdbool.h>
#include <stdio.h>
#include <sys/un.h>

/* A socket address with the length the kernel sees (SUN_LEN for a path,
 * 2+1+strlen for @NAME, 2 for the autobind address). */
struct addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* Which option groups a program takes (as socklab's clap structs). */
enum {
    /* Servers and clients alike also take the socket options: --timeout,
     * --nonblocking, --sockopt, --rcvtimeo, --sndtimeo, --names. */
    OPT_SERVER = 1,         /* --bufsize --reuseaddr --once --max-conns -q */
    OPT_STREAM_SERVER = 2,  /* --backlog --naive --naive-limit --lines */
    OPT_CLIENT = 4,         /* -m --bufsize --size */
    OPT_STREAM_CLIENT = 8,  /* --send-empty --connect-ex --send-mode --lines
                             * --shutdown */
    OPT_DGRAM_CLIENT = 16,  /* --connect */
    OPT_UNIX = 32,          /* --dgram */
    OPT_UNIX_SERVER = 64,   /* --unlink-stale, --mode, --follow-symlinks */
};

struct opts {
    struct addr addr;
    int backlog;
    size_t bufsize;
    bool reuseaddr, once, quiet, naive, dgram, unlink_stale;
    int mode;             /* --mode OCTAL: the socket file's bits; -1: none */
    bool follow_symlinks; /* --follow-symlinks */
    bool send_empty, connect_ex, connect;
    unsigned long long max_conns; /* 0: no limit */
    unsigned long long naive_limit;
    double timeout; /* 0: none */
    bool nonblocking;
    /* How calls wait: 0 blocking, > 0 a timeout (--timeout), WAIT_NONBLOCKING. */
    double wait;
    /* --sockopt settings in order, then --rcvtimeo, then --sndtimeo. */
    struct setting *sockopts;
    size_t n_sockopts;
    bool send_all; /* --send-mode sendall (the default) or send */
    size_t size;   /* --size N: one message of N pattern bytes; 0: none */
    bool names;    /* --names: getsockname + getpeername at connect/accept */
    bool lines;    /* --lines: a line buffer over recv (Python's makefile) */
    bool sink;     /* --sink: recvfrom until 0, no reply */
    bool shutdown; /* --shutdown: shutdown(SHUT_WR) after the last message */
    char **messages;
    size_t n_messages;
    int model;     /* --model: MODEL_ITERATIVE (the default), ... */
    unsigned pool; /* prefork:N / prethread:N */
};

/* --model (socklab's src/model/): iterative, fork, thread, prefork:N,
 * prethread:N, poll, epoll for stream servers; iterative and epoll for
 * datagram ones. */
enum { MODEL_ITERATIVE, MODEL_FORK, MODEL_THREAD, MODEL_PREFORK, MODEL_PRETHREAD,
       MODEL_POLL, MODEL_EPOLL };

/* Python's setblocking(False): EAGAIN, then poll(..., -1), then again
 * (backing off when poll says ready and the call still says EAGAIN). */
#define WAIT_NONBLOCKING (-1.0)

/* Set prog, ignore SIGPIPE, make stdout line-buffered. */
void lab_init(const char *name);
/* Parse argv as the socklab program does; usage errors exit 2 (among
 * them a --sockopt @accepted/@connected phase the program never reaches). */
void parse_args(int argc, char **argv, unsigned groups, bool unix_addr,
                const char *default_addr, struct opts *o);

/* `127.0.0.1:8081`, `[::1]:8081`, `/tmp/x.sock`, `@name`, `(unnamed)`. */
const char *addr_str(const struct addr *a);
bool addr_is_unix(const struct addr *a);
/* The file of a pathname UNIX address, or NULL. */
const char *addr_unix_path(const struct addr *a);
struct addr addr_autobind(void);
int addr_family(const struct addr *a);
#define SA(a) ((const struct sockaddr *)&(a)->ss)

/* `5 bytes "hello"`: strace's escaping, never cut. */
void print_shown(FILE *f, const unsigned char *msg, size_t n);
/* A line printed right after `listening on ADDR` (unix_server's socket
 * file mode), or NULL. */
extern char after_listening[80];

/* One line of output, flushed (it is line-buffered). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The client's messages: -m TEXT options, else stdin lines (stripped).
 * Returns a malloc'd message (its length in *n), or NULL at the end. */
unsigned char *next_message(struct opts *o, size_t *i, size_t *n);

/* A failure of the timeout-aware helpers below. */
struct fail {
    const char *call;
    int err;      /* errno, or 0 for a timeout */
    double secs;  /* the timeout that expired */
};
_Noreturn void die_fail(const struct fail *f);
void warn_fail(const struct fail *f);

/* Python's modes: wait == 0 blocks; wait > 0 is a timeout: the fd is
 * non-blocking and each call is preceded by poll() with the milliseconds
 * left; WAIT_NONBLOCKING: the call is made at once, and when it fails with
 * EAGAIN, poll(..., -1) and the call again. */
/* set_wait then prints what Python's gettimeout() would say, as socklab:
 * `fd N: settimeout(2.0), gettimeout() -> 2.0` or
 * `fd N: setblocking(False), gettimeout() -> 0.0`. */
void set_wait(int fd, double wait);
/* Rust's `{:?}` of an f64 (`2.0`, `0.3`, `1e-5`), written into out. */
const char *rust_f64(double v, char *out, size_t n);
/* For each setting of phase: setsockopt, then getsockopt to read it back;
 * print `sockopt NAME on fd N: requested V[, effective W (why)]`. */
void apply_sockopts(int fd, const struct opts *o, enum phase phase);
/* --names: getsockname, getpeername; print `fd N: local L, peer P`. */
void show_names(int fd);
/* Python's connect: 0, or -1 with f (timeout and non-blocking: connect ->
 * EINPROGRESS -> poll(POLLOUT|POLLERR) -> getsockopt(SO_ERROR)). */
int io_connect(int fd, const struct addr *a, double wait, struct fail *f);
/* Python's connect_ex: the errno (0 connected, EAGAIN on timeout,
 * EINPROGRESS at once on a non-blocking socket). */
int io_connect_ex(int fd, const struct addr *a, double wait);
int io_accept(int fd, struct addr *peer, double wait, struct fail *f);
ssize_t io_recv(int fd, void *buf, size_t n, double wait, struct fail *f);
ssize_t io_recvfrom(int fd, void *buf, size_t n, struct addr *from, double wait,
                    struct fail *f);
/* A datagram: recvfrom(fd, buf, n, MSG_TRUNC, from or NULL, ...): its real
 * length, more than n when it was cut (buf holds its start). */
ssize_t io_recv_datagram(int fd, void *buf, size_t n, struct addr *from,
                         double wait, struct fail *f);
ssize_t io_send(int fd, const void *buf, size_t n, const struct addr *to,
                double wait, struct fail *f);
/* Python's sendall: sendto until every byte is out, one deadline; a
 * zero-length buffer still makes one sendto. On a failure after some bytes
 * went out, it prints how many. */
int io_sendall(int fd, const void *buf, size_t n, double wait, struct fail *f);

/* A long message sent while its echo is read (src/duplex.rs): up to
 * SENDALL_MAX bytes the client sends all, then reads; a longer one (with
 * sendall, and no SO_SNDTIMEO) goes out in pieces: 1. send(MSG_DONTWAIT)
 * (blocking mode; flags 0 on a non-blocking fd), 2. poll(POLLIN|POLLOUT,
 * -1 or the time left), 3. POLLIN/POLLERR/POLLHUP: one recvfrom, the bytes
 * to on_data; 0 bytes: the server closed; 4. POLLOUT: back to 1. */
#define SENDALL_MAX (128 * 1024)
/* The longest stdin line a client sends (text::LINE_LIMIT): 64 KiB. */
#define LINE_LIMIT 65536
bool duplex_needed(size_t len, const struct opts *o);
/* 1 all out, 0 the server closed first (*sent bytes out), -1 with f (and
 * the sendall progress line). on_data returns < 0 to stop, with f set. */
int io_send_reading(int fd, const unsigned char *msg, size_t n, size_t *sent,
                    unsigned char *buf, size_t bufsize, double wait,
                    int (*on_data)(void *ctx, const unsigned char *p, size_t n,
                                   struct fail *f),
                    void *ctx, struct fail *f);

/* stream.c and dgram.c: the servers and clients shared by TCP/UDP and UNIX. */
void stream_serve(int listener, const struct opts *o);
void stream_client(struct opts *o);
void dgram_serve(int fd, const struct opts *o);
void dgram_client(struct opts *o);
/* models.c: one accepted connection as the iterative server serves it
 * (stream.c), and the other models after listen and getsockname. */
void serve_conn(int conn, const struct addr *peer, unsigned char *buf,
                const struct opts *o);
void say_listening(const struct addr *me);
/* accept(2)'s errors that are the new connection's, not the listener's. */
int accept_error_is_the_peers(int e);
void peer_cred(int conn, const struct addr *peer, char *cred, size_t n);
void model_serve(int listener, const struct addr *me, const struct opts *o);
/* The datagram server's epoll: epoll_create1, epoll_ctl(ADD, fd, EPOLLIN);
 * dgram_epoll_wait before each recvfrom. */
int dgram_epoll(int fd);
void dgram_epoll_wait(int ep);
/* The bound socket: socket, [setsockopt SO_REUSEADDR], the --sockopt
 * settings of the created phase (each set and read back), bind. */
int bound_socket(int type, const struct opts *o);
/* bound_socket's steps before bind (unix_server opens the directory then). */
int socket_to_bind(int type, const struct opts *o);

#endif

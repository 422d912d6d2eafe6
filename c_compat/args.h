/* args.h: the twins' command line, parsed as socklab's clap structs
 * (src/cli.rs) parse it, and the client's messages (-m TEXT, --size N or
 * stdin lines). */
#ifndef SOCKLAB_ARGS_H
#define SOCKLAB_ARGS_H

#include "addr.h"
#include "sockopt.h"

#include <stdbool.h>
#include <stddef.h>

/* Which option groups a program takes (as socklab's clap structs). */
enum {
    /* Servers and clients alike also take the socket options: --timeout,
     * --nonblocking, --sockopt, --rcvtimeo, --sndtimeo, --names. */
    OPT_SERVER = 1,         /* --bufsize --reuseaddr --once --max-conns -q */
    OPT_STREAM_SERVER = 2,  /* --backlog --naive --naive-limit --lines */
    OPT_CLIENT = 4,         /* -m --bufsize --size --no-reply --bind
                             * --send-flags --recv-flags */
    OPT_STREAM_CLIENT = 8,  /* --send-empty --connect-ex --send-mode --lines
                             * --shutdown */
    OPT_DGRAM_CLIENT = 16,  /* --connect */
    OPT_UNIX = 32,          /* --dgram */
    OPT_UNIX_SERVER = 64,   /* --unlink-stale, --mode, --follow-symlinks */
    OPT_DGRAM_SERVER = 128, /* --recv-flags (not MSG_PEEK; unix: with --dgram) */
};

/* --model (socklab's src/programs/model/): iterative, fork, thread, prefork:N,
 * prethread:N, poll, epoll for stream servers; iterative and epoll for
 * datagram ones. */
enum { MODEL_ITERATIVE, MODEL_FORK, MODEL_THREAD, MODEL_PREFORK, MODEL_PRETHREAD,
       MODEL_POLL, MODEL_EPOLL, MODEL_URING };

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
    /* How calls wait (modes.h): 0 blocking, > 0 a timeout (--timeout),
     * WAIT_NONBLOCKING. */
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
    bool no_reply; /* --no-reply: send the messages, no recvfrom */
    bool bind;     /* --bind ADDR (in local): bind before connect */
    struct addr local;
    int send_flags, recv_flags; /* --send-flags, --recv-flags (0: none) */
    unsigned pool; /* prefork:N / prethread:N */
    unsigned batch; /* --batch N: recvmmsg/sendmmsg of up to N (0: one by one) */
};

/* Set prog, ignore SIGPIPE, make stdout line-buffered. */
void twin_init(const char *name);
/* Parse argv as the socklab program does; usage errors exit 2 (among
 * them a --sockopt @accepted/@connected phase the program never reaches). */
void parse_args(int argc, char **argv, unsigned groups, bool unix_addr,
                const char *default_addr, struct opts *o);

/* The longest stdin line a client sends (socklab's text::LINE_LIMIT): 64 KiB. */
#define LINE_LIMIT 65536
/* The client's messages: -m TEXT options, else stdin lines (stripped).
 * Returns a malloc'd message (its length in *n), or NULL at the end. */
unsigned char *next_message(struct opts *o, size_t *i, size_t *n);

#endif

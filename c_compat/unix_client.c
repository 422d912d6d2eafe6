/* unix_client: the C twin of `socklab unix client` (src/programs/unix.rs), stream or
 * --dgram, to a path or an abstract @NAME.
 *
 * Stream (the client of src/programs/stream.rs, as tcp_client):
 * 1. socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0); the --sockopt settings;
 *    --bind PATH: bind
 * 2. ioctl(FIONBIO) with --timeout or --nonblocking
 * 3. connect (--connect-ex: print the code); the @connected settings;
 *    --names: getsockname, getpeername
 * 4. per message: sendto, recvfrom -> print the reply (--lines, --size and
 *    long messages: as tcp_client)
 * 5. --shutdown: shutdown(SHUT_WR), recvfrom until 0; close
 *
 * Datagram, --dgram (the client of src/programs/dgram.rs):
 * 1. socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC, 0); the --sockopt settings
 * 2. ioctl(FIONBIO) with --timeout or --nonblocking
 * 3. bind({sa_family=AF_UNIX}, 2), the kernel's autobind, so the server's
 *    reply has an address to come back to (--bind PATH: that one)
 * 4. connect with --connect; the @connected settings; --names:
 *    getsockname, getpeername
 * 5. per line: sendto (send when connected), recvfrom -> print the reply
 *    (the flags and --no-reply as udp_client.c)
 * 6. close
 *
 * Usage: unix_client [PATH|@NAME] [--dgram] [-m TEXT]... [--size N] [--bufsize N]
 *        [--send-empty] [--connect-ex] [--send-mode send|sendall] [--connect]
 *        [--lines] [--shutdown] [--names]
 *        [--timeout SECS | --nonblocking]
 *        [--sockopt NAME=VALUE[@PHASE]]... [--rcvtimeo SECS] [--sndtimeo SECS] */
#define _GNU_SOURCE
#include "args.h"
#include "dgram.h"
#include "modes.h"
#include "print.h"
#include "settings.h"
#include "stream.h"
#include "unp.h"

#include <stdlib.h>

static void str_cli(struct opts *o) {
    struct fail f;
    int sockfd = Socket(AF_UNIX, SOCK_STREAM);                  /* 1 */
    apply_sockopts(sockfd, o, PH_CREATED);
    if (o->bind)
        Bind(sockfd, SA(&o->local), o->local.len);
    set_wait(sockfd, o->wait);                                  /* 2 */
    if (o->connect_ex) {                                        /* 3 */
        int code = io_connect_ex(sockfd, &o->addr, o->wait);
        if (code)
            say("connect_ex -> %d %s", code, errno_text(code));
        else
            say("connect_ex -> 0");
    } else if (io_connect(sockfd, &o->addr, o->wait, &f) < 0) {
        die_fail(&f);
    }
    apply_sockopts(sockfd, o, PH_CONNECTED);
    if (o->names)
        show_names(sockfd);

    unsigned char *buf = Malloc(o->bufsize, "--bufsize");
    stream_exchange(sockfd, buf, o);                            /* 4 */
    if (o->shutdown) {                                          /* 5 */
        Shutdown(sockfd, SHUT_WR);
        stream_drain(sockfd, buf, o);
    }
    Close(sockfd);
    free(buf);
}

static void dg_cli(struct opts *o) {
    struct fail f;
    int sockfd = Socket(AF_UNIX, SOCK_DGRAM);                   /* 1 */
    apply_sockopts(sockfd, o, PH_CREATED);
    set_wait(sockfd, o->wait);                                  /* 2 */
    struct addr autobind = addr_autobind(), *local = o->bind ? &o->local : &autobind;
    Bind(sockfd, SA(local), local->len);                        /* 3 */
    if (o->connect) {                                           /* 4 */
        if (io_connect(sockfd, &o->addr, o->wait, &f) < 0)
            die_fail(&f);
        apply_sockopts(sockfd, o, PH_CONNECTED);
        if (o->names)
            show_names(sockfd);
    }
    dgram_exchange(sockfd, o);                                  /* 5 */
    Close(sockfd);                                              /* 6 */
}

int main(int argc, char **argv) {
    struct opts o;
    twin_init("unix_client");
    parse_args(argc, argv, OPT_CLIENT | OPT_STREAM_CLIENT | OPT_DGRAM_CLIENT | OPT_UNIX,
               true, "/tmp/socklab.sock", &o);
    if (o.dgram && (o.send_empty || o.connect_ex))
        err_quit(2, "error: --send-empty and --connect-ex are for stream sockets");
    if (o.dgram)
        dg_cli(&o);
    else if (o.connect)
        err_quit(2, "--connect is for datagram sockets: add --dgram");
    else
        str_cli(&o);
    return 0;
}

/* tcp_client: the C twin of `socklab tcp client` (src/programs/tcp.rs, src/programs/stream.rs).
 *
 * Client (src/programs/tcp.rs: socket, connect, sendto/recvfrom per message, close;
 * the list of src/programs/stream.rs):
 * 1. socket(AF_INET[6], SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP)
 *    then each --sockopt NAME=VALUE: setsockopt, getsockopt (read back);
 *    --bind ADDR: bind
 * 2. ioctl(fd, FIONBIO, [1]) with --timeout or --nonblocking
 * 3. connect (with --timeout: connect -> EINPROGRESS -> poll(POLLOUT|POLLERR)
 *    -> getsockopt(SO_ERROR); --nonblocking: poll without a limit);
 *    --connect-ex prints the code and goes on (115 EINPROGRESS at once when
 *    non-blocking); then the NAME=VALUE@connected settings;
 *    --names: getsockname, getpeername -> print `fd N: local L, peer P`
 * 4. per message (-m TEXT, or stdin lines; empty ones skipped unless
 *    --send-empty; --size N: one of N pattern bytes): sendto (all of it,
 *    or once with --send-mode send), recvfrom -> print the reply (--size:
 *    recvfrom until the whole echo is back; a message over 128 KiB:
 *    sendto(MSG_DONTWAIT), poll(POLLIN|POLLOUT) and recvfrom in turn,
 *    duplex.c; not with --no-reply or the flags); --send-flags and
 *    --recv-flags are the calls' flags (MSG_PEEK: a peek printed, then the
 *    same recvfrom without it); --no-reply: no recvfrom; --lines: every message with its \n in one sendall, then
 *    recvfrom into a line buffer (each recv reported) until each reply
 *    line is complete
 * 5. --shutdown: shutdown(fd, SHUT_WR), recvfrom until 0 -> print `server
 *    closed the connection`; then close
 * --show-state: after each call on the socket but socket and close,
 *    getsockopt(fd, SOL_TCP, TCP_INFO, ..., [280]), ioctl(fd, FIONREAD),
 *    ioctl(fd, TIOCOUTQ) -> print `[state fd N: ...]`
 *
 * Usage: tcp_client [HOST:PORT] [-m TEXT]... [--size N] [--bufsize N]
 *        [--send-empty] [--connect-ex] [--send-mode send|sendall]
 *        [--lines] [--shutdown] [--names] [--show-state] [--no-reply]
 *        [--bind ADDR] [--send-flags FLAGS]... [--recv-flags FLAGS]...
 *        [--timeout SECS | --nonblocking]
 *        [--sockopt NAME=VALUE[@PHASE]]... [--rcvtimeo SECS] [--sndtimeo SECS] */
#define _GNU_SOURCE
#include "args.h"
#include "modes.h"
#include "print.h"
#include "settings.h"
#include "stream.h"
#include "unp.h"

#include <stdlib.h>

int main(int argc, char **argv) {
    struct opts o;
    struct fail f;

    twin_init("tcp_client");
    parse_args(argc, argv, OPT_CLIENT | OPT_STREAM_CLIENT, false, "127.0.0.1:8081", &o);

    int sockfd = Socket(addr_family(&o.addr), SOCK_STREAM);     /* 1 */
    apply_sockopts(sockfd, &o, PH_CREATED);
    if (o.bind)                                                 /* --bind */
        Bind(sockfd, SA(&o.local), o.local.len);
    set_wait(sockfd, o.wait);                                   /* 2 */
    if (o.connect_ex) {                                         /* 3 */
        int code = io_connect_ex(sockfd, &o.addr, o.wait);
        if (code)
            say("connect_ex -> %d %s", code, errno_text(code));
        else
            say("connect_ex -> 0");
    } else if (io_connect(sockfd, &o.addr, o.wait, &f) < 0) {
        die_fail(&f);
    }
    apply_sockopts(sockfd, &o, PH_CONNECTED);
    if (o.names)
        show_names(sockfd);

    unsigned char *buf = Malloc(o.bufsize, "--bufsize");
    stream_exchange(sockfd, buf, &o);                           /* 4 */
    if (o.shutdown) {                                           /* 5 */
        Shutdown(sockfd, SHUT_WR);
        stream_drain(sockfd, buf, &o);
    }
    Close(sockfd);
    free(buf);
    return 0;
}

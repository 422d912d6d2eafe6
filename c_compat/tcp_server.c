/* tcp_server: the C twin of `socklab tcp server` (src/programs/tcp.rs, src/programs/stream.rs).
 *
 * Server (src/programs/tcp.rs):
 * 1. socket(AF_INET[6], SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP)
 * 2. setsockopt(SOL_SOCKET, SO_REUSEADDR, [1]) with --reuseaddr only;
 *    then each --sockopt NAME=VALUE: setsockopt, getsockopt (read back)
 * 3. bind
 * then the stream server (stream.c, the list of src/programs/stream.rs):
 * 1. listen(fd, backlog)
 * 2. getsockname(fd) -> print `listening on ADDR`
 *    (then ioctl(FIONBIO) with --timeout or --nonblocking)
 * 3. connection loop: accept4(fd); --nonblocking: ioctl(conn, FIONBIO);
 *    the NAME=VALUE@accepted settings; --names: getsockname, getpeername
 *    -> print `fd N: local L, peer P`; print `connection from PEER`
 * 4. communication loop: recvfrom(conn); 0 bytes -> print `PEER closed`,
 *    leave the loop; else print the message and sendto it upper-cased
 *    (--sink: recvfrom until 0, no reply; --lines: recvfrom into a line
 *    buffer, each recv reported; sendto per complete line)
 * 5. close(conn); back to 3 until --once or --max-conns
 * 6. close(fd)
 * --model other than iterative: models.c's loop after step 2.
 * --show-state: after each call on a TCP socket but socket and close,
 *    getsockopt(fd, SOL_TCP, TCP_INFO, ..., [280]), then (not on a
 *    listener) ioctl(fd, FIONREAD), ioctl(fd, TIOCOUTQ) -> print
 *    `[state fd N: ...]` (after accept4: on the listener)
 *
 * Usage: tcp_server [HOST:PORT] [--once] [--max-conns N] [--backlog N]
 *        [--bufsize N] [--reuseaddr] [--naive] [--naive-limit N] [-q] [--show-state]
 *        [--lines] [--names] [--sink] [--model MODEL]
 *        [--timeout SECS | --nonblocking]
 *        [--sockopt NAME=VALUE[@PHASE]]... [--rcvtimeo SECS] [--sndtimeo SECS] */
#define _GNU_SOURCE
#include "args.h"
#include "settings.h"
#include "stream.h"
#include "unp.h"

int main(int argc, char **argv) {
    struct opts o;
    struct addr me;

    twin_init("tcp_server");
    parse_args(argc, argv, OPT_SERVER | OPT_STREAM_SERVER, false, "127.0.0.1:8081", &o);

    int listenfd = Socket(addr_family(&o.addr), SOCK_STREAM);  /* 1 */
    if (o.reuseaddr)
        Setsockopt_int(listenfd, SOL_SOCKET, SO_REUSEADDR, 1); /* 2 */
    apply_sockopts(listenfd, &o, PH_CREATED);
    Bind(listenfd, SA(&o.addr), o.addr.len);                   /* 3 */

    Listen(listenfd, o.backlog);                               /* stream 1 */
    Getsockname(listenfd, &me.ss, &me.len);                    /* stream 2 */
    stream_serve(listenfd, &me, &o);                           /* stream 2-6 */
    return 0;
}

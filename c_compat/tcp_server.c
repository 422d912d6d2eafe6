/* tcp_server: the C twin of `socklab tcp server` (src/tcp.rs, src/stream.rs).
 *
 * 1. socket(AF_INET[6], SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP)
 * 2. setsockopt(SOL_SOCKET, SO_REUSEADDR, [1]) with --reuseaddr only;
 *    then each --sockopt NAME=VALUE: setsockopt, getsockopt (read back)
 * 3. bind
 * then the stream server of stream.c:
 * 4. listen(fd, backlog)
 * 5. getsockname(fd) -> print `listening on ADDR`
 *    (then ioctl(FIONBIO) with --timeout or --nonblocking)
 * 6. connection loop: accept4(fd); --nonblocking: ioctl(conn, FIONBIO);
 *    the NAME=VALUE@accepted settings; --names: getsockname, getpeername
 *    -> print `fd N: local L, peer P`; print `connection from PEER`
 * 7. communication loop: recvfrom(conn); 0 bytes -> print `PEER closed`;
 *    else print the message and sendto it upper-cased (--lines: recvfrom
 *    into a line buffer, each recv reported; sendto per complete line)
 * 8. close(conn); back to 6 until --once or --max-conns
 * 9. close(fd)
 * --show-state: after each call on a TCP socket but socket and close,
 *    getsockopt(fd, SOL_TCP, TCP_INFO, ..., [280]), then (not on a
 *    listener) ioctl(fd, FIONREAD), ioctl(fd, TIOCOUTQ) -> print
 *    `[state fd N: ...]` (after accept4: on the listener)
 *
 * Usage: tcp_server [HOST:PORT] [--once] [--max-conns N] [--backlog N]
 *        [--bufsize N] [--reuseaddr] [--naive] [--naive-limit N] [-q] [--show-state]
 *        [--lines] [--names] [--sink]
 *        [--timeout SECS | --nonblocking]
 *        [--sockopt NAME=VALUE[@PHASE]]... [--rcvtimeo SECS] [--sndtimeo SECS] */
#include "lab.h"

int main(int argc, char **argv) {
    struct opts o;
    lab_init("tcp_server");
    parse_args(argc, argv, OPT_SERVER | OPT_STREAM_SERVER, false, "127.0.0.1:8081", &o);
    int listener = bound_socket(SOCK_STREAM, &o); /* 1-3 */
    stream_serve(listener, &o);                                     /* 4-9 */
    return 0;
}

/* udp_server: the C twin of `socklab udp server` (src/udp.rs, src/dgram.rs).
 *
 * 1. socket(AF_INET[6], SOCK_DGRAM|SOCK_CLOEXEC, IPPROTO_IP)
 * 2. setsockopt(SOL_SOCKET, SO_REUSEADDR, [1]) with --reuseaddr only
 *    then each --sockopt NAME=VALUE: setsockopt, getsockopt (read back)
 * 3. bind
 * then the datagram server of dgram.c:
 * 4. getsockname(fd) -> print `listening on ADDR`
 * 5. loop: recvfrom(fd) -> print sender and size (an empty datagram too);
 *    sendto(fd, upper-cased, sender); until --once or --max-conns datagrams
 * 6. close(fd)
 *
 * Usage: udp_server [HOST:PORT] [--once] [--max-conns N] [--bufsize N]
 *        [--reuseaddr] [-q]
 *        [--timeout SECS | --nonblocking]
 *        [--sockopt NAME=VALUE[@PHASE]]... [--rcvtimeo SECS] [--sndtimeo SECS] */
#include "lab.h"

int main(int argc, char **argv) {
    struct opts o;
    lab_init("udp_server");
    parse_args(argc, argv, OPT_SERVER, false, "127.0.0.1:8082", &o);
    int fd = bound_socket(SOCK_DGRAM, &o); /* 1-3 */
    dgram_serve(fd, &o);                                     /* 4-6 */
    return 0;
}

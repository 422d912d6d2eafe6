/* udp_server: the C twin of `socklab udp server` (src/programs/udp.rs, src/programs/dgram.rs).
 *
 * Server (src/programs/udp.rs):
 * 1. socket(AF_INET[6], SOCK_DGRAM|SOCK_CLOEXEC, IPPROTO_IP)
 * 2. setsockopt(SO_REUSEADDR) with --reuseaddr only;
 *    then each --sockopt NAME=VALUE: setsockopt, getsockopt (read back)
 * 3. bind
 * then the datagram server (dgram.c, the list of src/programs/dgram.rs):
 * 1. getsockname(fd) -> print `listening on ADDR`
 *    (then ioctl(FIONBIO) with --timeout or --nonblocking)
 * 2. loop: recvfrom(fd, --recv-flags or 0) -> print sender and size (an empty
 *    datagram too; one longer than --bufsize: `truncated`; with -q
 *    nothing); sendto(fd, upper-cased, sender); until --once or
 *    --max-conns datagrams (--model epoll: epoll_create1, epoll_ctl(ADD)
 *    first, epoll_wait before each recvfrom)
 * 3. close(fd)
 *
 * Usage: udp_server [HOST:PORT] [--once] [--max-conns N] [--bufsize N]
 *        [--reuseaddr] [-q] [--model iterative|epoll]
 *        [--timeout SECS | --nonblocking]
 *        [--sockopt NAME=VALUE[@PHASE]]... [--rcvtimeo SECS] [--sndtimeo SECS] */
#define _GNU_SOURCE
#include "args.h"
#include "dgram.h"
#include "settings.h"
#include "unp.h"

int main(int argc, char **argv) {
    struct opts o;
    struct addr me;

    twin_init("udp_server");
    parse_args(argc, argv, OPT_SERVER | OPT_DGRAM_SERVER, false, "127.0.0.1:8082", &o);

    int sockfd = Socket(addr_family(&o.addr), SOCK_DGRAM);      /* 1 */
    if (o.reuseaddr)
        Setsockopt_int(sockfd, SOL_SOCKET, SO_REUSEADDR, 1);    /* 2 */
    apply_sockopts(sockfd, &o, PH_CREATED);
    Bind(sockfd, SA(&o.addr), o.addr.len);                      /* 3 */

    Getsockname(sockfd, &me.ss, &me.len);                       /* dgram 1 */
    dgram_serve(sockfd, &me, &o);                               /* dgram 1-3 */
    return 0;
}

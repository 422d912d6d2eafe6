/* udp_client: the C twin of `socklab udp client` (src/programs/udp.rs, src/programs/dgram.rs).
 *
 * Client (src/programs/udp.rs: socket, [connect], sendto/recvfrom per line, close;
 * the list of src/programs/dgram.rs):
 * 1. socket(AF_INET[6], SOCK_DGRAM|SOCK_CLOEXEC, IPPROTO_IP)
 *    then each --sockopt NAME=VALUE: setsockopt, getsockopt (read back)
 * 2. ioctl(fd, FIONBIO, [1]) with --timeout or --nonblocking
 * 3. bind(ADDR) with --bind (UNIX without it: the autobind of unix_client.c)
 * 4. connect with --connect, then the NAME=VALUE@connected settings;
 *    --names: getsockname, getpeername -> print `fd N: local L, peer P`
 * 5. per line, empty ones too (an empty datagram is real): sendto (send
 *    when connected; flags --send-flags), then (not with --no-reply)
 *    recvfrom (flags --recv-flags; MSG_PEEK: a peek printed, then the same
 *    recvfrom without it) -> print the reply (with MSG_TRUNC: or that it was
 *    truncated); --names without --connect: after the first sendto
 *    (the implicit bind), getsockname -> print `fd N: local L (bound by the
 *    first sendto)`
 * 6. close
 *
 * Usage: udp_client [HOST:PORT] [-m TEXT]... [--size N] [--bufsize N]
 *        [--connect] [--names] [--timeout SECS | --nonblocking] [--no-reply]
 *        [--bind ADDR] [--send-flags FLAGS]... [--recv-flags FLAGS]...
 *        [--sockopt NAME=VALUE[@PHASE]]... [--rcvtimeo SECS] [--sndtimeo SECS] */
#define _GNU_SOURCE
#include "args.h"
#include "dgram.h"
#include "modes.h"
#include "print.h"
#include "settings.h"
#include "unp.h"

int main(int argc, char **argv) {
    struct opts o;
    struct fail f;

    twin_init("udp_client");
    parse_args(argc, argv, OPT_CLIENT | OPT_DGRAM_CLIENT, false, "127.0.0.1:8082", &o);

    int sockfd = Socket(addr_family(&o.addr), SOCK_DGRAM);      /* 1 */
    apply_sockopts(sockfd, &o, PH_CREATED);
    set_wait(sockfd, o.wait);                                   /* 2 */
    if (o.bind)                                                 /* 3 */
        Bind(sockfd, SA(&o.local), o.local.len);
    if (o.connect) {                                            /* 4 */
        if (io_connect(sockfd, &o.addr, o.wait, &f) < 0)
            die_fail(&f);
        apply_sockopts(sockfd, &o, PH_CONNECTED);
        if (o.names)
            show_names(sockfd);
    }
    dgram_exchange(sockfd, &o);                                 /* 5 */
    Close(sockfd);                                              /* 6 */
    return 0;
}

/* udp_client: the C twin of `socklab udp client` (src/udp.rs, src/dgram.rs).
 *
 * 1. socket(AF_INET[6], SOCK_DGRAM|SOCK_CLOEXEC, IPPROTO_IP)
 *    then each --sockopt NAME=VALUE: setsockopt, getsockopt (read back)
 * 2. ioctl(fd, FIONBIO, [1]) with --timeout or --nonblocking
 * 3. connect with --connect, then the NAME=VALUE@connected settings;
 *    --names: getsockname, getpeername -> print `fd N: local L, peer P`
 * 4. per line, empty ones too (an empty datagram is real): sendto (send
 *    when connected), then recvfrom -> print the reply
 * 5. close
 *
 * Usage: udp_client [HOST:PORT] [-m TEXT]... [--size N] [--bufsize N]
 *        [--connect] [--names] [--timeout SECS | --nonblocking]
 *        [--sockopt NAME=VALUE[@PHASE]]... [--rcvtimeo SECS] [--sndtimeo SECS] */
#include "lab.h"

int main(int argc, char **argv) {
    struct opts o;
    lab_init("udp_client");
    parse_args(argc, argv, OPT_CLIENT | OPT_DGRAM_CLIENT, false, "127.0.0.1:8082", &o);
    dgram_client(&o); /* 1-5 */
    return 0;
}

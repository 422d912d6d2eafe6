/* tcp_client: the C twin of `socklab tcp client` (src/tcp.rs, src/stream.rs).
 *
 * 1. socket(AF_INET[6], SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP)
 * 2. ioctl(fd, FIONBIO, [1]) with --timeout
 * 3. connect (with --timeout: connect -> EINPROGRESS -> poll(POLLOUT|POLLERR)
 *    -> getsockopt(SO_ERROR)); --connect-ex prints the code and goes on
 * 4. per message (-m TEXT, or stdin lines; empty ones skipped unless
 *    --send-empty): sendto (all of it), recvfrom -> print the reply
 * 5. close
 *
 * Usage: tcp_client [HOST:PORT] [-m TEXT]... [--bufsize N] [--timeout SECS]
 *        [--send-empty] [--connect-ex] */
#include "lab.h"

int main(int argc, char **argv) {
    struct opts o;
    lab_init("tcp_client");
    parse_args(argc, argv, OPT_CLIENT | OPT_STREAM_CLIENT, false, "127.0.0.1:8081", &o);
    stream_client(&o); /* 1-5 */
    return 0;
}

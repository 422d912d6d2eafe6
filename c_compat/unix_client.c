/* unix_client: the C twin of `socklab unix client` (src/unix.rs), stream or
 * --dgram, to a path or an abstract @NAME.
 *
 * Stream (stream.c): 1. socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0);
 * 2. ioctl(FIONBIO) with --timeout; 3. connect (--connect-ex: print the
 * code); --names: getsockname, getpeername; 4. per message: sendto,
 * recvfrom -> print the reply (--lines: as tcp_client); 5. --shutdown:
 * shutdown(SHUT_WR), recvfrom until 0; close.
 *
 * Datagram (dgram.c): 1. socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC, 0);
 * 2. ioctl(FIONBIO) with --timeout; 3. bind({sa_family=AF_UNIX}, 2), the
 * kernel's autobind, so the reply has an address to come back to;
 * 4. connect with --connect (--names: getsockname, getpeername); 5. per line: sendto (send when connected),
 * recvfrom -> print the reply; 6. close.
 *
 * Usage: unix_client [PATH|@NAME] [--dgram] [-m TEXT]... [--size N] [--bufsize N]
 *        [--send-empty] [--connect-ex] [--send-mode send|sendall] [--connect]
 *        [--lines] [--shutdown] [--names]
 *        [--timeout SECS | --nonblocking]
 *        [--sockopt NAME=VALUE[@PHASE]]... [--rcvtimeo SECS] [--sndtimeo SECS] */
#include "lab.h"

int main(int argc, char **argv) {
    struct opts o;
    lab_init("unix_client");
    parse_args(argc, argv, OPT_CLIENT | OPT_STREAM_CLIENT | OPT_DGRAM_CLIENT | OPT_UNIX,
               true, "/tmp/socklab.sock", &o);
    if (o.dgram && (o.send_empty || o.connect_ex))
        err_quit(2, "error: --send-empty and --connect-ex are for stream sockets");
    if (o.dgram)
        dgram_client(&o);
    else if (o.connect)
        err_quit(2, "--connect is for datagram sockets: add --dgram");
    else
        stream_client(&o);
    return 0;
}

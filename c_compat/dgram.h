/* dgram.h: the datagram server's loop and the datagram client's exchange,
 * shared by UDP (udp_server.c, udp_client.c) and UNIX datagram sockets
 * (unix_server.c, unix_client.c --dgram); the twin of socklab's
 * src/programs/dgram.rs. */
#ifndef SOCKLAB_DGRAM_H
#define SOCKLAB_DGRAM_H

#include "args.h"

/* After getsockname (me): print `listening on ME`; ioctl(FIONBIO) with
 * --timeout or --nonblocking; [--model epoll: epoll_create1, epoll_ctl];
 * loop: [epoll_wait], recvfrom(--recv-flags), print, sendto upper-cased,
 * until --once or --max-conns; close(fd). */
void dgram_serve(int fd, const struct addr *me, const struct opts *o);
/* --batch N (dgram_batch.c): the same loop with recvmmsg(MSG_WAITFORONE)
 * of up to N datagrams and one sendmmsg of their replies (the rest again
 * after a partial one); `batched: ...` at the end. */
void dgram_serve_batch(int fd, const struct addr *me, const struct opts *o);
/* The client's lines: sendto (send when connected), recvfrom(--recv-flags)
 * -> print the reply; an empty line is an empty datagram. */
void dgram_exchange(int fd, struct opts *o);
/* What to say of a datagram read as n bytes (real: recvfrom's result; with
 * MSG_TRUNC, trunc, its length) into cap bytes: "an empty datagram", or
 * with --bufsize 0 and no MSG_TRUNC that its length is not known, or NULL
 * (a truncated one is said apart). output.rs's zero_bytes. */
const char *dgram_zero_bytes(size_t n, size_t real, size_t cap, int trunc);
/* The same as the end of a `datagram from` line: then a newline. */
void dgram_say_zero_bytes(size_t n, size_t real, size_t cap, int trunc);

#endif

/* duplex.h: a long message sent while its echo is read (socklab's
 * src/socket/duplex.rs). Up to SENDALL_MAX bytes the client sends all, then
 * reads; a longer one (with sendall, and no SO_SNDTIMEO) goes out in
 * pieces: 1. sendto(MSG_DONTWAIT) (blocking mode; flags 0 on a non-blocking
 * fd), 2. poll(POLLIN|POLLOUT, -1 or the time left), 3. POLLIN/POLLERR/
 * POLLHUP: one recvfrom, the bytes to on_data; 0 bytes: the server closed;
 * 4. POLLOUT: back to 1. */
#ifndef SOCKLAB_DUPLEX_H
#define SOCKLAB_DUPLEX_H

#include "args.h"
#include "modes.h"

#define SENDALL_MAX (128 * 1024)

/* Is a message of len bytes sent while its echo is read? */
bool duplex_needed(size_t len, const struct opts *o);
/* 1 all out, 0 the server closed first (*sent bytes out), -1 with f (and
 * the sendall progress line). on_data returns < 0 to stop, with f set. */
int io_send_reading(int fd, const unsigned char *msg, size_t n, size_t *sent,
                    unsigned char *buf, size_t bufsize, double wait,
                    int (*on_data)(void *ctx, const unsigned char *p, size_t n,
                                   struct fail *f),
                    void *ctx, struct fail *f);

#endif

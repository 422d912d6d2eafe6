/* stream.h: the stream server's loop and the stream client's exchange,
 * shared by TCP (tcp_server.c, tcp_client.c) and UNIX stream sockets
 * (unix_server.c, unix_client.c); the twin of socklab's src/programs/stream.rs. */
#ifndef SOCKLAB_STREAM_H
#define SOCKLAB_STREAM_H

#include "args.h"

/* After listen and getsockname (me): the model's loop (models.c), or the
 * iterative one: print `listening on ME`; ioctl(FIONBIO) with --timeout or
 * --nonblocking; accept4, serve_conn, until --once or --max-conns;
 * close(listener). */
void stream_serve(int listener, const struct addr *me, const struct opts *o);
/* One accepted connection as every blocking model serves it: the
 * @accepted settings, --names, [getsockopt SO_PEERCRED], print
 * `connection from PEER`, the communication loop, close(conn). */
void serve_conn(int conn, const struct addr *peer, unsigned char *buf,
                const struct opts *o);
/* The tutorial's echo: a-z upper-cased in place (every server). */
void upper(unsigned char *s, size_t n);
/* accept(2)'s errors that are the new connection's, not the listener's. */
int accept_error_is_the_peers(int e);
/* A UNIX peer's credentials (getsockopt SO_PEERCRED):
 * ` (pid P, uid U, gid G)`; nothing for other families. */
void peer_cred(int conn, const struct addr *peer, char *cred, size_t n);

/* exchange.c: the client's messages over a connected socket: per message sendto (all
 * of it, or once with --send-mode send), recvfrom -> print the reply
 * (--size: recvfrom until the whole echo is back; over SENDALL_MAX bytes:
 * duplex.h); --lines: all messages in one sendall, then the replies
 * through the line buffer. buf holds o->bufsize bytes. */
void stream_exchange(int fd, unsigned char *buf, struct opts *o);
/* After shutdown(SHUT_WR): recvfrom until the server closes too. */
void stream_drain(int fd, unsigned char *buf, const struct opts *o);

#endif

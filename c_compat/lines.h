/* lines.h: --lines, a line buffer over recvfrom (Python's makefile();
 * socklab's src/socket/lines.rs): the server answers each complete line, the
 * client reads each reply line, however the bytes were split. */
#ifndef SOCKLAB_LINES_H
#define SOCKLAB_LINES_H

#include "args.h"
#include "modes.h"

#include <stddef.h>

/* --lines: the bytes received and not yet handed out as lines (Python's
 * makefile()). */
struct line_buffer {
    unsigned char *pending;
    size_t len, cap;
};

/* A complete line already received (without its \n) into *line
 * (malloc'd, its length in *n): 1, or 0 when there is none yet. */
int next_line(struct line_buffer *lb, unsigned char **line, size_t *n);
/* Add what one recvfrom returned and say what the buffer holds. 0, or -1
 * (f->call NULL: the message is printed) for a line over the limit. */
int feed_lines(struct line_buffer *lb, const unsigned char *p, size_t r,
               const struct opts *o, struct fail *f);
/* The next complete line, calling recvfrom as often as it takes. 1 a
 * line, 0 the peer closed (a partial line left over is the last line: 1),
 * -1 with f. */
int read_line(struct line_buffer *lb, int fd, unsigned char *buf,
              const struct opts *o, unsigned char **line, size_t *n,
              struct fail *f);

#endif

/* lines.c: the --lines buffer (lines.h). */
#define _GNU_SOURCE
#include "lines.h"
#include "print.h"
#include "unp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A complete line already received (without its \n) into *line
 * (malloc'd, its length in *n): 1, or 0 when there is none yet. */
int next_line(struct line_buffer *lb, unsigned char **line, size_t *n) {
    unsigned char *nl = lb->len ? memchr(lb->pending, '\n', lb->len) : NULL;
    if (!nl)
        return 0;
    *n = nl - lb->pending;
    *line = malloc(*n + 1);
    memcpy(*line, lb->pending, *n);
    memmove(lb->pending, nl + 1, lb->len - *n - 1);
    lb->len -= *n + 1;
    return 1;
}

/* Add what one recvfrom returned and say what the buffer holds. 0, or -1
 * (f->call NULL: the message is printed) for a line over the limit. */
int feed_lines(struct line_buffer *lb, const unsigned char *p, size_t r,
                      const struct opts *o, struct fail *f) {
    if (lb->len + r > lb->cap)
        lb->pending = realloc(lb->pending, lb->cap = 2 * (lb->len + r));
    memcpy(lb->pending + lb->len, p, r);
    lb->len += r;
    /* A peer that never sends a newline cannot make the buffer grow
     * without bound: past the limit (64 KiB, or --bufsize if larger),
     * the line is refused and the connection closed. */
    size_t limit = o->bufsize > 65536 ? o->bufsize : 65536;
    if (lb->len > limit && !memchr(lb->pending, '\n', lb->len)) {
        fprintf(stderr, "%s: a line longer than %zu bytes (no newline yet): over "
                        "the --lines buffer's limit; closing the connection\n",
                prog, limit);
        f->call = NULL;
        return -1;
    }
    size_t lines = 0, last = 0;
    for (size_t i = 0; i < lb->len; i++)
        if (lb->pending[i] == '\n') {
            lines++;
            last = i + 1;
        }
    say("recv returned %zu bytes: the buffer now holds %zu complete line%s and "
        "%zu bytes of a partial one", r, lines, lines == 1 ? "" : "s", lb->len - last);
    return 0;
}

/* The next complete line (without its \n) into *line (malloc'd, its length
 * in *n), calling recvfrom as often as it takes, and saying what each one
 * carried. 1 a line, 0 the peer closed (a partial line left over is handed
 * out as the last line: 1), -1 with f. */
int read_line(struct line_buffer *lb, int fd, unsigned char *buf,
                     const struct opts *o, unsigned char **line, size_t *n,
                     struct fail *f) {
    for (;;) {
        if (next_line(lb, line, n))
            return 1;
        ssize_t r = io_recv(fd, buf, o->bufsize, o->wait, f);
        if (r < 0)
            return -1;
        if (r == 0) {
            if (lb->len == 0)
                return 0;
            *line = malloc(lb->len);
            memcpy(*line, lb->pending, lb->len);
            *n = lb->len;
            lb->len = 0;
            return 1;
        }
        if (feed_lines(lb, buf, r, o, f) < 0)
            return -1;
    }
}

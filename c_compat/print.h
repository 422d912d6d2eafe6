/* print.h: the twins' output lines, as socklab prints them. */
#ifndef SOCKLAB_PRINT_H
#define SOCKLAB_PRINT_H

#include "addr.h"

#include <stddef.h>
#include <stdio.h>

/* One line of output, flushed (it is line-buffered). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* `5 bytes "hello"`: strace's escaping, never cut. */
void print_shown(FILE *f, const unsigned char *msg, size_t n);

/* Rust's `{:?}` of an f64 (`2.0`, `0.3`, `1e-5`), written into out. */
const char *rust_f64(double v, char *out, size_t n);

/* A line printed right after `listening on ADDR` (unix_server's socket
 * file mode), or empty. */
extern char after_listening[80];
/* `listening on ADDR`, then after_listening if set. */
void say_listening(const struct addr *me);

/* --names: getsockname(fd), getpeername(fd); print `fd N: local L, peer P`. */
void show_names(int fd);

#endif

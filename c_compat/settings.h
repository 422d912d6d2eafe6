/* settings.h: the --sockopt settings made on a socket (the table and the
 * parsing are sockopt.h's). */
#ifndef SOCKLAB_SETTINGS_H
#define SOCKLAB_SETTINGS_H

#include "args.h"

/* For each setting of phase: setsockopt, then getsockopt to read it back;
 * print `sockopt NAME on fd N: requested V[, effective W (why)]`. */
void apply_sockopts(int fd, const struct opts *o, enum phase phase);

#endif

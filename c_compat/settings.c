/* settings.c: the --sockopt settings made on a socket (settings.h). */
#define _GNU_SOURCE
#include "settings.h"
#include "print.h"
#include "unp.h"

#include <stdio.h>
#include <string.h>

void apply_sockopts(int fd, const struct opts *o, enum phase phase) {
    for (size_t i = 0; i < o->n_sockopts; i++) {
        const struct setting *s = &o->sockopts[i];
        if (s->phase != phase)
            continue;
        struct value eff = {.len = value_size(s->opt.kind)};
        socklen_t len = eff.len;
        Setsockopt(fd, s->opt.level, s->opt.name, s->value.bytes, s->value.len);
        Getsockopt(fd, s->opt.level, s->opt.name, eff.bytes, &len);
        eff.len = len < eff.len ? len : eff.len;
        char req[64], got[64];
        printf("sockopt %s on fd %d: requested %s", s->opt.user_name, fd,
               value_human(&s->value, s->opt.kind, req, sizeof req));
        if (eff.len != s->value.len || memcmp(eff.bytes, s->value.bytes, eff.len)) {
            printf(", effective %s", value_human(&eff, s->opt.kind, got, sizeof got));
            const char *why = sockopt_explain(&s->opt, &s->value, &eff);
            if (why)
                printf(" (%s)", why);
        }
        say("%s", "");
    }
}

/* sockopt.h: socket options by name, the twin of socklab's src/values/sockopt.rs:
 * one table row per option (level, name, how its value is laid out, which
 * sockets it applies to), `--sockopt NAME=VALUE[@accepted|@connected]` and
 * `LEVEL:OPTNAME=INT` settings, and the values as a user reads them back
 * (`1`, `on:5`, `1.5s`). */
#ifndef SOCKLAB_SOCKOPT_H
#define SOCKLAB_SOCKOPT_H

#include <stdbool.h>
#include <stddef.h>

/* How a value is laid out: an int (Bool: read back as 0 or 1), a struct
 * linger, a struct timeval. */
enum kind { K_BOOL, K_INT, K_LINGER, K_TIMEVAL };
/* Which sockets an option applies to (`sockopt list`). */
enum scope { S_ANY, S_TCP, S_IPV4, S_IPV6 };
/* When a setting is made: right after socket(), on each socket accept4
 * returns, after connect. */
enum phase { PH_CREATED, PH_ACCEPTED, PH_CONNECTED };

struct sockopt {
    int level, name;
    const char *user_name; /* what users type and see: SO_RCVTIMEO */
    enum kind kind;
    enum scope scope;
};

/* Every option known by name, in `sockopt list` order. */
extern const struct sockopt sockopt_table[];
extern const size_t sockopt_count;

/* A value's bytes, as setsockopt takes and getsockopt returns them. */
struct value {
    unsigned char bytes[16];
    size_t len;
};

struct setting {
    struct sockopt opt;
    char raw_name[48]; /* user_name of a LEVEL:OPTNAME option */
    struct value value;
    enum phase phase;
};

/* SO_TYPE, SO_ERROR and IP_MTU can be read, not set. */
bool sockopt_read_only(const struct sockopt *o);
/* The getsockopt buffer size for a kind: 4, 8 or 16. */
size_t value_size(enum kind k);
/* `1`, `on:5` / `off`, `1.5s`, written into out. */
const char *value_human(const struct value *v, enum kind k, char *out, size_t n);
/* Parse a value for kind; NULL, or the reason it is not one (static). */
const char *parse_value(enum kind k, const char *s, struct value *v);
/* Parse NAME=VALUE[@PHASE] or LEVEL:OPTNAME=INT; NULL or the reason. */
const char *parse_setting(const char *s, struct setting *out);
/* Why the kernel's value differs from the one asked for, or NULL. */
const char *sockopt_explain(const struct sockopt *o, const struct value *req,
                            const struct value *eff);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control protocol between vmctl and vmtraced, shared by both programs.
 * See vmtraced(8), section PROTOCOL.
 *
 * Framing: every message is one JSON object on one line, terminated by
 * "\n" (JSON Lines).  JSON escapes control characters inside strings, so a
 * raw newline can only ever end a message.  A message longer than
 * PROTO_MAX_MESSAGE bytes is refused and the connection closed, since the
 * rest of the stream can no longer be trusted to be in step.
 *
 * Request:  {"version":1,"id":7,"command":"rename","args":{"vm":"web1","name":"web2"}}
 * Reply:    {"version":1,"id":7,"status":"ok","record":{...trail row...}}
 *           {"version":1,"id":7,"status":"error",
 *            "error":{"code":"platform","message":"..."},"record":{...}}
 * "record" is present whenever the request produced a trail row.  Before
 * the reply, a long operation may send interim messages, which carry
 * "type" (e.g. "progress") and no "status":
 *           {"version":1,"id":7,"type":"progress","trail_id":12,"percent":40,"state":"running"}
 */
#ifndef VMT_PROTO_H
#define VMT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

static inline void json_object_putp(struct json_object **o) {
        json_object_put(*o);
}

#define PROTO_VERSION     1
#define PROTO_MAX_MESSAGE (64 * 1024)

/*
 * The widest bounds of a VM operation's arguments on the wire, whatever the
 * platform: vmctl checks them for an early word, and the daemon then
 * checks the endpoint's own limits (struct backend_limits), which are
 * narrower.  One definition for both programs.
 */
#define PROTO_NAME_MAX 1024        /* bytes of a VM, host, datastore, disk or snapshot name */
#define PROTO_CPU_MAX  4096        /* CPUs of one VM */

/* Error codes carried in replies; each maps to one vmctl exit status. */
enum proto_error {
        PROTO_OK = 0,
        PROTO_E_PLATFORM,     /* the platform refused or failed the operation (trail: NG) */
        PROTO_E_NOT_FOUND,    /* no such VM (trail: NG) */
        PROTO_E_AMBIGUOUS,    /* several VMs match (trail: NG) */
        PROTO_E_BAD_REQUEST,  /* malformed JSON, wrong types, missing fields */
        PROTO_E_VERSION,      /* protocol version not supported */
        PROTO_E_UNKNOWN_COMMAND,
        PROTO_E_TOO_LARGE,
        PROTO_E_TIMEOUT,      /* client idle too long */
        PROTO_E_DENIED,
        PROTO_E_UNAVAILABLE,  /* endpoint unusable (TLS, connection, login) */
        PROTO_E_TRAIL,        /* the trail could not be written: nothing was done */
        PROTO_E_NOT_DURABLE,  /* the change was made, but its completed row is not yet on disk */
        PROTO_E_INTERNAL,
        _PROTO_E_MAX,
};

const char *proto_error_to_string(enum proto_error e);
enum proto_error proto_error_from_string(const char *s);

/* vmctl exit statuses, documented in vmctl(1). */
enum {
        EXIT_OK = 0,
        EXIT_PLATFORM = 1,    /* operation failed on the platform */
        EXIT_USAGE = 2,
        EXIT_DENIED = 3,
        EXIT_UNREACHABLE = 4, /* daemon not reachable */
        EXIT_INTERNAL = 5,    /* protocol or internal error, trail unavailable */
        EXIT_NOT_DURABLE = 6, /* the change was made; its trail row is not yet durable */
        EXIT_NOT_FOUND = 7,   /* no such VM (or disk, snapshot...): nothing was asked of the platform to change */
        EXIT_AMBIGUOUS = 8,   /* the name matches several VMs: name one as ENDPOINT:NAME or by id */
};
int proto_error_exit_status(enum proto_error e);

/* Accumulates bytes from a stream and cuts them into lines. */
struct proto_reader {
        char *buf;
        size_t len;
        size_t cap;
        size_t max;      /* longest message accepted, without the newline */
        size_t scanned;  /* bytes already known to hold no newline */
        size_t consumed; /* bytes of buf handed out by the last proto_reader_next() */
};

void proto_reader_init(struct proto_reader *r, size_t max);
void proto_reader_done(struct proto_reader *r);
/* Append n bytes.  -EMSGSIZE once an unterminated message exceeds r->max. */
int proto_reader_feed(struct proto_reader *r, const void *data, size_t n);
/*
 * Return 1 and the next complete message in *line (NUL-terminated, newline
 * stripped, valid until the next call), 0 if none is complete yet, or
 * -EMSGSIZE if a complete line exceeds r->max.
 */
int proto_reader_next(struct proto_reader *r, char **line, size_t *len);

/*
 * Parse one message: strict JSON, valid UTF-8, an object with an integer
 * "version".  On failure returns a negative errno and writes the reason
 * into why: -EBADMSG malformed, -EPROTONOSUPPORT wrong version.
 */
int proto_parse(const char *line, size_t len, struct json_object **out, char *why, size_t whylen);

struct proto_request {
        int64_t id;
        const char *command;        /* borrowed from root */
        struct json_object *args;   /* borrowed from root; an object, maybe empty */
        struct json_object *root;   /* owned: json_object_put() it */
};
/* Parse and check a request; -EBADMSG, -EPROTONOSUPPORT or -EINVAL with why filled. */
int proto_parse_request(const char *line, size_t len, struct proto_request *req, char *why, size_t whylen);

/*
 * Fetch a required (or, with optional, possibly absent) string argument that
 * must be valid, non-empty UTF-8 without NUL and at most maxlen bytes.
 */
int proto_arg_string(struct json_object *args, const char *key, bool optional, size_t maxlen,
                     const char **out, char *why, size_t whylen);

/* A required integer argument within [min, max]; -EINVAL with why filled otherwise. */
/* n within min..max, else -EINVAL and why says so in the words proto_arg_int() uses. */
int proto_check_range(const char *key, int64_t n, int64_t min, int64_t max, char *why, size_t whylen);
int proto_arg_int(struct json_object *args, const char *key, int64_t min, int64_t max, int64_t *out,
                  char *why, size_t whylen);
/* An optional boolean argument (absent or null: false). */
int proto_arg_bool(struct json_object *args, const char *key, bool *out, char *why, size_t whylen);

/* Build messages.  Return a malloc'd line ending with "\n", or NULL on OOM. */
char *proto_format_request(int64_t id, const char *command, struct json_object *args);
/* An interim message: the members of body plus version, id and "type". */
char *proto_format_event(int64_t id, const char *type, struct json_object *body);
char *proto_format_reply(int64_t id, enum proto_error e, const char *message, struct json_object *record);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Control protocol framing and JSON coding; see proto.h for the format. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macros.h"
#include "printable.h"
#include "proto.h"

static const char *const error_names[_PROTO_E_MAX] = {
        [PROTO_OK] = "ok",
        [PROTO_E_PLATFORM] = "platform",
        [PROTO_E_NOT_FOUND] = "not-found",
        [PROTO_E_AMBIGUOUS] = "ambiguous",
        [PROTO_E_BAD_REQUEST] = "bad-request",
        [PROTO_E_VERSION] = "unsupported-version",
        [PROTO_E_UNKNOWN_COMMAND] = "unknown-command",
        [PROTO_E_TOO_LARGE] = "too-large",
        [PROTO_E_TIMEOUT] = "timeout",
        [PROTO_E_DENIED] = "denied",
        [PROTO_E_UNAVAILABLE] = "unavailable",
        [PROTO_E_TRAIL] = "trail-unavailable",
        [PROTO_E_NOT_DURABLE] = "not-durable",
        [PROTO_E_INTERNAL] = "internal",
};

const char *proto_error_to_string(enum proto_error e) {
        if (e < 0 || e >= _PROTO_E_MAX)
                return "internal";
        return error_names[e];
}

enum proto_error proto_error_from_string(const char *s) {
        for (size_t i = 0; s && i < _PROTO_E_MAX; i++)
                if (strcmp(s, error_names[i]) == 0)
                        return (enum proto_error) i;
        return PROTO_E_INTERNAL;
}

int proto_error_exit_status(enum proto_error e) {
        switch (e) {
        case PROTO_OK:
                return EXIT_OK;
        case PROTO_E_PLATFORM:
                return EXIT_PLATFORM;
        /* A script retries a platform fault, but fixes its name for these two: they must differ. */
        case PROTO_E_NOT_FOUND:
                return EXIT_NOT_FOUND;
        case PROTO_E_AMBIGUOUS:
                return EXIT_AMBIGUOUS;
        case PROTO_E_DENIED:
                return EXIT_DENIED;
        case PROTO_E_UNAVAILABLE:
                return EXIT_UNREACHABLE;
        case PROTO_E_BAD_REQUEST:
        case PROTO_E_UNKNOWN_COMMAND:
                return EXIT_USAGE;
        /* Not 0: a script must not take a change whose record may yet be lost for a settled one. */
        case PROTO_E_NOT_DURABLE:
                return EXIT_NOT_DURABLE;
        default:
                return EXIT_INTERNAL;
        }
}

void proto_reader_init(struct proto_reader *r, size_t max) {
        *r = (struct proto_reader) { .max = max };
}

void proto_reader_done(struct proto_reader *r) {
        free(r->buf);
        *r = (struct proto_reader) {};
}

/* Drop the bytes handed out by the last proto_reader_next(). */
static void reader_compact(struct proto_reader *r) {
        if (r->consumed == 0)
                return;
        memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
        r->len -= r->consumed;
        r->consumed = 0;
        r->scanned = 0;
}

int proto_reader_feed(struct proto_reader *r, const void *data, size_t n) {
        reader_compact(r);
        /* Refuse as soon as the unterminated tail is longer than a message may be. */
        const char *nl = n ? memrchr(data, '\n', n) : NULL;
        size_t tail;
        if (nl)
                tail = n - (size_t) (nl - (const char *) data) - 1;
        else {
                const char *bnl = r->len ? memrchr(r->buf, '\n', r->len) : NULL;
                tail = (bnl ? r->len - (size_t) (bnl - r->buf) - 1 : r->len) + n;
        }
        if (tail > r->max)
                return -EMSGSIZE;
        if (r->len + n + 1 > r->cap) {
                size_t cap = r->cap ? r->cap : 4096;
                while (cap < r->len + n + 1)
                        cap *= 2;
                char *b = realloc(r->buf, cap);
                if (!b)
                        return -ENOMEM;
                r->buf = b;
                r->cap = cap;
        }
        memcpy(r->buf + r->len, data, n);
        r->len += n;
        return 0;
}

int proto_reader_next(struct proto_reader *r, char **line, size_t *len) {
        reader_compact(r);
        char *nl = r->len > r->scanned ? memchr(r->buf + r->scanned, '\n', r->len - r->scanned) : NULL;
        if (!nl) {
                r->scanned = r->len;
                return r->len > r->max ? -EMSGSIZE : 0;
        }
        size_t l = (size_t) (nl - r->buf);
        if (l > r->max)
                return -EMSGSIZE;
        *nl = '\0';
        r->consumed = l + 1;
        *line = r->buf;
        *len = l;
        return 1;
}

_printf_(3, 4) static int why_set(char *why, size_t whylen, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
        return 0;
}

/* The 4 hex digits of a "\u" escape (well-formed: json-c has parsed the text). */
static unsigned hex4(const char *p) {
        char digits[5] = { p[0], p[1], p[2], p[3], 0 };

        return (unsigned) strtoul(digits, NULL, 16);
}

static bool is_low_surrogate(unsigned u) {
        return u >= 0xdc00 && u <= 0xdfff;
}

/*
 * The offset of a \uD800..\uDFFF escape in parsed JSON text that is not
 * half of a pair, or -1.  json-c silently turns such an escape into
 * U+FFFD, so a name would reach the platform as another name than the one
 * sent.  In text that parsed, every backslash starts an escape inside a
 * string, so no string state is needed.
 */
static ssize_t lone_surrogate(const char *line, size_t len) {
        for (size_t i = 0; i + 1 < len; i++) {
                if (line[i] != '\\')
                        continue;
                if (line[i + 1] != 'u') {
                        i++;   /* a one-character escape, such as \\ */
                        continue;
                }
                unsigned u = hex4(line + i + 2);
                bool high = u >= 0xd800 && u <= 0xdbff;
                if (is_low_surrogate(u) ||
                    (high && (i + 12 > len || line[i + 6] != '\\' || line[i + 7] != 'u' ||
                              !is_low_surrogate(hex4(line + i + 8)))))
                        return (ssize_t) i;
                /* Past this escape, and past its low half too. */
                i += high ? 11 : 5;
        }
        return -1;
}

/*
 * Whether parsed JSON text holds only characters, else why not.  A name
 * that is not text would reach the platform as other bytes or characters
 * than were sent, so the decoder refuses it as malformed.
 */
static bool is_text(const char *line, size_t len, char *why, size_t whylen) {
        /*
         * RFC 3629, which json-c's own check does not hold to: it takes overlong
         * forms such as C0 AF for '/', encoded surrogates, and code points past
         * U+10FFFF.
         */
        ssize_t at = printable_utf8_invalid(line, len);

        if (at >= 0) {
                why_set(why, whylen, "malformed JSON: byte %zd (0x%02x) is not well-formed UTF-8", at,
                        (unsigned char) line[at]);
                return false;
        }
        at = lone_surrogate(line, len);
        if (at >= 0) {
                why_set(why, whylen, "malformed JSON: \"%.6s\" at byte %zd is half of a UTF-16 surrogate pair, not a "
                        "character", line + at, at);
                return false;
        }
        return true;
}

int proto_parse(const char *line, size_t len, struct json_object **out, char *why, size_t whylen) {
        struct json_tokener *tok = json_tokener_new_ex(32);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

        struct json_object *o = json_tokener_parse_ex(tok, line, (int) len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t used = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        if (!o || jerr != json_tokener_success || used != len) {
                json_object_put(o);
                why_set(why, whylen, "malformed JSON: %s",
                        jerr == json_tokener_continue ? "unexpected end of message"
                        : jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                                                        : "trailing characters after the object");
                return -EBADMSG;
        }
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                why_set(why, whylen, "message is not a JSON object");
                return -EBADMSG;
        }
        if (!is_text(line, len, why, whylen)) {
                json_object_put(o);
                return -EBADMSG;
        }
        struct json_object *v;
        if (!json_object_object_get_ex(o, "version", &v) || !json_object_is_type(v, json_type_int)) {
                json_object_put(o);
                why_set(why, whylen, "missing integer \"version\"");
                return -EBADMSG;
        }
        if (json_object_get_int64(v) != PROTO_VERSION) {
                why_set(why, whylen, "protocol version %" PRId64 " is not supported (this side speaks %d)",
                        json_object_get_int64(v), PROTO_VERSION);
                json_object_put(o);
                return -EPROTONOSUPPORT;
        }
        *out = o;
        return 0;
}

int proto_parse_request(const char *line, size_t len, struct proto_request *req, char *why, size_t whylen) {
        struct json_object *root = NULL, *v;
        int r = proto_parse(line, len, &root, why, whylen);
        if (r < 0)
                return r;

        *req = (struct proto_request) { .root = root };
        if (json_object_object_get_ex(root, "id", &v)) {
                if (!json_object_is_type(v, json_type_int))
                        goto bad_type_id;
                req->id = json_object_get_int64(v);
        }
        if (!json_object_object_get_ex(root, "command", &v) || !json_object_is_type(v, json_type_string)) {
                why_set(why, whylen, "missing string \"command\"");
                goto fail;
        }
        req->command = json_object_get_string(v);
        if (json_object_object_get_ex(root, "args", &v)) {
                if (!json_object_is_type(v, json_type_object)) {
                        why_set(why, whylen, "\"args\" must be an object");
                        goto fail;
                }
                req->args = v;
        } else {
                req->args = json_object_new_object();
                if (!req->args || json_object_object_add(root, "args", req->args) < 0) {
                        json_object_put(root);
                        return -ENOMEM;
                }
        }
        return 0;

bad_type_id:
        why_set(why, whylen, "\"id\" must be an integer");
fail:
        json_object_put(root);
        *req = (struct proto_request) {};
        return -EINVAL;
}

int proto_arg_string(struct json_object *args, const char *key, bool optional, size_t maxlen,
                     const char **out, char *why, size_t whylen) {
        struct json_object *v;
        if (!json_object_object_get_ex(args, key, &v) || json_object_is_type(v, json_type_null)) {
                if (optional) {
                        *out = NULL;
                        return 0;
                }
                why_set(why, whylen, "missing argument \"%s\"", key);
                return -EINVAL;
        }
        if (!json_object_is_type(v, json_type_string)) {
                why_set(why, whylen, "argument \"%s\" must be a string", key);
                return -EINVAL;
        }
        const char *s = json_object_get_string(v);
        size_t l = (size_t) json_object_get_string_len(v);
        if (l == 0) {
                why_set(why, whylen, "argument \"%s\" must not be empty", key);
                return -EINVAL;
        }
        /* "\u0000" decodes to an embedded NUL that C strings would silently cut. */
        if (strlen(s) != l) {
                why_set(why, whylen, "argument \"%s\" contains a NUL character", key);
                return -EINVAL;
        }
        if (l > maxlen) {
                why_set(why, whylen, "argument \"%s\" is longer than %zu bytes", key, maxlen);
                return -EINVAL;
        }
        *out = s;
        return 0;
}

int proto_arg_int(struct json_object *args, const char *key, int64_t min, int64_t max, int64_t *out,
                  char *why, size_t whylen) {
        struct json_object *v;
        if (!json_object_object_get_ex(args, key, &v) || json_object_is_type(v, json_type_null)) {
                why_set(why, whylen, "missing argument \"%s\"", key);
                return -EINVAL;
        }
        /* json-c clamps out-of-range numbers to INT64_MIN/MAX, which the range check below refuses. */
        if (!json_object_is_type(v, json_type_int)) {
                why_set(why, whylen, "argument \"%s\" must be an integer", key);
                return -EINVAL;
        }
        int64_t n = json_object_get_int64(v);
        int r = proto_check_range(key, n, min, max, why, whylen);
        if (r < 0)
                return r;
        *out = n;
        return 0;
}

int proto_check_range(const char *key, int64_t n, int64_t min, int64_t max, char *why, size_t whylen) {
        if (n >= min && n <= max)
                return 0;
        why_set(why, whylen, "argument \"%s\" must be from %" PRId64 " to %" PRId64 " (got %" PRId64 ")", key, min,
                max, n);
        return -EINVAL;
}

int proto_arg_bool(struct json_object *args, const char *key, bool *out, char *why, size_t whylen) {
        struct json_object *v;
        if (!json_object_object_get_ex(args, key, &v) || json_object_is_type(v, json_type_null)) {
                *out = false;
                return 0;
        }
        if (!json_object_is_type(v, json_type_boolean)) {
                why_set(why, whylen, "argument \"%s\" must be true or false", key);
                return -EINVAL;
        }
        *out = json_object_get_boolean(v);
        return 0;
}

static char *format_line(struct json_object *o) {
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        char *line = NULL;
        if (s && asprintf(&line, "%s\n", s) < 0)
                line = NULL;
        json_object_put(o);
        return line;
}

char *proto_format_request(int64_t id, const char *command, struct json_object *args) {
        struct json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "version", json_object_new_int(PROTO_VERSION));
        json_object_object_add(o, "id", json_object_new_int64(id));
        json_object_object_add(o, "command", json_object_new_string(command));
        json_object_object_add(o, "args", args ? json_object_get(args) : json_object_new_object());
        return format_line(o);
}

char *proto_format_event(int64_t id, const char *type, struct json_object *body) {
        struct json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "version", json_object_new_int(PROTO_VERSION));
        json_object_object_add(o, "id", json_object_new_int64(id));
        json_object_object_add(o, "type", json_object_new_string(type));
        json_object_object_foreach(body, key, val)
                if (strcmp(key, "version") != 0 && strcmp(key, "id") != 0 && strcmp(key, "type") != 0)
                        json_object_object_add(o, key, json_object_get(val));
        return format_line(o);
}

char *proto_format_reply(int64_t id, enum proto_error e, const char *message, struct json_object *record) {
        struct json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "version", json_object_new_int(PROTO_VERSION));
        json_object_object_add(o, "id", json_object_new_int64(id));
        json_object_object_add(o, "status", json_object_new_string(e == PROTO_OK ? "ok" : "error"));
        if (e != PROTO_OK) {
                struct json_object *err = json_object_new_object();
                json_object_object_add(err, "code", json_object_new_string(proto_error_to_string(e)));
                json_object_object_add(err, "message", json_object_new_string(strempty(message)));
                json_object_object_add(o, "error", err);
        }
        if (record)
                json_object_object_add(o, "record", json_object_get(record));
        return format_line(o);
}

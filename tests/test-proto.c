/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for common/proto.c: line framing (split, joined and oversized
 * messages) and request decoding (malformed JSON, wrong versions, wrong
 * types, bad UTF-8, embedded NULs), table-driven.
 */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "macros.h"
#include "proto.h"
#include "tap.h"

static void test_framing(void) {
        struct proto_reader r;
        char *line;
        size_t len;

        proto_reader_init(&r, 16);
        tap_ok(proto_reader_feed(&r, "{\"a\":", 5) == 0, "partial message is buffered");
        tap_ok(proto_reader_next(&r, &line, &len) == 0, "no line before the newline");
        tap_ok(proto_reader_feed(&r, "1}\n{}\n{", 7) == 0, "rest of one message, a whole one, and a start");
        tap_ok(proto_reader_next(&r, &line, &len) == 1 && len == 7 && strcmp(line, "{\"a\":1}") == 0,
               "first line reassembled from two reads");
        tap_ok(proto_reader_next(&r, &line, &len) == 1 && len == 2 && strcmp(line, "{}") == 0, "second line");
        tap_ok(proto_reader_next(&r, &line, &len) == 0, "third is still incomplete");
        tap_ok(proto_reader_feed(&r, "0123456789abcdef", 16) == -EMSGSIZE, "unterminated tail over the limit refused");
        proto_reader_done(&r);

        proto_reader_init(&r, 16);
        tap_ok(proto_reader_feed(&r, "0123456789abcdefXYZ\n", 20) == 0, "long line with newline is buffered");
        tap_ok(proto_reader_next(&r, &line, &len) == -EMSGSIZE, "complete line over the limit refused");
        proto_reader_done(&r);

        proto_reader_init(&r, 16);
        tap_ok(proto_reader_feed(&r, "0123456789abcdef\n", 17) == 0 && proto_reader_next(&r, &line, &len) == 1 &&
                       len == 16,
               "line of exactly the limit accepted");
        proto_reader_done(&r);

        /* Byte by byte, as a slow client sends. */
        proto_reader_init(&r, PROTO_MAX_MESSAGE);
        const char *msg = "{\"x\":\"y\"}\n";
        int got = 0;
        for (const char *p = msg; *p; p++) {
                proto_reader_feed(&r, p, 1);
                got += proto_reader_next(&r, &line, &len) == 1;
        }
        tap_ok(got == 1 && strcmp(line, "{\"x\":\"y\"}") == 0, "byte-by-byte feed yields one line");
        proto_reader_done(&r);
}

static const struct {
        const char *line;
        int expect;            /* 0, -EBADMSG, -EPROTONOSUPPORT, -EINVAL */
        const char *why;       /* substring of the reason */
} requests[] = {
        { "{\"version\":1,\"id\":3,\"command\":\"ping\"}", 0, NULL },
        { "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"a;b=c]\\nd\"}}", 0, NULL },
        { "", -EBADMSG, "malformed" },
        { "{", -EBADMSG, "malformed" },
        { "not json", -EBADMSG, "malformed" },
        { "{\"version\":1,\"command\":\"ping\"} trailing", -EBADMSG, "malformed" },
        { "[1,2]", -EBADMSG, "not a JSON object" },
        { "{\"command\":\"ping\"}", -EBADMSG, "version" },
        { "{\"version\":\"1\",\"command\":\"ping\"}", -EBADMSG, "version" },
        { "{\"version\":2,\"command\":\"ping\"}", -EPROTONOSUPPORT, "version 2" },
        { "{\"version\":1}", -EINVAL, "command" },
        { "{\"version\":1,\"command\":7}", -EINVAL, "command" },
        { "{\"version\":1,\"command\":\"ping\",\"args\":[]}", -EINVAL, "args" },
        { "{\"version\":1,\"id\":\"x\",\"command\":\"ping\"}", -EINVAL, "id" },
        { "{\"version\":1,\"command\":\"ping\",\"args\":{\"vm\":\"\xff\xfe\"}}", -EBADMSG, "malformed" },
        { "{'version':1,'command':'ping'}", -EBADMSG, "malformed" },
        /* Escapes of lone UTF-16 surrogates, which json-c would turn into U+FFFD: not text either. */
        { "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"\\ud800\"}}", -EBADMSG, "surrogate" },
        { "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"a\\uDC00b\"}}", -EBADMSG, "at byte 47" },
        { "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"\\ud800\\u0041\"}}", -EBADMSG, "surrogate" },
        { "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"\\udc00\\ud800\"}}", -EBADMSG, "surrogate" },
        { "{\"version\":1,\"command\":\"ping\",\"x\":\"\\ud800\"}", -EBADMSG, "surrogate" },
        { "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"\\\\\\ud800\"}}", -EBADMSG, "surrogate" },
        /* Bytes json-c's own check lets through: an overlong '/', an encoded surrogate, past U+10FFFF. */
        { "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"a\xc0\xaf" "b\"}}", -EBADMSG, "byte 47 (0xc0)" },
        { "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"\xe0\x80\xaf\"}}", -EBADMSG, "UTF-8" },
        { "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"\xed\xa0\x80\"}}", -EBADMSG, "UTF-8" },
        { "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"\xf4\x90\x80\x80\"}}", -EBADMSG, "UTF-8" },
        { "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"\xf0\x9f\x98\"}}", -EBADMSG, "malformed" },
        /* Every form RFC 3629 allows, at the edges: U+007F, U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF. */
        { "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf"
          "\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"}}", 0, NULL },
        /* A pair is one character, and an escaped backslash before "ud800" is no escape at all. */
        { "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"\\ud83d\\ude00\\uD83D\\uDE00\"}}", 0, NULL },
        { "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"\\\\ud800\"}}", 0, NULL },
};

static void test_requests(void) {
        for (size_t i = 0; i < ELEMENTSOF(requests); i++) {
                struct proto_request req = {};
                char why[256] = "";
                int r = proto_parse_request(requests[i].line, strlen(requests[i].line), &req, why, sizeof why);
                tap_ok(r == requests[i].expect && (!requests[i].why || strstr(why, requests[i].why)),
                       "request %zu: got %d (%s), want %d", i, r, why, requests[i].expect);
                if (r == 0) {
                        tap_ok(req.command && req.args && json_object_is_type(req.args, json_type_object),
                               "request %zu: command and args set", i);
                        json_object_put(req.root);
                }
        }
}

static void test_args(void) {
        const char *line = "{\"version\":1,\"command\":\"rename\",\"args\":{\"vm\":\"a\\u0000b\",\"n\":5,"
                           "\"e\":\"\",\"ok\":\"x;y=z]\\u00e9\"}}";
        struct proto_request req;
        const char *s;
        char why[256];

        tap_ok(proto_parse_request(line, strlen(line), &req, why, sizeof why) == 0, "args request parses");
        tap_ok(proto_arg_string(req.args, "vm", false, 100, &s, why, sizeof why) == -EINVAL && strstr(why, "NUL"),
               "embedded NUL refused");
        tap_ok(proto_arg_string(req.args, "n", false, 100, &s, why, sizeof why) == -EINVAL && strstr(why, "string"),
               "number where a string is due refused");
        tap_ok(proto_arg_string(req.args, "e", false, 100, &s, why, sizeof why) == -EINVAL, "empty string refused");
        tap_ok(proto_arg_string(req.args, "missing", false, 100, &s, why, sizeof why) == -EINVAL, "missing refused");
        tap_ok(proto_arg_string(req.args, "missing", true, 100, &s, why, sizeof why) == 0 && !s,
               "missing optional is NULL");
        tap_ok(proto_arg_string(req.args, "ok", false, 3, &s, why, sizeof why) == -EINVAL && strstr(why, "longer"),
               "too long refused");
        tap_ok(proto_arg_string(req.args, "ok", false, 100, &s, why, sizeof why) == 0 && strcmp(s, "x;y=z]\xc3\xa9") == 0,
               "hostile but valid string passes unchanged");
        json_object_put(req.root);
}

static void test_reply_roundtrip(void) {
        struct json_object *rec = json_object_new_object();
        json_object_object_add(rec, "vm_name", json_object_new_string("a\nb;c"));
        _cleanup_free_ char *line = proto_format_reply(9, PROTO_E_PLATFORM, "boom", rec);
        json_object_put(rec);

        tap_ok(line && strchr(line, '\n') == line + strlen(line) - 1, "reply is one line");
        struct json_object *o = NULL;
        char why[256];
        tap_ok(proto_parse(line, strlen(line) - 1, &o, why, sizeof why) == 0, "reply parses");
        struct json_object *err, *code, *r, *name;
        tap_ok(json_object_object_get_ex(o, "error", &err) && json_object_object_get_ex(err, "code", &code) &&
                       proto_error_from_string(json_object_get_string(code)) == PROTO_E_PLATFORM,
               "error code round-trips");
        tap_ok(json_object_object_get_ex(o, "record", &r) && json_object_object_get_ex(r, "vm_name", &name) &&
                       strcmp(json_object_get_string(name), "a\nb;c") == 0,
               "record value with newline round-trips");
        json_object_put(o);
        tap_ok(proto_error_exit_status(PROTO_E_DENIED) == EXIT_DENIED &&
                       proto_error_exit_status(PROTO_E_PLATFORM) == EXIT_PLATFORM &&
                       proto_error_exit_status(PROTO_E_UNAVAILABLE) == EXIT_UNREACHABLE,
               "exit statuses map");
}

int main(void) {
        test_framing();
        test_requests();
        test_args();
        test_reply_roundtrip();
        return tap_done();
}

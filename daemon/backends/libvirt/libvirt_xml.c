/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt speaks XML for domains, volumes, devices and snapshots.  It is
 * read and written here with libxml2 (libvirt's own XML library), never by
 * string pasting, so a VM or snapshot name holding '<' or '&' stays a name.
 */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt_internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlDocPtr, xmlFreeDoc);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlXPathContextPtr, xmlXPathFreeContext);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlXPathObjectPtr, xmlXPathFreeObject);

static xmlDocPtr parse(const char *xml) {
        return xmlReadMemory(xml, (int) strlen(xml), "domain.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                             XML_PARSE_NOWARNING);
}

/* An attribute as malloc'd text (NULL when absent or on no memory). */
static char *attr(xmlNodePtr n, const char *name) {
        xmlChar *v = n ? xmlGetProp(n, (const xmlChar *) name) : NULL;
        char *copy = v ? strdup((const char *) v) : NULL;

        xmlFree(v);
        return copy;
}

static xmlNodePtr child(xmlNodePtr n, const char *name) {
        for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && strcmp((const char *) c->name, name) == 0)
                        return c;
        return NULL;
}

/* The number an XPath expression yields, or -1. */
static long long number(xmlXPathContextPtr ctx, const char *expr) {
        _cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *) expr, ctx);

        if (!o || o->type != XPATH_NUMBER || o->floatval != o->floatval)
                return -1;
        return (long long) o->floatval;
}

/* KiB, whatever unit the element names (libvirt writes KiB, a hand-written file may not). */
static long long kib_of(xmlXPathContextPtr ctx, const char *element) {
        char expr[128];
        _cleanup_free_ char *unit = NULL;
        _cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr o = NULL;
        long long v;

        snprintf(expr, sizeof expr, "number(/domain/%s)", element);
        v = number(ctx, expr);
        snprintf(expr, sizeof expr, "/domain/%s", element);
        o = xmlXPathEvalExpression((const xmlChar *) expr, ctx);
        if (v < 0 || !o || !o->nodesetval || o->nodesetval->nodeNr < 1)
                return v;
        unit = attr(o->nodesetval->nodeTab[0], "unit");
        if (!unit || strcmp(unit, "KiB") == 0 || strcmp(unit, "k") == 0)
                return v;
        if (strcmp(unit, "MiB") == 0 || strcmp(unit, "M") == 0)
                return v * 1024;
        if (strcmp(unit, "GiB") == 0 || strcmp(unit, "G") == 0)
                return v * 1024 * 1024;
        return strcmp(unit, "b") == 0 || strcmp(unit, "bytes") == 0 ? v / 1024 : v;
}

static int disk_read(xmlNodePtr n, struct lv_disk *d) {
        xmlNodePtr src = child(n, "source");

        *d = (struct lv_disk) {
                .target = attr(child(n, "target"), "dev"),
                .bus = attr(child(n, "target"), "bus"),
                .path = attr(src, "file") ?: attr(src, "dev"),
                .format = attr(child(n, "driver"), "type"),
                .pool = attr(src, "pool"),
                .volume = attr(src, "volume"),
        };
        return d->target ? 0 : -EINVAL;
}

static void disk_clear(struct lv_disk *d) {
        free(d->target);
        free(d->bus);
        free(d->path);
        free(d->format);
        free(d->pool);
        free(d->volume);
}

void lv_domain_xml_clear(struct lv_domain_xml *x) {
        for (size_t i = 0; i < x->n_disks; i++)
                disk_clear(&x->disks[i]);
        free(x->disks);
        *x = (struct lv_domain_xml) {};
}

static int read_disks(xmlXPathContextPtr ctx, struct lv_domain_xml *x) {
        _cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr o =
                xmlXPathEvalExpression((const xmlChar *) "/domain/devices/disk[@device='disk' or not(@device)]", ctx);
        int n = o && o->nodesetval ? o->nodesetval->nodeNr : 0;

        if (!o)
                return -ENOMEM;
        x->disks = n ? calloc((size_t) n, sizeof *x->disks) : NULL;
        if (n && !x->disks)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                if (disk_read(o->nodesetval->nodeTab[i], &x->disks[x->n_disks]) < 0) {
                        disk_clear(&x->disks[x->n_disks]);
                        continue;   /* a disk without a target is not one vmtraced can name */
                }
                x->n_disks++;
        }
        return 0;
}

int lv_domain_xml_parse(const char *xml, struct lv_domain_xml *out) {
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = parse(xml);
        _cleanup_(xmlXPathFreeContextp) xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;

        *out = (struct lv_domain_xml) {};
        if (!ctx)
                return -EBADMSG;
        out->memory_kib = kib_of(ctx, "memory");
        out->current_kib = kib_of(ctx, "currentMemory");
        out->vcpus_max = number(ctx, "number(/domain/vcpu)");
        out->vcpus_current = number(ctx, "number(/domain/vcpu/@current)");
        if (out->vcpus_current < 0)
                out->vcpus_current = out->vcpus_max;
        if (out->current_kib < 0)
                out->current_kib = out->memory_kib;
        int r = read_disks(ctx, out);
        if (r < 0)
                lv_domain_xml_clear(out);
        return r;
}

/* doc as text in *out (malloc'd). */
static int dump(xmlDocPtr doc, char **out) {
        xmlChar *buf = NULL;
        int len = 0;

        xmlDocDumpMemory(doc, &buf, &len);
        *out = buf ? strndup((const char *) buf, (size_t) len) : NULL;
        xmlFree(buf);
        return *out ? 0 : -ENOMEM;
}

static void remove_all(xmlXPathContextPtr ctx, const char *expr) {
        _cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *) expr, ctx);

        for (int i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr; i++) {
                xmlNodePtr n = o->nodesetval->nodeTab[i];

                o->nodesetval->nodeTab[i] = NULL;
                xmlUnlinkNode(n);
                xmlFreeNode(n);
        }
}

/* Disk i's <source> points at paths[i] as a plain file; its pool/volume form, if any, goes. */
static int retarget_disks(xmlXPathContextPtr ctx, char *const *paths, size_t n_paths) {
        _cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr o =
                xmlXPathEvalExpression((const xmlChar *) "/domain/devices/disk[@device='disk' or not(@device)]", ctx);
        size_t k = 0;

        for (int i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr && k < n_paths; i++) {
                xmlNodePtr d = o->nodesetval->nodeTab[i], src = child(d, "source");

                if (!child(d, "target"))
                        continue;   /* skipped by read_disks() too, so the indexes agree */
                if (src) {
                        xmlUnlinkNode(src);
                        xmlFreeNode(src);
                }
                xmlSetProp(d, (const xmlChar *) "type", (const xmlChar *) "file");
                src = xmlNewNode(NULL, (const xmlChar *) "source");
                if (!src || !xmlAddChild(d, src) || !xmlSetProp(src, (const xmlChar *) "file", (const xmlChar *) paths[k]))
                        return -ENOMEM;
                k++;
        }
        return k == n_paths ? 0 : -EINVAL;
}

int lv_clone_xml(const char *xml, const char *name, char *const *paths, size_t n_paths, char **out) {
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = parse(xml);
        _cleanup_(xmlXPathFreeContextp) xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
        xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;

        if (!ctx || !root)
                return -EBADMSG;
        /* libvirt makes up a new uuid and new MAC addresses for what is left out. */
        remove_all(ctx, "/domain/uuid");
        remove_all(ctx, "/domain/devices/interface/mac");
        remove_all(ctx, "/domain/name");
        if (!xmlNewTextChild(root, NULL, (const xmlChar *) "name", (const xmlChar *) name))
                return -ENOMEM;
        int r = retarget_disks(ctx, paths, n_paths);
        return r < 0 ? r : dump(doc, out);
}

/* A new document with root element root_name. */
static xmlDocPtr new_doc(const char *root_name, xmlNodePtr *root) {
        xmlDocPtr doc = xmlNewDoc((const xmlChar *) "1.0");

        *root = doc ? xmlNewNode(NULL, (const xmlChar *) root_name) : NULL;
        if (!*root) {
                xmlFreeDoc(doc);
                return NULL;
        }
        xmlDocSetRootElement(doc, *root);
        return doc;
}

int lv_volume_xml(const char *name, unsigned long long bytes, const char *format, char **out) {
        xmlNodePtr root, target, fmt;
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = new_doc("volume", &root);
        char size[32];

        snprintf(size, sizeof size, "%llu", bytes);
        if (!doc || !xmlNewTextChild(root, NULL, (const xmlChar *) "name", (const xmlChar *) name))
                return -ENOMEM;
        if (!xmlSetProp(xmlNewTextChild(root, NULL, (const xmlChar *) "capacity", (const xmlChar *) size),
                        (const xmlChar *) "unit", (const xmlChar *) "bytes"))
                return -ENOMEM;
        if (format) {
                target = xmlNewChild(root, NULL, (const xmlChar *) "target", NULL);
                fmt = target ? xmlNewChild(target, NULL, (const xmlChar *) "format", NULL) : NULL;
                if (!fmt || !xmlSetProp(fmt, (const xmlChar *) "type", (const xmlChar *) format))
                        return -ENOMEM;
                /*
                 * libvirt writes qcow2 version 2 (compat 0.10) unless told:
                 * such an image cannot be resized once it holds snapshots.
                 */
                if (strcmp(format, "qcow2") == 0 &&
                    !xmlNewTextChild(target, NULL, (const xmlChar *) "compat", (const xmlChar *) "1.1"))
                        return -ENOMEM;
        }
        return dump(doc, out);
}

int lv_disk_xml(const char *path, const char *format, const char *target, const char *bus, bool qemu_driver,
                char **out) {
        xmlNodePtr root, n;
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = new_doc("disk", &root);

        if (!doc || !xmlSetProp(root, (const xmlChar *) "type", (const xmlChar *) "file") ||
            !xmlSetProp(root, (const xmlChar *) "device", (const xmlChar *) "disk"))
                return -ENOMEM;
        if (qemu_driver && format) {
                n = xmlNewChild(root, NULL, (const xmlChar *) "driver", NULL);
                if (!n || !xmlSetProp(n, (const xmlChar *) "name", (const xmlChar *) "qemu") ||
                    !xmlSetProp(n, (const xmlChar *) "type", (const xmlChar *) format))
                        return -ENOMEM;
        }
        n = xmlNewChild(root, NULL, (const xmlChar *) "source", NULL);
        if (!n || !xmlSetProp(n, (const xmlChar *) "file", (const xmlChar *) path))
                return -ENOMEM;
        n = xmlNewChild(root, NULL, (const xmlChar *) "target", NULL);
        if (!n || !xmlSetProp(n, (const xmlChar *) "dev", (const xmlChar *) target) ||
            (bus && !xmlSetProp(n, (const xmlChar *) "bus", (const xmlChar *) bus)))
                return -ENOMEM;
        return dump(doc, out);
}

int lv_snapshot_xml(const char *name, char **out) {
        xmlNodePtr root;
        _cleanup_(xmlFreeDocp) xmlDocPtr doc = new_doc("domainsnapshot", &root);

        if (!doc || !xmlNewTextChild(root, NULL, (const xmlChar *) "name", (const xmlChar *) name))
                return -ENOMEM;
        return dump(doc, out);
}

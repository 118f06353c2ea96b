/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmctl status --format openmetrics: the daemon's status as OpenMetrics
 * text (ending "# EOF"), for a node_exporter textfile collector or any
 * scraper.  The names are chosen to read the same in the older Prometheus
 * text format, which takes the UNIT and EOF lines as comments: counters
 * and histograms only, and gauges, no info or stateset families.
 */
#ifndef VMCTL_METRICS_H
#define VMCTL_METRICS_H

#include <stdio.h>

struct json_object;

/* status: the daemon's reply record; 0, or -EIO when f could not be written. */
int vmctl_write_openmetrics(FILE *f, struct json_object *status);

#endif

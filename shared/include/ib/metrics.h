/* Prometheus metrics: a registry of families (counter, gauge, histogram), each with a fixed set
 * of label names, and series created on first use. Updates are lock-free atomics; creating a
 * series and rendering take the registry's mutex. Memory is bounded: a family holds at most
 * IB_METRICS_MAX_SERIES series; further label combinations land in one overflow series whose
 * label values are all "_other". */
#ifndef IB_METRICS_H
#define IB_METRICS_H

#include <stddef.h>

#include "ib/common.h"

#define IB_METRICS_MAX_LABELS  4
#define IB_METRICS_MAX_BUCKETS 24
#define IB_METRICS_MAX_SERIES  512

typedef enum { IB_METRIC_COUNTER, IB_METRIC_GAUGE, IB_METRIC_HISTOGRAM } ib_metric_type_t;

typedef struct ib_metrics ib_metrics_t;
typedef struct ib_metric ib_metric_t; /* a family */
typedef struct ib_series ib_series_t; /* one label combination */

/* Called at the start of every render, before the text is produced: the place to set gauges
 * that are computed on scrape (queue sizes, lag). */
typedef void ib_metrics_collect_fn(void *opaque);

ib_metrics_t *ib_metrics_new(void) IB_WUR;
/* Frees the registry and every family and series in it. Accepts NULL. */
void ib_metrics_free(ib_metrics_t *m);
void ib_metrics_on_collect(ib_metrics_t *m, ib_metrics_collect_fn *fn, void *opaque);

/* Registers a family. name and help must be literals or outlive the registry (borrowed);
 * label_names likewise (nlabels <= IB_METRICS_MAX_LABELS). buckets: ascending upper bounds for a
 * histogram (copied; +Inf is implicit), NULL otherwise. Returns a borrowed family, NULL when out
 * of memory or the arguments are invalid. */
ib_metric_t *ib_metrics_family(ib_metrics_t *m, ib_metric_type_t type, const char *name,
                               const char *help, size_t nlabels, const char *const *label_names,
                               const double *buckets, size_t nbuckets);

/* One row of a registration table: the arguments of ib_metrics_family (name, help, labels:
 * borrowed, as there) and where the result goes: *family for a family with labels, *series (its
 * only series) for one without. Exactly one of family and series is set. */
typedef struct {
    ib_metric_type_t type;
    const char *name;
    const char *help;
    size_t nlabels;
    const char *const *label_names;
    const double *buckets;
    size_t nbuckets;
    ib_metric_t **family;
    ib_series_t **series;
} ib_metric_desc_t;

/* Registers every row of the table in order and stores each result where the row says. IB_ERR
 * when a row fails (out of memory, invalid arguments): the rows before it stay registered and
 * are freed with the registry; the stores of the failed row and the rows after it are NULL. */
ib_rc_t ib_metrics_register(ib_metrics_t *m, const ib_metric_desc_t *rows, size_t n) IB_WUR;

/* The series of these label values (nlabels strings, copied), created on first use. Borrowed;
 * valid until the registry is freed, so callers may cache it. Never NULL for a valid family:
 * when out of memory or over the cap, the overflow series is returned. */
ib_series_t *ib_metric_series(ib_metric_t *f, const char *const *label_values);
/* A family without labels: its only series. */
ib_series_t *ib_metric_single(ib_metric_t *f);

void ib_series_add(ib_series_t *s, double v);     /* counter or gauge */
void ib_series_set(ib_series_t *s, double v);     /* gauge */
void ib_series_observe(ib_series_t *s, double v); /* histogram */
double ib_series_value(const ib_series_t *s);     /* counter/gauge value; histogram count */

/* Shorthand: ib_series_add(ib_metric_series(f, labels), 1). */
void ib_metric_inc(ib_metric_t *f, const char *const *label_values);

/* The Prometheus text exposition format (0.0.4). Returns a new malloc'd NUL-terminated string
 * (length in *len when not NULL), NULL when out of memory. */
char *ib_metrics_render(ib_metrics_t *m, size_t *len) IB_WUR;

/* Default latency buckets in seconds (1 ms .. 30 s). */
extern const double ib_metrics_latency_buckets[];
extern const size_t ib_metrics_latency_buckets_len;

#endif

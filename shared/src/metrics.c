#include "ib/metrics.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

const double ib_metrics_latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1,     2.5,  5,     10,   30};
const size_t ib_metrics_latency_buckets_len =
    sizeof(ib_metrics_latency_buckets) / sizeof(ib_metrics_latency_buckets[0]);

/* A double stored as its bits, so updates are plain atomics. */
typedef _Atomic uint64_t atomic_double_t;

static double load_d(const atomic_double_t *a)
{
    uint64_t bits = atomic_load_explicit((atomic_double_t *)(uintptr_t)a, memory_order_relaxed);
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

static void store_d(atomic_double_t *a, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof(bits));
    atomic_store_explicit(a, bits, memory_order_relaxed);
}

static void add_d(atomic_double_t *a, double v)
{
    uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
    for (;;) {
        double d;
        memcpy(&d, &old, sizeof(d));
        d += v;
        uint64_t nbits;
        memcpy(&nbits, &d, sizeof(nbits));
        if (atomic_compare_exchange_weak_explicit(a, &old, nbits, memory_order_relaxed,
                                                  memory_order_relaxed))
            return;
    }
}

struct ib_series {
    SLIST_ENTRY(ib_series) link;
    ib_metric_t *family;
    char *labels[IB_METRICS_MAX_LABELS];
    atomic_double_t value; /* counter/gauge value; histogram sum */
    _Atomic uint64_t count;
    _Atomic uint64_t buckets[IB_METRICS_MAX_BUCKETS];
};

SLIST_HEAD(ib_series_list, ib_series);

struct ib_metric {
    STAILQ_ENTRY(ib_metric) link;
    ib_metrics_t *registry;
    ib_metric_type_t type;
    const char *name;
    const char *help;
    size_t nlabels;
    const char *label_names[IB_METRICS_MAX_LABELS];
    double bounds[IB_METRICS_MAX_BUCKETS];
    size_t nbuckets;
    struct ib_series_list series; /* newest first; guarded by registry->lock for insertion */
    size_t nseries;
    ib_series_t overflow; /* labels all "_other" */
};

struct ib_metrics {
    pthread_mutex_t lock;
    STAILQ_HEAD(, ib_metric) families; /* in registration order */
    ib_metrics_collect_fn *collect;
    void *collect_opaque;
};

static char other_label[] = "_other";

ib_metrics_t *ib_metrics_new(void)
{
    ib_metrics_t *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    STAILQ_INIT(&m->families);
    return m;
}

static void series_free(ib_series_t *s, size_t nlabels)
{
    for (size_t i = 0; i < nlabels; i++)
        free(s->labels[i]);
    free(s);
}

void ib_metrics_free(ib_metrics_t *m)
{
    if (m == NULL)
        return;
    while (!STAILQ_EMPTY(&m->families)) {
        ib_metric_t *f = STAILQ_FIRST(&m->families);
        STAILQ_REMOVE_HEAD(&m->families, link);
        while (!SLIST_EMPTY(&f->series)) {
            ib_series_t *s = SLIST_FIRST(&f->series);
            SLIST_REMOVE_HEAD(&f->series, link);
            series_free(s, f->nlabels);
        }
        free(f);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void ib_metrics_on_collect(ib_metrics_t *m, ib_metrics_collect_fn *fn, void *opaque)
{
    m->collect = fn;
    m->collect_opaque = opaque;
}

ib_metric_t *ib_metrics_family(ib_metrics_t *m, ib_metric_type_t type, const char *name,
                               const char *help, size_t nlabels, const char *const *label_names,
                               const double *buckets, size_t nbuckets)
{
    if (m == NULL || nlabels > IB_METRICS_MAX_LABELS || nbuckets > IB_METRICS_MAX_BUCKETS ||
        (type == IB_METRIC_HISTOGRAM && (buckets == NULL || nbuckets == 0)))
        return NULL;
    ib_metric_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->registry = m;
    f->type = type;
    f->name = name;
    f->help = help;
    f->nlabels = nlabels;
    for (size_t i = 0; i < nlabels; i++) {
        f->label_names[i] = label_names[i];
        f->overflow.labels[i] = other_label;
    }
    f->overflow.family = f;
    SLIST_INIT(&f->series);
    if (type == IB_METRIC_HISTOGRAM) {
        memcpy(f->bounds, buckets, nbuckets * sizeof(double));
        f->nbuckets = nbuckets;
    }
    pthread_mutex_lock(&m->lock);
    STAILQ_INSERT_TAIL(&m->families, f, link);
    pthread_mutex_unlock(&m->lock);
    return f;
}

static int labels_equal(const ib_series_t *s, const char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->labels[i], values[i] != NULL ? values[i] : "") != 0)
            return 0;
    return 1;
}

ib_rc_t ib_metrics_register(ib_metrics_t *m, const ib_metric_desc_t *rows, size_t n)
{
    ib_rc_t rc = IB_OK;
    for (size_t i = 0; i < n; i++) {
        const ib_metric_desc_t *d = &rows[i];
        ib_metric_t *f = NULL;
        assert((d->family == NULL) != (d->series == NULL));
        if (rc == IB_OK)
            f = ib_metrics_family(m, d->type, d->name, d->help, d->nlabels, d->label_names,
                                  d->buckets, d->nbuckets);
        if (f == NULL)
            rc = IB_ERR;
        if (d->family != NULL)
            *d->family = f;
        else
            *d->series = f != NULL ? ib_metric_single(f) : NULL;
    }
    return rc;
}

ib_series_t *ib_metric_series(ib_metric_t *f, const char *const *label_values)
{
    ib_series_t *s;
    ib_metrics_t *m = f->registry;

    pthread_mutex_lock(&m->lock);
    SLIST_FOREACH(s, &f->series, link)
    if (labels_equal(s, label_values, f->nlabels))
        goto out;
    if (f->nseries >= IB_METRICS_MAX_SERIES) {
        s = &f->overflow;
        goto out;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        s = &f->overflow;
        goto out;
    }
    s->family = f;
    for (size_t i = 0; i < f->nlabels; i++) {
        s->labels[i] = strdup(label_values[i] != NULL ? label_values[i] : "");
        if (s->labels[i] == NULL) {
            series_free(s, i);
            s = &f->overflow;
            goto out;
        }
    }
    SLIST_INSERT_HEAD(&f->series, s, link);
    f->nseries++;
out:
    pthread_mutex_unlock(&m->lock);
    return s;
}

ib_series_t *ib_metric_single(ib_metric_t *f)
{
    return ib_metric_series(f, NULL);
}

void ib_series_add(ib_series_t *s, double v)
{
    add_d(&s->value, v);
}

void ib_series_set(ib_series_t *s, double v)
{
    store_d(&s->value, v);
}

void ib_series_observe(ib_series_t *s, double v)
{
    const ib_metric_t *f = s->family;
    for (size_t i = 0; i < f->nbuckets; i++) {
        if (v <= f->bounds[i]) {
            atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
            break;
        }
    }
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    add_d(&s->value, v);
}

double ib_series_value(const ib_series_t *s)
{
    if (s->family->type == IB_METRIC_HISTOGRAM)
        return (double)atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)&s->count,
                                            memory_order_relaxed);
    return load_d(&s->value);
}

void ib_metric_inc(ib_metric_t *f, const char *const *label_values)
{
    ib_series_add(ib_metric_series(f, label_values), 1);
}

/* A growing output buffer; on allocation failure it stops growing and reports it at the end. */
typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} out_t;

static void out_write(out_t *o, const char *s, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap == 0 ? 4096 : o->cap;
        while (o->len + n + 1 > cap)
            cap *= 2;
        char *nb = realloc(o->buf, cap);
        if (nb == NULL) {
            o->failed = 1;
            return;
        }
        o->buf = nb;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void out_str(out_t *o, const char *s)
{
    out_write(o, s, strlen(s));
}

static void out_double(out_t *o, double d)
{
    char num[64];
    if (isnan(d))
        snprintf(num, sizeof(num), "NaN");
    else if (isinf(d))
        snprintf(num, sizeof(num), d > 0 ? "+Inf" : "-Inf");
    else if (d == floor(d) && fabs(d) < 1e15)
        snprintf(num, sizeof(num), "%.0f", d);
    else
        snprintf(num, sizeof(num), "%.9g", d);
    out_str(o, num);
}

/* Label values escape backslash, double quote and newline (exposition format 0.0.4). */
static void out_label_value(out_t *o, const char *v)
{
    for (const char *p = v; *p != '\0'; p++) {
        if (*p == '\\')
            out_str(o, "\\\\");
        else if (*p == '"')
            out_str(o, "\\\"");
        else if (*p == '\n')
            out_str(o, "\\n");
        else
            out_write(o, p, 1);
    }
}

/* {a="x",b="y"[,le="0.5"]} */
static void out_labels(out_t *o, const ib_metric_t *f, const ib_series_t *s, const char *le)
{
    if (f->nlabels == 0 && le == NULL)
        return;
    out_str(o, "{");
    for (size_t i = 0; i < f->nlabels; i++) {
        if (i > 0)
            out_str(o, ",");
        out_str(o, f->label_names[i]);
        out_str(o, "=\"");
        out_label_value(o, s->labels[i]);
        out_str(o, "\"");
    }
    if (le != NULL) {
        if (f->nlabels > 0)
            out_str(o, ",");
        out_str(o, "le=\"");
        out_str(o, le);
        out_str(o, "\"");
    }
    out_str(o, "}");
}

/* One sample line: name, suffix ("" or "_bucket", "_sum", "_count"), labels, value. */
static void out_sample(out_t *o, const ib_metric_t *f, const ib_series_t *s, const char *suffix,
                       const char *le, double v)
{
    out_str(o, f->name);
    out_str(o, suffix);
    out_labels(o, f, s, le);
    out_str(o, " ");
    out_double(o, v);
    out_str(o, "\n");
}

static void render_series(out_t *o, const ib_metric_t *f, const ib_series_t *s)
{
    if (f->type != IB_METRIC_HISTOGRAM) {
        out_sample(o, f, s, "", NULL, load_d(&s->value));
        return;
    }
    uint64_t cumulative = 0;
    char le[64];
    for (size_t i = 0; i < f->nbuckets; i++) {
        cumulative += atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)&s->buckets[i],
                                           memory_order_relaxed);
        snprintf(le, sizeof(le), "%.9g", f->bounds[i]);
        out_sample(o, f, s, "_bucket", le, (double)cumulative);
    }
    uint64_t count =
        atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)&s->count, memory_order_relaxed);
    out_sample(o, f, s, "_bucket", "+Inf", (double)count);
    out_sample(o, f, s, "_sum", NULL, load_d(&s->value));
    out_sample(o, f, s, "_count", NULL, (double)count);
}

char *ib_metrics_render(ib_metrics_t *m, size_t *len)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    out_t o = {0};

    if (m->collect != NULL)
        m->collect(m->collect_opaque);
    pthread_mutex_lock(&m->lock);
    const ib_metric_t *f;
    STAILQ_FOREACH(f, &m->families, link)
    {
        out_str(&o, "# HELP ");
        out_str(&o, f->name);
        out_str(&o, " ");
        out_str(&o, f->help);
        out_str(&o, "\n# TYPE ");
        out_str(&o, f->name);
        out_str(&o, " ");
        out_str(&o, type_names[f->type]);
        out_str(&o, "\n");
        const ib_series_t *s;
        SLIST_FOREACH(s, &f->series, link)
        render_series(&o, f, s);
        if (f->nseries >= IB_METRICS_MAX_SERIES)
            render_series(&o, f, &f->overflow);
    }
    pthread_mutex_unlock(&m->lock);
    if (o.failed || o.buf == NULL) {
        free(o.buf);
        return NULL;
    }
    if (len != NULL)
        *len = o.len;
    return o.buf;
}

/* api-gateway: config, log, start, wait for SIGTERM/SIGINT, drain, exit code. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "catalog.h"
#include "config.h"
#include "ib/json.h"
#include "ib/log.h"
#include "ib/tenants.h"
#include "interviews.h"
#include "producer.h"
#include "quota.h"
#include "router.h"
#include "server.h"
#include "tail.h"
#include "telemetry.h"

#define DRAIN_EXTRA_MS      2000
#define OPS_MAX_CONNECTIONS 64 /* probes and scrapers */
#define RESUME_WAIT_MS      2000

int main(void)
{
    char errstr[1024];
    gw_config_t cfg;
    ib_tenants_t *tenants = NULL;
    gw_catalog_t *catalog = NULL;
    gw_interviews_t *interviews = NULL;
    gw_tail_t *tail = NULL;
    gw_telemetry_t *telemetry = NULL;
    gw_producer_t *producer = NULL;
    gw_server_t *srv = NULL;
    gw_server_t *ops = NULL;
    gw_quota_t *quota = NULL;
    sigset_t sigs;
    int sig = 0;
    int code = EXIT_FAILURE;

    /* Every thread started from here on inherits the mask; the signals are taken by sigwait. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    ib_json_arena_install(); /* before any jansson value exists and any other thread */
    ib_log_init("api-gateway", IB_LOG_INFO);
    const char *core_fail = ib_no_core_dumps();
    if (core_fail != NULL)
        IB_WARN("%s failed: core dumps stay possible", core_fail);
    if (gw_config_load(&cfg, NULL, NULL, errstr, sizeof(errstr)) != IB_OK) {
        IB_ERROR("configuration: %s", errstr);
        return IB_EXIT_CONFIG;
    }
    if (gw_config_check(&cfg, errstr, sizeof(errstr)) != IB_OK) {
        IB_ERROR("configuration: %s", errstr);
        gw_config_free(&cfg);
        return IB_EXIT_CONFIG;
    }
    ib_log_init("api-gateway", cfg.log_level_value);
    ib_config_dump(gw_config_table, gw_config_table_len, &cfg);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        IB_ERROR("curl_global_init failed");
        goto out;
    }

    /* The gateway never calls back: the Workable tokens are not loaded (nor their files read). */
    tenants = ib_tenants_load_opts(cfg.tenants_file, IB_TENANTS_NO_WORKABLE_TOKENS, errstr,
                                   sizeof(errstr));
    if (tenants == NULL) {
        IB_ERROR("configuration: %s", errstr);
        code = IB_EXIT_CONFIG;
        goto out;
    }
    IB_INFO("%zu tenant(s) loaded", tenants->count);

    catalog = gw_catalog_new();
    interviews = gw_interviews_new(tenants, (size_t)cfg.view_max_interviews);
    telemetry = gw_telemetry_new();
    quota = gw_quota_new(tenants, cfg.create_rate, cfg.create_burst, ib_now_ms());
    if (catalog == NULL || interviews == NULL || telemetry == NULL || quota == NULL) {
        IB_ERROR("out of memory");
        goto out;
    }
    /* One consumer for the views' four topics; readiness waits for all of them. */
    const gw_tail_topic_t views[] = {
        {cfg.topic_catalog, gw_catalog_on_record, catalog},
        {cfg.topic_requested, gw_interviews_on_requested, interviews},
        {cfg.topic_status, gw_interviews_on_status, interviews},
        {cfg.topic_state, gw_interviews_on_state, interviews},
    };
    static const char *const view_names[] = {"catalog", "requested", "status", "state"};
    tail = gw_tail_new(cfg.kafka_bootstrap_servers, views, IB_ARRAY_LEN(views));
    if (tail == NULL || gw_tail_start(tail, errstr, sizeof(errstr)) != IB_OK) {
        IB_ERROR("views: %s", tail == NULL ? "out of memory" : errstr);
        goto out;
    }
    producer = gw_producer_new(cfg.kafka_bootstrap_servers, cfg.produce_timeout_ms, errstr,
                               sizeof(errstr));
    if (producer == NULL) {
        IB_ERROR("%s", errstr);
        goto out;
    }
    gw_telemetry_sources_t sources = {tail,    view_names, IB_ARRAY_LEN(view_names),
                                      catalog, interviews, producer};
    gw_telemetry_set_sources(telemetry, &sources);
    gw_app_t app = {&cfg, tenants, catalog, interviews, tail, producer, telemetry, quota, 0};
    gw_handler_t handler;
    gw_router_ops_handler(&app, &handler);
    const gw_server_conf_t ops_conf = {.name = "GATEWAY_OPS_LISTEN",
                                       .listen = &cfg.ops_listen,
                                       .idle_timeout_ms = cfg.idle_timeout_ms,
                                       .max_connections = OPS_MAX_CONNECTIONS,
                                       .reuse_port = cfg.reuse_port};
    ops = gw_server_start(&ops_conf, &handler, errstr, sizeof(errstr));
    if (ops == NULL) {
        IB_ERROR("%s", errstr);
        goto out;
    }
    gw_router_handler(&app, &handler);
    const gw_server_conf_t server_conf = {.name = "GATEWAY_LISTEN",
                                          .listen = &cfg.gateway_listen,
                                          .idle_timeout_ms = cfg.idle_timeout_ms,
                                          .max_connections = cfg.max_connections,
                                          .max_connections_per_ip = cfg.max_connections_per_ip,
                                          .reuse_port = cfg.reuse_port};
    srv = gw_server_start(&server_conf, &handler, errstr, sizeof(errstr));
    if (srv == NULL) {
        IB_ERROR("%s", errstr);
        goto out;
    }

    if (sigwait(&sigs, &sig) != 0)
        sig = 0;
    IB_INFO("signal %d: draining", sig);

    /* libmicrohttpd's order: stop accepting, flush Kafka, resume every suspended connection,
     * stop the daemon, destroy the producer. */
    atomic_store(&app.draining, 1);
    gw_server_quiesce(srv);
    if (gw_producer_flush(producer, (int)cfg.produce_timeout_ms + DRAIN_EXTRA_MS) != IB_OK)
        IB_WARN("shutdown: Kafka flush timed out");
    gw_server_resume_all(srv, RESUME_WAIT_MS);
    gw_server_stop(srv);
    srv = NULL;
    code = EXIT_SUCCESS;
out:
    gw_server_stop(srv);
    /* The operations listener last: /metrics and /healthz answer through the drain. */
    gw_server_stop(ops);
    gw_producer_destroy(producer);
    gw_tail_destroy(tail);
    gw_interviews_free(interviews);
    gw_catalog_destroy(catalog);
    gw_telemetry_free(telemetry);
    gw_quota_free(quota);
    ib_tenants_free(tenants);
    curl_global_cleanup();
    IB_INFO("stopped");
    gw_config_free(&cfg);
    return code;
}

/* results-worker: delivers interviews.status events to Workable's callback URLs. */
#include <curl/curl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dispatcher.h"
#include "http.h"
#include "ib/config.h"
#include "ib/json.h"
#include "ib/log.h"
#include "ib/tenants.h"
#include "metrics.h"

int main(void)
{
    char errstr[512];
    rw_config_t cfg;
    rw_metrics_t metrics;
    ib_tenants_t *tenants = NULL;
    rw_dispatcher_t *worker = NULL;
    rw_http_t *http = NULL;
    sigset_t sigs;
    int sig = 0;
    int curl_ready = 0;
    int metrics_ready = 0;
    int exit_code = 1;

    /* librdkafka's and curl's threads would each get an arena (8 per core) whose freed pages stay
     * resident; two are enough for one loop thread and a few mostly idle ones. */
    mallopt(M_ARENA_MAX, 2);
    ib_json_arena_install(); /* before any thread: see ib/json.h */
    memset(&cfg, 0, sizeof(cfg));
    ib_log_init("results-worker", IB_LOG_INFO);
    const char *core_fail = ib_no_core_dumps();
    if (core_fail != NULL)
        IB_WARN("%s failed: core dumps stay possible", core_fail);
    if (rw_config_load(&cfg, NULL, NULL, errstr, sizeof(errstr)) != IB_OK) {
        IB_ERROR("configuration: %s", errstr);
        exit_code = IB_EXIT_CONFIG;
        goto done;
    }
    ib_log_init("results-worker", cfg.log_level);
    ib_config_dump(rw_config_table, rw_config_table_len, &cfg);

    tenants = ib_tenants_load(cfg.tenants_file, errstr, sizeof(errstr));
    if (tenants == NULL) {
        IB_ERROR("configuration: %s", errstr);
        exit_code = IB_EXIT_CONFIG;
        goto done;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        IB_ERROR("curl_global_init failed");
        goto done;
    }
    curl_ready = 1;

    /* Every thread inherits the mask: signals reach only the sigwait below. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (rw_metrics_init(&metrics) != IB_OK) {
        IB_ERROR("out of memory creating the metrics");
        goto done;
    }
    metrics_ready = 1;
    worker = rw_dispatcher_new(&cfg, tenants, &metrics, errstr, sizeof(errstr));
    if (worker == NULL) {
        IB_ERROR("start: %s", errstr);
        goto done;
    }
    http = rw_http_start(&cfg.listen, &metrics, errstr, sizeof(errstr));
    if (http == NULL) {
        IB_ERROR("start: %s", errstr);
        exit_code = 2;
        goto done;
    }
    if (rw_dispatcher_start(worker, errstr, sizeof(errstr)) != IB_OK) {
        IB_ERROR("start: %s", errstr);
        goto done;
    }
    IB_INFO("results-worker started; health on %s", cfg.listen.text);

    do {
        if (sigwait(&sigs, &sig) != 0)
            break;
    } while (sig == SIGPIPE);
    IB_INFO(
        "signal %d: finishing or handing off in-flight callbacks, committing, leaving the group",
        sig);

    exit_code = rw_dispatcher_stop(worker) == IB_OK ? 0 : 1;
done:
    rw_dispatcher_free(worker);
    rw_http_stop(http);
    if (metrics_ready)
        rw_metrics_free(&metrics);
    if (curl_ready)
        curl_global_cleanup();
    ib_tenants_free(tenants);
    rw_config_free(&cfg);
    IB_INFO("results-worker exiting with %d", exit_code);
    return exit_code;
}

/*
 * conf/conf-rpc.c: the transport settings of a configuration (conf/conf-rpc.h).
 */
#include "conf/conf-rpc.h"

void
conf_rpc_config(const conf_t *cfg, rpc_config_t *ret)
{
    rpc_config_init(ret);
    ret->transport_url = cfg->transport_url;
    ret->control_exchange = cfg->control_exchange;
    ret->ssl = cfg->oslo_messaging_rabbit.ssl;
    ret->ssl_ca_file = cfg->oslo_messaging_rabbit.ssl_ca_file;
    ret->ssl_no_verify = !cfg->oslo_messaging_rabbit.ssl_verify;
    ret->ssl_cert_file = cfg->oslo_messaging_rabbit.ssl_cert_file;
    ret->ssl_key_file = cfg->oslo_messaging_rabbit.ssl_key_file;
    ret->heartbeat_timeout_s = cfg->oslo_messaging_rabbit.heartbeat_timeout_threshold;
    ret->retry_interval_ms = cfg->oslo_messaging_rabbit.rabbit_retry_interval * 1000;
    ret->retry_backoff_ms = cfg->oslo_messaging_rabbit.rabbit_retry_backoff * 1000;
    ret->retry_max_ms = cfg->oslo_messaging_rabbit.rabbit_interval_max * 1000;
    ret->durable_queues = cfg->oslo_messaging_rabbit.amqp_durable_queues;
    ret->response_timeout_ms = cfg->rpc_response_timeout * 1000;
}

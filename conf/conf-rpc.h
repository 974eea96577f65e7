/*
 * conf/conf-rpc.h: the transport settings of a loaded configuration, as rpc/ takes them.
 *
 * The one place that knows both conf/ and rpc/ (so that neither depends on the other): every
 * program that talks RPC fills its rpc_config_t here, from [DEFAULT] transport_url,
 * control_exchange and rpc_response_timeout and the [oslo_messaging_rabbit] section.
 *
 * Ownership: the strings of ret are borrowed from cfg, which must outlive ret's use.
 */
#ifndef TERN_CONF_RPC_H
#define TERN_CONF_RPC_H

#include "conf/conf.h"
#include "rpc/rpc.h"

/* Fill ret with rpc_config_init()'s defaults overridden by cfg's transport settings. */
void conf_rpc_config(const conf_t *cfg, rpc_config_t *ret);

#endif /* TERN_CONF_RPC_H */

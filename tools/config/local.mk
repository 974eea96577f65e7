# tools/config/local.mk: tern-config (included from tools/local.mk).
# tern-config: the sample, validation and the effective configuration.
bin_PROGRAMS += tools/config/tern-config
tools_config_tern_config_SOURCES = tools/config/tern-config.c conductor/policy.c
tools_config_tern_config_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tools_config_tern_config_LDADD = conf/libtern-conf.la common/libtern-common.la $(INIH_LIBS) \
	$(JANSSON_LIBS)

# update-sample: regenerate etc/tern.conf.sample from the options table.
update-sample: tools/config/tern-config
	$(AM_V_GEN)tools/config/tern-config sample > $(srcdir)/etc/tern.conf.sample
.PHONY: update-sample


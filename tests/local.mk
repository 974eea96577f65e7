# tests/local.mk: the shared test pieces (harness, Check runner helpers) and the common/ suites.
# Each module's own suites are listed in that module's local.mk, under tests/<module>/.

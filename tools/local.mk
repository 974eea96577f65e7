# tools/local.mk: the command-line tools; each tool's rules live in its own fragment.
include tools/manage/local.mk
include tools/config/local.mk
include tools/cli/local.mk
include tools/guest/local.mk
include tools/testbed/local.mk

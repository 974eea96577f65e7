# tests/integration/lib.sh: assertions for the integration scripts (sourced, not run).
#
# Each script sources this file, runs its scenario and calls `finish` at the end, which prints
# "N passed, N failed" and exits non-zero when anything failed. Assertions never stop the script:
# a failing one is counted and reported with its reason, so one run shows every failure.

# shellcheck shell=bash

TERN_TESTS_PASSED=0
TERN_TESTS_FAILED=0
TERN_TESTS_FAILURES=()

pass() { # pass NAME
    TERN_TESTS_PASSED=$((TERN_TESTS_PASSED + 1))
    echo "ok - $1"
}

fail() { # fail NAME REASON
    TERN_TESTS_FAILED=$((TERN_TESTS_FAILED + 1))
    TERN_TESTS_FAILURES+=("$1: $2")
    echo "FAIL - $1: $2"
}

check() { # check NAME COMMAND...: passes when COMMAND exits 0
    local name=$1; shift
    local out
    if out=$("$@" 2>&1); then
        pass "$name"
    else
        fail "$name" "command failed: $* :: $(printf '%s' "$out" | tail -n 12)"
    fi
}

check_fails() { # check_fails NAME EXPECTED_SUBSTRING COMMAND...: passes when COMMAND fails
    local name=$1 expected=$2; shift 2
    local out
    if out=$("$@" 2>&1); then
        fail "$name" "command succeeded but should have failed: $*"
    elif [[ "$out" != *"$expected"* ]]; then
        fail "$name" "error did not say \"$expected\": $(printf '%s' "$out" | tail -n 3)"
    else
        pass "$name"
    fi
}

check_eq() { # check_eq NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then
        pass "$1"
    else
        fail "$1" "expected \"$2\", got \"$3\""
    fi
}

check_has() { # check_has NAME NEEDLE TEXT: passes when TEXT contains NEEDLE
    if [[ "$3" == *"$2"* ]]; then
        pass "$1"
    else
        fail "$1" "\"$2\" not in: $(printf '%s' "$3" | tail -n 3)"
    fi
}

wait_for() { # wait_for SECONDS COMMAND...: poll every 0.2 s until COMMAND succeeds
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.2
    done
}

finish() {
    echo
    if [ $TERN_TESTS_FAILED -gt 0 ]; then
        printf 'failed: %s\n' "${TERN_TESTS_FAILURES[@]}"
    fi
    echo "$TERN_TESTS_PASSED passed, $TERN_TESTS_FAILED failed"
    [ $TERN_TESTS_FAILED -eq 0 ]
}

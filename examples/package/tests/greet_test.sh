#!/bin/sh
# The package example's test suite, run by the CI step before packaging:
#   sh tests/greet_test.sh RESULTS-FILE
# It writes one line per test to RESULTS-FILE and exits 1 if any failed.
set -eu
results=${1:?usage: greet_test.sh RESULTS-FILE}
: >"$results"
failed=0
check() { # check NAME GOT WANT
	if [ "$2" = "$3" ]; then
		echo "ok   $1" >>"$results"
	else
		echo "FAIL $1: got '$2', want '$3'" >>"$results"
		failed=1
	fi
}
check "greet" "$(sh app/bin/greet)" "Hello, world!"
check "greet NAME" "$(sh app/bin/greet toto)" "Hello, toto!"
cat "$results"
exit $failed

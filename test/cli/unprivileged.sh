#!/usr/bin/env bash
# Runs its arguments as a user whom file modes bind: as root (who ignores them) through setpriv
# as nobody (uid and gid 65534, no other groups), else as the caller. For the tests of output
# directories gru-gen may not write (test/cli/failed_commit.test).
if [ "$(id -u)" = 0 ]; then
  exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
fi
exec "$@"

#!/bin/sh
# mehhost chat: the health check systemd runs every 30 s (mehhost-health.timer). Three failed
# checks of /healthz in a row restart the web and worker units (the web unit runs its start-up
# checks again); a success resets the count. Environment (for tests and other layouts):
#   HEALTH_URL (default http://127.0.0.1:8000/healthz), HEALTH_STATE (a file), HEALTH_FAILURES
#   (default 3), RESTART_COMMAND (default: systemctl restart mehhost-web mehhost-worker).
set -u
url="${HEALTH_URL:-http://127.0.0.1:8000/healthz}"
state="${HEALTH_STATE:-/run/mehhost-health/failures}"
limit="${HEALTH_FAILURES:-3}"
restart="${RESTART_COMMAND:-systemctl restart mehhost-web mehhost-worker}"

mkdir -p "$(dirname "$state")"
failures=$(cat "$state" 2>/dev/null || echo 0)
if curl --silent --fail --max-time 5 --output /dev/null "$url"; then
  echo 0 > "$state"
  exit 0
fi
failures=$((failures + 1))
echo "$failures" > "$state"
echo "mehhost health: $url failed ($failures of $limit)" >&2
if [ "$failures" -ge "$limit" ]; then
  echo 0 > "$state"
  echo "mehhost health: restarting: $restart" >&2
  $restart
fi
exit 1

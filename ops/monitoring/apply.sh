#!/usr/bin/env bash
# Applies LeadPulse's log-based metrics and alert policies (docs/operations.md, "Alerts") to one project.
# Idempotent: an existing metric is updated, an existing policy (same display name) replaced in place.
#
#   ops/monitoring/apply.sh <project-id> <notification-channel>...
#
# A notification channel is its resource name, projects/<project-id>/notificationChannels/<id>
# (`gcloud beta monitoring channels list --project <project-id>`). Needs roles/logging.configWriter and
# roles/monitoring.alertPolicyEditor.
set -euo pipefail
if [ "$#" -lt 2 ]; then
  echo "usage: $0 <project-id> <notification-channel>..." >&2
  exit 2
fi
project="$1"
shift
channels="$(IFS=,; echo "$*")"
dir="$(cd "$(dirname "$0")" && pwd)"

for file in "$dir"/metrics/*.yaml; do
  name="$(basename "$file" .yaml)"
  if gcloud logging metrics describe "$name" --project "$project" >/dev/null 2>&1; then
    gcloud logging metrics update "$name" --project "$project" --config-from-file "$file"
  else
    gcloud logging metrics create "$name" --project "$project" --config-from-file "$file"
  fi
done

for file in "$dir"/policies/*.json; do
  # The policy's own display name: the first one in the file, at the top level.
  display="$(sed -n 's/^  "displayName": "\(.*\)",$/\1/p' "$file" | head -n 1)"
  existing="$(gcloud monitoring policies list --project "$project" --filter "displayName=\"$display\"" --format 'value(name)')"
  if [ -n "$existing" ]; then
    gcloud monitoring policies update "$existing" --project "$project" --policy-from-file "$file" --set-notification-channels "$channels"
  else
    gcloud monitoring policies create --project "$project" --policy-from-file "$file" --notification-channels "$channels"
  fi
done

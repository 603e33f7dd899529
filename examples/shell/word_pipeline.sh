#!/bin/sh
# A shell-script Actor: the `actorkit` command gives a shell script the Actor's input,
# key-value store, dataset and status message, locally and on the platform alike.
#
# Input: {"words": ["apple", "banana", ...]}. Output: one dataset item per word, a SUMMARY
# record, and a terminal status message.
set -eu
PYTHON="${PYTHON:-python3}"

actorkit set-status-message "Reading the input"

# get-input prints JSON: any JSON tool composes with it (jq works too: `jq -c '.words[]'`).
actorkit get-input \
    | "$PYTHON" -c 'import json, sys
for word in json.load(sys.stdin)["words"]:
    print(json.dumps({"word": word, "letters": len(word)}))' \
    | actorkit push-data -    # JSON lines on stdin, streamed

count=$(actorkit get-input | "$PYTHON" -c 'import json, sys; print(len(json.load(sys.stdin)["words"]))')
echo "{\"words\": $count}" | actorkit set-value SUMMARY -
printf 'raw\000bytes' | actorkit set-value BLOB - --content-type application/octet-stream

# A missing record prints nothing and exits 1.
if ! actorkit get-value NOT-THERE >/dev/null; then
    echo "NOT-THERE is not set, as expected"
fi
echo "summary: $(actorkit get-value SUMMARY)"
actorkit set-status-message "Pushed $count words" --terminal

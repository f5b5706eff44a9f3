#!/usr/bin/env bash
# The README's set-up walk-through, runnable end to end: an access administrator
# grants a project manager and a finance authority; the manager creates a project and
# grants a submitter and a reviewer; finance publishes the contribution terms; the
# manager activates a guide, creates, screens and releases a task; the submitter finds
# it in the ready queue, claims it, starts it, uploads a packet and submits it; the
# checkers pass it; the reviewer asks for a revision, the submitter answers the finding
# in version 2, and the reviewer accepts; the award is delivered and the adapter
# reports it paid. Only documented HTTP calls and CLI
# commands are used. The test suite runs this script (crates/workstream-cli/tests/
# walkthrough.rs), so the README cannot drift from what works.
#
# Needs: a server started with `workstream up` on a fresh data directory, the same
# WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET exported here, `workstream admin bootstrap
# --issuer https://auth.flow.local --subject root` done, curl, jq and python3 (to zip).
#
#   API          the API base (default http://127.0.0.1:8080/api/v1)
#   WORKSTREAM   how to run the CLI (default: cargo run -q --bin workstream --)
#
# Prints one JSON object on stdout: the ids made and the task's final status.
set -euo pipefail

API="${API:-http://127.0.0.1:8080/api/v1}"
read -r -a WORKSTREAM <<<"${WORKSTREAM:-cargo run -q --bin workstream --}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

step() { echo "walkthrough: $*" >&2; }
key() { cat /proc/sys/kernel/random/uuid; }

# call STATUS METHOD PATH TOKEN [BODY]: prints the JSON answer, or stops the script
# when the status is not the expected one.
call() {
    local expected="$1" method="$2" path="$3" token="$4" body="${5-}"
    local args=(-sS -o "$scratch/answer" -w '%{http_code}' -X "$method" "$API$path"
        -H "Authorization: Bearer $token")
    if [[ "$method" != GET ]]; then
        [[ -n "$body" ]] || body='{}'
        args+=(-H "Idempotency-Key: $(key)" -H 'Content-Type: application/json' --data-binary "$body")
    fi
    local status
    status="$(curl "${args[@]}")"
    if [[ "$status" != "$expected" ]]; then
        echo "walkthrough: $method $path answered $status (expected $expected): $(cat "$scratch/answer")" >&2
        exit 1
    fi
    cat "$scratch/answer"
}

# 1. Tokens for everyone; each first request creates the actor's profile.
step "minting tokens"
ROOT="$("${WORKSTREAM[@]}" token --subject root)"
for who in manager finance submitter reviewer; do
    declare "TOKEN_$who=$("${WORKSTREAM[@]}" token --subject "$who" --lifetime 8h)"
done
ADAPTER_TOKEN="$("${WORKSTREAM[@]}" token --subject payment-adapter --kind service)"
id() { call 200 GET /actors/me "$1" | jq -r .actor_profile_id; }
MANAGER="$(id "$TOKEN_manager")"
FINANCE="$(id "$TOKEN_finance")"
SUBMITTER="$(id "$TOKEN_submitter")"
REVIEWER="$(id "$TOKEN_reviewer")"

# 2. The administrator grants the system roles and provisions the payment adapter.
step "granting project_manager and finance_authority"
grant() {
    call 201 POST /admin-role-grants "$ROOT" \
        "{\"target_actor_profile_id\":\"$1\",\"role\":\"$2\",\"scope_type\":\"system\",\"reason\":\"setup\"}" >/dev/null
}
grant "$MANAGER" project_manager
grant "$FINANCE" finance_authority
ADAPTER="$(call 201 POST /service-actors "$ROOT" \
    '{"service_identity":"workstream.payment.local_adapter","subject":"payment-adapter","reason":"local payments"}' |
    jq -r .actor_profile_id)"
call 200 GET /actors/me "$ADAPTER_TOKEN" >/dev/null

# 3. The manager creates the project and grants the contributor roles on it.
step "creating the project"
PROJECT="$(call 201 POST /projects "$TOKEN_manager" \
    '{"name":"Docs","slug":"docs","description":"Documentation work"}' | jq -r .id)"
for pair in "$SUBMITTER submitter" "$REVIEWER reviewer"; do
    set -- $pair
    call 201 POST "/projects/$PROJECT/role-grants" "$TOKEN_manager" \
        "{\"target_actor_profile_id\":\"$1\",\"role\":\"$2\",\"qualification\":{},\"reason\":\"setup\"}" >/dev/null
done

# 4. Finance enables a unit, binds the adapter and publishes the terms.
step "publishing the contribution terms"
call 201 POST "/projects/$PROJECT/compensation-units" "$TOKEN_finance" \
    '{"instrument_type":"money","unit_code":"USD"}' >/dev/null
BINDING="$(call 201 POST "/projects/$PROJECT/adapter-bindings" "$TOKEN_finance" \
    "{\"instrument_type\":\"money\",\"adapter_actor_id\":\"$ADAPTER\",\"route_key\":\"local:money\"}" | jq -r .id)"
read -r CP CV < <(call 201 POST "/projects/$PROJECT/contribution-policies/drafts" "$TOKEN_finance" \
    '{"name":"Standard terms"}' | jq -r '"\(.contribution_policy_id) \(.contribution_policy_version_id)"')
call 200 PUT "/projects/$PROJECT/contribution-policies/$CP/versions/$CV" "$TOKEN_finance" \
    "{\"rules\":[{\"contribution_type\":\"accepted_submission\",\"compensation_mode\":\"compensated\",\"definitions\":[{\"instrument_type\":\"money\",\"unit_code\":\"USD\",\"quantity\":\"12.50\",\"adapter_binding_id\":\"$BINDING\"}]},{\"contribution_type\":\"completed_review\",\"compensation_mode\":\"unpaid\",\"definitions\":[]}]}" >/dev/null
call 200 POST "/projects/$PROJECT/contribution-policies/$CP/versions/$CV/publication" "$TOKEN_finance" '{}' >/dev/null

# 5. The manager writes the guide (guide.json: content and policy bundle) and activates it.
step "activating the guide"
GUIDE="$(call 201 POST "/projects/$PROJECT/guides" "$TOKEN_manager" "$(cat "$here/guide.json")" | jq -r .id)"
call 200 POST "/projects/$PROJECT/guides/$GUIDE/activate" "$TOKEN_manager" '{}' >/dev/null

# 6. The manager creates a task, screens it and releases it.
step "creating, screening and releasing a task"
TASK="$(call 201 POST "/projects/$PROJECT/tasks" "$TOKEN_manager" \
    '{"title":"Document the retry policy","description":"Write the answer in outputs/final-answer.md.","acceptance_criteria":"Every retry setting is explained with an example.","rejection_criteria":"Copied text or missing settings.","difficulty":"medium","estimated_time_minutes":60}' |
    jq -r .task.id)"
call 200 POST "/tasks/$TASK/screen" "$TOKEN_manager" '{}' >/dev/null
call 200 POST "/tasks/$TASK/release" "$TOKEN_manager" '{"reason":"criteria are concrete"}' >/dev/null

# 7. The submitter finds it in the ready queue, reads the requirements, claims and starts it.
step "claiming and starting the task"
call 200 GET "/projects/$PROJECT/tasks/ready" "$TOKEN_submitter" |
    jq -e --arg task "$TASK" 'any(.items[]; .id == $task)' >/dev/null ||
    { echo "walkthrough: the released task is not in the ready queue" >&2; exit 1; }
call 200 GET "/tasks/$TASK/submission-requirements" "$TOKEN_submitter" >/dev/null
call 200 POST "/tasks/$TASK/claim" "$TOKEN_submitter" '{}' >/dev/null
call 200 POST "/tasks/$TASK/start" "$TOKEN_submitter" '{}' >/dev/null

# 8. The submitter uploads the packet (a ZIP, with the summary and the attestation the
#    pre-submit checkers read), submits it, and a worker runs the post-submit checkers.
step "uploading, submitting and waiting for the checkers"
mkdir -p "$scratch/packet/outputs" "$scratch/packet/evidence"
printf '# Retry policy\n\nEvery retry setting, with an example of each.\n' >"$scratch/packet/outputs/final-answer.md"
printf 'docs build ... ok\n' >"$scratch/packet/evidence/tests.log"
(cd "$scratch/packet" && python3 -m zipfile -c "$scratch/packet.zip" outputs evidence)
ADMISSION="$(curl -sS -X POST "$API/tasks/$TASK/packets" -H "Authorization: Bearer $TOKEN_submitter" \
    -H "Idempotency-Key: $(key)" \
    -F 'summary=Documented every retry setting with an example.' \
    -F 'attestation=The packet holds no client data, nothing confidential or private, no credentials or secret tokens, and no copied source material.' \
    -F "packet=@$scratch/packet.zip;type=application/zip" | jq -r .admission_id)"
[[ "$ADMISSION" =~ ^[0-9a-f-]{36}$ ]] || { echo "walkthrough: the upload was not admitted" >&2; exit 1; }
call 201 POST "/tasks/$TASK/submissions" "$TOKEN_submitter" "{\"admission_id\":\"$ADMISSION\"}" >/dev/null
wait_for_checkers() {
    for _ in $(seq 1 300); do
        STATUS="$(call 200 GET "/projects/$PROJECT/tasks/$TASK" "$TOKEN_manager" | jq -r .task.status)"
        [[ "$STATUS" == evaluation_pending ]] || break
        sleep 0.2
    done
    [[ "$STATUS" == review_pending ]] || { echo "walkthrough: the task is $STATUS, not review_pending" >&2; exit 1; }
}
wait_for_checkers
call 200 GET "/tasks/$TASK/checker-runs" "$TOKEN_submitter" | jq -e '.items[0].route == "allow_review"' >/dev/null ||
    { echo "walkthrough: the checker run did not allow review" >&2; exit 1; }

# 9. The reviewer asks for current work, claims the offer, reads the packet (files,
#    checker results, guide) and asks for a revision with one blocking finding.
step "reviewing version 1: needs_revision"
ENTRY="$(call 200 GET /reviews/current "$TOKEN_reviewer" | jq -r .offer.queue_entry_id)"
LEASE="$(call 201 POST /reviews/claim "$TOKEN_reviewer" "{\"queue_entry_id\":\"$ENTRY\"}" | jq -r .lease.id)"
call 200 GET "/reviews/leases/$LEASE" "$TOKEN_reviewer" | jq -e '.files | length == 2' >/dev/null
call 200 GET "/reviews/leases/$LEASE/files/outputs/final-answer.md" "$TOKEN_reviewer" >/dev/null
FINDING="$(call 201 POST "/reviews/leases/$LEASE/decision" "$TOKEN_reviewer" '{
  "decision": "needs_revision", "summary": "One setting is missing.",
  "findings": [{"kind": "blocking", "area": "coverage", "issue": "max_backoff has no example.",
                "rationale": "The acceptance criteria ask for an example of every setting.",
                "required_fix": "Add an example for max_backoff.",
                "evidence_ref": {"path": "outputs/final-answer.md", "line": 3}}]}' | jq -r '.review.findings[0].id')"

# 10. The submitter reads the revision context (the finding, the preparation head) and
#     submits version 2, answering the finding and echoing the head.
step "revising: version 2 answers the finding"
CONTEXT="$(call 200 GET "/tasks/$TASK/revision-context" "$TOKEN_submitter")"
printf '# Retry policy\n\nEvery retry setting, with an example of each, including max_backoff = 30s.\n' \
    >"$scratch/packet/outputs/final-answer.md"
rm -f "$scratch/packet.zip"
(cd "$scratch/packet" && python3 -m zipfile -c "$scratch/packet.zip" outputs evidence)
ADMISSION="$(curl -sS -X POST "$API/tasks/$TASK/packets" -H "Authorization: Bearer $TOKEN_submitter" \
    -H "Idempotency-Key: $(key)" \
    -F 'summary=Added the max_backoff example.' \
    -F 'attestation=The packet holds no client data, nothing confidential or private, no credentials or secret tokens, and no copied source material.' \
    -F "packet=@$scratch/packet.zip;type=application/zip" | jq -r .admission_id)"
call 201 POST "/tasks/$TASK/submissions" "$TOKEN_submitter" "$(jq -n --arg admission "$ADMISSION" \
    --arg finding "$FINDING" --argjson context "$CONTEXT" '{admission_id: $admission,
      preparation_id: $context.preparation.id, preparation_digest: $context.preparation.context_digest,
      responses: [{finding_id: $finding, response_text: "Added the max_backoff example in line 3."}]}')" >/dev/null
wait_for_checkers

# 11. The same reviewer is offered the revision first; they resolve the finding and
#     accept, citing the evidence. One commit records the review, the acceptance, both
#     contributions and the submitter's award.
step "reviewing version 2: accept"
LEASE="$(call 201 POST /reviews/claim "$TOKEN_reviewer" '{}' | jq -r .lease.id)"
call 201 POST "/reviews/leases/$LEASE/decision" "$TOKEN_reviewer" "$(jq -n --arg finding "$FINDING" '{
  decision: "accept", summary: "Every setting has an example.",
  acceptance_evidence_refs: [{path: "outputs/final-answer.md", line: 3, note: "max_backoff example"}],
  resolutions: [{finding_id: $finding, result: "resolved", rationale: "The example is there."}]}')" >/dev/null

# 12. After the commit, a worker delivers the award to the binding's adapter (the
#     built-in local adapter acknowledges it); the adapter then reports the payment
#     through its authenticated callback, and finance sees the award fulfilled.
step "delivering and fulfilling the award"
for _ in $(seq 1 300); do
    AWARD="$(call 200 GET "/projects/$PROJECT/compensation/awards" "$TOKEN_finance")"
    [[ "$(jq -r '.items[0].projection.delivery_status' <<<"$AWARD")" == acknowledged_by_adapter ]] && break
    sleep 0.2
done
jq -e '.items[0].projection.delivery_status == "acknowledged_by_adapter"' <<<"$AWARD" >/dev/null ||
    { echo "walkthrough: the award was not delivered: $AWARD" >&2; exit 1; }
AWARD_ID="$(jq -r '.items[0].id' <<<"$AWARD")"
PAID_AT="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
call 201 POST /compensation/fulfillment-reports "$ADAPTER_TOKEN" "$(jq -n --arg award "$AWARD_ID" --arg at "$PAID_AT" '{
  external_event_id: "walkthrough-payment-1", award_id: $award, status: "fulfilled",
  fulfilled_quantity: "12.5", external_reference: "bank-transfer-0001",
  fulfilled_at: $at, reported_at: $at}')" >/dev/null
PAYMENT="$(call 200 GET "/projects/$PROJECT/compensation/awards" "$TOKEN_finance" | jq -r '.items[0].projection.fulfillment_status')"

STATUS="$(call 200 GET "/projects/$PROJECT/tasks/$TASK" "$TOKEN_manager" | jq -r .task.status)"
step "task $TASK is $STATUS, its award $PAYMENT"
jq -n --arg project "$PROJECT" --arg guide "$GUIDE" --arg task "$TASK" --arg status "$STATUS" \
    --arg award "$AWARD_ID" --arg payment "$PAYMENT" \
    --arg manager "$MANAGER" --arg finance "$FINANCE" --arg submitter "$SUBMITTER" \
    --arg reviewer "$REVIEWER" --arg binding "$BINDING" --arg contribution_policy_version "$CV" \
    '$ARGS.named'

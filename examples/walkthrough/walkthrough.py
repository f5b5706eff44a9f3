"""The README's set-up walk-through, through a client generated from the API document.

The same steps as walkthrough.sh (an administrator grants a manager and finance; the
manager makes a project and grants a submitter and a reviewer; finance publishes the
terms; the manager activates guide.json and releases a task; the submitter claims it,
uploads and submits a packet; the reviewer asks for a revision, version 2 answers the
finding and is accepted; the award is delivered and reported paid), but every call goes
through `workstream_client`, the package `openapi-python-client` generates from
`GET /api/v1/openapi.json`:

    pip install openapi-python-client==0.29.1
    curl -s http://127.0.0.1:8080/api/v1/openapi.json > openapi.json
    openapi-python-client generate --path openapi.json --meta none \\
        --output-path workstream_client
    python examples/walkthrough/walkthrough.py

Request bodies are the generated models (`from_dict` of the JSON the README shows);
answers are read as the generated models, so a field the document promises and the
server leaves out fails here. The test suite runs this script against a real `up`
(crates/workstream-cli/tests/walkthrough.rs).

Environment: API (default http://127.0.0.1:8080/api/v1) and WORKSTREAM (how to run the
CLI, for `workstream token`; default `cargo run -q --bin workstream --`). Prints one
JSON object: the ids made and the task's final status.
"""

import io
import json
import os
import shlex
import subprocess
import sys
import time
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from workstream_client import AuthenticatedClient
from workstream_client.api.actors import actors_create_service_actor, actors_me
from workstream_client.api.contribution_terms import (
    contribution_create_binding,
    contribution_create_draft,
    contribution_create_unit,
    contribution_publish,
    contribution_set_terms,
)
from workstream_client.api.grants import (
    grants_create_admin_grant,
    grants_create_project_grant,
)
from workstream_client.api.guides import guides_activate, guides_create
from workstream_client.api.packets import packets_runs, packets_submit, packets_upload
from workstream_client.api.payments import (
    compensation_project_awards,
    compensation_report_fulfillment,
)
from workstream_client.api.projects import projects_create
from workstream_client.api.reviews import (
    reviews_claim,
    reviews_current,
    reviews_decide,
    reviews_packet_file,
    reviews_packet_view,
    reviews_revision_context,
    reviews_task_reviews,
)
from workstream_client.api.tasks import (
    tasks_claim,
    tasks_create_task,
    tasks_management_task,
    tasks_ready_queue,
    tasks_release,
    tasks_screen,
    tasks_start,
    tasks_submission_requirements,
)
from workstream_client.models import (
    Activate,
    AdminGrantBody,
    ClaimBody,
    ContributionPolicyRules,
    CreateBinding,
    CreateDraft,
    CreateGuide,
    CreateProject,
    CreateUnit,
    DecisionInput,
    Empty,
    ErrorEnvelope,
    FulfillmentReport,
    NewTaskInput,
    OptionalReason,
    PacketsUploadBody,
    ProjectGrantBody,
    RequiredReason,
    ServiceActorBody,
    SubmitBody,
)
from workstream_client.types import File

API = os.environ.get("API", "http://127.0.0.1:8080/api/v1")
WORKSTREAM = shlex.split(os.environ.get("WORKSTREAM", "cargo run -q --bin workstream --"))
HERE = Path(__file__).resolve().parent
ATTESTATION = (
    "The packet holds no client data, nothing confidential or private, "
    "no credentials or secret tokens, and no copied source material."
)


def step(what):
    print(f"walkthrough.py: {what}", file=sys.stderr)


def ok(answer, expected):
    """The answer as the model `expected`, or stop with the error's stable code."""
    if isinstance(answer, ErrorEnvelope):
        error = answer.error
        sys.exit(f"walkthrough.py: refused: {error.code}: {error.message}")
    if not isinstance(answer, expected):
        sys.exit(f"walkthrough.py: expected {expected.__name__}, got {answer!r}")
    return answer


def key():
    """A fresh Idempotency-Key. As text: the generated client types the header as a
    UUID but hands it to httpx unconverted, and httpx sends only text."""
    return str(uuid.uuid4())


def client(subject, *extra):
    token = subprocess.run(
        [*WORKSTREAM, "token", "--subject", subject, *extra],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return AuthenticatedClient(base_url=API, token=token, raise_on_unexpected_status=True)


def packet(answer_text):
    """The packet ZIP: the answer and the test output the guide asks for."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("outputs/final-answer.md", answer_text)
        archive.writestr("evidence/tests.log", "docs build ... ok\n")
    return buffer.getvalue()


def upload_and_submit(submitter, task, summary, answer_text, **revision):
    # The generated model sends its parts in name order; the server reads them in any.
    body = PacketsUploadBody(
        summary=summary,
        attestation=ATTESTATION,
        packet=File(
            payload=io.BytesIO(packet(answer_text)),
            file_name="packet.zip",
            mime_type="application/zip",
        ),
    )
    admitted = ok(
        packets_upload.sync(task, client=submitter, body=body, idempotency_key=key()),
        packets_upload.Admitted,
    )
    assert admitted.pre_submit.route == "allow_review", admitted.pre_submit
    submitted = ok(
        packets_submit.sync(
            task,
            client=submitter,
            body=SubmitBody.from_dict({"admission_id": str(admitted.admission_id), **revision}),
            idempotency_key=key(),
        ),
        packets_submit.Submitted,
    )
    assert submitted.task.status == "evaluation_pending", submitted.task
    return submitted


def wait_for_review(manager, project, task):
    for _ in range(300):
        view = ok(
            tasks_management_task.sync(project, task, client=manager),
            tasks_management_task.ManagedTask,
        )
        if view.task.status != "evaluation_pending":
            break
        time.sleep(0.2)
    if view.task.status != "review_pending":
        sys.exit(f"walkthrough.py: the task is {view.task.status}, not review_pending")


def main():
    step("minting tokens")
    root = client("root")
    manager, finance = client("manager", "--lifetime", "8h"), client("finance", "--lifetime", "8h")
    submitter = client("submitter", "--lifetime", "8h")
    reviewer = client("reviewer", "--lifetime", "8h")
    adapter = client("payment-adapter", "--kind", "service")
    me = {
        name: ok(actors_me.sync(client=who), actors_me.Me).actor_profile_id
        for name, who in [
            ("manager", manager),
            ("finance", finance),
            ("submitter", submitter),
            ("reviewer", reviewer),
        ]
    }

    step("granting project_manager and finance_authority")
    for who, role in [("manager", "project_manager"), ("finance", "finance_authority")]:
        grant = ok(
            grants_create_admin_grant.sync(
                client=root,
                body=AdminGrantBody.from_dict(
                    {
                        "target_actor_profile_id": str(me[who]),
                        "role": role,
                        "scope_type": "system",
                        "reason": "setup",
                    }
                ),
                idempotency_key=key(),
            ),
            grants_create_admin_grant.AdminGrantView,
        )
        assert grant.status == "active" and grant.version == 1, grant
    service = ok(
        actors_create_service_actor.sync(
            client=root,
            body=ServiceActorBody.from_dict(
                {
                    "service_identity": "workstream.payment.local_adapter",
                    "subject": "payment-adapter",
                    "reason": "local payments",
                }
            ),
            idempotency_key=key(),
        ),
        actors_create_service_actor.NewServicePrincipal,
    )
    ok(actors_me.sync(client=adapter), actors_me.Me)

    step("creating the project")
    project = ok(
        projects_create.sync(
            client=manager,
            body=CreateProject.from_dict(
                {"name": "Docs", "slug": "docs", "description": "Documentation work"}
            ),
            idempotency_key=key(),
        ),
        projects_create.Project,
    )
    assert project.status == "draft", project
    for who in ["submitter", "reviewer"]:
        ok(
            grants_create_project_grant.sync(
                project.id,
                client=manager,
                body=ProjectGrantBody.from_dict(
                    {
                        "target_actor_profile_id": str(me[who]),
                        "role": who,
                        "qualification": {},
                        "reason": "setup",
                    }
                ),
                idempotency_key=key(),
            ),
            grants_create_project_grant.ProjectGrantView,
        )

    step("publishing the contribution terms")
    ok(
        contribution_create_unit.sync(
            project.id,
            client=finance,
            body=CreateUnit.from_dict({"instrument_type": "money", "unit_code": "USD"}),
            idempotency_key=key(),
        ),
        contribution_create_unit.Unit,
    )
    binding = ok(
        contribution_create_binding.sync(
            project.id,
            client=finance,
            body=CreateBinding.from_dict(
                {
                    "instrument_type": "money",
                    "adapter_actor_id": str(service.actor_profile_id),
                    "route_key": "local:money",
                }
            ),
            idempotency_key=key(),
        ),
        contribution_create_binding.Binding,
    )
    draft = ok(
        contribution_create_draft.sync(
            project.id,
            client=finance,
            body=CreateDraft.from_dict({"name": "Standard terms"}),
            idempotency_key=key(),
        ),
        contribution_create_draft.DraftReceipt,
    )
    terms = {
        "rules": [
            {
                "contribution_type": "accepted_submission",
                "compensation_mode": "compensated",
                "definitions": [
                    {
                        "instrument_type": "money",
                        "unit_code": "USD",
                        "quantity": "12.50",
                        "adapter_binding_id": str(binding.id),
                    }
                ],
            },
            {"contribution_type": "completed_review", "compensation_mode": "unpaid", "definitions": []},
        ]
    }
    version = (draft.contribution_policy_id, draft.contribution_policy_version_id)
    ok(
        contribution_set_terms.sync(
            *project_and(project.id, version),
            client=finance,
            body=ContributionPolicyRules.from_dict(terms),
            idempotency_key=key(),
        ),
        contribution_set_terms.PolicyVersionView,
    )
    published = ok(
        contribution_publish.sync(
            *project_and(project.id, version),
            client=finance,
            body=Empty.from_dict({}),
            idempotency_key=key(),
        ),
        contribution_publish.PolicyVersionView,
    )
    assert published.version_status == "published", published

    step("creating and activating the guide")
    guide = ok(
        guides_create.sync(
            project.id,
            client=manager,
            body=CreateGuide.from_dict(json.loads((HERE / "guide.json").read_text())),
            idempotency_key=key(),
        ),
        guides_create.Guide,
    )
    assert guide.status == "draft", guide
    activated = ok(
        guides_activate.sync(
            project.id,
            guide.id,
            client=manager,
            body=Activate.from_dict({}),
            idempotency_key=key(),
        ),
        guides_activate.ActivationView,
    )
    assert activated.guide.status == "active" and activated.guide.activation_sequence == 1
    assert activated.project.status == "active", activated.project

    step("creating, screening and releasing a task")
    created = ok(
        tasks_create_task.sync(
            project.id,
            client=manager,
            body=NewTaskInput.from_dict(
                {
                    "title": "Document the retry policy",
                    "description": "Write the answer in outputs/final-answer.md.",
                    "acceptance_criteria": "Every retry setting is explained with an example.",
                    "rejection_criteria": "Copied text or missing settings.",
                    "difficulty": "medium",
                    "estimated_time_minutes": 60,
                }
            ),
            idempotency_key=key(),
        ),
        tasks_create_task.ManagedTask,
    )
    task = created.task.id
    screened = ok(
        tasks_screen.sync(task, client=manager, body=OptionalReason.from_dict({}), idempotency_key=key()),
        tasks_screen.ManagedTask,
    )
    assert screened.task.locks.guide_id == guide.id, screened.task.locks
    released = ok(
        tasks_release.sync(
            task,
            client=manager,
            body=RequiredReason.from_dict({"reason": "criteria are concrete"}),
            idempotency_key=key(),
        ),
        tasks_release.ManagedTask,
    )
    assert released.task.status == "ready", released.task

    step("claiming and starting the task")
    queue = ok(tasks_ready_queue.sync(project.id, client=submitter), tasks_ready_queue.ContributorViewPage)
    offered = next((t for t in queue.items if t.id == task), None)
    if offered is None:
        sys.exit("walkthrough.py: the released task is not in the ready queue")
    requirements = ok(
        tasks_submission_requirements.sync(task, client=submitter),
        tasks_submission_requirements.SubmissionRequirements,
    )
    assert requirements.task_id == task, requirements
    claimed = ok(
        tasks_claim.sync(task, client=submitter, body=OptionalReason.from_dict({}), idempotency_key=key()),
        tasks_claim.ClaimedTask,
    )
    assert claimed.task.status == "claimed" and claimed.assignment.contributor_id == me["submitter"]
    started = ok(
        tasks_start.sync(task, client=submitter, body=OptionalReason.from_dict({}), idempotency_key=key()),
        tasks_start.ContributorTask,
    )
    assert started.task.status == "in_progress", started.task

    step("uploading, submitting and waiting for the checkers")
    upload_and_submit(
        submitter,
        task,
        "Documented every retry setting with an example.",
        "# Retry policy\n\nEvery retry setting, with an example of each.\n",
    )
    wait_for_review(manager, project.id, task)
    runs = ok(packets_runs.sync(task, client=submitter), packets_runs.CheckerRuns)
    if runs.items[0].route != "allow_review":
        sys.exit(f"walkthrough.py: the checker run did not allow review: {runs.items[0]}")

    step("reviewing version 1: needs_revision")
    current = ok(reviews_current.sync(client=reviewer), reviews_current.Current)
    lease = ok(
        reviews_claim.sync(
            client=reviewer,
            body=ClaimBody.from_dict({"queue_entry_id": str(current.offer.queue_entry_id)}),
            idempotency_key=key(),
        ),
        reviews_claim.Claimed,
    ).lease
    review_packet = ok(reviews_packet_view.sync(lease.id, client=reviewer), reviews_packet_view.ReviewPacket)
    assert len(review_packet.files) == 2, review_packet.files
    answer = reviews_packet_file.sync_detailed(lease.id, "outputs/final-answer.md", client=reviewer)
    assert answer.status_code == 200 and answer.content.startswith(b"# Retry policy"), answer
    decided = ok(
        reviews_decide.sync(
            lease.id,
            client=reviewer,
            body=DecisionInput.from_dict(
                {
                    "decision": "needs_revision",
                    "summary": "One setting is missing.",
                    "findings": [
                        {
                            "kind": "blocking",
                            "area": "coverage",
                            "issue": "max_backoff has no example.",
                            "rationale": "The acceptance criteria ask for an example of every setting.",
                            "required_fix": "Add an example for max_backoff.",
                            "evidence_ref": {"path": "outputs/final-answer.md", "line": 3},
                        }
                    ],
                }
            ),
            idempotency_key=key(),
        ),
        reviews_decide.Decided,
    )
    assert decided.task.status == "needs_revision", decided.task
    finding = decided.review.findings[0].id

    step("revising: version 2 answers the finding")
    context = ok(
        reviews_revision_context.sync(task, client=submitter),
        reviews_revision_context.RevisionContext,
    )
    assert context.responses_required_for == [finding], context.responses_required_for
    upload_and_submit(
        submitter,
        task,
        "Added the max_backoff example.",
        "# Retry policy\n\nEvery retry setting, with an example of each, including max_backoff = 30s.\n",
        preparation_id=str(context.preparation.id),
        preparation_digest=context.preparation.context_digest,
        responses=[{"finding_id": str(finding), "response_text": "Added the max_backoff example in line 3."}],
    )
    wait_for_review(manager, project.id, task)

    step("reviewing version 2: accept")
    lease = ok(
        reviews_claim.sync(client=reviewer, body=ClaimBody.from_dict({}), idempotency_key=key()),
        reviews_claim.Claimed,
    ).lease
    accepted = ok(
        reviews_decide.sync(
            lease.id,
            client=reviewer,
            body=DecisionInput.from_dict(
                {
                    "decision": "accept",
                    "summary": "Every setting has an example.",
                    "acceptance_evidence_refs": [
                        {"path": "outputs/final-answer.md", "line": 3, "note": "max_backoff example"}
                    ],
                    "resolutions": [
                        {"finding_id": str(finding), "result": "resolved", "rationale": "The example is there."}
                    ],
                }
            ),
            idempotency_key=key(),
        ),
        reviews_decide.Decided,
    )
    assert accepted.task.status == "accepted", accepted.task
    assert accepted.final_acceptance_id is not None
    kinds = sorted(c.contribution_type for c in accepted.contributions)
    assert kinds == ["accepted_submission", "completed_review"], kinds

    step("delivering and fulfilling the award")
    for _ in range(300):
        awards = ok(
            compensation_project_awards.sync(project.id, client=finance),
            compensation_project_awards.FinanceAwardPage,
        )
        award = awards.items[0] if awards.items else None
        if award and award.projection and award.projection.delivery_status == "acknowledged_by_adapter":
            break
        time.sleep(0.2)
    else:
        sys.exit(f"walkthrough.py: the award was not delivered: {awards}")
    paid_at = datetime.now(timezone.utc).replace(microsecond=0)
    report = ok(
        compensation_report_fulfillment.sync(
            client=adapter,
            body=FulfillmentReport.from_dict(
                {
                    "external_event_id": "walkthrough-python-payment-1",
                    "award_id": str(award.id),
                    "status": "fulfilled",
                    "fulfilled_quantity": "12.5",
                    "external_reference": "bank-transfer-0001",
                    "fulfilled_at": paid_at.isoformat(),
                    "reported_at": paid_at.isoformat(),
                }
            ),
            idempotency_key=key(),
        ),
        compensation_report_fulfillment.RecordedReport,
    )
    assert report.projection.fulfillment_status == "fulfilled" and not report.replayed, report

    final = ok(tasks_management_task.sync(project.id, task, client=manager), tasks_management_task.ManagedTask)
    history = ok(reviews_task_reviews.sync(task, client=manager), reviews_task_reviews.TaskReviews)
    step(f"task {task} is {final.task.status}, its award {report.projection.fulfillment_status}")
    print(
        json.dumps(
            {
                "project": str(project.id),
                "guide": str(guide.id),
                "task": str(task),
                "status": final.task.status,
                "award": str(award.id),
                "payment": report.projection.fulfillment_status,
                "decisions": [r.decision for r in history.items],
                "amount": f"{award.quantity} {award.unit_code}",
            }
        )
    )


def project_and(project_id, version):
    """The path ids of a contribution policy version."""
    return (project_id, *version)


if __name__ == "__main__":
    main()

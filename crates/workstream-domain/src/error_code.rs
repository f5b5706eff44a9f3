//! The error-code catalogue: every code a Workstream server can answer, once.
//!
//! A failure a client can see carries one [`ErrorCode`]. The catalogue gives each code
//! the HTTP status it is always answered with, a sentence saying what it means, and a
//! one-line fix saying what to do about it. The engine and the API build their errors
//! from it (so a code cannot be answered with two statuses), the OpenAPI document lists
//! it (`x-error-codes` per response, the whole catalogue under `x-error-catalogue`), the
//! CLI prints its fixes, and `docs/error-codes.md` is written from it.
//!
//! One failure, one code: a record that may not move from its state to another is
//! [`ErrorCode::TransitionNotAllowed`] whether the domain's table refused it before the
//! write or the database's row guard refused it during one (`WS002`), and whichever
//! machine the record belongs to.
//!
//! Codes are stable: a code is never renamed or given another status; a new failure
//! gets a new code. The message a particular answer carries may say more than the
//! catalogue's sentence (which field, which limit); the code is what a program matches.

use core::fmt;
use core::str::FromStr;

/// Declares the catalogue: groups of `Variant = "code", status, "what it means", "how to
/// fix it";`, each group under the heading of what its codes concern.
macro_rules! catalogue {
    ($( $group:literal { $( $variant:ident = $code:literal, $status:literal, $message:literal, $fix:literal; )* } )*) => {
        /// A stable, machine-readable error code, with its status, meaning and fix.
        ///
        /// Serialized as its snake_case text ([`ErrorCode::as_str`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(
                #[doc = $message]
                $variant,
            )*)*
        }

        impl ErrorCode {
            /// Every code, in the catalogue's order (grouped by what they concern).
            pub const ALL: &'static [ErrorCode] = &[$($(ErrorCode::$variant,)*)*];

            /// The headings of the catalogue's groups, in order.
            pub const GROUPS: &'static [&'static str] = &[$($group),*];

            /// The heading of the group the code is listed under.
            pub const fn group(self) -> &'static str {
                match self { $($(ErrorCode::$variant => $group,)*)* }
            }

            /// The code's text, as clients see it (`not_found`).
            pub const fn as_str(self) -> &'static str {
                match self { $($(ErrorCode::$variant => $code,)*)* }
            }

            /// The HTTP status every answer with this code has.
            pub const fn status(self) -> u16 {
                match self { $($(ErrorCode::$variant => $status,)*)* }
            }

            /// What the code means, in one sentence (the default message of an answer).
            pub const fn message(self) -> &'static str {
                match self { $($(ErrorCode::$variant => $message,)*)* }
            }

            /// What to do about it, in one line.
            pub const fn fix(self) -> &'static str {
                match self { $($(ErrorCode::$variant => $fix,)*)* }
            }
        }
    };
}

impl ErrorCode {
    /// The code whose text is `code`, if the catalogue has one.
    pub fn from_code(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// Whether the same request may succeed later (429 and 503).
    pub const fn retryable(self) -> bool {
        matches!(self.status(), 429 | 503)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for ErrorCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<ErrorCode> for String {
    fn from(code: ErrorCode) -> String {
        code.as_str().to_owned()
    }
}

/// A code equals its text, so a test or a client's table can compare either way.
impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A text that names no code of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a Workstream error code")]
pub struct UnknownErrorCode(pub String);

impl FromStr for ErrorCode {
    type Err = UnknownErrorCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorCode::from_code(s).ok_or_else(|| UnknownErrorCode(s.to_owned()))
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <&str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for ErrorCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ErrorCode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        schemars::json_schema!({
            "type": "string",
            "description": "A code of the error catalogue (`x-error-catalogue` gives each one's status, meaning and fix).",
            "enum": codes,
        })
    }
}

catalogue! {
    "Any request" {
        NotFound = "not_found", 404,
            "the resource does not exist or is not visible to you",
            "check the id; resources you may not see also answer not_found";
        MethodNotAllowed = "method_not_allowed", 405,
            "this route does not take that method",
            "use the method the API document (GET /api/v1/openapi.json) lists for the route";
        MalformedId = "malformed_id", 422,
            "an identifier in the path is not a valid UUID",
            "pass the id exactly as the API returned it (a UUID)";
        InvalidRequest = "invalid_request", 422,
            "the request is not valid for this route",
            "correct the field named in details.errors (the route's schema is in GET /api/v1/openapi.json)";
        InvalidCursor = "invalid_cursor", 422,
            "the cursor does not belong to this list",
            "pass the next_cursor of the same list unchanged, or leave it out to start again";
        PayloadTooLarge = "payload_too_large", 413,
            "the request body is too large",
            "send a smaller body (the limit is in the message); packets go to the packet routes, which take more";
        RateLimitExceeded = "rate_limit_exceeded", 429,
            "too many requests of this kind; wait before retrying",
            "wait the Retry-After seconds, or raise WORKSTREAM_API_FIRST_ACCESS_RATE_LIMIT / WORKSTREAM_API_ADMIN_MUTATION_RATE_LIMIT on a local server";
        IdempotencyKeyRequired = "idempotency_key_required", 422,
            "this mutation needs an Idempotency-Key header holding a UUID",
            "send an Idempotency-Key header with a new UUID (the same one when you retry the same request)";
        IdempotencyKeyInvalid = "idempotency_key_invalid", 422,
            "the Idempotency-Key header is not a UUID",
            "send a UUID in the Idempotency-Key header";
        IdempotencyMismatch = "idempotency_mismatch", 409,
            "this Idempotency-Key was used for a different request",
            "use a new Idempotency-Key (in the CLI, a new --run-id) for a request with different content";
        Conflict = "conflict", 409,
            "the record already exists",
            "the record exists already: read it instead of creating it again (for tasks, give each its own external_task_id)";
        ConstraintViolated = "constraint_violated", 422,
            "a value breaks a rule of the record",
            "check the values against the route's schema and limits; the message says which rule";
        ImmutableRecord = "immutable_record", 409,
            "the record is part of the permanent history and cannot be changed",
            "records of the history are never edited: make a new one (a new version, a correction event) instead";
        TransitionNotAllowed = "transition_not_allowed", 403,
            "the record may not move from its current state to the requested one",
            "read the record's current state (the message names it) and use a command its state allows";
        RetryLater = "retry_later", 503,
            "the request raced another one",
            "send the same request again";
        ServiceUnavailable = "service_unavailable", 503,
            "the database is unavailable",
            "retry in a moment; if it lasts, check that the server's database is up (its log says why)";
        InternalError = "internal_error", 500,
            "an internal error occurred",
            "retry once; if it happens again, report it with the correlation id (the server's log has the cause)";
    }

    "Signing in and access" {
        MissingToken = "missing_token", 401,
            "the request carries no bearer token",
            "pass a bearer token (`--token`, or run against a local server whose secret is in --data-dir)";
        InvalidToken = "invalid_token", 401,
            "the bearer token is not valid for this server",
            "mint a token with the server's secret: `workstream token --subject S` with the same --data-dir (or WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET) as the server";
        IdentityVerificationUnavailable = "identity_verification_unavailable", 503,
            "the server cannot verify tokens right now",
            "the server cannot verify tokens: restart it with `workstream up` (local) or configure WORKSTREAM_FLOW_AUTH_LOCAL_HMAC_SECRET / the JWKS settings";
        UnsupportedSubjectKind = "unsupported_subject_kind", 403,
            "agent and space subjects cannot use this API",
            "sign in as a person, or as a provisioned service actor";
        SubjectKindMismatch = "subject_kind_mismatch", 403,
            "the token's subject_kind does not match the provisioned actor",
            "mint the token with the subject kind the actor was provisioned with";
        ServiceActorNotProvisioned = "service_actor_not_provisioned", 403,
            "this service identity is not provisioned",
            "an access administrator provisions the service actor first (POST /service-actors)";
        ActorSuspended = "actor_suspended", 403,
            "this actor is suspended",
            "ask an access administrator to reactivate you (POST /actors/{id}/reactivate)";
        ActorDeactivated = "actor_deactivated", 403,
            "this actor is deactivated",
            "deactivation is permanent: sign in with another profile";
        IdentityLinkRevoked = "identity_link_revoked", 403,
            "this identity has been revoked",
            "ask an access administrator to reactivate the identity link";
        PermissionNotGranted = "permission_not_granted", 403,
            "the caller does not hold the role this needs",
            "ask an administrator for the role this needs (POST /admin-role-grants or /projects/{id}/role-grants)";
        ResourceGuardDenied = "resource_guard_denied", 403,
            "nobody can change their own account this way",
            "ask another access administrator to do it";
        SelfGrantForbidden = "self_grant_forbidden", 403,
            "nobody can grant a role to themselves",
            "ask another administrator to grant the role";
        SelfRevokeForbidden = "self_revoke_forbidden", 403,
            "nobody can revoke their own administrative grant",
            "ask another access administrator to revoke it";
        SelfRoleRevokeForbidden = "self_role_revoke_forbidden", 403,
            "nobody can revoke their own project role",
            "ask another project manager of the project to revoke it";
        AccessAdministratorExists = "access_administrator_exists", 409,
            "an active access administrator already exists",
            "grant further administrators over the API (POST /admin-role-grants) as the existing one";
        BootstrapTargetUnusable = "bootstrap_target_unusable", 409,
            "that identity is revoked, or its profile is not an active human",
            "bootstrap with the subject of an active person who has signed in";
        LastAccessAdministrator = "last_access_administrator", 409,
            "this would leave no active access administrator",
            "grant the access_administrator role to someone else first";
        ActorNotFound = "actor_not_found", 404,
            "no such actor",
            "check the actor's id (GET /actors/{id} reads one)";
        ActorAlreadySuspended = "actor_already_suspended", 409,
            "the actor is already suspended",
            "nothing to do; reactivate the actor to undo the suspension";
        ActorNotSuspended = "actor_not_suspended", 409,
            "the actor is not suspended",
            "nothing to do: the actor is already active";
        ActorDeactivatedTerminal = "actor_deactivated_terminal", 409,
            "the actor is deactivated, which is final",
            "a deactivated actor cannot change; create or use another profile";
        DisplayNameInvalid = "display_name_invalid", 422,
            "the display name is not acceptable",
            "give a display name of 1 to 200 characters without control characters";
        InvalidReason = "invalid_reason", 422,
            "a reason of 1 to 500 bytes (after trimming, without NUL) is required",
            "give a reason of 1 to 500 bytes";
        InvalidIssuer = "invalid_issuer", 422,
            "the issuer must be 1 to 200 bytes without surrounding whitespace",
            "pass the issuer exactly as the tokens carry it";
        InvalidSubject = "invalid_subject", 422,
            "the subject must be 1 to 200 characters without surrounding whitespace",
            "pass the subject exactly as the tokens carry it";
        InvalidScope = "invalid_scope", 422,
            "the grant's scope and scope_project_id do not fit together",
            "a system scope has no scope_project_id; a project scope names one";
        InvalidRoleScope = "invalid_role_scope", 422,
            "this role cannot be granted at that scope",
            "grant access_administrator and operator at system scope only";
        ProjectNotFound = "project_not_found", 422,
            "scope_project_id names no project",
            "pass the id of an existing project (GET /projects)";
        TargetActorNotFound = "target_actor_not_found", 422,
            "nobody has signed in with this subject yet",
            "ask the person to sign in once; then they can be granted a role";
        TargetNotHuman = "target_not_human", 422,
            "roles are granted to human actors only",
            "grant the role to a person; service actors act through their own identity";
        AdminRoleGrantExists = "admin_role_grant_exists", 409,
            "this person already holds this role with this scope",
            "nothing to do: the grant is in force";
        AdminRoleGrantAlreadyRevoked = "admin_role_grant_already_revoked", 409,
            "the grant is already revoked",
            "nothing to do: make a new grant to give the role again";
        ProjectRoleGrantExists = "project_role_grant_exists", 409,
            "this person already holds this role in the project",
            "nothing to do: the grant is in force";
        ProjectRoleGrantAlreadyRevoked = "project_role_grant_already_revoked", 409,
            "the grant is already revoked",
            "nothing to do: make a new grant to give the role again";
        IdentityAlreadyLinked = "identity_already_linked", 409,
            "this identity is already linked to a profile",
            "use the existing profile, or revoke its link first";
        IdentityLinkNotFound = "identity_link_not_found", 404,
            "no such identity link",
            "check the link's id (GET /actors/{id}/identity-links lists a profile's links)";
        IdentityLinkAlreadyRevoked = "identity_link_already_revoked", 409,
            "the link is already revoked",
            "nothing to do; reactivate it to undo the revocation";
        IdentityLinkNotRevoked = "identity_link_not_revoked", 409,
            "the link is not revoked",
            "nothing to do: the link is already active";
        UnknownServiceIdentity = "unknown_service_identity", 422,
            "the service identity is not one the platform knows",
            "use one of the service identities the route's schema lists";
        ServiceIdentityExists = "service_identity_exists", 409,
            "a service actor with this identity already exists",
            "use the existing service actor";
    }

    "Projects, guides and policies" {
        ProjectSlugConflict = "project_slug_conflict", 409,
            "a project with this slug already exists",
            "choose another slug in project.json (slugs are unique on a server)";
        ProjectArchived = "project_archived", 409,
            "the project is archived",
            "an archived project takes no changes; reactivate it or work in another project";
        ProjectNotActive = "project_not_active", 422,
            "the project is not active",
            "activate a guide of the project first (POST /projects/{id}/guides/{gid}/activate)";
        GuideVersionExists = "guide_version_exists", 409,
            "the project already has a guide with this version",
            "give the new guide a version of its own";
        GuideNotDraft = "guide_not_draft", 409,
            "only a draft guide can be activated",
            "write a new guide version and activate that";
        GuideNotEditable = "guide_not_editable", 409,
            "only a draft guide can be changed",
            "write a new guide version with the change";
        GuideActivationConflict = "guide_activation_conflict", 409,
            "another guide of the project was activated at the same time",
            "read the project's active guide and decide again";
        ActiveGuideMissing = "active_guide_missing", 422,
            "the project has no active guide",
            "activate a guide of the project first";
        PolicyBundleInvalid = "policy_bundle_invalid", 422,
            "the policy bundle is not valid",
            "correct the policy file at the path given (the schemas are in policies/*.schema.json)";
        ReviewPolicyIncomplete = "review_policy_incomplete", 422,
            "the review policy misses a part, a field or an allowed value",
            "give policies/review-policy.json every field of policies/review-policy.schema.json";
        RevisionPolicyIncomplete = "revision_policy_incomplete", 422,
            "the revision policy misses a part, a field or an allowed value",
            "give policies/revision-policy.json every field of policies/revision-policy.schema.json";
        PlatformDefaultWeakened = "platform_default_weakened", 422,
            "the policy bundle weakens the platform defaults",
            "keep the platform defaults (policies/platform-defaults.json): add and tighten, never remove or loosen";
        ContributionPolicyUnpublished = "contribution_policy_unpublished", 409,
            "the project has no published contribution policy version",
            "a finance authority publishes a contribution policy version before the guide is activated (missing terms are never read as unpaid)";
        ContributionPolicyVersionNotCurrent = "contribution_policy_version_not_current", 409,
            "the selected contribution policy version is not the project's current published one",
            "select the current published version (GET /projects/{id}/contribution-policies/current)";
    }

    "Checkers" {
        CheckerNotRegistered = "checker_not_registered", 422,
            "a checker of the policy does not resolve to a published component",
            "name a built-in, or put the component in checkers/ and pin its digest (`workstream checker inspect FILE`); the server needs it published (`workstream checker register FILE`, or `workstream project import`, which publishes checkers/*.wasm)";
        CheckerConfigurationInvalid = "checker_configuration_invalid", 422,
            "a checker's configuration does not match the schema its component declares",
            "make the configuration match the schema the component declares (`workstream checker inspect FILE` prints it)";
        CheckerComponentInvalid = "checker_component_invalid", 422,
            "the file is not a WebAssembly component that compiles",
            "rebuild the component for wasm32-wasip2 against wit/checker.wit";
        CheckerComponentTooLarge = "checker_component_too_large", 422,
            "the component is larger than 64 MiB",
            "a component is at most 64 MiB: build in release mode and strip debug information";
        CheckerContractMismatch = "checker_contract_mismatch", 422,
            "the component does not implement the workstream:checker world",
            "export `info` and `check` exactly as wit/checker.wit declares them (`workstream checker new` writes a project that does)";
        CheckerImportNotAllowed = "checker_import_not_allowed", 422,
            "the component imports an interface the sandbox does not provide",
            "drop the import named in the message: a checker may import WASI 0.2 (sockets and http are linked but never reach anything); for componentize-js build with `-d http fetch-event`";
        CheckerInfoInvalid = "checker_info_invalid", 422,
            "the component's info() is not acceptable",
            "make info() return a kebab-case name, a 1-64 character version and a description of at most 4000 characters";
        CheckerConfigSchemaInvalid = "checker_config_schema_invalid", 422,
            "the component's configuration schema is not a valid JSON Schema",
            "make info().config-schema a JSON Schema (draft 2020-12) object; a checker without options returns {\"type\":\"object\",\"additionalProperties\":false}";
        CheckerSmokeCheckFailed = "checker_smoke_check_failed", 422,
            "the component did not finish a check of an empty packet under the production limits",
            "run `workstream checker test FILE <an empty directory>`: check() must finish on an empty packet (return findings, or err for a missing configuration), without trapping or running out of time or memory";
        // A checker run that ended without a usable report stores one of these five
        // (material_unavailable is below, with the packet store); replaying it answers it.
        DeadlineExceeded = "deadline_exceeded", 503,
            "a checker ran out of time or fuel",
            "The checker ran out of time or fuel. An operator retries the evaluation (POST /operations/tasks/{id}/re-evaluate) when the platform is less loaded; if it fails again, the checker is too slow for this packet: publish a faster component.";
        CapacityExceeded = "capacity_exceeded", 503,
            "a checker ran out of memory or stack",
            "The checker ran out of memory. Publish a component that streams the packet instead of holding it, then have an operator retry the evaluation (POST /operations/tasks/{id}/re-evaluate).";
        InvalidOutput = "invalid_output", 503,
            "a checker's report broke the contract's caps or field rules",
            "The checker returned a report the platform refuses to store (over a limit, or text with a NUL character). Retrying gives the same result: publish a fixed component, pin it in a new guide version, then have an operator retry the evaluation (POST /operations/tasks/{id}/re-evaluate).";
        ImplementationUnavailable = "implementation_unavailable", 503,
            "a checker trapped, returned an error, or could not be loaded",
            "The checker could not run (a trap, an `err` answer, or a component that does not load; the detail says which). If the cause was temporary, an operator retries the evaluation (POST /operations/tasks/{id}/re-evaluate); otherwise publish a fixed component, pin it in a new guide version, and repair or retry the task.";
        CheckerSandboxUnavailable = "checker_sandbox_unavailable", 503,
            "this server runs no checker sandbox",
            "publish to a server that runs the checker sandbox (`workstream up` or `workstream serve`)";
    }

    "Tasks" {
        InvalidTaskField = "invalid_task_field", 422,
            "a field of the task is not acceptable",
            "correct the task field named in the message";
        ExternalTaskIdExists = "external_task_id_exists", 409,
            "the project already has a task with this external id",
            "give each task its own external_task_id, or read the existing task";
        TaskFieldsIncomplete = "task_fields_incomplete", 422,
            "the task lacks fields it needs to be screened",
            "give the task a title, description, acceptance_criteria and rejection_criteria";
        TaskReplayStateChanged = "task_replay_state_changed", 409,
            "the task has moved on since this request was first answered",
            "read the task again and decide with its current state";
        TaskSetupBlocked = "task_setup_blocked", 409,
            "the task's setup needs a manager's repair before packets can be checked",
            "the project manager repairs the task (POST /tasks/{id}/setup-repair); nothing to change in the packet";
        TaskLockedContextInvalid = "task_locked_context_invalid", 422,
            "the task's locked guide or policies cannot be used",
            "the project manager repairs the task's setup (POST /tasks/{id}/setup-repair)";
        LockedContextInvalid = "locked_context_invalid", 422,
            "the task's locked context is invalid",
            "the project manager repairs the task's setup (POST /tasks/{id}/setup-repair)";
        LockedGuideNotActive = "locked_guide_not_active", 422,
            "the task's locked guide is no longer active",
            "the project manager repairs the task's setup to the active guide";
        ReadinessFindingsOpen = "readiness_findings_open", 422,
            "critical or high readiness findings are open",
            "resolve the guide's open readiness findings before releasing tasks";
        ContributionPolicyUnavailable = "contribution_policy_unavailable", 422,
            "the contribution policy version is not published, complete and bound",
            "a finance authority publishes complete contribution terms with a bound instrument";
        RoutingHoldsTask = "routing_holds_task", 403,
            "the task's routing keeps it in evaluation_pending",
            "wait for the checker run to finish, or follow its route (retry the run, repair the setup)";
        NotAssignee = "not_assignee", 403,
            "only the assignee may do this",
            "only the contributor who claimed the task can do this";
        AssignmentExists = "assignment_exists", 409,
            "the task already has an active assignment",
            "pick another task from the ready queue";
        AssignmentNotActive = "assignment_not_active", 409,
            "the task has no active assignment",
            "claim the task first";
        AssigneeNotEligible = "assignee_not_eligible", 422,
            "the contributor is not an eligible submitter on this project",
            "a project manager grants the submitter role first";
        AssigneeAuthorityIntact = "assignee_authority_intact", 422,
            "the assignee's authority is intact, so the assignment cannot be taken over",
            "leave the task with its assignee; it can be reassigned only after their authority ends";
        ActiveTaskCapReached = "active_task_cap_reached", 409,
            "the contributor holds as many active tasks as the project allows",
            "finish or release one of your active tasks first";
        TaskAlreadyClaimed = "task_already_claimed", 409,
            "another contributor holds this task",
            "someone claimed it first: pick another task from GET /projects/{id}/tasks/ready";
        TaskAlreadyAccepted = "task_already_accepted", 409,
            "the task was already accepted",
            "nothing to do: the acceptance stands";
        ContributionRuleMissing = "contribution_rule_missing", 422,
            "the accepted_submission rule is not explicit",
            "a finance authority publishes terms with an explicit accepted_submission rule";
        ReasonRequired = "reason_required", 422,
            "a non-blank reason is required",
            "give a reason";
        ReasonTooLong = "reason_too_long", 422,
            "the reason is longer than allowed",
            "shorten the reason (the message gives the limit)";
        ReasonInvalid = "reason_invalid", 422,
            "the reason contains control characters",
            "remove control characters (newlines and tabs are fine) from the reason";
    }

    "Packets and submissions" {
        SubmissionArchiveMalformed = "submission_archive_malformed", 422,
            "the packet is not a well-formed ZIP archive",
            "zip the packet again with `workstream packet build DIR -o packet.zip`";
        SubmissionArchiveLimitExceeded = "submission_archive_limit_exceeded", 422,
            "the packet exceeds a limit of the task's artifact policy",
            "make the packet smaller: the artifact policy's size limits are in GET /tasks/{id}/submission-requirements";
        SubmissionArchiveUnsafeEntry = "submission_archive_unsafe_entry", 422,
            "the packet holds a name or entry that could escape or confuse its tree",
            "remove absolute paths, `..`, links and special files from the packet";
        SubmissionArchiveEncrypted = "submission_archive_encrypted", 422,
            "the packet holds an encrypted entry",
            "zip the packet without encryption";
        SubmissionArchiveCollision = "submission_archive_collision", 422,
            "two entries of the packet have the same name (after Unicode normalization and case folding)",
            "rename one of the colliding files (the details give its entry index)";
        SubmissionArchiveIntegrityFailure = "submission_archive_integrity_failure", 422,
            "the packet's local records disagree with its directory or with their own data",
            "zip the packet again with `workstream packet build DIR -o packet.zip`";
        SubmissionArchiveTimeout = "submission_archive_timeout", 422,
            "inspecting the packet took longer than its deadline",
            "upload a smaller packet, with fewer files";
        SubmissionArchiveUnchanged = "submission_archive_unchanged", 422,
            "the packet is byte-identical to the latest submission",
            "the packet is identical to the latest version: make the change, then upload";
        SubmissionManifestUnchanged = "submission_manifest_unchanged", 422,
            "the packet holds exactly the files of the latest submission",
            "the files are identical to the latest version: make the change, then upload";
        PreSubmissionCheckerFailed = "pre_submission_checker_failed", 422,
            "the packet failed a blocking pre-submit check",
            "change the files the checker names (its results are in the details) and upload again";
        PreSubmissionInfrastructureUnavailable = "pre_submission_infrastructure_unavailable", 503,
            "the packet could not be checked: the server's side failed",
            "nothing is wrong with the packet: upload it again in a minute";
        AdmissionNotReady = "admission_not_ready", 409,
            "no ready pre-submit admission for this packet",
            "upload the packet (POST /tasks/{id}/packets) and submit with the admission it returns";
        SubmissionExists = "submission_exists", 409,
            "a submission already exists",
            "read the task's submissions; a new version follows a needs_revision decision";
        SubmissionVersionConflict = "submission_version_conflict", 409,
            "a submission of this version already exists for the task",
            "read the task again: another request submitted this version first";
        SummaryRequired = "summary_required", 422,
            "a submission summary is required",
            "describe the submission in its summary";
        AttestationRequired = "attestation_required", 422,
            "the contributor's attestation is required",
            "confirm the attestation the guide asks for";
        EvaluationNotHeld = "evaluation_not_held", 409,
            "the submission's evaluation is not waiting for this step",
            "read the task again: its checker run has moved on";
        FindingResponsesNotExpected = "finding_responses_not_expected", 422,
            "only a resubmission after a reviewer's needs_revision answers findings",
            "leave finding_responses out of this submission";
        FindingResponsesIncomplete = "finding_responses_incomplete", 422,
            "blocking findings have no response",
            "answer every open blocking finding (GET /tasks/{id}/revision-context lists them)";
        CheckerRunWrongSubmission = "checker_run_wrong_submission", 409,
            "the checker run belongs to another submission",
            "use the checker run of this submission";
        CheckerRunNotFinal = "checker_run_not_final", 422,
            "the checker run is not final",
            "wait for the checker run to finish";
        CheckerRunNotCurrent = "checker_run_not_current", 409,
            "the checker run is not the current attempt",
            "read the task again and use its current checker run";
        ArtifactHashMismatch = "artifact_hash_mismatch", 422,
            "the artifact hashes differ from the checker run's",
            "submit the packet the checker run inspected";
        BlockingCheckerFailuresOpen = "blocking_checker_failures_open", 422,
            "blocking checker failures are open",
            "fix what the failing checkers report and upload a new version";
        RemediationFindingsMissing = "remediation_findings_missing", 422,
            "no contributor-visible failure explains the remediation",
            "the checker run has no finding to answer; retry the run or repair the setup";
        AdmittingRunNotCurrent = "admitting_run_not_current", 409,
            "the admitting checker run is no longer current",
            "upload the packet again for a fresh admission";
        RemediationRunMismatch = "remediation_run_mismatch", 422,
            "the resubmission must bind the exact needs_revision checker run",
            "submit against the checker run that asked for the revision";
        PredecessorNotLatest = "predecessor_not_latest", 409,
            "the predecessor is not the latest submission",
            "read the task's latest submission and revise that";
    }

    "Reviews and revisions" {
        NoReviewOffer = "no_review_offer", 404,
            "nothing is waiting for your review",
            "nothing to review now; try again later";
        ReviewLeaseActive = "review_lease_active", 409,
            "the reviewer already holds an active review lease",
            "finish or release the lease you hold first";
        ReviewEntryLeased = "review_entry_leased", 409,
            "someone else holds the lease of this entry",
            "claim another entry of the queue";
        LeaseNotActive = "lease_not_active", 409,
            "the review lease is not active (it ended, expired or was released)",
            "claim the entry again from the review queue; leases expire";
        LeaseNotHeld = "lease_not_held", 403,
            "the caller does not hold the active lease on this submission",
            "only the reviewer holding the lease can decide; claim it when it is free";
        SelfReviewForbidden = "self_review_forbidden", 403,
            "a submitter cannot review their own submission chain",
            "another reviewer decides this submission";
        MaterialUnavailable = "material_unavailable", 503,
            "the packet's archive is not stored",
            "The packet's stored bytes are missing or do not hash to what was submitted: an artifact incident. Restore the object store, then have an operator retry the evaluation (POST /operations/tasks/{id}/re-evaluate); the contributor did nothing wrong.";
        PacketStoreUnavailable = "packet_store_unavailable", 503,
            "this server has no packet store configured",
            "configure WORKSTREAM_OBJECT_STORE_URL (or run `workstream up`, which keeps packets in its data directory)";
        DecisionInvalid = "decision_invalid", 422,
            "the decision is not accept, needs_revision or reject",
            "decide accept, needs_revision or reject";
        DecisionNotAllowed = "decision_not_allowed", 422,
            "the review policy does not allow this decision",
            "use a decision of the review policy's allowed_decisions";
        ConfidenceInvalid = "confidence_invalid", 422,
            "confidence is not low, medium or high",
            "give confidence as low, medium or high";
        SummaryTooLong = "summary_too_long", 422,
            "the summary is longer than 20,000 characters",
            "shorten the summary";
        TooManyItems = "too_many_items", 422,
            "a decision has more than 100 findings or 100 evidence references",
            "group related findings; cite at most 100 pieces of evidence";
        RejectReasonNotAllowed = "reject_reason_not_allowed", 422,
            "only a reject carries a reject reason",
            "leave reject_reason out unless the decision is reject";
        EvidenceRequired = "evidence_required", 422,
            "an accept must cite acceptance evidence",
            "cite the packet files (and lines) that show the acceptance criteria met";
        EvidenceRefInvalid = "evidence_ref_invalid", 422,
            "an evidence reference is not {path, line?, note?}",
            "write each evidence reference as {\"path\": a packet file, \"line\"?: >= 1, \"note\"?: text}";
        EvidenceRefUnknownPath = "evidence_ref_unknown_path", 422,
            "an evidence reference names a path the packet does not hold",
            "cite a path of the packet's manifest (the review packet lists them)";
        FindingInvalid = "finding_invalid", 422,
            "a finding lacks its area or issue, or they are too long",
            "give each finding an area (1-200 characters) and an issue (1-4000 characters)";
        FindingKindInvalid = "finding_kind_invalid", 422,
            "a finding is neither blocking nor advisory",
            "mark each finding blocking or advisory";
        FindingIncomplete = "finding_incomplete", 422,
            "blocking findings lack an issue, reason or required fix",
            "give every blocking finding its issue, reason and required fix";
        FindingEvidenceRequired = "finding_evidence_required", 422,
            "findings lack the evidence the review policy requires",
            "cite evidence for every finding, as the review policy's minimum_finding_fields require";
        BlockingFindingRequired = "blocking_finding_required", 422,
            "needs_revision requires at least one blocking finding",
            "a needs_revision decision names at least one blocking finding";
        BlockingFindingsOpen = "blocking_findings_open", 422,
            "blocking findings remain open",
            "resolve every prior blocking finding before accepting";
        BlockingFindingsLimitExceeded = "blocking_findings_limit_exceeded", 422,
            "the open blocking findings exceed the review policy's limit",
            "group related blocking findings, or reject instead";
        FindingResolutionsIncomplete = "finding_resolutions_incomplete", 422,
            "prior blocking findings have no resolution",
            "resolve every prior blocking finding (resolved, unresolved or not_applicable)";
        FindingResolutionInvalid = "finding_resolution_invalid", 422,
            "a resolution is not resolved, unresolved or not_applicable",
            "resolve each finding as resolved, unresolved or not_applicable";
        FindingResolutionDuplicate = "finding_resolution_duplicate", 422,
            "a prior finding has two resolutions",
            "give one resolution per prior finding";
        FindingResolutionUnknown = "finding_resolution_unknown", 422,
            "a resolution names a finding no earlier review of this task raised",
            "resolve only the findings the review packet lists as prior";
        FindingAlreadyClosed = "finding_already_closed", 409,
            "the finding is already closed",
            "nothing to do: the finding stays closed";
        FindingResponseInvalid = "finding_response_invalid", 422,
            "a response is not 1 to 20,000 characters",
            "answer each finding in 1 to 20,000 characters";
        FindingResponseDuplicate = "finding_response_duplicate", 422,
            "a finding has two responses",
            "give one response per finding";
        FindingResponseUnknown = "finding_response_unknown", 422,
            "a response names no open finding of this task",
            "answer only the findings GET /tasks/{id}/revision-context lists";
        AcceptanceOnHold = "acceptance_on_hold", 422,
            "acceptance is on hold until a dispute is resolved",
            "resolve the dispute first";
        RevisionContextBlocked = "revision_context_blocked", 422,
            "the revision context is blocked until a project manager repairs it",
            "the project manager repairs it (POST /tasks/{id}/revision-context/repair); then revise";
        RevisionContextStale = "revision_context_stale", 409,
            "the revision context has changed since it was read",
            "read GET /tasks/{id}/revision-context again and echo its preparation id and digest";
        RevisionContextMissing = "revision_context_missing", 403,
            "this revision came from a checker, not a review; it has no context to repair",
            "nothing to repair: the contributor answers the checker's findings";
        RevisionLimitReached = "revision_limit_reached", 422,
            "every revision round the policy allows is used",
            "the reviewer accepts or rejects the latest version";
        RevisionDeadlineExpired = "revision_deadline_expired", 422,
            "the revision deadline has passed",
            "a project manager decides what happens to the task";
        CloseConditionUnmet = "close_condition_unmet", 422,
            "the condition for closing is not met yet",
            "wait for the event the message names";
        RemediationCloseForbidden = "remediation_close_forbidden", 422,
            "a checker remediation cannot be closed as a revision obligation",
            "the contributor answers the checker's findings with a new version";
    }

    "Reviewer calibration" {
        NoCalibrationOffer = "no_calibration_offer", 404,
            "no sampled review is waiting for your calibration",
            "nothing to calibrate now; sampled reviews appear when the review policy sets calibration_sample_percent";
        CalibrationLeaseActive = "calibration_lease_active", 409,
            "the reviewer already holds a calibration offer",
            "record your decision on the calibration you hold first (GET /reviews/calibration/current)";
        CalibrationOwnReview = "calibration_own_review", 403,
            "the first reviewer cannot calibrate their own review",
            "another reviewer of the project records the second review";
    }

    "Contribution and compensation" {
        ContributionPolicyExists = "contribution_policy_exists", 409,
            "the project already has contribution terms",
            "open a new draft version of the existing terms";
        ContributionPolicyDraftExists = "contribution_policy_draft_exists", 409,
            "the contribution policy already has an open draft version",
            "edit or publish the open draft";
        ContributionPolicyIncomplete = "contribution_policy_incomplete", 422,
            "a published version needs one rule for accepted_submission and one for completed_review",
            "add the missing rule to the draft";
        ContributionPolicyVersionNotDraft = "contribution_policy_version_not_draft", 409,
            "only a draft version's terms can change",
            "open a new draft version";
        ContributionPolicyVersionNotPublished = "contribution_policy_version_not_published", 409,
            "only a published version can be retired",
            "publish the version, or discard the draft";
        ContributionPolicyVersionInUse = "contribution_policy_version_in_use", 409,
            "tasks or guides still use this contribution policy version",
            "publish a successor version and move the guide to it first";
        ContributionRulesInvalid = "contribution_rules_invalid", 422,
            "the contribution rules are not valid",
            "correct the rules at the paths in details.errors";
        ContributionRuleIncomplete = "contribution_rule_incomplete", 422,
            "a compensated rule has no award definition",
            "give the compensated rule its award (quantity, unit, instrument)";
        CompensationUnitExists = "compensation_unit_exists", 409,
            "the project already has this compensation unit",
            "use the existing unit";
        CompensationUnitInUse = "compensation_unit_in_use", 409,
            "terms in force, open drafts or undelivered awards still use this unit",
            "retire the terms that use the unit, and let its awards be delivered, first";
        CompensationUnitRetired = "compensation_unit_retired", 409,
            "the unit is already retired",
            "nothing to do: add a new unit if one is needed";
        AdapterBindingExists = "adapter_binding_exists", 409,
            "the project already has an active binding for this instrument",
            "use the existing binding, or retire it first";
        AdapterBindingInUse = "adapter_binding_in_use", 409,
            "terms in force, open drafts or undelivered awards still route through this binding",
            "bind a successor and let the binding's awards be delivered first";
        AdapterActorNotFound = "adapter_actor_not_found", 422,
            "no actor has this id",
            "pass the payment adapter's actor profile id (POST /service-actors makes one)";
        AdapterNotServiceActor = "adapter_not_service_actor", 422,
            "an adapter is a service actor; no human role substitutes",
            "bind a service actor provisioned as a payment adapter";
        AwardAlreadyFulfilled = "award_already_fulfilled", 409,
            "the award was already fulfilled",
            "nothing to do: the fulfilment stands";
        ExternalEventConflict = "external_event_conflict", 409,
            "this external event was already reported with different content",
            "report each external event once; a correction gets a new external_event_id";
        ExternalEventIdInvalid = "external_event_id_invalid", 422,
            "external_event_id is not 1 to 128 characters of A-Z a-z 0-9 . _ : -",
            "give external_event_id as 1 to 128 characters of A-Z a-z 0-9 . _ : -";
        ExternalReferenceInvalid = "external_reference_invalid", 422,
            "external_reference is not 1 to 500 characters",
            "give external_reference as 1 to 500 characters, not blank";
        FulfilledQuantityInvalid = "fulfilled_quantity_invalid", 422,
            "fulfilled_quantity is not a plain decimal quantity",
            "write fulfilled_quantity as a plain decimal string, like \"12.50\"";
        FulfilledQuantityMismatch = "fulfilled_quantity_mismatch", 422,
            "the fulfilled quantity is not the awarded quantity",
            "report exactly the award's quantity";
        FulfillmentReportIncomplete = "fulfillment_report_incomplete", 422,
            "a fulfilled report needs fulfilled_quantity, external_reference and fulfilled_at",
            "give all three fields";
        FulfillmentReportInconsistent = "fulfillment_report_inconsistent", 422,
            "the report's fields contradict its outcome",
            "a fulfilled report carries no failure_code; a failed one carries no fulfilled fields";
        FulfillmentReportTimeInvalid = "fulfillment_report_time_invalid", 422,
            "reported_at is before fulfilled_at",
            "report after the fulfilment: reported_at at or after fulfilled_at";
        QuantityInvalid = "quantity_invalid", 422,
            "the quantity is not a plain decimal number",
            "write the quantity as a plain decimal string, like \"12.50\"";
        QuantitySignNotAllowed = "quantity_sign_not_allowed", 422,
            "the quantity has a sign",
            "write the quantity without a + sign";
        QuantityExponentNotAllowed = "quantity_exponent_not_allowed", 422,
            "the quantity has an exponent",
            "write the quantity in plain digits, without an exponent";
        QuantityNotFinite = "quantity_not_finite", 422,
            "the quantity is not a finite number",
            "write a finite quantity";
        QuantityNotCanonical = "quantity_not_canonical", 422,
            "the quantity has a leading zero",
            "write the quantity without leading zeros";
        QuantityNotPositive = "quantity_not_positive", 422,
            "the quantity is not positive",
            "give a quantity above zero";
        QuantityOutOfRange = "quantity_out_of_range", 422,
            "the quantity has too many integer digits",
            "give a quantity of at most 18 integer digits";
        QuantityTooPrecise = "quantity_too_precise", 422,
            "the quantity has too many fraction digits",
            "round the quantity to the unit's precision";
        QuantityUnrepresentable = "quantity_unrepresentable", 422,
            "the quantity cannot be represented exactly",
            "give a shorter quantity";
        QuantityNotWhole = "quantity_not_whole", 422,
            "the quantity must be a whole number here",
            "write a whole number, without a fractional part";
        CurrencyCodeInvalid = "currency_code_invalid", 422,
            "the currency code is not three upper-case letters",
            "write the currency as its ISO 4217 code, like EUR";
        CurrencyCodeUnknown = "currency_code_unknown", 422,
            "the currency code is not an ISO 4217 code",
            "write the currency as its ISO 4217 code, like EUR";
    }

    "Lessons and sprints" {
        LessonSourceRequired = "lesson_source_required", 422,
            "a lesson names what it was learned from",
            "name the review, submission or checker run the lesson comes from";
        LessonSourceNotFound = "lesson_source_not_found", 422,
            "the lesson's source is not a record of this project",
            "name a review, submission or checker run of this project";
        LessonLinkNotFound = "lesson_link_not_found", 422,
            "the guide is not one of this project's, or no checker has that digest",
            "link a guide version of this project or a published checker's digest";
        LessonImplementationLinkRequired = "lesson_implementation_link_required", 422,
            "an implemented lesson names the guide version or checker that carries the change",
            "link the guide version or the checker that implements the lesson";
        SprintNameExists = "sprint_name_exists", 409,
            "the project already has a sprint with this name",
            "give the sprint another name";
        SprintWindowInvalid = "sprint_window_invalid", 422,
            "a sprint's window ends after it starts",
            "give the sprint an end after its start";
        SprintTaskNotFound = "sprint_task_not_found", 422,
            "some tasks are not tasks of this project",
            "list only tasks of the sprint's project";
    }

    "Policy previews" {
        PolicyPreviewNotDraft = "policy_preview_not_draft", 409,
            "only a draft guide can be previewed",
            "preview a draft guide; an active guide's policy is the one the packets already met";
        PolicyPreviewLimitInvalid = "policy_preview_limit_invalid", 422,
            "the number of submissions to preview is out of range",
            "ask for 1 up to the server's maximum (WORKSTREAM_POLICY_PREVIEW_MAX_SUBMISSIONS, 200 by default)";
        PolicyPreviewNoSubmissions = "policy_preview_no_submissions", 422,
            "the project has no evaluated submissions to preview the draft against",
            "preview once packets of the project have been submitted and evaluated";
        LessonPreviewNotCompleted = "lesson_preview_not_completed", 422,
            "the preview is not a completed policy preview of this project",
            "link a completed preview of this project's guide, or none";
    }

    "Values and stored records" {
        DigestInvalid = "digest_invalid", 422,
            "the digest is not `sha256:` and 64 lower-case hex digits",
            "write the digest as `sha256:` and 64 lower-case hex digits";
        UnknownToken = "unknown_token", 422,
            "the value is not one of the allowed tokens",
            "use one of the values the route's schema lists";
        CanonicalJsonNonInteger = "canonical_json_non_integer", 422,
            "the JSON holds a non-integer number, which has no canonical form",
            "write fractional values as strings (\"12.50\")";
        ArtifactObjectMissing = "artifact_object_missing", 503,
            "a stored object is missing from the object store",
            "restore the object store from its backup; `workstream audit verify` names what is missing";
        ArtifactInputMismatch = "artifact_input_mismatch", 503,
            "a stored object does not match what was asked for",
            "restore the object store from its backup; `workstream audit verify` names what differs";
        ArtifactIntegrityFailure = "artifact_integrity_failure", 503,
            "a stored object's bytes do not match its digest",
            "restore the object store from its backup; `workstream audit verify` names what differs";
        ArtifactStorageUnavailable = "artifact_storage_unavailable", 503,
            "the object store cannot be reached",
            "check the object store's settings and reachability (WORKSTREAM_OBJECT_STORE_URL), then retry";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_with_one_line_texts() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} is listed twice");
            assert!(
                text.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{text}"
            );
            assert!(matches!(code.status(), 400..=599), "{text}");
            for words in [code.message(), code.fix()] {
                assert!(!words.is_empty() && !words.contains('\n'), "{text}");
            }
            assert_eq!(ErrorCode::from_code(text), Some(*code));
            assert_eq!(text.parse::<ErrorCode>(), Ok(*code));
        }
        assert_eq!(
            "nope".parse::<ErrorCode>(),
            Err(UnknownErrorCode("nope".into()))
        );
    }

    #[test]
    fn serializes_as_its_text() {
        let json = serde_json::to_string(&ErrorCode::NotFound).unwrap();
        assert_eq!(json, "\"not_found\"");
        let back: ErrorCode = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ErrorCode::NotFound);
    }
}

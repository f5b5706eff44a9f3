//! What keeps a compensation unit or an adapter binding in use.

/// `sqlx::query_scalar!` of whether anything keeps a unit or a binding in use: one of
/// the dependents below, as rows `d` of (project_id, instrument_type, unit_code,
/// adapter_binding_id), satisfies `$filter` (which numbers its own parameters from
/// `$7`; `$1` to `$6` are the states the dependents are selected by):
/// - award definitions of a version that is published, or that a task which can still
///   be accepted is locked to (a retired version keeps paying the tasks locked to it);
/// - definitions proposed in an open draft;
/// - awards not yet fulfilled (`pending` or `failed`: a failed delivery may still be
///   fulfilled later, AS47).
macro_rules! in_use_query {
    ($filter:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_scalar!(
            "SELECT EXISTS (SELECT 1 FROM ( \
               SELECT d.project_id, d.instrument_type, d.unit_code, d.adapter_binding_id \
                 FROM contribution_award_definitions d JOIN contribution_policy_versions v ON v.id = d.version_id \
                WHERE v.status = $1 OR EXISTS (SELECT 1 FROM tasks t \
                      WHERE t.locked_contribution_policy_version_id = v.id \
                        AND t.status NOT IN ($2, $3, $4)) \
               UNION ALL \
               SELECT v.project_id, def ->> 'instrument_type', def ->> 'unit_code', (def ->> 'adapter_binding_id')::uuid \
                 FROM contribution_policy_versions v, \
                      jsonb_array_elements(coalesce(v.draft_terms -> 'rules', '[]')) AS rule, \
                      jsonb_array_elements(coalesce(rule -> 'definitions', '[]')) AS def \
                WHERE v.status = $5 \
               UNION ALL \
               SELECT a.project_id, a.instrument_type, a.unit_code, a.adapter_binding_id \
                 FROM compensation_awards a \
                 LEFT JOIN compensation_status_projections p ON p.compensation_award_id = a.id \
                WHERE p.fulfillment_status IS DISTINCT FROM $6 \
             ) d WHERE " + $filter + r#") AS "in_use!""#,
            ::workstream_domain::machines::contribution_policy::ContributionPolicyVersionStatus::Published.as_str(),
            ::workstream_domain::lifecycle::TaskState::Accepted.as_str(),
            ::workstream_domain::lifecycle::TaskState::Rejected.as_str(),
            ::workstream_domain::lifecycle::TaskState::Cancelled.as_str(),
            ::workstream_domain::machines::contribution_policy::ContributionPolicyVersionStatus::Draft.as_str(),
            ::workstream_domain::machines::compensation::FulfilmentStatus::Fulfilled.as_str()
            $(, $arg)*
        )
    };
}

pub(super) use in_use_query;

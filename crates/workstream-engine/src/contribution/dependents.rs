//! What keeps a compensation unit or an adapter binding in use.

/// Everything that keeps a unit or a binding in use, as rows of (project_id,
/// instrument_type, unit_code, adapter_binding_id):
/// - award definitions of a version that is published, or that a task which can still
///   be accepted is locked to (a retired version keeps paying the tasks locked to it);
/// - definitions proposed in an open draft;
/// - awards not yet fulfilled (`pending` or `failed`: a failed delivery may still be
///   fulfilled later, AS47).
pub(super) const DEPENDENTS: &str = "\
    SELECT d.project_id, d.instrument_type, d.unit_code, d.adapter_binding_id \
      FROM contribution_award_definitions d JOIN contribution_policy_versions v ON v.id = d.version_id \
     WHERE v.status = 'published' OR EXISTS (SELECT 1 FROM tasks t \
           WHERE t.locked_contribution_policy_version_id = v.id \
             AND t.status NOT IN ('accepted', 'rejected', 'cancelled')) \
    UNION ALL \
    SELECT v.project_id, def ->> 'instrument_type', def ->> 'unit_code', (def ->> 'adapter_binding_id')::uuid \
      FROM contribution_policy_versions v, \
           jsonb_array_elements(coalesce(v.draft_terms -> 'rules', '[]')) AS rule, \
           jsonb_array_elements(coalesce(rule -> 'definitions', '[]')) AS def \
     WHERE v.status = 'draft' \
    UNION ALL \
    SELECT a.project_id, a.instrument_type, a.unit_code, a.adapter_binding_id \
      FROM compensation_awards a \
      LEFT JOIN compensation_status_projections p ON p.compensation_award_id = a.id \
     WHERE coalesce(p.fulfillment_status, 'pending') <> 'fulfilled'";

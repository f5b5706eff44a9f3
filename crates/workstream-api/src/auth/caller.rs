//! The [`Caller`] extractor: from a bearer token to an actor with grants.
//!
//! Order matters and follows docs/security.md: the token is verified before anything
//! touches the database; the subject kind is checked before any row is written (agents
//! and spaces are refused, unprovisioned services are refused, and neither creates a
//! row); only then is a human's first request allowed to create their profile, within
//! the issuer's first-access budget (429 `rate_limit_exceeded` past it, nothing written).
//!
//! Status is read on every request, so a suspension, a deactivation or a revoked link
//! takes effect on the caller's next request (R47).

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use uuid::Uuid;
use workstream_domain::ErrorCode;
use workstream_domain::machines::authority::{ActorStatus, LinkStatus};
use workstream_domain::roles::{AdminRole, ProjectRole, Scope, ScopeType};
use workstream_engine::authority::{RequestContext, provisioning};
use workstream_store::actors;

use super::grants::{AdminGrant, Grants, ProjectGrant};
use super::token::{SubjectKind, TokenError, VerifiedToken};
use crate::AppState;
use crate::correlation::CorrelationId;
use crate::error::ApiError;
use crate::rate_limit::Bucket;

/// The kinds of actor that can hold a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// A person.
    Human,
    /// A pre-provisioned service principal.
    Service,
}

impl ActorKind {
    /// The stored token.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Human => "human",
            ActorKind::Service => "service",
        }
    }
}

/// The verified, active actor making the request, with their active grants.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The actor's profile id.
    pub actor_id: Uuid,
    /// Human or service.
    pub kind: ActorKind,
    /// Everything the actor may do.
    pub grants: Grants,
    /// The identity link the token resolved through.
    pub link_id: Uuid,
    /// The token's issuer (the configured one).
    pub issuer: String,
    /// The request's correlation id, for audit events.
    pub correlation_id: Option<String>,
}

impl Caller {
    /// Who acts, as engine commands take it: the actor and the request's correlation
    /// id for the audit trail.
    pub fn requester(&self) -> workstream_engine::Requester {
        workstream_engine::Requester {
            actor_id: self.actor_id,
            correlation_id: self.correlation_id.clone(),
        }
    }

    /// The request context authority commands record.
    pub fn context(&self) -> RequestContext {
        RequestContext {
            correlation_id: self.correlation_id.clone(),
        }
    }
}

fn challenge(error: ApiError, value: &'static str) -> Response {
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(value));
    response
}

fn missing_token() -> Response {
    challenge(
        ApiError::new(ErrorCode::MissingToken, "Missing bearer token"),
        "Bearer",
    )
}

fn invalid_token(reason: &'static str) -> Response {
    challenge(
        ApiError::new(ErrorCode::InvalidToken, "Invalid bearer token")
            .with_details(json!({ "reason": reason })),
        "Bearer error=\"invalid_token\"",
    )
}

fn forbidden(code: ErrorCode, message: &str) -> Response {
    ApiError::new(code, message).into_response()
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive);
/// the refusal is built by the caller (`None`: no bearer token at all).
fn bearer(headers: &HeaderMap) -> Result<&str, Option<&'static str>> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(None);
    };
    let text = value.to_str().map_err(|_| Some("malformed_header"))?;
    let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(None);
    }
    Ok(token.trim())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let correlation_id = parts.extensions.get::<CorrelationId>().map(|c| c.0.clone());
        let token = bearer(&parts.headers).map_err(|refusal| match refusal {
            None => missing_token(),
            Some(reason) => invalid_token(reason),
        })?;
        let verified = match state.verifier.verify(token).await {
            Ok(verified) => verified,
            Err(TokenError::Invalid(reason)) => {
                tracing::info!(reason, "bearer token refused");
                return Err(invalid_token(reason));
            }
            Err(TokenError::Unavailable(why)) => {
                tracing::warn!(%why, "identity verification unavailable");
                return Err(ApiError::new(
                    ErrorCode::IdentityVerificationUnavailable,
                    "identity verification is unavailable; retry later",
                )
                .into_response());
            }
        };
        resolve(state, &verified, correlation_id)
            .await
            .map_err(IntoResponse::into_response)?
    }
}

/// From a verified token to the caller, provisioning a human on first access.
async fn resolve(
    state: &AppState,
    token: &VerifiedToken,
    correlation_id: Option<String>,
) -> Result<Result<Caller, Response>, ApiError> {
    let kind = match token.subject_kind {
        SubjectKind::Human => ActorKind::Human,
        SubjectKind::Service => ActorKind::Service,
        SubjectKind::Agent | SubjectKind::Space => {
            return Ok(Err(forbidden(
                ErrorCode::UnsupportedSubjectKind,
                "agent and space subjects cannot use this API",
            )));
        }
    };
    let mut conn = state.pool.acquire().await?;
    let mut identity = actors::identity(&mut conn, &token.issuer, &token.subject).await?;
    if identity.is_none() {
        if kind == ActorKind::Service {
            return Ok(Err(forbidden(
                ErrorCode::ServiceActorNotProvisioned,
                "this service identity is not provisioned",
            )));
        }
        // The first-access budget is the issuer's: see `rate_limit`.
        if let Err(refusal) = state
            .config
            .rate_limits
            .hit(&mut conn, Bucket::FirstAccess, &token.issuer)
            .await
        {
            return Ok(Err(refusal.into_response()));
        }
        let ctx = RequestContext {
            correlation_id: correlation_id.clone(),
        };
        // On the connection already held: taking a second one per request would let a
        // burst of first requests starve the pool.
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        match provisioning::provision_human(&mut tx, &token.issuer, &token.subject, &ctx).await? {
            Some(_) => tx.commit().await?,
            // Linked concurrently by another first request: use that profile.
            None => tx.rollback().await?,
        }
        identity = actors::identity(&mut conn, &token.issuer, &token.subject).await?;
    }
    let identity =
        identity.ok_or_else(|| ApiError::internal("identity link missing after provisioning"))?;
    if identity.link.status != LinkStatus::Active {
        return Ok(Err(forbidden(
            ErrorCode::IdentityLinkRevoked,
            "this identity has been revoked",
        )));
    }
    let (Some(profile_kind), Some(profile_status)) =
        (&identity.profile_kind, &identity.profile_status)
    else {
        return Err(ApiError::internal("identity link without a profile"));
    };
    match profile_status {
        ActorStatus::Active => {}
        ActorStatus::Suspended => {
            return Ok(Err(forbidden(
                ErrorCode::ActorSuspended,
                "this actor is suspended",
            )));
        }
        ActorStatus::Deactivated => {
            return Ok(Err(forbidden(
                ErrorCode::ActorDeactivated,
                "this actor is deactivated",
            )));
        }
    }
    if profile_kind != kind.as_str() {
        return Ok(Err(forbidden(
            ErrorCode::SubjectKindMismatch,
            "the token's subject_kind does not match the provisioned actor",
        )));
    }
    let grants = grants_of(&identity)?;
    Ok(Ok(Caller {
        actor_id: identity.link.actor_profile_id,
        kind,
        grants,
        link_id: identity.link.id,
        issuer: token.issuer.clone(),
        correlation_id,
    }))
}

/// The grants of a resolved identity.
fn grants_of(identity: &actors::Identity) -> Result<Grants, ApiError> {
    let admin = identity
        .admin_grant_ids
        .iter()
        .zip(&identity.admin_grant_roles)
        .zip(&identity.admin_grant_projects)
        .map(|((id, role), project)| (*id, role.clone(), *project));
    let project = identity
        .project_grant_ids
        .iter()
        .zip(&identity.project_grant_projects)
        .zip(&identity.project_grant_roles)
        .map(|((id, project), role)| (*id, *project, role.clone()));
    grants_from(admin, project)
}

/// Grants from stored rows: administrative (id, role, project scope) and project (id,
/// project, role). A stored token this build does not know is a bug in the schema's
/// CHECKs, so it is an internal error rather than a silent skip.
fn grants_from(
    admin: impl IntoIterator<Item = (Uuid, String, Option<Uuid>)>,
    project: impl IntoIterator<Item = (Uuid, Uuid, String)>,
) -> Result<Grants, ApiError> {
    let mut grants = Grants::default();
    for (id, role, project) in admin {
        let role: AdminRole = role.parse().map_err(ApiError::internal)?;
        let scope_type = if project.is_some() {
            ScopeType::Project
        } else {
            ScopeType::System
        };
        let scope = Scope::from_parts(scope_type, project).map_err(ApiError::internal)?;
        grants.admin.push(AdminGrant { id, role, scope });
    }
    for (id, project_id, role) in project {
        let role: ProjectRole = role.parse().map_err(ApiError::internal)?;
        grants.project.push(ProjectGrant {
            id,
            project_id,
            role,
        });
    }
    Ok(grants)
}

//! Fixed-window request counters, for the API's rate limits: one row per bucket,
//! subject (a keyed digest, never the subject itself) and window, counted in the
//! database so every server process shares the budget.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// One counted request.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    /// Requests of the subject in the current window, this one included.
    pub hits: i32,
    /// When the window started (database time).
    pub window_start: DateTime<Utc>,
    /// Seconds until the window ends.
    pub remaining_seconds: f64,
}

/// Counts one request of `subject_digest` in `bucket`'s current window of
/// `window_seconds`; the first request of a window forgets the subject's older ones.
pub async fn hit(
    conn: &mut PgConnection,
    bucket: &str,
    subject_digest: &str,
    window_seconds: f64,
) -> Result<Hit, sqlx::Error> {
    // `$3` is `float8` (what it was bound as before the statement was checked), so the
    // window arithmetic stays in floating point.
    let hit = sqlx::query_as!(
        Hit,
        r#"INSERT INTO api_rate_control_counters AS c (bucket, subject_digest, window_start, hits)
         VALUES ($1, $2, to_timestamp(floor(extract(epoch FROM now()) / $3::float8) * $3::float8), 1)
         ON CONFLICT (bucket, subject_digest, window_start) DO UPDATE SET hits = c.hits + 1
         RETURNING hits, window_start,
           extract(epoch FROM window_start + make_interval(secs => $3::float8) - now())::float8
             AS "remaining_seconds!""#,
        bucket,
        subject_digest,
        window_seconds,
    )
    .fetch_one(&mut *conn)
    .await?;
    if hit.hits == 1 {
        sqlx::query!(
            "DELETE FROM api_rate_control_counters \
             WHERE bucket = $1 AND subject_digest = $2 AND window_start < $3",
            bucket,
            subject_digest,
            hit.window_start,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(hit)
}

-- Three named queries; each runs from its header to the next one.
-- name: cohort_sizes
SELECT date_trunc('week', signup_at)::DATE AS cohort_week,
       count(*) AS users
FROM users
GROUP BY cohort_week;

-- name: weekly_retention
-- TODO: cohort_week, week_number (0-7), active_users, retention
SELECT NULL AS cohort_week;

-- name: best_week_one
-- TODO: rank, cohort_week, retention
SELECT NULL AS rank;
